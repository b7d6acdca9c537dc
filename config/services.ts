import { z } from "zod";
import { dnsLabel } from "./primitives";
import { CERT_MANAGER_NAMESPACE, EASTWEST_NAMESPACE, INGRESS_NAMESPACE, ISTIO_NAMESPACE, MONITORING_NAMESPACE } from "../components/kubernetes/names";

// The mesh's root namespace is Istio's default, istio-system (istio/istio 1.30.3, pkg/config/mesh/mesh.go
// `RootNamespace`); "Policy in the root namespace applies to workloads in all namespaces" (pilot/pkg/model/authorization.go).
const MESH_ROOT_NAMESPACE = ISTIO_NAMESPACE;
/**
 * Namespaces the program creates for the mesh itself: a service declared in one would make authorization create the
 * same Namespace a second time (two resources owning one object: the second create fails, or deleting one deletes
 * it) and label a gateway's or cert-manager's namespace for sidecar injection.
 */
const MESH_OWNED_NAMESPACES: readonly string[] = [CERT_MANAGER_NAMESPACE, INGRESS_NAMESPACE, EASTWEST_NAMESPACE, MONITORING_NAMESPACE];

/**
 * The declared service graph: which workloads exist in the mesh and who may call whom. Authorization (stage 3) is
 * generated from it (calls not declared are denied), and traffic management (stage 4) refers to its services.
 */

const httpMethod = z.enum(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"], "must be an HTTP method in upper case");
// Istio matches paths exactly, by prefix (`/api/*`) or by suffix (`*.json`).
const pathPattern = z.string().regex(/^(\/[^*\s]*\*?|\*[^*\s]+)$/, "must be an exact path, a prefix ending in '*' or a suffix starting with '*'");

/** One permitted call into a service. */
const callerSchema = z.strictObject({
    /** A declared service that may call. */
    service: dnsLabel,
    /** Limit the call to these methods (HTTP services only). @default - any */
    methods: z.array(httpMethod).min(1).optional(),
    /** Limit the call to these paths (HTTP services only). @default - any */
    paths: z.array(pathPattern).min(1).optional(),
});

export const serviceSchema = z.strictObject({
    /** Service name, also the workload's `app` label. */
    name: dnsLabel,
    /** Not the mesh's root namespace: what is declared there applies to every namespace. */
    namespace: dnsLabel.refine((ns) => ns !== MESH_ROOT_NAMESPACE, `is the mesh's root namespace, where Istio applies authorization policies to workloads in every namespace, so this service's ALLOW rules would open every workload of the mesh to its callers: deploy the service in a namespace of its own`)
        .refine((ns) => !MESH_OWNED_NAMESPACES.includes(ns), { error: (i) => `is a namespace this program creates for the mesh itself (${MESH_OWNED_NAMESPACES.join(", ")}): declaring ${JSON.stringify(i.input)} would create it twice and enable sidecar injection there; deploy the service in a namespace of its own` }),
    /** @default - the service name */
    serviceAccount: dnsLabel.optional(),
    /** The port the workload listens on (authorization matches it), also the Service port. */
    port: z.number().int().min(1).max(65535),
    /** @default "http" */
    protocol: z.enum(["http", "grpc", "tcp"], "must be http, grpc or tcp").default("http"),
    /** Clouds the workload runs on, for its identities in per-cloud trust domain mode. @default - every cloud of the stack */
    clouds: z.array(z.enum(["aws", "gcp"])).min(1).optional(),
    /** Who may call this service. Calls not listed are denied. @default - nobody */
    callers: z.array(callerSchema).default([]),
    /** Reachable through the ingress gateway (subject to edgeAuth). @default false */
    exposed: z.boolean().default(false),
    /** With `exposed`: requests to the ingress hosts under this path prefix go to this service. @default "/" */
    ingressPathPrefix: z.string().regex(/^\/[^*\s]*$/, "must be a path prefix starting with '/'").default("/"),
});

export type ServiceConfig = z.output<typeof serviceSchema>;

/** End-user authentication at the ingress gateway. */
export const edgeAuthSchema = z.strictObject({
    /** The tokens' `iss`: an https URL, as OpenID Connect requires of an issuer identifier (OIDC Core 1.0, §2 and §16.15). */
    issuer: z.url({ protocol: /^https$/, error: "must be an https URL (the identity provider's issuer identifier, as its tokens' iss claim spells it)" }),
    jwksUri: z.url({ protocol: /^https$/, error: "must be an https URL" }),
    /** @default - any audience */
    audiences: z.array(z.string().min(1)).min(1).optional(),
    /** Paths that need a valid token. @default ["/*"] (everything) */
    protectedPaths: z.array(pathPattern).min(1).default(["/*"]),
    /** Claims the token must carry, claim → accepted values. @default - none */
    requiredClaims: z.record(z.string().regex(/^[\w.-]+$/, "must be a claim name"), z.array(z.string().min(1)).min(1)).default({}),
});

export type EdgeAuthConfig = z.output<typeof edgeAuthSchema>;

/** Service-graph rules between fields: callers exist, names are unique, HTTP-only options on HTTP services. */
export function checkServiceGraph(services: unknown, ctx: z.RefinementCtx): void {
    if (!Array.isArray(services)) return;
    const names = new Map<string, number>();
    services.forEach((s, i) => {
        if (typeof s?.name !== "string") return;
        if (names.has(s.name)) ctx.addIssue({ code: "custom", path: ["services", i, "name"], input: s.name, message: `must be unique; services[${names.get(s.name)}] already uses it` });
        else names.set(s.name, i);
    });
    const prefixes = new Map<string, number>();
    services.forEach((s, i) => {
        if (s?.exposed !== true) return;
        const prefix = typeof s.ingressPathPrefix === "string" ? s.ingressPathPrefix : "/";
        if (prefixes.has(prefix)) ctx.addIssue({ code: "custom", path: ["services", i, "ingressPathPrefix"], input: prefix, message: `must be unique among exposed services; services[${prefixes.get(prefix)}] is exposed at it` });
        else prefixes.set(prefix, i);
    });
    services.forEach((s, i) => {
        (Array.isArray(s?.callers) ? s.callers : []).forEach((c: any, j: number) => {
            if (typeof c?.service === "string" && !names.has(c.service)) {
                ctx.addIssue({ code: "custom", path: ["services", i, "callers", j, "service"], input: c.service, message: "names no declared service" });
            }
            if ((c?.methods || c?.paths) && s?.protocol === "tcp") {
                ctx.addIssue({ code: "custom", path: ["services", i, "callers", j], input: c, message: "methods and paths need an HTTP or gRPC service; this one is tcp" });
            }
        });
    });
}
