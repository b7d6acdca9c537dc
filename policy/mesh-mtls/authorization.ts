import * as coreV1 from "@pulumi/kubernetes/core/v1";
import { ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { EXEMPT_CLUSTERS, EXEMPT_NAMESPACES, EXEMPT_RESOURCES, hasSelector, isIstioKind, meshClusters, namespaceOf, ROOT_NAMESPACE, rootNamespaceOf, validateIstio } from "./istio";

/** mesh-mtls rules on Authorization: least-privilege ALLOW policies and a default deny per namespace. */

interface Source {
    readonly principals?: readonly string[];
    readonly namespaces?: readonly string[];
    readonly serviceAccounts?: readonly string[];
    readonly trustDomains?: readonly string[];
}

/** A rule with nothing to match on matches every request. */
function isEmptyRule(rule: any): boolean {
    const empty = (v: unknown) => v === undefined || v === null || (Array.isArray(v) && v.length === 0);
    return empty(rule?.from) && empty(rule?.to) && empty(rule?.when);
}

function principalProblem(principal: string, trustDomains: readonly string[], allowClusterLocal: boolean): string | undefined {
    if (principal.includes("*")) return "a wildcard matches workloads nobody listed; name each principal as <trust-domain>/ns/<namespace>/sa/<service-account>";
    if (principal.startsWith("spiffe://")) return "Istio matches principals without the spiffe:// scheme; write <trust-domain>/ns/<namespace>/sa/<service-account>";
    const m = /^([^/]+)\/ns\/([^/]+)\/sa\/([^/]+)$/.exec(principal);
    if (!m) {
        return principal.startsWith("ns/")
            ? "it names no trust domain; write <trust-domain>/ns/<namespace>/sa/<service-account>"
            : "it is not of the form <trust-domain>/ns/<namespace>/sa/<service-account>";
    }
    const trustDomain = m[1];
    if (trustDomain === "cluster.local") {
        return allowClusterLocal ? undefined : "cluster.local stands for the local trust domain and all its aliases, so it does not say which trust domain (cloud) the caller is in; name the caller's own trust domain";
    }
    if (trustDomains.length > 0 && !trustDomains.includes(trustDomain)) return `trust domain ${trustDomain} is not one of ${trustDomains.join(", ")} (this policy's trustDomains config)`;
    return undefined;
}

export const authorizationLeastPrivilege: ResourceValidationPolicy = {
    name: "authorization-policy-least-privilege",
    description: "ALLOW policies never allow everything (an empty rule), use no wildcard principals or namespaces, and name principals fully (<trust-domain>/ns/<ns>/sa/<sa>); DENY policies have rules.",
    enforcementLevel: "mandatory",
    configSchema: {
        properties: {
            trustDomains: {
                type: "array", items: { type: "string", minLength: 1 }, default: [],
                description: "Trust domains ALLOW principals may name; empty accepts any trust domain except cluster.local.",
            },
            allowClusterLocal: { type: "boolean", default: false, description: "Accept cluster.local/... principals, which match every trust domain alias." },
            exemptResources: EXEMPT_RESOURCES,
        },
    },
    validateResource: validateIstio("AuthorizationPolicy", (policy, args, report) => {
        const { trustDomains, allowClusterLocal } = args.getConfig<{ trustDomains: string[]; allowClusterLocal: boolean }>();
        const action: string = policy.spec?.action ?? "ALLOW";
        const rules: any[] | undefined = policy.spec?.rules;
        if (action === "DENY" && rules === undefined) {
            report("spec.action is DENY without spec.rules, which never matches (Istio rejects it): add the rules to deny, or use an ALLOW policy without rules to deny everything");
        }
        if (action !== "ALLOW") return;
        (rules ?? []).forEach((rule, i) => {
            if (isEmptyRule(rule)) report(`spec.rules[${i}] is empty and matches every request, so this ALLOW policy allows everything: name the principals and operations to allow (a policy without rules allows nothing)`);
            (rule?.from ?? []).forEach((from: { source?: Source } | undefined, j: number) => {
                const source = from?.source ?? {};
                const where = `spec.rules[${i}].from[${j}].source`;
                for (const p of source.principals ?? []) {
                    const problem = principalProblem(p, trustDomains, allowClusterLocal);
                    if (problem) report(`${where}.principals has "${p}": ${problem}`);
                }
                for (const ns of source.namespaces ?? []) {
                    if (ns.includes("*")) report(`${where}.namespaces has "${ns}", which matches namespaces nobody listed: name the namespaces, or better the principals, to allow`);
                }
                if ((source.serviceAccounts ?? []).length > 0 && (source.trustDomains ?? []).length === 0) {
                    report(`${where}.serviceAccounts matches those accounts in every trust domain the mesh trusts: add trustDomains to the same source, or use fully qualified principals`);
                }
            });
        });
    }),
};

/** No rules: the ALLOW policy matches nothing, so everything it selects is denied. */
function isAllowNothing(spec: any): boolean {
    return (spec?.action ?? "ALLOW") === "ALLOW" && (spec?.rules ?? []).length === 0 && !spec?.provider;
}

export const defaultDenyAuthorization: StackValidationPolicy = {
    name: "default-deny-authorization",
    description: "On every cluster that runs Istio, each namespace the stack creates is covered by an allow-nothing AuthorizationPolicy: its own, or a mesh-wide one in the root namespace.",
    enforcementLevel: "advisory",
    configSchema: { properties: { rootNamespace: ROOT_NAMESPACE, exemptNamespaces: EXEMPT_NAMESPACES, exemptClusters: EXEMPT_CLUSTERS } },
    validateStack: (args, report) => {
        const { rootNamespace, exemptNamespaces, exemptClusters } = args.getConfig<{ rootNamespace: string; exemptNamespaces: string[]; exemptClusters: string[] }>();
        for (const cluster of meshClusters(args.resources)) {
            const { provider } = cluster;
            if (exemptClusters.includes(provider.name)) continue;
            const root = rootNamespaceOf(cluster) ?? rootNamespace;
            const denying = cluster.resources.filter((r) => isIstioKind(r.type, "AuthorizationPolicy") && isAllowNothing(r.props.spec)
                && !hasSelector(r.props.spec) && !r.props.spec?.targetRef && !(r.props.spec?.targetRefs ?? []).length);
            const covered = new Set(denying.map((r) => namespaceOf(r.props, provider)));
            if (covered.has(root)) continue;
            for (const ns of cluster.resources.filter((r) => r.isType(coreV1.Namespace))) {
                const name: string | undefined = ns.props.metadata?.name;
                if (!name || exemptNamespaces.includes(name) || covered.has(name)) continue;
                report(`namespace ${name} on cluster ${provider.name} has no allow-nothing AuthorizationPolicy, so any authenticated workload may call into it: add an AuthorizationPolicy with an empty spec in ${name} (or in ${root} for the whole mesh) and ALLOW callers by principal`, ns.urn);
            }
        }
    },
};

export const authorizationPolicies = [authorizationLeastPrivilege, defaultDenyAuthorization];
