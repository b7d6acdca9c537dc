import { z } from "zod";
import { clusterName } from "./primitives";

/**
 * Observability (stage 4): a Prometheus per cluster with the mesh's alert and recording rules, the clusters' metrics
 * aggregated in one place, Kiali for the whole mesh, and mesh-wide access logs and trace sampling.
 */

const httpsUrl = z.url({ protocol: /^https$/, error: "must be an https URL" });

export const observabilitySchema = z.strictObject({
    /**
     * How the clusters' metrics reach one place. `federation`: the hub cluster's Prometheus pulls the other clusters'
     * through the mesh (east-west gateways, mTLS). `remoteWrite`: every cluster's Prometheus pushes to remoteWriteUrl.
     * @default "federation"
     */
    aggregation: z.enum(["federation", "remoteWrite"], "must be \"federation\" or \"remoteWrite\"").default("federation"),
    /** `aggregation: remoteWrite` only: the Prometheus remote-write endpoint of the central store. */
    remoteWriteUrl: httpsUrl.optional(),
    /** `aggregation: remoteWrite` only: the central store's Prometheus query API, for Kiali. @default - the hub cluster's own Prometheus (its metrics only) */
    queryUrl: httpsUrl.optional(),
    /** The cluster that runs Kiali and, with federation, the aggregating Prometheus. @default - the first cluster */
    hubCluster: clusterName.optional(),
    /** Local retention of each cluster's Prometheus. @default 15 */
    retentionDays: z.number().int().min(1, "must be between 1 and 90").max(90, "must be between 1 and 90").default(15),
    /** Kiali on the hub cluster, reading every cluster of the mesh. @default true */
    kiali: z.boolean().default(true),
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

/** Rules between `observability` and the rest: the remote-write keys go together, the hub is a cluster of the stack. */
export function checkObservability(observability: unknown, clusters: ReadonlyArray<Record<string, unknown>>, ctx: z.RefinementCtx): void {
    if (typeof observability !== "object" || observability === null) return;
    const o = observability as { aggregation?: unknown; remoteWriteUrl?: unknown; queryUrl?: unknown; hubCluster?: unknown };
    const remoteWrite = o.aggregation === "remoteWrite";
    if (remoteWrite && o.remoteWriteUrl === undefined) {
        ctx.addIssue({ code: "custom", path: ["observability", "remoteWriteUrl"], input: undefined, message: "is required with aggregation: remoteWrite (where every cluster's Prometheus sends its samples)" });
    }
    for (const key of ["remoteWriteUrl", "queryUrl"] as const) {
        if (!remoteWrite && o[key] !== undefined) {
            ctx.addIssue({ code: "custom", path: ["observability", key], input: o[key], message: "is only read with aggregation: remoteWrite" });
        }
    }
    const names = clusters.map((c) => c?.name).filter((n): n is string => typeof n === "string");
    if (typeof o.hubCluster === "string" && names.length > 0 && !names.includes(o.hubCluster)) {
        ctx.addIssue({ code: "custom", path: ["observability", "hubCluster"], input: o.hubCluster, message: `names no cluster of this stack (${names.join(", ")})` });
    }
}
