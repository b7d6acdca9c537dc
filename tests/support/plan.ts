import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { main } from "../../engine/cli";
import { CapturedResource } from "../../engine/graph";
import { memoizePlans, Plan, planStack } from "../../engine/plan";

// Tests read plans and never change them: identical plans are made once per test process.
memoizePlans();

export const FIXTURE_PROGRAM = path.join(__dirname, "..", "fixtures", "program");
export const FIXTURE_POLICY = path.join(__dirname, "..", "fixtures", "policy");

export function find(plan: Plan, type: string, name?: string): CapturedResource {
    const r = plan.graph.resources.find((x) => x.type === type && (name === undefined || x.name === name));
    if (!r) throw new Error(`no ${type}${name ? ` "${name}"` : ""} in the plan of ${plan.settings.stack}`);
    return r;
}

export function tempDir(prefix: string): string {
    return fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-`));
}

/** Run the plan command as a user would, capturing what it prints. */
export async function runCli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    const out: string[] = [];
    const err: string[] = [];
    const log = console.log;
    const error = console.error;
    console.log = (...a: unknown[]) => out.push(a.join(" "));
    console.error = (...a: unknown[]) => err.push(a.join(" "));
    try {
        const code = await main(args);
        return { code, stdout: out.join("\n"), stderr: err.join("\n") };
    } finally {
        console.log = log;
        console.error = error;
    }
}

const shipped = new Map<string, Promise<Plan>>();

/**
 * The plan of a shipped stack, unmodified, made once per test process: tests only read plans, and planning the
 * multi-cluster stacks is the slow part of the suite.
 */
export function shippedPlan(stack: string): Promise<Plan> {
    if (!shipped.has(stack)) shipped.set(stack, planStack({ stack }));
    return shipped.get(stack)!;
}
