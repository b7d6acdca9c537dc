import { EdgeAuthConfig, ServiceConfig } from "../../config";
import { INGRESS_GATEWAY, INGRESS_NAMESPACE } from "../kubernetes/names";

/**
 * Authorization generated from the declared service graph, as pure data: every call not declared is denied, every
 * allowed caller is named by fully qualified SPIFFE principal (`<trust-domain>/ns/<ns>/sa/<sa>`), never `*`, never
 * the `cluster.local` shorthand that Istio rewrites to whatever the local trust domain is.
 */

export const ROOT_NAMESPACE = "istio-system";

/** The trust domain a cloud's workloads carry: one per cloud at stage 5 (per-cloud mode), else one for the mesh. */
export type TrustDomainOf = (cloud: "aws" | "gcp") => string;

export interface PolicyDocument {
    readonly name: string;
    readonly namespace: string;
    readonly spec: Record<string, unknown>;
}

/** The workload contract engine/mesh/reachability.ts restates for its proof: keep both in step. */
export function serviceAccountOf(s: ServiceConfig): string {
    return s.serviceAccount ?? s.name;
}

/** A service's identities: one per trust domain it runs in (the clouds it runs on). */
export function principalsOf(s: ServiceConfig, clouds: readonly ("aws" | "gcp")[], trustDomainOf: TrustDomainOf): string[] {
    const runsOn = s.clouds ?? clouds;
    const domains = [...new Set(runsOn.filter((c) => clouds.includes(c)).map(trustDomainOf))].sort();
    return domains.map((td) => `${td}/ns/${s.namespace}/sa/${serviceAccountOf(s)}`);
}

/** The SPIFFE IDs a service's certificates carry: one per trust domain it runs in. */
export function spiffeIdsOf(s: ServiceConfig, clouds: readonly ("aws" | "gcp")[], trustDomainOf: TrustDomainOf): string[] {
    return principalsOf(s, clouds, trustDomainOf).map((p) => `spiffe://${p}`);
}

/** The mesh-wide posture: an ALLOW policy with no rules in the root namespace matches nothing, so it denies everything. */
export function defaultDeny(): PolicyDocument {
    return { name: "default-deny", namespace: ROOT_NAMESPACE, spec: {} };
}

/** The ingress gateway's own identity (the gateway chart names its account after the release), in its own namespace. */
const INGRESS_GATEWAY_IDENTITY = { name: INGRESS_GATEWAY, namespace: INGRESS_NAMESPACE, serviceAccount: INGRESS_GATEWAY } as ServiceConfig;

/**
 * One ALLOW policy per declared service that has callers or is exposed at the edge; a service with neither stays
 * denied by default.
 */
export function serviceAllowPolicies(services: readonly ServiceConfig[], clouds: readonly ("aws" | "gcp")[], trustDomainOf: TrustDomainOf): PolicyDocument[] {
    const byName = new Map(services.map((s) => [s.name, s]));
    const fromGateway = (s: ServiceConfig) => s.exposed
        ? [{ from: [{ source: { principals: principalsOf(INGRESS_GATEWAY_IDENTITY, clouds, trustDomainOf) } }], to: [{ operation: { ports: [String(s.port)] } }] }]
        : [];
    return services.filter((s) => s.callers.length > 0 || s.exposed).map((s) => ({
        name: `allow-${s.name}`,
        namespace: s.namespace,
        spec: {
            selector: { matchLabels: { app: s.name } },
            action: "ALLOW",
            rules: [...fromGateway(s), ...s.callers.map((c) => {
                const caller = byName.get(c.service)!;
                const operation = {
                    ports: [String(s.port)],
                    ...(c.methods ? { methods: c.methods } : {}),
                    ...(c.paths ? { paths: c.paths } : {}),
                };
                return { from: [{ source: { principals: principalsOf(caller, clouds, trustDomainOf) } }], to: [{ operation }] };
            })],
        },
    }));
}

export interface GatewayPolicyArgs {
    readonly hosts: readonly string[];
    readonly edgeAuth?: EdgeAuthConfig;
    /** ACME HTTP-01 challenges must reach the solver without a token. */
    readonly acmeChallenges: boolean;
}

const ACME_CHALLENGE_PATH = "/.well-known/acme-challenge/*";

/**
 * The ingress gateway under default deny: requests for the served hosts are allowed, and on protected paths only with
 * a valid end-user token (and the required claims). One ALLOW policy, so no second rule can widen it.
 */
export function ingressAllowPolicy(a: GatewayPolicyArgs): PolicyDocument {
    const hosts = [...a.hosts];
    const rules: Record<string, unknown>[] = [];
    if (a.edgeAuth) {
        const protectedPaths = a.edgeAuth.protectedPaths;
        rules.push({
            from: [{ source: { requestPrincipals: [`${a.edgeAuth.issuer}/*`] } }],
            to: [{ operation: { hosts, paths: protectedPaths } }],
            ...(Object.keys(a.edgeAuth.requiredClaims).length
                ? { when: Object.entries(a.edgeAuth.requiredClaims).map(([claim, values]) => ({ key: `request.auth.claims[${claim}]`, values })) }
                : {}),
        });
        if (!protectedPaths.includes("/*")) rules.push({ to: [{ operation: { hosts, notPaths: protectedPaths } }] });
    } else {
        rules.push({ to: [{ operation: { hosts } }] });
    }
    if (a.acmeChallenges) rules.push({ to: [{ operation: { paths: [ACME_CHALLENGE_PATH] } }] });
    return { name: "ingress-gateway", namespace: ROOT_NAMESPACE, spec: { selector: { matchLabels: { istio: "ingressgateway" } }, action: "ALLOW", rules } };
}

/**
 * The east-west gateway passes mTLS through; the destination sidecar authorizes the real caller. Istio builds the
 * AUTO_PASSTHROUGH filter chains without any authorization (istio/istio 1.30.3 pilot/pkg/networking/core/gateway.go
 * `builtAutoPassthroughFilterChains`: "We do not want any authz here"), so under the root default-deny this policy
 * only matters for the 15021 status port; 15443 stays listed so the intent reads in one place.
 */
export function eastWestAllowPolicy(): PolicyDocument {
    return {
        name: "eastwest-gateway",
        namespace: ROOT_NAMESPACE,
        spec: { selector: { matchLabels: { istio: "eastwestgateway" } }, action: "ALLOW", rules: [{ to: [{ operation: { ports: ["15443", "15021"] } }] }] },
    };
}

/** End users' tokens, validated at the ingress gateway. */
export function requestAuthentication(edgeAuth: EdgeAuthConfig): PolicyDocument {
    return {
        name: "ingress-jwt",
        namespace: ROOT_NAMESPACE,
        spec: {
            selector: { matchLabels: { istio: "ingressgateway" } },
            jwtRules: [{ issuer: edgeAuth.issuer, jwksUri: edgeAuth.jwksUri, ...(edgeAuth.audiences ? { audiences: edgeAuth.audiences } : {}), forwardOriginalToken: false }],
        },
    };
}
