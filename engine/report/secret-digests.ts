import * as crypto from "node:crypto";
import { isObject, isSecretValue, plain, Wire } from "../values";

/** Keyed digests of a resource's secret inputs, by input path (`stringData`, `data.ca\.crt` as diffPaths names it). */
export type SecretDigests = Readonly<Record<string, string>>;

/**
 * The environment variable holding the key of secret digests. The pull-request workflow generates one per run and
 * shares it between the base branch's plans and the pull request's, so a changed secret value shows as a change
 * while plan.json, a CI artifact, holds no unkeyed hash to test guesses of a low-entropy secret against.
 */
export const DIGEST_KEY_VARIABLE = "PLAN_SECRET_DIGEST_KEY";
export const DIGEST_SCHEME = "hmac-sha256";

/** The key from the environment, or undefined: then plan.json holds no digest. */
export function digestKey(env: NodeJS.ProcessEnv = process.env): string | undefined {
    return env[DIGEST_KEY_VARIABLE] || undefined;
}

/** HMAC-SHA256 of each secret's canonical JSON under `key`, by the path plan.json shows the marker at. */
export function secretDigests(inputs: Wire, key: string): SecretDigests {
    const out: Record<string, string> = {};
    const walk = (v: Wire, at: string) => {
        if (isSecretValue(v)) {
            out[at || "(value)"] = crypto.createHmac("sha256", key).update(canonical(plain(v.value))).digest("hex");
        } else if (Array.isArray(v)) {
            v.forEach((x, i) => walk(x, `${at}[${i}]`));
        } else if (isObject(v)) {
            for (const [k, x] of Object.entries(v)) walk(x, at ? `${at}.${k}` : k);
        }
    };
    walk(inputs, "");
    return out;
}

function canonical(v: unknown): string {
    if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
    if (v && typeof v === "object") return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical((v as any)[k])}`).join(",")}}`;
    return JSON.stringify(v) ?? "null";
}
