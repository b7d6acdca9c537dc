import { Provider as KubernetesProvider } from "@pulumi/kubernetes/provider";
import * as rbacV1 from "@pulumi/kubernetes/rbac/v1";
import * as pulumi from "@pulumi/pulumi";
import { MeshSettings } from "../../config";
import { customResource } from "../kubernetes/customResource";
import { CERT_MANAGER_NAMESPACE, CERT_MANAGER_SERVICE_ACCOUNT, ISTIO_CSR_ADDRESS, ISTIO_CSR_SERVICE_ACCOUNT, ISTIO_NAMESPACE, ISTIOD_SERVING_NAME } from "../kubernetes/names";

export const NON_CA_USAGES = ["digital signature", "key encipherment", "server auth", "client auth"];

/** The RSA key size of every mesh identity when `mesh.keyAlgorithm` is RSA: what the mesh CA's policies ask at least. */
export const MESH_RSA_KEY_BITS = 3072;

/**
 * The subject of every CSR istio-csr forwards: Istio's CSR template always writes one Organization attribute, empty
 * when no org is set (istio/istio 1.30.3 security/pkg/pki/util/generate_csr.go `GenCSRTemplate`; istio/istio#53828),
 * proxies set none (security/pkg/nodeagent/cache/secretcache.go), and istio-csr v0.17.0 generates its own serving CSR
 * with the same function (pkg/tls/tls.go). approver-policy v0.27.0 denies any subject attribute a policy does not
 * list (pkg/internal/approver/allowed/evaluator.go `evaluateSlice`: "no allowed values"), and matches an empty
 * pattern only against the empty string (pkg/internal/util/wildcard.go): so exactly the empty organization.
 */
const ISTIO_CSR_SUBJECT = { organizations: { values: [""] } };

/** One policy of the mesh CA, without the issuer and release it applies to. */
export type MeshCaPolicy = Omit<ApprovalPolicyArgs, "issuerRef" | "approverPolicy">;

/**
 * What the mesh CA of one cluster may sign, from its trust domain and the stack's `mesh` settings: the workloads'
 * identities (as long-lived and with the keys `mesh` allows), istio-csr's serving certificate and istiod's.
 */
export function meshCaPolicies(a: { readonly trustDomain: string; readonly mesh: MeshSettings }): MeshCaPolicy[] {
    const keyConstraint = a.mesh.keyAlgorithm === "ECDSA" ? { algorithm: "ECDSA", minSize: 256, maxSize: 384 } : { algorithm: "RSA", minSize: MESH_RSA_KEY_BITS, maxSize: 4096 };
    const istioCsrAccount = { namespace: CERT_MANAGER_NAMESPACE, name: ISTIO_CSR_SERVICE_ACCOUNT };
    return [
        // Workload identities: only SPIFFE URIs of this cluster's trust domain, only leaf usages, only short-lived.
        { policyName: "istio-mesh-workloads", requester: istioCsrAccount,
            allowed: { uris: { values: [`spiffe://${a.trustDomain}/ns/*/sa/*`], required: true }, subject: ISTIO_CSR_SUBJECT, usages: NON_CA_USAGES, isCA: false },
            constraints: { maxDuration: `${a.mesh.workloadCertificateTtlMinutes}m`, privateKey: keyConstraint } },
        { policyName: "istio-csr-serving", requester: istioCsrAccount,
            allowed: { dnsNames: { values: [ISTIO_CSR_ADDRESS.split(":")[0]], required: true }, subject: ISTIO_CSR_SUBJECT, usages: NON_CA_USAGES, isCA: false },
            constraints: { maxDuration: "1h", privateKey: keyConstraint } },
        // istiod's serving certificate is a cert-manager Certificate, so cert-manager itself requests it.
        { policyName: "istiod-serving", requester: { namespace: CERT_MANAGER_NAMESPACE, name: CERT_MANAGER_SERVICE_ACCOUNT },
            allowed: {
                commonName: { value: ISTIOD_SERVING_NAME },
                // Only the name the intermediate's name constraints permit: istio-csr requests no other.
                dnsNames: { values: [ISTIOD_SERVING_NAME], required: true },
                uris: { values: [`spiffe://${a.trustDomain}/ns/${ISTIO_NAMESPACE}/sa/istiod-service-account`] },
                usages: NON_CA_USAGES,
                isCA: false,
            },
            constraints: { maxDuration: "1h", privateKey: keyConstraint } },
    ];
}

export interface ApprovalPolicyArgs {
    /** The policy's name (cluster-scoped). */
    readonly policyName: string;
    readonly issuerRef: { name: string; kind: string; group: string };
    /** The service account that creates the CertificateRequests this policy may approve. */
    readonly requester: { namespace: string; name: string };
    /**
     * The only namespaces whose requests the policy applies to (`selector.namespace.matchNames`; cert-manager/approver-policy
     * v0.27.0 pkg/internal/approver/manager/predicate/predicate.go `SelectorNamespace`). Unset: every namespace, which
     * for a ClusterIssuer means any namespace's Certificate.
     */
    readonly namespaces?: readonly string[];
    readonly allowed: Record<string, unknown>;
    readonly constraints?: Record<string, unknown>;
    /** approver-policy's release: its CRD must exist first. */
    readonly approverPolicy: pulumi.Resource;
}

/**
 * An approver-policy `CertificateRequestPolicy` and the RBAC that applies it: approver-policy only evaluates a policy
 * for requesters allowed to `use` it, and approves a request only if some applicable policy allows every attribute.
 * Returns everything a certificate consumer must wait for.
 */
export function approvalPolicy(name: string, a: ApprovalPolicyArgs, opts: { parent: pulumi.Resource; provider: KubernetesProvider }): pulumi.Resource[] {
    const cr = customResource(`${name}-${a.policyName}`, "policy.cert-manager.io/v1alpha1", "CertificateRequestPolicy",
        { name: a.policyName },
        { spec: { allowed: a.allowed, ...(a.constraints ? { constraints: a.constraints } : {}), selector: { issuerRef: a.issuerRef, ...(a.namespaces ? { namespace: { matchNames: [...a.namespaces] } } : {}) } } },
        { ...opts, dependsOn: [a.approverPolicy] });
    const role = new rbacV1.ClusterRole(`${name}-${a.policyName}`, {
        metadata: { name: `cert-manager-policy:${a.policyName}` },
        rules: [{ apiGroups: ["policy.cert-manager.io"], resources: ["certificaterequestpolicies"], verbs: ["use"], resourceNames: [a.policyName] }],
    }, { ...opts, parent: cr });
    const binding = new rbacV1.ClusterRoleBinding(`${name}-${a.policyName}`, {
        metadata: { name: `cert-manager-policy:${a.policyName}` },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: role.metadata.name },
        subjects: [{ kind: "ServiceAccount", ...a.requester }],
    }, { ...opts, parent: cr });
    return [cr, role, binding];
}
