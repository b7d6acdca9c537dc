import { z } from "zod";
import { dnsLabel } from "./primitives";

/**
 * Traffic management (stage 4) for the declared services (`services`): release strategies, resilience, local rate
 * limits and fault injection. Keys under `traffic.services` name declared services; what a service does not set comes
 * from `traffic.resilience`, and what that does not set from RESILIENCE_DEFAULTS.
 */

const percent = z.number().min(0, "must be between 0 and 100").max(100, "must be between 0 and 100");
const milliseconds = z.number().int("must be a whole number of milliseconds").min(1, "must be at least 1 ms");
const seconds = z.number().int("must be a whole number of seconds").min(1, "must be at least 1 s");
const positive = z.number().int("must be a whole number").min(1, "must be ≥ 1");
// Subsets select pods by their `version` label.
const versionLabel = z.string().max(63).regex(/^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/, "must be a Kubernetes label value such as v2");

const canarySchema = z.strictObject({
    strategy: z.literal("canary"),
    /** `version` label of the release serving most traffic. */
    stable: versionLabel,
    /** `version` label of the new release. */
    canary: versionLabel,
    /** Percentage of requests the canary receives; raise it step by step (5, 25, 50, 100), then make it `stable`. */
    canaryWeight: z.number().int("must be a whole percentage").min(0, "must be between 0 and 100").max(100, "must be between 0 and 100"),
    /** Also copy this percentage of requests to the canary; its responses are discarded. @default - no mirroring */
    mirrorPercent: percent.optional(),
});

const blueGreenSchema = z.strictObject({
    strategy: z.literal("blueGreen"),
    /** The color that receives every request: flip it to switch, flip it back to roll back, both instantly. */
    active: z.enum(["blue", "green"], "must be \"blue\" or \"green\""),
    /** `version` label of the blue deployment. @default "blue" */
    blue: versionLabel.default("blue"),
    /** `version` label of the green deployment. @default "green" */
    green: versionLabel.default("green"),
    /** Also copy this percentage of requests to the idle color, to test it with real traffic. @default - no mirroring */
    mirrorPercent: percent.optional(),
});

const releaseSchema = z.discriminatedUnion("strategy", [canarySchema, blueGreenSchema], {
    error: (iss) => (iss.code === "invalid_union" ? "strategy must be \"canary\" or \"blueGreen\"" : undefined),
});

/**
 * Timeouts, retries, connection pool and outlier detection. Every field is optional at both levels (stack, service):
 * `resolveResilience` fills what neither sets from RESILIENCE_DEFAULTS.
 */
export const resilienceSchema = z.strictObject({
    /** Whole-request timeout, retries included (HTTP and gRPC). */
    timeoutMs: milliseconds.optional(),
    retries: z.strictObject({
        /** Retries after the first try; 0 turns retries off. */
        attempts: z.number().int().min(0, "must be between 0 and 10").max(10, "must be between 0 and 10").optional(),
        perTryTimeoutMs: milliseconds.optional(),
        /** Envoy retry conditions (x-envoy-retry-on, x-envoy-retry-grpc-on), comma-separated. */
        retryOn: z.string().regex(/^[a-z0-9-]+(,[a-z0-9-]+)*$/, "must be comma-separated Envoy retry conditions such as connect-failure,refused-stream").optional(),
        /** Retry budget: retries may add at most this percentage of the active requests, so retries cannot amplify an outage. */
        budgetPercent: percent.optional(),
        /** Retries always allowed whatever the budget, for low-traffic services. */
        minRetryConcurrency: z.number().int().min(0, "must be ≥ 0").optional(),
    }).optional(),
    connectionPool: z.strictObject({
        /** TCP connections per destination host, per client proxy. */
        maxConnections: positive.optional(),
        /** Requests queued while waiting for a connection (HTTP/1.1). */
        maxPendingRequests: positive.optional(),
        /** Concurrent requests to a destination host (HTTP/2 and gRPC). */
        maxRequests: positive.optional(),
        connectTimeoutMs: milliseconds.optional(),
    }).optional(),
    /** Circuit breaking: eject endpoints that fail, so the load balancer (and locality failover) skips them. */
    outlierDetection: z.strictObject({
        consecutive5xxErrors: positive.optional(),
        intervalSeconds: seconds.optional(),
        baseEjectionSeconds: seconds.optional(),
        maxEjectionPercent: z.number().int().min(0, "must be between 0 and 100").max(100, "must be between 0 and 100").optional(),
    }).optional(),
});

export type ResilienceConfig = z.output<typeof resilienceSchema>;

/** Every resilience setting, resolved. */
export interface ResolvedResilience {
    readonly timeoutMs: number;
    readonly retries: { readonly attempts: number; readonly perTryTimeoutMs: number; readonly retryOn: string; readonly budgetPercent: number; readonly minRetryConcurrency: number };
    readonly connectionPool: { readonly maxConnections: number; readonly maxPendingRequests: number; readonly maxRequests: number; readonly connectTimeoutMs: number };
    readonly outlierDetection: { readonly consecutive5xxErrors: number; readonly intervalSeconds: number; readonly baseEjectionSeconds: number; readonly maxEjectionPercent: number };
}

