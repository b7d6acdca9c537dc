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
 * proxy) into the HTTP filter chain of the selected proxies: requests over the limit get 429 and the
 * `x-local-rate-limit` header, before they reach the application (or, at a gateway, the mesh).
 */
export function localRateLimitSpec(a: LocalRateLimitArgs) {
    return {
        workloadSelector: { labels: { ...a.workloadLabels } },
        configPatches: [{
            applyTo: "HTTP_FILTER",
            match: { context: a.context, listener: { filterChain: { filter: { name: "envoy.filters.network.http_connection_manager" } } } },
            patch: {
                operation: "INSERT_BEFORE",
                value: {
                    name: "envoy.filters.http.local_ratelimit",
                    typed_config: {
                        "@type": "type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit",
                        stat_prefix: "http_local_rate_limiter",
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
