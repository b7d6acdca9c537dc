import { z } from "zod";
import { awsRegion, clusterName, kubernetesName } from "./primitives";

/**
 * Observability (stage 4): a Prometheus per cluster with the mesh's alert and recording rules, the clusters' metrics
 * aggregated in one place, Kiali for the whole mesh, and mesh-wide access logs and trace sampling.
 */

const httpsUrl = z.url({ protocol: /^https$/, error: "must be an https URL" });
const secretKey = z.string().regex(/^[-._a-zA-Z0-9]+$/, "must be a Secret data key (a-z, A-Z, 0-9, '-', '_', '.')");

/** `Authorization: Bearer <token>`, the token read from a Secret. */
const bearerAuth = z.strictObject({ type: z.literal("bearer"), secretName: kubernetesName, /** @default "token" */ key: secretKey.default("token") });
/** HTTP basic authentication, both parts read from a Secret. */
const basicAuth = z.strictObject({
    type: z.literal("basic"), secretName: kubernetesName,
    /** @default "username" */ usernameKey: secretKey.default("username"),
    /** @default "password" */ passwordKey: secretKey.default("password"),
});

/**
 * How every cluster's Prometheus authenticates to `remoteWriteUrl`. Credentials never pass through the stack: they are
 * read from a Secret in the `monitoring` namespace of each cluster (create it from your secret store), or come from
 * the cluster's workload identity.
 */
const remoteWriteAuthSchema = z.discriminatedUnion("type", [
    bearerAuth,
    basicAuth,
    /** AWS Signature V4, for Amazon Managed Service for Prometheus. */
    z.strictObject({
        type: z.literal("sigv4"),
        /** The workspace's region. */
        region: awsRegion,
        /** EKS clusters: an IAM role allowed `aps:RemoteWrite`, bound to Prometheus' service account by EKS Pod Identity. */
        roleArn: z.string().regex(/^arn:aws[-a-z]*:iam::\d{12}:role\/[\w+=,.@\/-]+$/, "must be an IAM role ARN").optional(),
        /**
         * Clusters without a role binding (GKE): a Secret with `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY`; with
         * `roleArn`, those keys only assume the role.
         */
        credentialsSecret: kubernetesName.optional(),
    }),
], { error: (iss) => (iss.code === "invalid_union" ? "type must be \"bearer\", \"basic\" or \"sigv4\"" : undefined) });

/**
 * How Kiali authenticates to `queryUrl`: from a Secret in Kiali's namespace, `istio-system`, on the hub cluster (the
 * chart mounts it). Kiali signs no SigV4: an Amazon Managed Prometheus workspace needs a signing proxy in front.
 */
const queryAuthSchema = z.discriminatedUnion("type", [bearerAuth, basicAuth],
    { error: (iss) => (iss.code === "invalid_union" ? "type must be \"bearer\" or \"basic\"" : undefined) });

