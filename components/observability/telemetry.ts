export interface MeshTelemetryArgs {
    /** Envoy access logs for every workload. */
    readonly accessLogs: boolean;
    /** Percentage of requests traced. */
    readonly traceSamplingPercent: number;
    /** An extension provider of istiod's meshConfig; absent: the mesh's default tracing provider, if any. */
    readonly tracingProvider?: string;
}

/**
 * The mesh-wide Telemetry (root namespace, no selector): Envoy access logs through Istio's built-in `envoy` provider,
 * and the share of requests traced. Spans go nowhere until meshConfig names a tracing provider.
 */
export function meshTelemetrySpec(a: MeshTelemetryArgs) {
    return {
        ...(a.accessLogs ? { accessLogging: [{ providers: [{ name: "envoy" }] }] } : {}),
        tracing: [{ randomSamplingPercentage: a.traceSamplingPercent, ...(a.tracingProvider ? { providers: [{ name: a.tracingProvider }] } : {}) }],
    };
}
