import { PolicyConfigSchema, PolicyResource, ResourceValidationArgs } from "@pulumi/policy";

/**
 * Plumbing every pack's rules use. Each pack keeps an identical copy, so that it can be published and run on its
 * own (`pulumi policy publish` packs one folder); `npm run policy:sync -- <pack>` copies one pack's copy to the
 * others and tests/policy-plumbing.test.ts fails while they differ.
 */

export type JsonSchema = PolicyConfigSchema["properties"][string];

export const EXEMPT_RESOURCES: JsonSchema = {
    type: "array", items: { type: "string" }, default: [],
    description: "Pulumi resource names this policy skips; give each exemption its reason in the pack config file.",
};

/** Skips the resource when the policy's `exemptResources` config names it. */
export function skipExempt(args: ResourceValidationArgs): void {
    const { exemptResources = [] } = args.getConfig<{ exemptResources?: string[] }>();
    if (exemptResources.includes(args.name)) args.notApplicable(`${args.name} is exempted by this policy's exemptResources config`);
}

/** The stack a URN belongs to: `urn:pulumi:<stack>::<project>::...`. */
export function stackOf(urn: string): string {
    return urn.split("::")[0].replace(/^urn:pulumi:/, "");
}

/**
 * `k8s.apiextensions.CustomResource` registers `kubernetes:<group>/<version>:<Kind>` and its class carries no
 * `__pulumiType`, so custom resources are recognised by their type token, for every served API version.
 */
export function isKind(type: string, group: string, kind: string): boolean {
    const m = /^kubernetes:([a-z0-9.-]+)\/v[0-9a-z]+:([A-Za-z]+)$/.exec(type);
    return m !== null && m[1] === group && m[2] === kind;
}

/** The chart's own name, however it is referenced: `istiod`, `istio/istiod`, `oci://quay.io/jetstack/charts/cert-manager`. */
export function chartName(chart: unknown): string | undefined {
    return typeof chart === "string" ? chart.replace(/\/+$/, "").split("/").pop() : undefined;
}

/** A Helm release of the chart, by the type token (`k8s.helm.v3.Release`) so the pack need not load the class. */
export function isRelease(r: PolicyResource, chart: string): boolean {
    return r.type === "kubernetes:helm.sh/v3:Release" && chartName(r.props.chart) === chart;
}
