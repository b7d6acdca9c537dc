import { PolicyResource, ReportViolation, ResourceValidation, ResourceValidationArgs } from "@pulumi/policy";
import { isKind, skipExempt } from "./plumbing";

export { chartName, EXEMPT_RESOURCES, isKind, isRelease, JsonSchema, skipExempt, stackOf } from "./plumbing";

/** Config fragments and resource readers shared by this pack's rules; kept in the pack so it stays self-contained. */

export interface KubernetesObject {
    readonly metadata?: { readonly name?: string; readonly namespace?: string };
    readonly spec?: any;
}

/** A validator for one custom resource kind, honouring `exemptResources`. */
export function validateKind(group: string, kind: string, fn: (obj: KubernetesObject, args: ResourceValidationArgs, report: ReportViolation) => void): ResourceValidation {
    return (args, report) => {
        if (!isKind(args.type, group, kind)) args.notApplicable(`applies only to ${group} ${kind} resources`);
        skipExempt(args);
        fn(args.props as KubernetesObject, args, report);
    };
}

/** approver-policy's and cert-manager's wildcard match: `*` stands for any run of characters. */
export function wildcardMatches(pattern: string, value: string): boolean {
    const re = new RegExp(`^${pattern.split("*").map((p) => p.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*")}$`);
    return re.test(value);
}

/** A PEM private key of any kind: PKCS#8, PKCS#1 (RSA), SEC1 (EC), OpenSSH, encrypted PKCS#8. */
export const PEM_PRIVATE_KEY = /-----BEGIN ([A-Z]+ )*PRIVATE KEY-----/;

/** A Kubernetes cluster as policies see it: the resources applied through one provider. */
export interface KubernetesCluster {
    /** The provider's resource name (`default`, `default_4_34_2` for a default provider). */
    readonly name: string;
    readonly resources: readonly PolicyResource[];
}

/**
 * The Kubernetes resources of a stack, by cluster. Every `pulumi:providers:kubernetes` resource, explicit or default
 * (the engine names default providers `default` or `default_<version>`), is one cluster; a resource whose provider
 * reference is missing is applied through the default provider.
 */
export function kubernetesClusters(resources: readonly PolicyResource[]): KubernetesCluster[] {
    const byProvider = new Map<string, { name: string; resources: PolicyResource[] }>();
    for (const r of resources.filter((x) => x.type.startsWith("kubernetes:"))) {
        const provider = r.provider?.type === "pulumi:providers:kubernetes" ? r.provider : undefined;
        const key = provider?.urn ?? "default";
        if (!byProvider.has(key)) byProvider.set(key, { name: provider?.name ?? "default", resources: [] });
        byProvider.get(key)!.resources.push(r);
    }
    return [...byProvider.values()];
}