export const observabilitySchema = z.strictObject({
    /**
     * How the clusters' metrics reach one place. `federation`: the hub cluster's Prometheus pulls the other clusters'
     * through the mesh (east-west gateways, mTLS). `remoteWrite`: every cluster's Prometheus pushes to remoteWriteUrl.
     * @default "federation"
     */
    aggregation: z.enum(["federation", "remoteWrite"], "must be \"federation\" or \"remoteWrite\"").default("federation"),
    /** `aggregation: remoteWrite` only: the Prometheus remote-write endpoint of the central store. */
    remoteWriteUrl: httpsUrl.optional(),
    /** `aggregation: remoteWrite` only: credentials for remoteWriteUrl. @default - none (refused in prod) */
    remoteWriteAuth: remoteWriteAuthSchema.optional(),
    /** `aggregation: remoteWrite` only: the central store's Prometheus query API, for Kiali. @default - the hub cluster's own Prometheus (its metrics only) */
    queryUrl: httpsUrl.optional(),
    /** With `queryUrl` only: Kiali's credentials for it. @default - none (refused in prod) */
    queryAuth: queryAuthSchema.optional(),
    /** The cluster that runs Kiali and, with federation, the aggregating Prometheus. @default - the first cluster */
    hubCluster: clusterName.optional(),
    /** Local retention of each cluster's Prometheus. @default 15 */
    retentionDays: z.number().int().min(1, "must be between 1 and 90").max(90, "must be between 1 and 90").default(15),
    /** Kiali on the hub cluster, reading every cluster of the mesh. @default true */
    kiali: z.boolean().default(true),
    /**
     * How users log in to Kiali; required with `kiali`. `openid`: through the OpenID Connect issuer (by default the
     * edge's, `edgeAuth.issuer`), every user then sharing Kiali's read-only view of every cluster. `anonymous`: no
     * login, refused in the prod environment. Kiali's `token` login is not offered: Kiali 2.29 opens a token session
     * for its home cluster only.
     */
    kialiAuth: z.discriminatedUnion("strategy", [
        z.strictObject({
            strategy: z.literal("openid"),
            /** The client registered for Kiali at the issuer (authorization code flow; redirect URI: Kiali's URL). */
            clientId: z.string().min(1, "must not be empty"),
            /** @default - edgeAuth.issuer */
            issuerUri: httpsUrl.optional(),
            /** Only users whose email is in one of these domains may log in. @default - any user the issuer authenticates */
            allowedDomains: z.array(z.string().regex(/^([a-z0-9]([-a-z0-9]*[a-z0-9])?\.)+[a-z]{2,63}$/, "must be a DNS domain such as acme.example")).min(1).optional(),
        }),
        z.strictObject({ strategy: z.literal("anonymous") }),
        z.strictObject({ strategy: z.literal("token") }),
    ], { error: (iss) => (iss.code === "invalid_union" ? "strategy must be \"openid\" or \"anonymous\"" : undefined) }).optional(),
    /** Envoy access logs for every workload of the mesh (Telemetry in the root namespace). @default true */
    accessLogs: z.boolean().default(true),
    /** Percentage of requests traced. @default 1 */
    traceSamplingPercent: z.number().min(0, "must be between 0 and 100").max(100, "must be between 0 and 100").default(1),
    /**
     * An OpenTelemetry collector (OTLP/gRPC) that receives the spans: istiod gets it as the extension provider
     * `otel-tracing`, and the mesh's Telemetry sends traces to it. @default - no tracing backend: spans are not exported
     */
    tracingCollector: z.strictObject({
        /** Service FQDN, e.g. `otel-collector.observability.svc.cluster.local`. */
        service: z.string().regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, "must be a Kubernetes service name (FQDN)"),
        port: z.number().int().min(1).max(65535).default(4317),
    }).optional(),
    /** Alert this many days before a cluster's intermediate CA expires. @default 30 */
    intermediateExpiryWarningDays: z.number().int().min(1, "must be between 1 and 365").max(365, "must be between 1 and 365").default(30),
}).prefault({});

/** The name under which istiod knows the tracing collector. */
export const TRACING_PROVIDER = "otel-tracing";

export type ObservabilityConfig = z.output<typeof observabilitySchema>;
export type RemoteWriteAuth = z.output<typeof remoteWriteAuthSchema>;
export type QueryAuth = z.output<typeof queryAuthSchema>;

/** Environments held to production rules, as the policy packs' `productionStacks` default. */
export const PRODUCTION_ENVIRONMENTS: readonly string[] = ["prod"];

/** What the observability rules read from the rest of the stack. */
export interface ObservabilityContext {
    readonly clusters: ReadonlyArray<Record<string, unknown>>;
    /** The stack's stage turns observability on: settings that only matter then are required then. */
    readonly enabled: boolean;
    readonly environment: unknown;
    readonly edgeAuth: unknown;
}

/**
 * Rules between `observability` and the rest: the remote-write keys go together, the hub is a cluster of the stack,
 * Kiali's login works across clusters and is not anonymous in production.
 */
export function checkObservability(observability: unknown, at: ObservabilityContext, ctx: z.RefinementCtx): void {
    const o = (typeof observability === "object" && observability !== null ? observability : {}) as {
        aggregation?: unknown; remoteWriteUrl?: unknown; remoteWriteAuth?: unknown; queryUrl?: unknown; queryAuth?: unknown; hubCluster?: unknown; kiali?: unknown;
        kialiAuth?: { strategy?: unknown; issuerUri?: unknown };
    };
    const clusters = at.clusters;
    checkKialiAuth(o, at, ctx);
    const remoteWrite = o.aggregation === "remoteWrite";
    if (remoteWrite && o.remoteWriteUrl === undefined) {
        ctx.addIssue({ code: "custom", path: ["observability", "remoteWriteUrl"], input: undefined, message: "is required with aggregation: remoteWrite (where every cluster's Prometheus sends its samples)" });
    }
    const production = typeof at.environment === "string" && PRODUCTION_ENVIRONMENTS.includes(at.environment);
    if (remoteWrite && o.remoteWriteAuth === undefined && production) {
        ctx.addIssue({ code: "custom", path: ["observability", "remoteWriteAuth"], input: undefined,
            message: `is required in environment ${at.environment}: without it every cluster sends its samples to remoteWriteUrl unauthenticated (bearer or basic from a Secret, or sigv4)` });
    }
    // The store takes writes only with credentials there; it should answer reads of the same samples only with them too.
    if (remoteWrite && o.queryUrl !== undefined && o.queryAuth === undefined && production) {
        ctx.addIssue({ code: "custom", path: ["observability", "queryAuth"], input: undefined,
            message: `is required with queryUrl in environment ${at.environment}: without it Kiali queries the central store unauthenticated, which either refuses it or serves every cluster's metrics to anyone (bearer or basic from a Secret in istio-system)` });
    }
    if (remoteWrite && o.queryAuth !== undefined && o.queryUrl === undefined) {
        ctx.addIssue({ code: "custom", path: ["observability", "queryAuth"], input: o.queryAuth, message: "is only read with queryUrl (Kiali's credentials for it)" });
    }
    if (remoteWrite) checkSigV4(o.remoteWriteAuth, clusters, ctx);
    for (const key of ["remoteWriteUrl", "remoteWriteAuth", "queryUrl", "queryAuth"] as const) {
        if (!remoteWrite && o[key] !== undefined) {
            ctx.addIssue({ code: "custom", path: ["observability", key], input: o[key], message: "is only read with aggregation: remoteWrite" });
        }
    }
    const names = clusters.map((c) => c?.name).filter((n): n is string => typeof n === "string");
    if (typeof o.hubCluster === "string" && names.length > 0 && !names.includes(o.hubCluster)) {
        ctx.addIssue({ code: "custom", path: ["observability", "hubCluster"], input: o.hubCluster, message: `names no cluster of this stack (${names.join(", ")})` });
    }
}

