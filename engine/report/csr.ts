import * as crypto from "node:crypto";

const CSR = /-----BEGIN (NEW )?CERTIFICATE REQUEST-----[\s\S]*?-----END (NEW )?CERTIFICATE REQUEST-----\n?/g;

/**
 * A plan's keys are derived from the stack and URN (engine/reproducible.ts): anyone with the repository can compute
 * them, so a CSR a plan makes must never reach a CA. Plan artifacts keep only a digest of each CSR, which shows when
 * it changes and cannot be submitted; the CSR to sign is the real stack's output (docs/pki/root-ceremony.md).
 */
export function withoutCsrs<T>(v: T): T {
    if (typeof v === "string") {
        return v.replace(CSR, (pem) => `[offline plan CSR, not for signing: sha256 ${crypto.createHash("sha256").update(pem).digest("hex")}]`) as T;
    }
    if (Array.isArray(v)) return v.map(withoutCsrs) as T;
    if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, withoutCsrs(x)])) as T;
    return v;
}
