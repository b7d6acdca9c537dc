import { RateLimitConfig } from "../../config";

export interface LocalRateLimitArgs {
    /** `SIDECAR_INBOUND`: a service's own proxies, for requests they receive. `GATEWAY`: a gateway's proxies. */
    readonly context: "SIDECAR_INBOUND" | "GATEWAY";
    /** Pod labels of the proxies the filter applies to. */
    readonly workloadLabels: Readonly<Record<string, string>>;
    readonly limit: RateLimitConfig;
}

const ALWAYS = { numerator: 100, denominator: "HUNDRED" };

/**
 * An EnvoyFilter that inserts Envoy's local rate limit (`envoy.filters.http.local_ratelimit`, a token bucket per
 * proxy) into the HTTP filter chain of the selected proxies, after the mesh's authentication and authorization:
 * admitted requests over the limit get 429 (gRPC calls `RESOURCE_EXHAUSTED`) and the `x-local-rate-limit` header,
 * before they reach the application (or, at a gateway, the mesh).
 *
 * The answer is chosen so that callers neither retry it nor eject the limited endpoint. Envoy's local reply to a gRPC
 * call carries `Grpc::Utility::httpToGrpcStatus(status)`, which maps 429 to `UNAVAILABLE`, unless
 * `rate_limited_as_resource_exhausted` asks for `RESOURCE_EXHAUSTED` (envoyproxy/envoy
 * source/extensions/filters/http/local_ratelimit/local_ratelimit.cc, `rate_limited_grpc_status_` and
 * `sendLocalReply`; source/common/grpc/status.cc). The caller's router feeds outlier detection
 * `grpcToHttpStatus(grpc-status)`: `UNAVAILABLE` is 503, a 5xx that counts towards `consecutive5xxErrors`, while
 * `RESOURCE_EXHAUSTED` is 429, which does not (source/common/router/router.cc, `onUpstreamHeaders`); and the
 * `unavailable` retry condition retries 14, not 8 (source/common/router/retry_state_impl.cc).
 */
export function localRateLimitSpec(a: LocalRateLimitArgs) {
    return {
        workloadSelector: { labels: { ...a.workloadLabels } },
        configPatches: [{
            applyTo: "HTTP_FILTER",
            // Just before the router, so after authentication and authorization: a request the mesh refuses (no
            // valid JWT, denied by an AuthorizationPolicy) is answered 401/403 without spending the service's tokens.
            // INSERT_BEFORE without a sub-filter would put the limit first in the chain, where anyone able to connect
            // could exhaust it for the legitimate callers (istio/istio 1.30.3
            // pilot/pkg/networking/core/envoyfilter/listener_patch.go, HTTP_FILTER patches; the chain's order is
            // pilot/pkg/networking/core/listener_builder.go `buildHTTPConnectionManager`, the router last).
            match: {
                context: a.context,
                listener: { filterChain: { filter: { name: "envoy.filters.network.http_connection_manager", subFilter: { name: "envoy.filters.http.router" } } } },
            },
            patch: {
                operation: "INSERT_BEFORE",
                value: {
                    name: "envoy.filters.http.local_ratelimit",
                    typed_config: {
                        "@type": "type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit",
                        stat_prefix: "http_local_rate_limiter",
                        // Envoy's default, stated: callers' retry conditions and outlier detection are checked against it.
                        status: { code: "TooManyRequests" },
                        rate_limited_as_resource_exhausted: true,
                        token_bucket: { max_tokens: a.limit.burst ?? a.limit.requestsPerSecond, tokens_per_fill: a.limit.requestsPerSecond, fill_interval: "1s" },
                        // Without these the filter is configured but neither enabled nor enforced.
                        filter_enabled: { runtime_key: "local_rate_limit_enabled", default_value: ALWAYS },
                        filter_enforced: { runtime_key: "local_rate_limit_enforced", default_value: ALWAYS },
                        response_headers_to_add: [{ append_action: "OVERWRITE_IF_EXISTS_OR_ADD", header: { key: "x-local-rate-limit", value: "true" } }],
                    },
                },
            },
        }],
    };
}
