/**
 * Policy evaluation alone: the project's real packs over a synthetic graph of a given size, built by copying the
 * resources a real plan registered (so every policy sees the types, inputs, parents, providers and dependencies it
 * sees in production) until the graph has that many resources.
 */
import { performance } from "node:perf_hooks";
import { CapturedResource, ProgramGraph } from "../engine/graph";
import { evaluatePacks, LoadedPack } from "../engine/policy";
import { runChild } from "./child";
import { median } from "./stats";

const ROOT_TYPE = "pulumi:pulumi:Stack";
const isDefaultProvider = (r: CapturedResource) => r.type.startsWith("pulumi:providers:") && r.urn.endsWith("::default");

/**
 * One root stack and the shared default providers, then copies of every other resource of `sources`, copy k renamed
 * `<name>-r<k>` with its references renamed alike, until there are `size` resources (the last copy is cut short).
 */
export function syntheticGraph(sources: readonly ProgramGraph[], size: number): ProgramGraph {
    const all = sources.flatMap((g) => g.resources);
    const roots = all.filter((r) => r.type === ROOT_TYPE);
    if (roots.length === 0) throw new Error("the source graphs have no root stack");
    const root = roots[0];
    const shared = [root, ...dedupe(all.filter(isDefaultProvider))];
    const template = all.filter((r) => r.type !== ROOT_TYPE && !isDefaultProvider(r));
    if (template.length === 0) throw new Error("the source graphs register nothing to copy");
    const rootUrns = new Set(roots.map((r) => r.urn));
    const copied = new Set(template.map((r) => r.urn));

    const resources: CapturedResource[] = [...shared];
    for (let k = 0; resources.length < size; k++) {
        const rename = (urn: string) => (rootUrns.has(urn) ? root.urn : copied.has(urn) ? `${urn}-r${k}` : urn);
        for (const r of template) {
            if (resources.length >= size) break;
            resources.push({
                ...r,
                urn: rename(r.urn),
                name: `${r.name}-r${k}`,
                parent: r.parent && rename(r.parent),
                dependencies: r.dependencies.map(rename),
                propertyDependencies: Object.fromEntries(Object.entries(r.propertyDependencies).map(([key, urns]) => [key, urns.map(rename)])),
                provider: r.provider && rename(r.provider),
            });
        }
    }
    return { project: sources[0].project, stack: sources[0].stack, resources };
}

function dedupe(resources: readonly CapturedResource[]): CapturedResource[] {
    return [...new Map(resources.map((r) => [r.urn, r])).values()];
}

export interface PolicyTiming {
    readonly resources: number;
    /** Median of the runs; for a size whose first run passed the deadline, the time it had run by then. */
    readonly ms: number;
    readonly runsMs: readonly number[];
    readonly violations: number;
    /** False when the deadline stopped the first run: `ms` is then only a lower bound. */
    readonly complete: boolean;
}

export interface PolicyOptions {
    readonly sizes: readonly number[];
    readonly runs: number;
    /** A size stops repeating once its runs have taken this long (it always runs once). */
    readonly budgetMs: number;
}

/** What the evaluating child has found so far; it rewrites this after every run. */
export interface PolicyProgress {
    readonly packs: ReadonlyArray<{ readonly name: string; readonly policies: number }>;
    readonly timings: readonly PolicyTiming[];
    /** The run under way, by its start on the child's clock. */
    readonly running?: { readonly resources: number; readonly startedMs: number };
}

/** Wall time of `evaluatePacks` over a graph of each size, after one warm-up on the smallest; reports after each run. */
export async function timePolicyEvaluation(
    sources: readonly ProgramGraph[], packs: readonly LoadedPack[], opts: PolicyOptions, report: (progress: PolicyProgress) => void,
): Promise<void> {
    const withConfig = packs.map((pack) => ({ pack }));
    const packList = packs.map((p) => ({ name: p.name, policies: p.policies.length }));
    await evaluatePacks(syntheticGraph(sources, Math.min(...opts.sizes)), withConfig);
    const timings: PolicyTiming[] = [];
    for (const size of opts.sizes) {
        const graph = syntheticGraph(sources, size);
        const runsMs: number[] = [];
        while (runsMs.length < opts.runs && (runsMs.length === 0 || runsMs.reduce((a, b) => a + b, 0) < opts.budgetMs)) {
            const started = performance.now();
            report({ packs: packList, timings, running: { resources: graph.resources.length, startedMs: started } });
            const violations = (await evaluatePacks(graph, withConfig)).violations.length;
            runsMs.push(performance.now() - started);
            const timing = { resources: graph.resources.length, ms: median(runsMs), runsMs: [...runsMs], violations, complete: true };
            const at = timings.findIndex((t) => t.resources === timing.resources);
            if (at >= 0) timings[at] = timing;
            else timings.push(timing);
            report({ packs: packList, timings });
        }
    }
}

/**
 * Runs the evaluation in a child stopped at `deadlineMs`: while evaluation is superlinear, a 10,000-resource graph can
 * take minutes, and the benchmark must still finish. A size the deadline cut short is reported with the time it had
 * run by then, as a lower bound.
 */
export async function measurePolicy(opts: PolicyOptions, deadlineMs: number): Promise<{ packs: PolicyProgress["packs"]; timings: PolicyTiming[]; stopped: boolean }> {
    const run = await runChild<PolicyProgress>("policyChild.ts", [JSON.stringify(opts)], deadlineMs);
    const { packs, timings, running } = run.result;
    const measured = opts.sizes.map((size): PolicyTiming => {
        const done = timings.find((t) => t.resources === size);
        if (done) return done;
        const ranMs = running?.resources === size ? run.wallMs - running.startedMs : NaN;
        return { resources: size, ms: ranMs, runsMs: [], violations: NaN, complete: false };
    });
    return { packs, timings: measured, stopped: run.stopped };
}
