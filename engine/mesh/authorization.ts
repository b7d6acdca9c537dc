/**
 * What a server's sidecar decides for one request under Istio's AuthorizationPolicy, written from istio/istio at tag
 * 1.30.3 and the API's semantics (istio/api 1.30.3 security/v1beta1/authorization_policy.proto):
 *
 * - Which policies apply: pilot/pkg/model/authorization.go `ListAuthorizationPolicies` and
 *   pilot/pkg/model/policyattachment.go `ShouldAttachPolicy`: those of the root namespace and of the workload's
 *   namespace whose selector (none: every workload) matches the workload's labels; a policy with `targetRef(s)` is
 *   ignored altogether by a sidecar. pilot/pkg/security/authz/builder/builder.go `isDryRun`: a policy annotated
 *   `istio.io/dry-run: "true"` is only logged, never enforced.
 * - The order (proto, "Authorization Policy" and builder.go `build`): CUSTOM first: the external authorizer may deny,
 *   when it allows DENY and ALLOW are still evaluated. A request matching a DENY policy is denied; when ALLOW policies
 *   apply, a request matching none of them is denied; with no ALLOW policy it is allowed. A policy without rules
 *   never matches (`{}` in the root namespace denies everything once it is an ALLOW); a rule without (or with empty)
 *   `from`/`to`/`when` matches every request (model.go `New`: `if len(r.From) == 0`; builder testdata allow-nil-rule,
 *   allow-empty-rule).
 * - Matching (pilot/pkg/security/authz/model/generator.go, pilot/pkg/security/authz/matcher/{string,template}.go):
 *   values are exact, `prefix*`, `*suffix` or `*` (present); principals are matched as `spiffe://<value>`, after
 *   the trust domain is replaced by the mesh's trust domain and each alias (pilot/pkg/security/trustdomain/bundle.go
 *   `ReplaceTrustDomainAliases`, applied by model.go `MigrateTrustDomain`; trustDomains are expanded by
 *   `ExpandTrustDomainAliases`); namespaces by the `/ns/<glob>/` segment of the peer's SPIFFE ID; service accounts
 *   by `/ns/<ns>/sa/<sa>` (the policy's namespace when none is given); request principals split at the last `/`
 *   into iss and sub; paths with `{*}`/`{**}` are URI templates; ports exactly.
 * - TCP: pilot/pkg/security/authz/model/model.go `Generate`: a rule with HTTP-only fields (methods, paths, hosts,
 *   requestPrincipals, `request.*` conditions) is skipped on a TCP filter chain for ALLOW (it can never allow), and for
 *   DENY the HTTP-only fields are dropped, so the rule denies more.
 *
 * What a plan cannot know (the caller's IP for ipBlocks/remoteIpBlocks, header and claim conditions, the external
 * authorizer's answer, a field this model does not know) makes a rule's match *unknown*, never silently true or
 * false; the decision is then "unknown", which the proof counts against the declared graph whichever way it goes.
 */

export interface AuthzRequest {
    /** The peer's SPIFFE ID without `spiffe://` (`<trust domain>/ns/<ns>/sa/<sa>`); absent on plain text. */
    readonly principal?: string;
    /** The end-user token's `<iss>/<sub>`, absent without one. */
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
    readonly annotations?: Readonly<Record<string, string>>;
}

export type Decision = "allowed" | "refused" | "unknown";

export interface AuthzVerdict {
    readonly decision: Decision;
    /** Which action decided, and by which policy: "DENY istio-system/deny-x matches", ... */
    readonly reason: string;
}

/** The server mesh's trust domain and aliases (trustdomain.NewBundle): principals are rewritten to each of them. */
export interface TrustDomainBundle {
    readonly trustDomain: string;
    readonly trustDomainAliases: readonly string[];
}
const DEFAULT_BUNDLE: TrustDomainBundle = { trustDomain: "cluster.local", trustDomainAliases: [] };

/** Three-valued: undefined is "cannot be decided from the plan". */
type Tri = boolean | undefined;
const and = (xs: Tri[]): Tri => (xs.includes(false) ? false : xs.includes(undefined) ? undefined : true);
const or = (xs: Tri[]): Tri => (xs.includes(true) ? true : xs.includes(undefined) ? undefined : false);
const not = (x: Tri): Tri => (x === undefined ? undefined : !x);

