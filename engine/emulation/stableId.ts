import { createHash } from "node:crypto";

/**
 * A deterministic id: the same program and config give the same plan. A leaf module, so the emulators can use it
 * without importing the dispatcher that imports them.
 */
export function stableId(seed: string, length = 16): string {
    return createHash("sha256").update(seed).digest("hex").slice(0, length);
}