function checkKialiAuth(o: { kiali?: unknown; kialiAuth?: { strategy?: unknown; issuerUri?: unknown } }, at: ObservabilityContext, ctx: z.RefinementCtx): void {
    const auth = o.kialiAuth;
    const path = ["observability", "kialiAuth"];
    if (auth === undefined && at.enabled && o.kiali !== false) {
        ctx.addIssue({ code: "custom", path, input: undefined, message: "is required with kiali (the default): set {strategy: openid, clientId: <Kiali's client at the issuer>}, or kiali: false" });
    }
    if (typeof auth !== "object" || auth === null) return;
    if (auth.strategy === "token") {
        // kiali/kiali v2.29.0 handlers/authentication/token_auth_controller.go: the session holds the token for
        // conf.KubernetesConfig.ClusterName only ("TODO: Support multi-cluster").
        ctx.addIssue({ code: "custom", path: [...path, "strategy"], input: "token",
            message: "shows the home cluster only: Kiali 2.29 opens a token session for the cluster it runs on; use openid" });
    }
    if (auth.strategy === "anonymous" && typeof at.environment === "string" && PRODUCTION_ENVIRONMENTS.includes(at.environment)) {
        ctx.addIssue({ code: "custom", path: [...path, "strategy"], input: "anonymous",
            message: `lets anyone who reaches Kiali read every cluster of the mesh without logging in; refused in environment ${at.environment}: use openid` });
    }
    if (auth.strategy === "openid" && auth.issuerUri === undefined) {
        const edgeIssuer = (at.edgeAuth as { issuer?: unknown } | undefined)?.issuer;
        if (edgeIssuer === undefined) {
            ctx.addIssue({ code: "custom", path: [...path, "issuerUri"], input: undefined, message: "is required without edgeAuth (whose issuer it defaults to)" });
        } else if (typeof edgeIssuer === "string" && !/^https:\/\/[^/]/.test(edgeIssuer)) {
            ctx.addIssue({ code: "custom", path: [...path, "issuerUri"], input: undefined, message: `is required: the default, edgeAuth.issuer ${edgeIssuer}, is not an https URL` });
        }
    }
}

/** SigV4 needs AWS credentials on every cluster: a role bound by EKS Pod Identity, or keys from a Secret elsewhere. */
function checkSigV4(auth: unknown, clusters: ReadonlyArray<Record<string, unknown>>, ctx: z.RefinementCtx): void {
    const a = auth as { type?: unknown; roleArn?: unknown; credentialsSecret?: unknown } | undefined;
    if (a?.type !== "sigv4" || a.credentialsSecret !== undefined) return;
    const gke = clusters.filter((c) => c?.cloud === "gcp").map((c) => c.name);
    if (gke.length > 0) {
        ctx.addIssue({ code: "custom", path: ["observability", "remoteWriteAuth", "credentialsSecret"], input: undefined,
            message: `is required with sigv4 on GKE clusters (${gke.join(", ")}): they have no AWS role of their own` });
    } else if (a.roleArn === undefined) {
        ctx.addIssue({ code: "custom", path: ["observability", "remoteWriteAuth", "roleArn"], input: undefined,
            message: "is required with sigv4 (or credentialsSecret): the EKS clusters' Prometheus needs an AWS identity to sign with" });
    }
}