/** Istio's string match (matcher/string.go `StringMatcherWithPrefix`): `*` needs a value, prefix, suffix, exact. */
export function stringMatches(pattern: string, value: string | undefined): boolean {
    if (value === undefined || value === "") return false;
    if (pattern === "*") return true;
    if (pattern.endsWith("*")) return value.startsWith(pattern.slice(0, -1));
    if (pattern.startsWith("*")) return value.endsWith(pattern.slice(1));
    return pattern === value;
}

const quote = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
const fullMatch = (regex: string, value: string | undefined) => value !== undefined && new RegExp(`^(?:${regex})$`).test(value);

/** A `{*}` (one segment) / `{**}` (any segments) path template (matcher/template.go, security.ContainsPathTemplate). */
export function pathMatches(pattern: string, path: string | undefined): boolean {
    if (!pattern.includes("{*}") && !pattern.includes("{**}")) return stringMatches(pattern, path);
    const regex = pattern.split(/(\{\*\*\}|\{\*\})/).map((part) => (part === "{**}" ? "[^/]*(?:/[^/]*)*" : part === "{*}" ? "[^/]+" : quote(part))).join("");
    return fullMatch(regex, path?.split("?")[0]);
}

/** generator.go `srcNamespaceGenerator`: `.*\/ns/<ns, * as .*>/.*` on the peer's SPIFFE ID. */
function namespaceMatches(pattern: string, principal: string | undefined): boolean {
    return fullMatch(`.*/ns/${pattern.split("*").map(quote).join(".*")}/.*`, principal && `spiffe://${principal}`);
}

/** generator.go `serviceAccountRegex`: `<ns>/<sa>`, or `<sa>` in the policy's namespace. */
function serviceAccountMatches(value: string, policyNamespace: string, principal: string | undefined): boolean {
    const [ns, sa] = value.includes("/") ? [value.slice(0, value.indexOf("/")), value.slice(value.indexOf("/") + 1)] : [policyNamespace, value];
    return fullMatch(`spiffe://.+/ns/${quote(ns)}/(.+/|)sa/${quote(sa)}(/.+)?`, principal && `spiffe://${principal}`);
}

/** generator.go `srcTrustDomainGenerator`: `*` any SPIFFE ID, a name its prefix, one `*` inside a name `[^/]*`. */
function trustDomainMatches(value: string, principal: string | undefined): boolean {
    const id = principal && `spiffe://${principal}`;
    if (value === "*") return !!id;
    if (!value.includes("*")) return !!id?.startsWith(`spiffe://${value}/`);
    const [a, b] = [value.slice(0, value.indexOf("*")), value.slice(value.indexOf("*") + 1)];
    return fullMatch(`spiffe://${quote(a)}[^/]*${quote(b)}/.*`, id);
}

/** generator.go `requestPrincipalGenerator`: the value splits at its last `/` into iss and sub, each matched apart. */
export function requestPrincipalMatches(value: string, requestPrincipal: string | undefined): boolean {
    if (!requestPrincipal) return false;
    const cut = (s: string) => { const i = s.lastIndexOf("/"); return i >= 0 ? [s.slice(0, i), s.slice(i + 1)] : [s, undefined] as const; };
    const [iss, sub] = cut(requestPrincipal);
    const [viss, vsub] = cut(value);
    const anyValue = (s: string | undefined) => !!s;
    if (value === "*") return anyValue(iss) && anyValue(sub);
    if (value.startsWith("*")) {
        if (vsub === undefined) return anyValue(iss) && !!sub?.endsWith(value.slice(1));
        return (viss === "*" ? anyValue(iss) : iss.endsWith(viss.slice(1))) && sub === vsub;
    }
    if (value.endsWith("*")) {
        if (vsub === undefined) return iss.startsWith(value.slice(0, -1)) && anyValue(sub);
        return iss === viss && (vsub === "*" ? anyValue(sub) : !!sub?.startsWith(vsub.slice(0, -1)));
    }
    return iss === viss && sub === vsub;
}

/** bundle.go `ReplaceTrustDomainAliases`: a principal naming the local trust domain, an alias or `cluster.local` is
 * rewritten to each of them (one whose `*`-suffix pattern covers a trust domain stays as written for it). */
