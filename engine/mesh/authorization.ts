/**
 * What a server's sidecar decides for one request under Istio's AuthorizationPolicy, written from istio/istio at tag
 * 1.30.3 and the API's semantics (istio/api 1.30.3 security/v1beta1/authorization.proto):
 *
 * - Which policies apply: pilot/pkg/model/authorization.go `ListAuthorizationPolicies`: those of the root namespace
 *   and of the workload's namespace, whose selector (none: every workload) matches the workload's labels.
 * - The order: pilot/pkg/security/authz/builder/builder.go `build`: CUSTOM first, then DENY, then ALLOW. A request
 *   matching a DENY policy is denied; when ALLOW policies apply, a request matching none of them is denied; with no
 *   ALLOW policy it is allowed. A policy without rules never matches (`{}` in the root namespace denies everything
 *   once it is an ALLOW); a rule without `from`/`to`/`when` matches every request (builder testdata
 *   allow-nil-rule, allow-empty-rule).
 * - Matching (pilot/pkg/security/authz/model/generator.go, pilot/pkg/security/authz/matcher/string.go): values are
 *   exact, `prefix*`, `*suffix` or `*` (present); principals are matched as `spiffe://<value>`, and `*` only
 *   matches an authenticated peer; namespaces by the `/ns/<ns>/` segment of the peer's SPIFFE ID; ports exactly.
 * - TCP: pilot/pkg/security/authz/model/model.go `Generate`: a rule with HTTP-only fields (methods, paths, hosts,
 *   requestPrincipals) is skipped on a TCP filter chain for ALLOW (it can never allow), and for DENY the HTTP-only
 *   fields are dropped, so the rule denies more.
 */

export interface AuthzRequest {
    /** The peer's SPIFFE ID without `spiffe://` (`<trust domain>/ns/<ns>/sa/<sa>`); absent on plain text. */
    readonly principal?: string;
    readonly requestPrincipal?: string;
    readonly method?: string;
    readonly path?: string;
    readonly port: number;
    readonly host?: string;
    /** A TCP service: only L4 attributes exist. */
    readonly tcp?: boolean;
}

export interface PolicyObject {
    readonly namespace: string;
    readonly name: string;
    readonly spec: any;
}

export interface AuthzVerdict {
    readonly allowed: boolean;
    /** Which action decided, and by which policy: "DENY istio-system/deny-x", "ALLOW: no policy matched", ... */
    readonly reason: string;
}

/** Istio's string match (matcher/string.go `StringMatcherWithPrefix`): `*` needs a value, prefix, suffix, exact. */
export function stringMatches(pattern: string, value: string | undefined): boolean {
    if (value === undefined || value === "") return false;
    if (pattern === "*") return true;
    if (pattern.endsWith("*")) return value.startsWith(pattern.slice(0, -1));
    if (pattern.startsWith("*")) return value.endsWith(pattern.slice(1));
    return pattern === value;
}

