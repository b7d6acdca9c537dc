import { PolicyConfigSchema, PolicyResource, ReportViolation, ResourceValidation, ResourceValidationArgs } from "@pulumi/policy";

/** Config fragments and resource readers shared by this pack's rules; kept in the pack so it stays self-contained. */

export type JsonSchema = PolicyConfigSchema["properties"][string];

export const EXEMPT_RESOURCES: JsonSchema = {
    type: "array", items: { type: "string" }, default: [],
    description: "Pulumi resource names this policy skips; give each exemption its reason in the pack config file.",
};

/** The stack a URN belongs to: `urn:pulumi:<stack>::<project>::...`. */
export function stackOf(urn: string): string {
    return urn.split("::")[0].replace(/^urn:pulumi:/, "");
}

/** Skips the resource when the policy's `exemptResources` config names it. */
export function skipExempt(args: ResourceValidationArgs): void {
    const { exemptResources = [] } = args.getConfig<{ exemptResources?: string[] }>();
    if (exemptResources.includes(args.name)) args.notApplicable(`${args.name} is exempted by this policy's exemptResources config`);
}

/**
 * `k8s.apiextensions.CustomResource` registers `kubernetes:<group>/<version>:<Kind>` and its class carries no
 * `__pulumiType`, so cert-manager objects are recognised by their type token, for every served version.
 */
export function isKind(type: string, group: string, kind: string): boolean {
    const m = /^kubernetes:([a-z0-9.-]+)\/v[0-9a-z]+:([A-Za-z]+)$/.exec(type);
    return m !== null && m[1] === group && m[2] === kind;
}

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

/** The chart's own name, however it is referenced: `cert-manager-istio-csr`, `oci://quay.io/jetstack/charts/cert-manager-istio-csr`. */
export function chartName(chart: unknown): string | undefined {
    return typeof chart === "string" ? chart.replace(/\/+$/, "").split("/").pop() : undefined;
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
