import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

/**
 * mocha's global fixtures run in the main process, before its parallel workers start and after they end: one folder
 * per test run in which the workers share the plans they make (engine/plan.ts `memoizePlans`).
 */
export function mochaGlobalSetup(): void {
    process.env.PLAN_SHARE_DIR = fs.mkdtempSync(path.join(os.tmpdir(), "istio-production-plans-"));
}

export function mochaGlobalTeardown(): void {
    const dir = process.env.PLAN_SHARE_DIR;
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
}
