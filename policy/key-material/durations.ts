/**
 * Go durations (`time.ParseDuration`), the format of cert-manager's `duration`/`renewBefore`, approver-policy's
 * `maxDuration` and istio-csr's `maxCertificateDuration`: "2160h", "1h30m", "90m", "1.5h", "0".
 */

const UNIT_SECONDS: Record<string, number> = { ns: 1e-9, us: 1e-6, "µs": 1e-6, "μs": 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600 };

const TERM = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/y;

/** Seconds, or undefined when `text` is not a Go duration (a unit is required except for "0"). */
export function parseGoDuration(text: unknown): number | undefined {
    if (typeof text !== "string") return undefined;
    const sign = text.startsWith("-") ? -1 : 1;
    const body = text.replace(/^[-+]/, "");
    if (body === "0") return 0;
    if (body === "") return undefined;
    let seconds = 0;
    TERM.lastIndex = 0;
    while (TERM.lastIndex < body.length) {
        // Sticky: each term must start where the previous one ended.
        const m = TERM.exec(body);
        if (!m) return undefined;
        seconds += Number(m[1]) * UNIT_SECONDS[m[2]];
    }
    return sign * seconds;
}

/** A short human form for messages: 7776000 → "2160h", 5400 → "1h30m". */
export function formatDuration(seconds: number): string {
    const h = Math.floor(seconds / 3600);
    const m = Math.floor((seconds % 3600) / 60);
    const s = Math.round(seconds % 60);
    const parts = [h ? `${h}h` : "", m ? `${m}m` : "", s ? `${s}s` : ""].join("");
    return parts || "0s";
}

/** The config schema of a duration property: whole units of h, m, s, the way the fields it compares with are written. */
export function durationSchema(defaultValue: string, description: string) {
    return { type: "string" as const, pattern: "^([0-9]+(h|m|s))+$", default: defaultValue, description };
}
