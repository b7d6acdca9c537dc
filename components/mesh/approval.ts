import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { customResource } from "../kubernetes/customResource";

export const NON_CA_USAGES = ["digital signature", "key encipherment", "server auth", "client auth"];

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
export function approvalPolicy(name: string, a: ApprovalPolicyArgs, opts: { parent: pulumi.Resource; provider: k8s.Provider }): pulumi.Resource[] {
    const cr = customResource(`${name}-${a.policyName}`, "policy.cert-manager.io/v1alpha1", "CertificateRequestPolicy",
        { name: a.policyName },
        { spec: { allowed: a.allowed, ...(a.constraints ? { constraints: a.constraints } : {}), selector: { issuerRef: a.issuerRef, ...(a.namespaces ? { namespace: { matchNames: [...a.namespaces] } } : {}) } } },
        { ...opts, dependsOn: [a.approverPolicy] });
    const role = new k8s.rbac.v1.ClusterRole(`${name}-${a.policyName}`, {
        metadata: { name: `cert-manager-policy:${a.policyName}` },
        rules: [{ apiGroups: ["policy.cert-manager.io"], resources: ["certificaterequestpolicies"], verbs: ["use"], resourceNames: [a.policyName] }],
    }, { ...opts, parent: cr });
    const binding = new k8s.rbac.v1.ClusterRoleBinding(`${name}-${a.policyName}`, {
        metadata: { name: `cert-manager-policy:${a.policyName}` },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: role.metadata.name },
        subjects: [{ kind: "ServiceAccount", ...a.requester }],
    }, { ...opts, parent: cr });
    return [cr, role, binding];
}
