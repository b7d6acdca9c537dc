import { ObservabilityConfig, TRACING_PROVIDER } from "../../config/observability";

/**
 * The mesh-wide Telemetry (root namespace, no selector), from the stack's `observability` settings: Envoy access logs
 * through Istio's built-in `envoy` provider, and the share of requests traced, sent to the tracing collector istiod
 * knows as TRACING_PROVIDER when one is set. Without one, spans go nowhere until meshConfig names a tracing provider.
 */
export function meshTelemetrySpec(o: ObservabilityConfig) {
    return {
        ...(o.accessLogs ? { accessLogging: [{ providers: [{ name: "envoy" }] }] } : {}),
        tracing: [{ randomSamplingPercentage: o.traceSamplingPercent, ...(o.tracingCollector ? { providers: [{ name: TRACING_PROVIDER }] } : {}) }],
    };
}
