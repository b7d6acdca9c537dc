/** An Istio duration (`3s`, `250ms`) from milliseconds, in whole seconds where it can be. */
export function istioDuration(ms: number): string {
    return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}