/** What a service gets when neither the service nor `traffic.resilience` says otherwise. */
export const RESILIENCE_DEFAULTS: ResolvedResilience = {
    timeoutMs: 10_000,
    // Istio's own default conditions: retried only when the request never reached the application (or for gRPC
    // statuses that say so), which is safe for non-idempotent calls too.
    retries: { attempts: 2, perTryTimeoutMs: 3_000, retryOn: "connect-failure,refused-stream,unavailable,cancelled", budgetPercent: 20, minRetryConcurrency: 3 },
    connectionPool: { maxConnections: 1024, maxPendingRequests: 1024, maxRequests: 1024, connectTimeoutMs: 3_000 },
    outlierDetection: { consecutive5xxErrors: 5, intervalSeconds: 10, baseEjectionSeconds: 30, maxEjectionPercent: 50 },
};

/** Later layers win field by field: RESILIENCE_DEFAULTS, then the stack's `traffic.resilience`, then the service's. */
export function resolveResilience(...layers: ReadonlyArray<ResilienceConfig | undefined>): ResolvedResilience {
    const merge = <T extends object>(base: T, parts: ReadonlyArray<Partial<T> | undefined>): T =>
        parts.reduce<T>((acc, p) => ({ ...acc, ...Object.fromEntries(Object.entries(p ?? {}).filter(([, v]) => v !== undefined)) }), { ...base });
    const d = RESILIENCE_DEFAULTS;
    return {
        timeoutMs: layers.reduce<number>((acc, l) => l?.timeoutMs ?? acc, d.timeoutMs),
        retries: merge<ResolvedResilience["retries"]>(d.retries, layers.map((l) => l?.retries)),
        connectionPool: merge<ResolvedResilience["connectionPool"]>(d.connectionPool, layers.map((l) => l?.connectionPool)),
        outlierDetection: merge<ResolvedResilience["outlierDetection"]>(d.outlierDetection, layers.map((l) => l?.outlierDetection)),
    };
}

/** Envoy's local rate limit, a token bucket per proxy: each replica allows this much on its own. */
const rateLimitSchema = z.strictObject({
    /** Tokens added each second: the sustained rate one proxy allows. */
    requestsPerSecond: positive,
    /** Bucket size: how many requests one proxy allows at once after a quiet period. @default - requestsPerSecond */
    burst: positive.optional(),
});

/** Injected faults, for testing environments: a plan with faults in a production stack is refused by the mesh-mtls pack. */
const faultSchema = z.strictObject({
    delay: z.strictObject({ percent, fixedDelayMs: milliseconds }).optional(),
    abort: z.strictObject({ percent, httpStatus: z.number().int().min(400, "must be an HTTP error status (400-599)").max(599, "must be an HTTP error status (400-599)") }).optional(),
}).refine((f) => f.delay !== undefined || f.abort !== undefined, "must set delay, abort or both");

const serviceTrafficSchema = z.strictObject({
    /** @default - one route to the service, no subsets */
    release: releaseSchema.optional(),
    /** Overrides of `traffic.resilience` for this service. */
    resilience: resilienceSchema.optional(),
    /** Local rate limit at the service's sidecars (HTTP and gRPC). @default - none */
    rateLimit: rateLimitSchema.optional(),
    /** Needs `traffic.allowFaultInjection: true`. @default - none */
    fault: faultSchema.optional(),
});

export const trafficSchema = z.strictObject({
    /** Stack-wide resilience for every declared service. @default - RESILIENCE_DEFAULTS */
    resilience: resilienceSchema.prefault({}),
    /** Per declared service, by name. @default {} */
    services: z.record(dnsLabel, serviceTrafficSchema).default({}),
    /** Local rate limit at the ingress gateway (per gateway replica). @default - none */
    ingressRateLimit: rateLimitSchema.optional(),
    /** Prefer endpoints in the caller's region and fail over to the other clusters' regions when they are ejected. @default true */
    localityFailover: z.boolean().default(true),
    /** The explicit opt-in that `traffic.services.<name>.fault` needs. @default false */
    allowFaultInjection: z.boolean().default(false),
}).prefault({});

export type TrafficConfig = z.output<typeof trafficSchema>;
export type ReleaseConfig = z.output<typeof releaseSchema>;
export type RateLimitConfig = z.output<typeof rateLimitSchema>;
export type FaultConfig = z.output<typeof faultSchema>;

/**
 * Rules between `traffic` and `services`: configured services exist, faults are opted into, HTTP-only settings are
 * not set on TCP services, a release names two versions, per-try timeouts fit in the request timeout. Reads the raw
 * input defensively: it runs even when other fields failed.
 */