export function replaceTrustDomainAliases(principals: readonly string[], bundle: TrustDomainBundle): string[] {
    const tds = [bundle.trustDomain, ...bundle.trustDomainAliases];
    const suffixMatch = (a: string, pattern: string) => pattern.startsWith("*") && a.endsWith(pattern.slice(1));
    const prefixMatch = (a: string, pattern: string) => pattern.endsWith("*") && a.startsWith(pattern.slice(0, -1));
    const listed = (a: string) => tds.some((s) => a === s || s === "*" || prefixMatch(a, s) || prefixMatch(s, a) || suffixMatch(a, s) || suffixMatch(s, a));
    return principals.flatMap((p) => {
        const parts = p.split("/");
        if (parts.length !== 5 || parts[0] === "*") return [p];
        const td = parts[0];
        if (!listed(td) && td !== "cluster.local") return [p];
        return [...new Set(tds.map((t) => (suffixMatch(t, td) ? p : [t, ...parts.slice(1)].join("/"))))];
    });
}

/** bundle.go `ExpandTrustDomainAliases`: a value naming one of the bundle's trust domains stands for all of them. */
const expandTrustDomainAliases = (values: readonly string[], bundle: TrustDomainBundle) => {
    const tds = [bundle.trustDomain, ...bundle.trustDomainAliases];
    return [...new Set(values.flatMap((v) => (tds.includes(v) ? tds : [v])))];
};

interface Context {
    readonly request: AuthzRequest;
    readonly bundle: TrustDomainBundle;
    readonly policyNamespace: string;
    /** Why a match came out unknown: the fields the plan cannot evaluate. */
    readonly unknown: Set<string>;
}

type Matcher = (values: readonly string[], c: Context) => Tri;
const each = (m: (v: string, c: Context) => boolean): Matcher => (values, c) => values.some((v) => m(v, c));
const unknowable = (field: string): Matcher => (_, c) => { c.unknown.add(field); return undefined; };

const principals = each((v, c) => stringMatches(v, c.request.principal));
const SOURCE: Record<string, Matcher> = {
    principals: (values, c) => principals(replaceTrustDomainAliases(values, c.bundle), c),
    namespaces: each((v, c) => namespaceMatches(v, c.request.principal)),
    serviceAccounts: each((v, c) => serviceAccountMatches(v, c.policyNamespace, c.request.principal)),
    trustDomains: (values, c) => expandTrustDomainAliases(values, c.bundle).some((v) => trustDomainMatches(v, c.request.principal)),
    requestPrincipals: each((v, c) => requestPrincipalMatches(v, c.request.requestPrincipal)),
    ipBlocks: unknowable("ipBlocks"),
    remoteIpBlocks: unknowable("remoteIpBlocks"),
};
const OPERATION: Record<string, Matcher> = {
    methods: each((v, c) => stringMatches(v, c.request.method)),
    paths: each((v, c) => pathMatches(v, c.request.path)),
    ports: each((v, c) => v === String(c.request.port)),
    hosts: each((v, c) => stringMatches(v.toLowerCase(), c.request.host?.toLowerCase())),
};
/** `when` keys (model.go `New`) this model evaluates; any other key is unknown (headers, claims, IPs, SNI, ...). */
const CONDITION: Record<string, Matcher> = {
    "source.principal": SOURCE.principals,
    "source.namespace": SOURCE.namespaces,
    "source.serviceAccount": SOURCE.serviceAccounts,
    "source.trustDomain": SOURCE.trustDomains,
    "request.auth.principal": SOURCE.requestPrincipals,
    "destination.port": OPERATION.ports,
};
const HTTP_ONLY = new Set(["methods", "paths", "hosts", "requestPrincipals"]);
const isHttpCondition = (key: string) => key.startsWith("request.");

/** Every field holds: `x` matches one value, `notX` none; a field this model does not know is unknown. */
function fieldsMatch(block: Record<string, unknown> | undefined, fields: Record<string, Matcher>, c: Context, ignore: (field: string) => boolean): Tri {
    return and(Object.entries(block ?? {}).map(([key, values]) => {
        const negated = /^not[A-Z]/.test(key);
        const field = negated ? key[3].toLowerCase() + key.slice(4) : key;
        if (ignore(field)) return true;
        const m = fields[field];
        if (!m) return unknowable(`unknown field ${key}`)([], c);
        if (!Array.isArray(values)) return true;
        const hit = m(values as string[], c);
        return negated ? not(hit) : hit;
    }));
}

function conditionMatches(when: any, c: Context, ignore: (key: string) => boolean): Tri {
    if (ignore(when.key)) return true;
    const m = CONDITION[when.key];
    if (!m) return unknowable(`when ${when.key}`)([], c);
    const values = when.values?.length ? m(when.values, c) : true;
    const notValues = when.notValues?.length ? not(m(when.notValues, c)) : true;
    return and([values, notValues]);
}

