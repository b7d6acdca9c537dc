import { Provider as KubernetesProvider } from "@pulumi/kubernetes/provider";
import * as coreV1 from "@pulumi/kubernetes/core/v1";
import * as helmV3 from "@pulumi/kubernetes/helm/v3";
import * as rbacV1 from "@pulumi/kubernetes/rbac/v1";
import * as pulumi from "@pulumi/pulumi";
import { AcmeDns01 } from "../cloud/MeshCluster";
import { certManagerValues } from "./values";
import { CERT_MANAGER_NAMESPACE, CERT_MANAGER_SERVICE_ACCOUNT } from "../kubernetes/names";

export interface CertManagerArgs {
    /** The cluster's Kubernetes provider; every resource here uses it. */
    readonly provider: KubernetesProvider;
    /** Chart version (OCI chart `oci://quay.io/jetstack/charts/cert-manager`), e.g. "v1.21.1". */
    readonly version: string;
    /** Two replicas, zone spread and disruption budgets for the controller, the webhook and the cainjector. */
    readonly highAvailability: boolean;
    /** approver-policy decides approvals: the built-in approver is turned off (the chart's `disableAutoApproval`). */
    readonly disableAutoApproval: boolean;
    /** What must run in the cluster before cert-manager, and outlive it. @default [] */
    readonly after?: readonly pulumi.Resource[];
    /**
     * The cloud identity cert-manager solves ACME DNS-01 challenges with: its ServiceAccount and pod annotations, and
     * with `tokenServiceAccount` the account whose tokens it may request. @default - none: cert-manager runs without a cloud identity
     */
    readonly acmeDns01?: AcmeDns01;
}

/** cert-manager with its CRDs, in its own namespace. Everything that creates cert-manager resources waits for `release`. */
export class CertManager extends pulumi.ComponentResource {
    readonly release: helmV3.Release;
    readonly namespace: coreV1.Namespace;
    /** What lets cert-manager use its ACME DNS-01 identity in the cluster: a challenge fails until it exists. */
    readonly acmeDnsAccess: pulumi.Resource[] = [];

    constructor(name: string, args: CertManagerArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("istio-production:mesh:CertManager", name, {}, opts);
        const child = { parent: this, provider: args.provider };
        this.namespace = new coreV1.Namespace(`${name}-ns`, { metadata: { name: CERT_MANAGER_NAMESPACE } }, { ...child, dependsOn: [...args.after ?? []] });
        // Release, not Chart v4: cert-manager's startupapicheck is a Helm hook, and the release waits for the webhook.
        this.release = new helmV3.Release(`${name}-cert-manager`, {
            name: "cert-manager",
            chart: "oci://quay.io/jetstack/charts/cert-manager",
            version: args.version,
            namespace: CERT_MANAGER_NAMESPACE,
            values: certManagerValues({
                highAvailability: args.highAvailability, disableAutoApproval: args.disableAutoApproval,
                serviceAccountAnnotations: args.acmeDns01?.serviceAccountAnnotations, podAnnotations: args.acmeDns01?.podAnnotations,
            }),
            atomic: true,
            cleanupOnFail: true,
        }, { ...child, dependsOn: [this.namespace, ...args.acmeDns01?.ready ?? []] });
        const tokenAccount = args.acmeDns01?.tokenServiceAccount;
        if (tokenAccount) this.allowTokenRequests(name, tokenAccount, child);
        this.registerOutputs({ release: this.release.status, namespace: this.namespace, acmeDnsAccess: this.acmeDnsAccess });
    }

    /**
     * A ServiceAccount whose tokens cert-manager requests, to assume a cloud role by web identity: cert-manager
     * v1.21.1 pkg/issuer/acme/dns/dns.go `createToken` (TokenRequest in the issuer's resource namespace), which its
     * chart's RBAC does not allow (deploy/charts/cert-manager/templates/rbac.yaml grants no serviceaccounts/token).
     */
    private allowTokenRequests(name: string, account: string, child: { parent: pulumi.Resource; provider: KubernetesProvider }) {
        const inNamespace = { ...child, dependsOn: [this.namespace] };
        const serviceAccount = new coreV1.ServiceAccount(`${name}-${account}`, { metadata: { name: account, namespace: CERT_MANAGER_NAMESPACE } }, inNamespace);
        const role = new rbacV1.Role(`${name}-${account}`, {
            metadata: { name: `${account}-token`, namespace: CERT_MANAGER_NAMESPACE },
            rules: [{ apiGroups: [""], resources: ["serviceaccounts/token"], resourceNames: [account], verbs: ["create"] }],
        }, inNamespace);
        const binding = new rbacV1.RoleBinding(`${name}-${account}`, {
            metadata: { name: `${account}-token`, namespace: CERT_MANAGER_NAMESPACE },
            roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: role.metadata.name },
            subjects: [{ kind: "ServiceAccount", name: CERT_MANAGER_SERVICE_ACCOUNT, namespace: CERT_MANAGER_NAMESPACE }],
        }, inNamespace);
        this.acmeDnsAccess.push(serviceAccount, role, binding);
    }
}