export function checkTraffic(traffic: unknown, services: unknown, ctx: z.RefinementCtx): void {
    if (typeof traffic !== "object" || traffic === null) return;
    const t = traffic as { services?: unknown; allowFaultInjection?: unknown; resilience?: unknown };
    const declared = new Map<string, { protocol?: unknown }>(
        (Array.isArray(services) ? services : []).filter((s) => typeof s?.name === "string").map((s) => [s.name, s]));
    const stackResilience = typeof t.resilience === "object" ? (t.resilience as ResilienceConfig) : undefined;
    checkTimeouts(["traffic", "resilience"], [stackResilience], ctx);
    const configured = typeof t.services === "object" && t.services !== null ? Object.entries(t.services as Record<string, any>) : [];
    for (const [name, s] of configured) {
        const at = ["traffic", "services", name];
        const service = declared.get(name);
        if (!service) {
            ctx.addIssue({ code: "custom", path: at, input: name, message: `names no declared service (istio-production:services)${declared.size ? `; declared: ${[...declared.keys()].join(", ")}` : ""}` });
            continue;
        }
        if (s?.fault !== undefined && t.allowFaultInjection !== true) {
            ctx.addIssue({ code: "custom", path: [...at, "fault"], input: "(set)", message: "injects faults without the explicit opt-in: set traffic.allowFaultInjection: true (testing environments only)" });
        }
        if ((service.protocol ?? "http") === "tcp") {
            const httpOnly = [
                s?.fault !== undefined && "fault", s?.rateLimit !== undefined && "rateLimit", s?.release?.mirrorPercent !== undefined && "release.mirrorPercent",
                s?.resilience?.timeoutMs !== undefined && "resilience.timeoutMs", s?.resilience?.retries !== undefined && "resilience.retries",
            ].filter((f): f is string => typeof f === "string");
            for (const field of httpOnly) {
                ctx.addIssue({ code: "custom", path: [...at, ...field.split(".")], input: "(set)", message: `is HTTP-only; service ${name} is tcp` });
            }
        }
        const r = s?.release;
        if (r?.strategy === "canary" && typeof r.stable === "string" && r.stable === r.canary) {
            ctx.addIssue({ code: "custom", path: [...at, "release", "canary"], input: r.canary, message: "must differ from stable: a canary is another version" });
        }
        if (r?.strategy === "blueGreen" && (r.blue ?? "blue") === (r.green ?? "green")) {
            ctx.addIssue({ code: "custom", path: [...at, "release", "green"], input: r.green, message: "must differ from blue: blue and green are two deployments" });
        }
        checkTimeouts([...at, "resilience"], [stackResilience, typeof s?.resilience === "object" ? s.resilience : undefined], ctx);
        if (s?.rateLimit !== undefined) checkRateLimitNotRetried(name, stackResilience, s?.resilience, ctx);
    }
}

/**
 * Retry conditions that match a local rate limit's answer (429, or `RESOURCE_EXHAUSTED` for gRPC): Envoy's
 * `resource-exhausted` gRPC condition, and 429 itself, which Istio turns into `retriable-status-codes` (istio/istio
 * 1.30.3 pilot/pkg/networking/core/route/retry/retry.go, `parseRetryOn`). Retrying a rate limit only multiplies the load
 * that caused it.
 */
const RETRIES_RATE_LIMITS = new Set(["resource-exhausted", "429"]);

function checkRateLimitNotRetried(name: string, stack: ResilienceConfig | undefined, own: unknown, ctx: z.RefinementCtx): void {
    const ownRetryOn = (own as ResilienceConfig | undefined)?.retries?.retryOn;
    const [retryOn, at] = typeof ownRetryOn === "string"
        ? [ownRetryOn, ["traffic", "services", name, "resilience", "retries", "retryOn"]]
        : [stack?.retries?.retryOn ?? RESILIENCE_DEFAULTS.retries.retryOn, ["traffic", "resilience", "retries", "retryOn"]];
    if (typeof retryOn !== "string") return;
    const retried = retryOn.split(",").filter((c) => RETRIES_RATE_LIMITS.has(c.trim()));
    if (retried.length > 0) {
        ctx.addIssue({ code: "custom", path: at, input: retryOn,
            message: `retries ${retried.join(" and ")}, the answer of service ${name}'s rateLimit: callers would retry every rate-limited request; remove ${retried.join(", ")}` });
    }
}

function checkTimeouts(at: Array<string | number>, layers: Array<ResilienceConfig | undefined>, ctx: z.RefinementCtx): void {
    const numbers = layers.every((l) => l === undefined || ((l.timeoutMs === undefined || typeof l.timeoutMs === "number")
        && (l.retries?.perTryTimeoutMs === undefined || typeof l.retries.perTryTimeoutMs === "number")));
    if (!numbers) return;
    const { timeoutMs, retries } = resolveResilience(...layers);
    if (retries.attempts > 0 && retries.perTryTimeoutMs > timeoutMs) {
        ctx.addIssue({ code: "custom", path: [...at, "retries", "perTryTimeoutMs"], input: retries.perTryTimeoutMs,
            message: `exceeds the request timeout (timeoutMs ${timeoutMs}): no retry could ever start` });
    }
}
