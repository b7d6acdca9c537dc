/**
 * Plan speed: the wall time of an offline plan in a fresh process over the floor, a fresh process registering the
 * same resources under the stock Pulumi mocks. Both run under the same TypeScript loader and are measured from spawn
 * to exit; runs of plan and floor alternate so that a noisy neighbour slows both alike.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ChildRun, runChild } from "./child";
import type { FloorResult } from "./floorChild";
import type { PlanChildResult, PlanSpec } from "./planChild";
import { median } from "./stats";

export interface PlanSpeedCase {
    readonly label: string;
    readonly spec: PlanSpec;
}

export interface PlanSpeed {
    readonly label: string;
    /** What the SDK registered in the run, referenced stacks included (the floor registers as many). */
    readonly registrations: number;
    readonly mandatoryViolations: number;
    readonly planMs: number;
    readonly floorMs: number;
    /** Median plan over median floor. */
    readonly ratio: number;
    readonly planRunsMs: readonly number[];
    readonly floorRunsMs: readonly number[];
    /** Medians on each child's own clock: startup (Node, loader, imports) and the work after it. */
    readonly plan: { readonly startupMs: number; readonly workMs: number };
    readonly floor: { readonly startupMs: number; readonly workMs: number };
}

/** Medians on the child's own clock: until its code started, and from there to the end of its work. */
function phases(runs: ReadonlyArray<ChildRun<{ msAtStart: number; msSinceStart: number }>>) {
    return { startupMs: median(runs.map((r) => r.result.msAtStart)), workMs: median(runs.map((r) => r.result.msSinceStart - r.result.msAtStart)) };
}

export async function measurePlanSpeed(cases: readonly PlanSpeedCase[], runs: number): Promise<PlanSpeed[]> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bench-plan-"));
    try {
        const prepared = [];
        for (const [i, c] of cases.entries()) {
            const specFile = path.join(dir, `${i}-spec.json`);
            const recorded = path.join(dir, `${i}-registrations.json`);
            fs.writeFileSync(specFile, JSON.stringify(c.spec));
            // The first run records what the floor replays; it also warms the file cache for every later run.
            const first = await runChild<PlanChildResult>("planChild.ts", [specFile, recorded]);
            const floor = await runChild<FloorResult>("floorChild.ts", [recorded]);
            if (floor.result.registrations !== first.result.registrations) {
                throw new Error(`${c.label}: the floor registered ${floor.result.registrations} resources, the plan ${first.result.registrations}`);
            }
            prepared.push({ ...c, specFile, recorded, first: first.result, plans: [] as ChildRun<PlanChildResult>[], floors: [] as ChildRun<FloorResult>[] });
        }
        for (let i = 0; i < runs; i++) {
            for (const p of prepared) {
                p.plans.push(await runChild<PlanChildResult>("planChild.ts", [p.specFile]));
                p.floors.push(await runChild<FloorResult>("floorChild.ts", [p.recorded]));
            }
        }
        return prepared.map((p) => {
            const planRunsMs = p.plans.map((r) => r.wallMs);
            const floorRunsMs = p.floors.map((r) => r.wallMs);
            return {
                label: p.label,
                registrations: p.first.registrations,
                mandatoryViolations: p.first.mandatoryViolations,
                planMs: median(planRunsMs),
                floorMs: median(floorRunsMs),
                ratio: median(planRunsMs) / median(floorRunsMs),
                planRunsMs,
                floorRunsMs,
                plan: phases(p.plans),
                floor: phases(p.floors),
            };
        });
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}
