/**
 * What an Istio sidecar decides for a request under ALLOW AuthorizationPolicies, for the fields this project
 * generates (principals, request principals, methods, paths, notPaths, ports, hosts): a request is allowed when some
 * rule of some ALLOW policy selecting the workload matches it. Matching follows Istio's string semantics: exact,
 * `prefix*`, `*suffix`, or `*`.
 */
export interface Request {
    readonly principal?: string;
    readonly requestPrincipal?: string;
    readonly method?: string;
    readonly path?: string;
    readonly port?: number;
    readonly host?: string;
}

function matches(pattern: string, value: string | undefined): boolean {
    if (value === undefined) return false;
    if (pattern === "*") return true;
    if (pattern.endsWith("*")) return value.startsWith(pattern.slice(0, -1));
    if (pattern.startsWith("*")) return value.endsWith(pattern.slice(1));
    return pattern === value;
}

const any = (patterns: string[] | undefined, value: string | undefined) => patterns === undefined || patterns.some((p) => matches(p, value));
const none = (patterns: string[] | undefined, value: string | undefined) => patterns === undefined || !patterns.some((p) => matches(p, value));

function ruleMatches(rule: any, r: Request): boolean {
    const fromOk = !rule.from || rule.from.some((f: any) => any(f.source?.principals, r.principal) && any(f.source?.requestPrincipals, r.requestPrincipal));
    const toOk = !rule.to || rule.to.some((t: any) => {
        const op = t.operation ?? {};
        return any(op.methods, r.method) && any(op.paths, r.path) && none(op.notPaths, r.path) && any(op.ports, r.port === undefined ? undefined : String(r.port)) && any(op.hosts, r.host);
    });
    return fromOk && toOk && !rule.when;
}

export function allowed(specs: readonly any[], r: Request): boolean {
    return specs.some((spec) => (spec.action ?? "ALLOW") === "ALLOW" && (spec.rules ?? []).some((rule: any) => ruleMatches(rule, r)));
}
