/**
 * A model of what a caller's Envoy does with a local rate limit's answer, written from Envoy's and Istio's source so
 * that tests derive their expectations from upstream behaviour rather than from this project's code:
 *
 * - the answer: envoyproxy/envoy source/extensions/filters/http/local_ratelimit/local_ratelimit.cc (`status_` defaults
 *   to 429 below 400, `rate_limited_grpc_status_` is `ResourceExhausted` only with `rate_limited_as_resource_exhausted`)
 *   and source/common/http/utility.cc (a local reply to a gRPC request is HTTP 200 with grpc-status, the given one or
 *   `Grpc::Utility::httpToGrpcStatus(code)`); the mapping in source/common/grpc/status.cc;
 * - retries: source/common/router/retry_state_impl.cc (`wouldRetryFromHeaders`), after Istio turns numbers in
 *   `retryOn` into `retriable-status-codes` (istio/istio 1.30.3 pilot/pkg/networking/core/route/retry/retry.go);
 * - outlier detection: source/common/router/router.cc (`onUpstreamHeaders` feeds `grpcToHttpStatus(grpc-status)` for
 *   gRPC requests) and the detector's `is5xx` for `consecutive5xxErrors`.
 */

/** gRPC status codes (grpc/grpc doc/statuscodes.md). */
export const GRPC = { OK: 0, CANCELLED: 1, DEADLINE_EXCEEDED: 4, RESOURCE_EXHAUSTED: 8, INTERNAL: 13, UNAVAILABLE: 14 } as const;

/** Envoy's `type.v3.StatusCode` names the filter's `status.code` takes, for the codes a rate limit may use. */
const STATUS_CODES: Record<string, number> = { TooManyRequests: 429, ServiceUnavailable: 503, Forbidden: 403, BadRequest: 400 };

export interface Answer {
    readonly httpStatus: number;
    readonly grpcStatus?: number;
}

function httpToGrpcStatus(code: number): number {
    switch (code) {
        case 400: return GRPC.INTERNAL;
        case 401: return 16;
        case 403: return 7;
        case 404: return 12;
        case 429: case 502: case 503: case 504: return GRPC.UNAVAILABLE;
        default: return 2;
    }
}

function grpcToHttpStatus(status: number): number {
    const map: Record<number, number> = { 0: 200, 1: 499, 2: 500, 3: 400, 4: 504, 5: 404, 6: 409, 7: 403, 8: 429, 9: 400, 10: 409, 11: 400, 12: 501, 13: 500, 14: 503, 15: 500, 16: 401 };
    return map[status] ?? 500;
}

/** What a request over the limit receives from a proxy running `envoy.filters.http.local_ratelimit` with `typedConfig`. */
export function rateLimitedAnswer(typedConfig: Record<string, any>, grpcRequest: boolean): Answer {
    const configured = STATUS_CODES[typedConfig.status?.code] ?? 429;
    const code = configured < 400 ? 429 : configured;
    if (!grpcRequest) return { httpStatus: code };
    return { httpStatus: 200, grpcStatus: typedConfig.rate_limited_as_resource_exhausted === true ? GRPC.RESOURCE_EXHAUSTED : httpToGrpcStatus(code) };
}

/** Whether a caller whose route has Istio `retryOn` retries this answer. */
export function wouldRetry(istioRetryOn: string, answer: Answer): boolean {
    const parts = istioRetryOn.split(",").map((p) => p.trim()).filter(Boolean);
    const codes = parts.filter((p) => /^\d+$/.test(p)).map(Number);
    const on = new Set(parts.filter((p) => !/^\d+$/.test(p)));
    if (codes.length > 0) on.add("retriable-status-codes");
    const status = answer.httpStatus;
    if (on.has("5xx") && status >= 500 && status < 600) return true;
    if (on.has("gateway-error") && [502, 503, 504].includes(status)) return true;
    if (on.has("retriable-4xx") && status === 409) return true;
    if (on.has("retriable-status-codes") && codes.includes(status)) return true;
    const grpc: Record<string, number> = { cancelled: GRPC.CANCELLED, "deadline-exceeded": GRPC.DEADLINE_EXCEEDED, "resource-exhausted": GRPC.RESOURCE_EXHAUSTED, unavailable: GRPC.UNAVAILABLE, internal: GRPC.INTERNAL };
    return answer.grpcStatus !== undefined && Object.entries(grpc).some(([condition, s]) => on.has(condition) && answer.grpcStatus === s);
}

/** Whether the caller's outlier detection counts this answer towards `consecutive5xxErrors`. */
export function countsAs5xx(answer: Answer): boolean {
    const status = answer.grpcStatus !== undefined ? grpcToHttpStatus(answer.grpcStatus) : answer.httpStatus;
    return status >= 500 && status < 600;
}

/** What Envoy gets from an Istio HTTPRoute's `timeout` and `retries`. */
export interface RoutePolicy {
    /** 0: no timeout. */
    readonly timeoutMs: number;
    /** Absent: no retries. */
    readonly retries?: { readonly numRetries: number; readonly retryOn: string; readonly perTryTimeoutMs?: number };
}

/**
 * Istio's translation of an HTTPRoute's timeout and retries (istio/istio 1.30.3
 * pilot/pkg/networking/core/route/route.go `setTimeout`: unset is `Notimeout`; route/retry/retry.go `ConvertPolicy`:
 * unset is the default policy, two retries; zero attempts is none).
 */
export function istioRoutePolicy(route: { timeout?: string; retries?: { attempts?: number; perTryTimeout?: string; retryOn?: string } }): RoutePolicy {
    const ms = (d: string) => (d.endsWith("ms") ? Number(d.slice(0, -2)) : Number(d.slice(0, -1)) * 1000);
    const timeoutMs = route.timeout ? ms(route.timeout) : 0;
    const r = route.retries;
    if (r === undefined) return { timeoutMs, retries: { numRetries: 2, retryOn: "connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes" } };
    if ((r.attempts ?? 0) <= 0) return { timeoutMs };
    return { timeoutMs, retries: { numRetries: r.attempts!, retryOn: r.retryOn || "connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes", ...(r.perTryTimeout ? { perTryTimeoutMs: ms(r.perTryTimeout) } : {}) } };
}