const usesHttpFields = (rule: any) =>
    (rule.from ?? []).some((f: any) => Object.keys(f.source ?? {}).some((k) => HTTP_ONLY.has(k.replace(/^not([A-Z])/, (_, x) => x.toLowerCase())))) ||
    (rule.to ?? []).some((t: any) => Object.keys(t.operation ?? {}).some((k) => HTTP_ONLY.has(k.replace(/^not([A-Z])/, (_, x) => x.toLowerCase())))) ||
    (rule.when ?? []).some((w: any) => isHttpCondition(w.key));

function ruleMatches(rule: any, action: string, c: Context): Tri {
    let dropHttp = false;
    if (c.request.tcp && usesHttpFields(rule)) {
        if (action === "ALLOW") return false;
        dropHttp = true;
    }
    const ignoreField = (f: string) => dropHttp && HTTP_ONLY.has(f);
    const from = rule.from?.length ? or(rule.from.map((f: any) => fieldsMatch(f.source, SOURCE, c, ignoreField))) : true;
    const to = rule.to?.length ? or(rule.to.map((t: any) => fieldsMatch(t.operation, OPERATION, c, ignoreField))) : true;
    const when = and((rule.when ?? []).map((w: any) => conditionMatches(w, c, (k) => dropHttp && isHttpCondition(k))));
    return and([from, to, when]);
}

const selects = (spec: any, labels: Readonly<Record<string, string>>) =>
    Object.entries(spec?.selector?.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
const targeted = (spec: any) => !!spec?.targetRef || (spec?.targetRefs ?? []).length > 0;
/** strconv.ParseBool, as builder.go `isDryRun` reads the annotation. */
const dryRun = (p: PolicyObject) => ["1", "t", "T", "true", "TRUE", "True"].includes(p.annotations?.["istio.io/dry-run"] ?? "");

/** The policies a workload's sidecar enforces: its namespace's and the root namespace's whose selector matches. */
export function applicablePolicies(policies: readonly PolicyObject[], workload: { namespace: string; labels: Readonly<Record<string, string>> }, rootNamespace: string): PolicyObject[] {
    return policies.filter((p) => (p.namespace === workload.namespace || p.namespace === rootNamespace) &&
        !targeted(p.spec) && !dryRun(p) && selects(p.spec, workload.labels));
}

export function authorize(policies: readonly PolicyObject[], r: AuthzRequest, bundle: TrustDomainBundle = DEFAULT_BUNDLE): AuthzVerdict {
    const of = (action: string) => policies.filter((p) => (p.spec?.action ?? "ALLOW") === action);
    const judged = (action: string) => of(action).map((p) => {
        const c: Context = { request: r, bundle, policyNamespace: p.namespace, unknown: new Set() };
        const match = or((p.spec?.rules ?? []).map((rule: any) => ruleMatches(rule, action, c)));
        return { name: `${p.namespace}/${p.name}`, match, why: [...c.unknown].join(", ") };
    });
    const custom = judged("CUSTOM");
    const deny = judged("DENY");
    const surelyDenied = deny.find((p) => p.match === true);
    if (surelyDenied) return { decision: "refused", reason: `DENY ${surelyDenied.name} matches` };
    const allows = judged("ALLOW");
    const allowed = allows.find((p) => p.match === true);
    const maybe = allows.find((p) => p.match === undefined);
    if (allows.length > 0 && !allowed && !maybe) {
        return { decision: "refused", reason: `no rule of the ALLOW policies (${allows.map((p) => p.name).join(", ")}) matches` };
    }
    const denyMaybe = deny.find((p) => p.match === undefined);
    if (denyMaybe) return { decision: "unknown", reason: `DENY ${denyMaybe.name} may match (${denyMaybe.why} cannot be known from the plan)` };
    const customHit = custom.find((p) => p.match !== false);
    if (customHit) return { decision: "unknown", reason: `CUSTOM ${customHit.name} hands it to an external authorizer, whose answer no plan can know` };
    if (allows.length === 0) return { decision: "allowed", reason: "no ALLOW policy selects the workload" };
    if (allowed) return { decision: "allowed", reason: `ALLOW ${allowed.name} matches` };
    return { decision: "unknown", reason: `ALLOW ${maybe!.name} may match (${maybe!.why} cannot be known from the plan)` };
}