const namespaceOf = (principal: string | undefined) => principal?.match(/\/ns\/([^/]+)\//)?.[1];

function namespaceMatches(pattern: string, principal: string | undefined): boolean {
    return stringMatches(pattern, namespaceOf(principal));
}

type Matcher = (pattern: string, r: AuthzRequest) => boolean;

const SOURCE: Record<string, Matcher> = {
    principals: (p, r) => stringMatches(p, r.principal),
    namespaces: (p, r) => namespaceMatches(p, r.principal),
    requestPrincipals: (p, r) => stringMatches(p, r.requestPrincipal),
};
const SOURCE_NEGATED: Record<string, Matcher> = { notPrincipals: SOURCE.principals, notNamespaces: SOURCE.namespaces, notRequestPrincipals: SOURCE.requestPrincipals };
const OPERATION: Record<string, Matcher> = {
    methods: (p, r) => stringMatches(p, r.method),
    paths: (p, r) => stringMatches(p, r.path),
    ports: (p, r) => p === String(r.port),
    hosts: (p, r) => stringMatches(p.toLowerCase(), r.host?.toLowerCase()),
};
const OPERATION_NEGATED: Record<string, Matcher> = { notMethods: OPERATION.methods, notPaths: OPERATION.paths, notPorts: OPERATION.ports, notHosts: OPERATION.hosts };
const HTTP_ONLY = new Set(["methods", "notMethods", "paths", "notPaths", "hosts", "notHosts", "requestPrincipals", "notRequestPrincipals"]);

/** Every field of a source or operation holds: listed fields match one value, negated ones none. */
function fieldsMatch(block: any, fields: Record<string, Matcher>, negated: Record<string, Matcher>, r: AuthzRequest, ignore: Set<string>): boolean {
    for (const [key, m] of Object.entries(fields)) {
        if (ignore.has(key) || block?.[key] === undefined) continue;
        if (!(block[key] as string[]).some((p) => m(p, r))) return false;
    }
    for (const [key, m] of Object.entries(negated)) {
        if (ignore.has(key) || block?.[key] === undefined) continue;
        if ((block[key] as string[]).some((p) => m(p, r))) return false;
    }
    return true;
}

const usesHttpFields = (rule: any) =>
    (rule.from ?? []).some((f: any) => Object.keys(f.source ?? {}).some((k) => HTTP_ONLY.has(k))) ||
    (rule.to ?? []).some((t: any) => Object.keys(t.operation ?? {}).some((k) => HTTP_ONLY.has(k)));

/** Conditions (`when`) cannot be evaluated offline: an ALLOW that needs one is not proven, a DENY with one is assumed to apply. */
function ruleMatches(rule: any, r: AuthzRequest, action: string): boolean {
    const ignore = new Set<string>();
    if (r.tcp && usesHttpFields(rule)) {
        if (action !== "DENY") return false;
        HTTP_ONLY.forEach((k) => ignore.add(k));
    }
    const from = rule.from === undefined || rule.from.some((f: any) => fieldsMatch(f.source, SOURCE, SOURCE_NEGATED, r, ignore));
    const to = rule.to === undefined || rule.to.some((t: any) => fieldsMatch(t.operation, OPERATION, OPERATION_NEGATED, r, ignore));
    const when = rule.when === undefined || rule.when.length === 0 || action === "DENY";
    return from && to && when;
}

const selects = (spec: any, labels: Readonly<Record<string, string>>) =>
    Object.entries(spec?.selector?.matchLabels ?? {}).every(([k, v]) => labels[k] === v);

/** The policies Istio applies to a workload: its namespace's and the root namespace's whose selector matches. */
export function applicablePolicies(policies: readonly PolicyObject[], workload: { namespace: string; labels: Readonly<Record<string, string>> }, rootNamespace: string): PolicyObject[] {
    return policies.filter((p) => (p.namespace === workload.namespace || p.namespace === rootNamespace) && selects(p.spec, workload.labels));
}

export function authorize(policies: readonly PolicyObject[], r: AuthzRequest): AuthzVerdict {
    const of = (action: string) => policies.filter((p) => (p.spec?.action ?? "ALLOW") === action);
    const matching = (action: string) => of(action).find((p) => (p.spec?.rules ?? []).some((rule: any) => ruleMatches(rule, r, action)));
    // A CUSTOM match hands the request to an external authorizer, whose answer no plan can know.
    const custom = matching("CUSTOM");
    if (custom) return { allowed: false, reason: `CUSTOM ${custom.namespace}/${custom.name} sends it to an external authorizer (not provable offline)` };
    const deny = matching("DENY");
    if (deny) return { allowed: false, reason: `DENY ${deny.namespace}/${deny.name} matches` };
    const allows = of("ALLOW");
    if (allows.length === 0) return { allowed: true, reason: "no ALLOW policy selects the workload" };
    const allow = matching("ALLOW");
    return allow
        ? { allowed: true, reason: `ALLOW ${allow.namespace}/${allow.name} matches` }
        : { allowed: false, reason: `no rule of the ALLOW policies (${allows.map((p) => `${p.namespace}/${p.name}`).join(", ")}) matches` };
}
