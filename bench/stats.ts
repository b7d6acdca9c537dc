/** Medians, ratios and targets: one run of a benchmark on a shared machine varies by ±30%, a median of several less. */

export function median(values: readonly number[]): number {
    if (values.length === 0) return NaN;
    const sorted = [...values].sort((a, b) => a - b);
    const mid = Math.floor(sorted.length / 2);
    return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export interface Target {
    readonly comparison: "<=" | ">=";
    readonly value: number;
    readonly unit: string;
}

export const atMost = (value: number, unit = "×"): Target => ({ comparison: "<=", value, unit });
export const atLeast = (value: number, unit = "×"): Target => ({ comparison: ">=", value, unit });

/** A number that is not finite (a ratio over nothing) meets no target. */
export function meets(value: number, target: Target): boolean {
    return Number.isFinite(value) && (target.comparison === "<=" ? value <= target.value : value >= target.value);
}

export function round(value: number, digits = 2): number {
    const f = 10 ** digits;
    return Math.round(value * f) / f;
}
