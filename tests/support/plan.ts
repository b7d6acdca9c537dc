import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { main } from "../../engine/cli";
import { CapturedResource } from "../../engine/graph";
import { memoizePlans, Plan, planStack, PROJECT_ROOT } from "../../engine/plan";
import { secretBackendProd, toRuntime } from "./stacks";

// Tests read plans and never change them: identical plans are made once per test run (tests/support/global.ts).
memoizePlans({ shareDir: process.env.PLAN_SHARE_DIR });

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
    const warn = console.warn;
    console.log = (...a: unknown[]) => out.push(a.join(" "));
    console.error = (...a: unknown[]) => err.push(a.join(" "));
    // The program's warnings (`pulumi.log.warn` without an engine prints with console.warn) go to stderr.
    console.warn = (...a: unknown[]) => err.push(a.join(" "));
    try {
        const code = await main(args);
        return { code, stdout: out.join("\n"), stderr: err.join("\n") };
    } finally {
        console.log = log;
        console.error = error;
        console.warn = warn;
    }
}

/**
 * The plan of a shipped stack, unmodified, made once per test process (plans with identical inputs are reused):
 * tests only read plans, and planning the multi-cluster stacks is the slow part of the suite.
 */
export function shippedPlan(stack: string): Promise<Plan> {
    return planStack({ stack });
}

/** prod on the `secret` backend on both clouds: its clusters' intermediates and keys come from the shipped pki-prod. */
export function secretBackendProdPlan(): Promise<Plan> {
    return planStack({ stack: "prod", config: toRuntime(secretBackendProd()) });
}

/**
 * `npm run plan -- <stack>` on the stack file of `stack` as a user wrote it, in a copy of this project's layout (the
 * real program, the shipped pki stacks for its StackReference). The stack keeps its name: an environment runs only
 * in its own stack. Returns what the command printed and whether it wrote a plan.
 */
export async function planStackFile(stack: string, text: string): Promise<{ code: number; stdout: string; stderr: string; wrotePlan: boolean; planFile: string }> {
    const dir = tempDir("stack-file");
    fs.writeFileSync(path.join(dir, "Pulumi.yaml"), `name: istio-production\nruntime: nodejs\nmain: ${path.join(PROJECT_ROOT, "index.ts")}\nstackConfigDir: stacks\n`);
    fs.mkdirSync(path.join(dir, "stacks"));
    for (const file of fs.readdirSync(path.join(PROJECT_ROOT, "stacks")).filter((f) => f.startsWith("Pulumi.pki-"))) {
        fs.copyFileSync(path.join(PROJECT_ROOT, "stacks", file), path.join(dir, "stacks", file));
    }
    fs.writeFileSync(path.join(dir, "stacks", `Pulumi.${stack}.yaml`), text);
    const result = await runCli([stack, "--program", dir, "--out", path.join(dir, "out")]);
    return { ...result, wrotePlan: fs.existsSync(path.join(dir, "out", stack)), planFile: path.join(dir, "out", stack, "plan.json") };
}

/** A shipped stack file's text, to edit as a user would. */
export function shippedStackFile(stack: string): string {
    return fs.readFileSync(path.join(PROJECT_ROOT, "stacks", `Pulumi.${stack}.yaml`), "utf8");
}
