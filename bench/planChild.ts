/**
 * One offline plan in a fresh process, as `npm run plan` runs it (policy evaluation included, nothing written).
 * Usage: planChild.ts <spec.json> [<registrations.json>] <result.json>; with a registrations file it also records
 * what the SDK registered, for the floor to replay.
 */
import * as fs from "node:fs";
import { performance } from "node:perf_hooks";
import { CapturedResource, ProgramGraph } from "../engine/graph";
import { mandatoryViolations, planStack } from "../engine/plan";
import { plain } from "../engine/values";
import { writeResult } from "./child";
import type { RecordedStack } from "./floorChild";

/** What to plan: a shipped stack, or a stack with replaced config (the runtime's `project:key` → text form). */
export interface PlanSpec {
    readonly stack: string;
    readonly config?: Record<string, string>;
    readonly secretKeys?: readonly string[];
}

export interface PlanChildResult {
    /** When the child's own code started: Node, the TypeScript loader and the engine's imports are loaded. */
    readonly msAtStart: number;
    readonly registrations: number;
    readonly mandatoryViolations: number;
    readonly msSinceStart: number;
}

/** The engine records each package's default provider itself; the SDK never registered those. */
const registeredBySdk = (r: CapturedResource) => !(r.type.startsWith("pulumi:providers:") && r.name === "default" && r.urn.endsWith("::default"));

function record(graph: ProgramGraph): RecordedStack {
    const resources = graph.resources.filter(registeredBySdk);
    const index = new Map(resources.map((r, i) => [r.urn, i]));
    const at = (urn: string) => index.get(urn) ?? -1;
    return {
        project: graph.project,
        stack: graph.stack,
        resources: resources.map((r) => ({
            type: r.type, name: r.name, custom: r.custom, read: r.read, id: r.read ? r.id : undefined,
            parent: at(r.parent), provider: at(r.provider),
            dependsOn: r.dependencies.map(at).filter((i) => i >= 0),
            inputs: plain(r.inputs),
        })),
    };
}

async function main() {
    const msAtStart = performance.now();
    const [specFile, ...rest] = process.argv.slice(2);
    const recordTo = rest.length === 2 ? rest[0] : undefined;
    const spec = JSON.parse(fs.readFileSync(specFile, "utf8")) as PlanSpec;
    const plan = await planStack({ stack: spec.stack, config: spec.config, secretKeys: spec.secretKeys });
    const msSinceStart = performance.now();
    const graphs = [...plan.referencedGraphs.values(), plan.graph];
    if (recordTo) fs.writeFileSync(recordTo, JSON.stringify(graphs.map(record)));
    const result: PlanChildResult = {
        msAtStart,
        registrations: graphs.reduce((n, g) => n + g.resources.filter(registeredBySdk).length, 0),
        mandatoryViolations: mandatoryViolations(plan).length,
        msSinceStart,
    };
    writeResult(result);
    process.exit(0);
}

main().catch((e) => {
    console.error(e);
    process.exit(1);
});
