import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import * as v8 from "node:v8";
import { Emulators } from "./emulation";
import { CaHandoff, pendingCsrs, signerOf, withCsrs } from "./caHandoff";
import { byUrn, CapturedResource, ProgramGraph } from "./graph";
import { discoverPacks, evaluatePacks, LoadedPack, NotRun, PackConfig, Violation } from "./policy";
import { listStacks, ProjectInfo, readProject, readStack, StackInputError, StackSettings, withPkiHandoff } from "./project";
import { MissingStackError, PreviewBasis, runProgram, StackOutputs } from "./runtime";
import { planClock, withPlanClock } from "./reproducible";
import { containsSecret, plain } from "./values";

/**
 * What the packs see. `preview`: a `pulumi preview` of the stack (a first one unless `existing` names resources that
 * already exist): values computed by providers for resources not yet created are unknown. `created`: every resource
 * as if created, every output known (the inspection view, and what the packs see during `pulumi up`).
 */
export type PlanMode = "preview" | "created";

export interface PlanOptions {
    /** @default "preview" */
    readonly mode?: PlanMode;
    /** In preview mode, URNs of resources that already exist (from an earlier plan): an update preview. @default - none */
    readonly existing?: ReadonlySet<string>;
    /** The Pulumi project directory. @default - this project */
    readonly programDir?: string;
    readonly stack: string;
    /** Folder whose subfolders with a `PulumiPolicy.yaml` are the packs to run. @default - this project's `policy/` */
    readonly policyDir?: string;
    /** Per pack name, the JSON `--policy-pack-config` would pass. */
    readonly policyConfig?: Readonly<Record<string, PackConfig>>;
    /** Replace the stack file's config (tests drive the real program with variants of real stack files). */
    readonly config?: Readonly<Record<string, string>>;
    readonly secretKeys?: readonly string[];
    /**
     * The planned stack's own last outputs (`pulumi stack output --json`), for programs that read themselves through a
     * StackReference (the stage gate does). @default - none: a first deployment
     */
    readonly previousOutputs?: StackOutputs;
    /** Replace the config of stacks planned because a StackReference reads them, by stack name. */
    readonly referencedConfig?: Readonly<Record<string, Readonly<Record<string, string>>>>;
    /**
     * Carry out the handoff of managed CA backends: when the stack's run exports subordinate CSRs, plan its pki stack
     * again signing them, and the stack again importing the certificates (engine/caHandoff.ts). `false` plans what
     * the next `pulumi up` does while the pki stack has not signed yet. @default true
     */
    readonly caHandoff?: boolean;
    readonly emulators?: Emulators;
    /** The plan's clock (certificate validity, renewal). @default - `SOURCE_DATE_EPOCH`, else the start of today (UTC) */
    readonly now?: Date;
    /** Sees every registration of the planned stack, also when the plan then fails. */
    readonly onRegister?: (res: CapturedResource) => void;
}

export interface Plan {
    readonly project: ProjectInfo;
    readonly settings: StackSettings;
    readonly mode: PlanMode;
    /** The program as an emulated create registered it: every output known. Manifests and PEMs come from here. */
    readonly graph: ProgramGraph;
    /** What the packs saw: the preview's graph in preview mode, else `graph`. */
    readonly policyGraph: ProgramGraph;
    readonly packs: readonly LoadedPack[];
    readonly violations: readonly Violation[];
    /** Policies the runtime skipped because they read a value unknown at preview. */
    readonly notRun: readonly NotRun[];
    /** Stacks planned first because a StackReference read them. */
    readonly referenced: readonly string[];
    /** The managed CA handoff the plan carried out, when the stack's clusters awaited one. */
    readonly caHandoff?: CaHandoff;
    readonly referencedGraphs: ReadonlyMap<string, ProgramGraph>;
    /** The plan's clock. */
    readonly now: Date;
}

export const PROJECT_ROOT = path.resolve(__dirname, "..");

const referencedPlans = new Map<string, ProgramGraph>();

/**
 * The offline plan: run the program for a stack under the emulated engine, then evaluate every policy pack over
 * what it registered. Stacks the program reads through a StackReference are planned first, in the same process.
 */
export async function planStack(opts: PlanOptions): Promise<Plan> {
    if (!memo || opts.emulators || opts.onRegister) return plan(opts);
    // Everything a plan depends on: its options, the files it reads (unchanged within a process), and the
    // environment variables the provider emulators and the plan clock (SOURCE_DATE_EPOCH) read.
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => /^(AWS_|GOOGLE_|GCLOUD_|CLOUDSDK_)/.test(k) || k === "SOURCE_DATE_EPOCH"));
    const project = readProject(opts.programDir ?? PROJECT_ROOT);
    const stackFiles = listStacks(project).map((s) => fs.readFileSync(path.join(project.stackConfigDir, `Pulumi.${s}.yaml`), "utf8"));
    // Defaults spelled out and options in one order: the plan command passes its clock and every option, a test often
    // none; the same plan.
    const key = JSON.stringify(sortedKeys({
        ...opts, existing: opts.existing && [...opts.existing].sort(), env, stackFiles,
        programDir: project.dir, mode: opts.mode ?? "preview", caHandoff: opts.caHandoff ?? true, policyConfig: opts.policyConfig ?? {},
        policyDir: path.resolve(policyDirOf(opts)), now: (opts.now ?? planClock(undefined)).toISOString(),
    }));
    if (!memo.has(key)) memo.set(key, shareDir ? sharedPlan(shareDir, key, opts) : plan(opts));
    return memo.get(key)!;
}

const policyDirOf = (opts: PlanOptions) => opts.policyDir ?? path.join(PROJECT_ROOT, "policy");
const sortedKeys = (o: object) => Object.fromEntries(Object.entries(o).sort(([a], [b]) => a.localeCompare(b)));

let memo: Map<string, Promise<Plan>> | undefined;
let shareDir: string | undefined;

/**
 * Reuse plans with identical inputs (options, stack files, the provider environment) within this process: a test
 * process plans the shipped stacks many times over. Plans are deterministic in their inputs and read only by their
 * callers. Program and pack sources are assumed unchanged for the life of the process. With `shareDir`, also
 * between the processes of one test run (parallel workers): a plan one of them made is read back by the others.
 */
export function memoizePlans(opts: { readonly shareDir?: string } = {}): void {
    memo ??= new Map();
    shareDir ??= opts.shareDir;
}

/**
 * A plan as another process of the run wrote it, or made here and written for the others (packs are reloaded). A
 * process about to make a plan claims it first; the others wait for it instead of making the same plan at the same
 * time (the workers of a test run start with the same shipped stacks). A plan that fails is not written: its claim
 * is dropped, and a waiting process makes it itself (and gets the same error).
 */
async function sharedPlan(dir: string, key: string, opts: PlanOptions): Promise<Plan> {
    const file = path.join(dir, `${crypto.createHash("sha256").update(key).digest("hex")}.plan`);
    const claim = `${file}.claim`;
    for (;;) {
        if (fs.existsSync(file)) {
            const stored = v8.deserialize(fs.readFileSync(file)) as Omit<Plan, "packs">;
            return { ...stored, packs: discoverPacks(policyDirOf(opts)) };
        }
        if (claimed(claim)) {
            // Its maker may have written it and dropped its claim between the two looks.
            if (!fs.existsSync(file)) break;
            fs.rmSync(claim, { force: true });
            continue;
        }
        await new Promise((resolve) => setTimeout(resolve, 25));
    }
    try {
        const made = await plan(opts);
        const { packs: _reloaded, ...stored } = made;
        const partial = `${file}.${process.pid}`;
        fs.writeFileSync(partial, v8.serialize(stored));
        fs.renameSync(partial, file);
        return made;
    } finally {
        fs.rmSync(claim, { force: true });
    }
}

/** Claims a plan for this process: true when it now holds it. A claim whose claimant exited is removed, for the next look. */
function claimed(claim: string): boolean {
    try {
        fs.writeFileSync(claim, String(process.pid), { flag: "wx" });
        return true;
    } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    }
    let holder: number;
    let age: number;
    try {
        holder = Number(fs.readFileSync(claim, "utf8"));
        age = Date.now() - fs.statSync(claim).mtimeMs;
    } catch {
        return false;
    }
    // A claim is written whole right after it is created: one still empty after seconds lost its claimant.
    // A claimant that exited without writing the plan or dropping its claim leaves it to be taken over.
    if (holder > 0 ? !alive(holder) : age > 5_000) fs.rmSync(claim, { force: true });
    return false;
}

function alive(pid: number): boolean {
    try {
        process.kill(pid, 0);
        return true;
    } catch {
        return false;
    }
}

function plan(opts: PlanOptions): Promise<Plan> {
    return withPlanClock(opts.now ?? planClock(undefined), () => planAtClock(opts));
}

async function planAtClock(opts: PlanOptions): Promise<Plan> {
    const project = readProject(opts.programDir ?? PROJECT_ROOT);
    const emulators = opts.emulators ?? new Emulators();
    const outputsOf = new Map<string, StackOutputs>();
    const referenced: string[] = [];
    const referencedGraphs = new Map<string, ProgramGraph>();
    const referencedConfig: Record<string, Readonly<Record<string, string>>> = { ...opts.referencedConfig };

    const run = async (stack: string, settings: StackSettings, chain: string[], preview?: PreviewBasis): Promise<ProgramGraph> => {
        const onRegister = stack === opts.stack && !preview ? opts.onRegister : undefined;
        for (;;) {
            try {
                return await runProgram({
                    programDir: project.dir, entry: project.entry, project: project.name, stack, preview,
                    config: settings.config, secretKeys: settings.secretKeys, emulators, onRegister,
                    resolveStack: (name) => {
                        if (stackOf(name, project) === stack) return stack === opts.stack && opts.previousOutputs ? opts.previousOutputs : { outputs: {}, secretOutputNames: [] };
                        const found = outputsOf.get(stackOf(name, project));
                        if (!found) throw new MissingStackError(name);
                        return found;
                    },
                });
            } catch (e) {
                if (!(e instanceof MissingStackError)) throw e;
                const other = stackOf(e.stackName, project);
                if (chain.includes(other) || outputsOf.has(other)) throw new StackInputError(`stack ${stack} references ${e.stackName}, which cannot be resolved (${[...chain, other].join(" → ")})`);
                await planReferenced(other, chain);
            }
        }
    };
    const planReferenced = async (other: string, chain: string[]): Promise<StackOutputs> => {
        const otherSettings = readStack(project, other);
        const override = referencedConfig[other];
        const settings = await handedOff(override ? { ...otherSettings, config: { ...override } } : otherSettings);
        // Plans of the same stack with the same config are interchangeable: reuse one within the process.
        // Within one clock: a plan's keys and dates come from its clock (engine/reproducible.ts).
        const key = JSON.stringify([project.dir, other, settings.config, Date.now()]);
        const graph = referencedPlans.get(key) ?? await run(other, settings, [...chain, other]);
        referencedPlans.set(key, graph);
        outputsOf.set(other, stackOutputs(graph));
        referenced.push(other);
        referencedGraphs.set(other, graph);
        return outputsOf.get(other)!;
    };
    // An imported pki hand-off (ESC) holds what the environment's pki stack handed off: plan that stack for it.
    // A caller's config that chooses a pki source itself replaces the import, as a stack file's value would win.
    const handedOff = async (s: StackSettings): Promise<StackSettings> => {
        if (s.pkiHandoff === undefined || `${project.name}:pki` in s.config) return s;
        const environment = s.config[`${project.name}:environment`];
        if (environment !== s.pkiHandoff) {
            throw new StackInputError(`${s.file}: environment imports ${project.name}/pki-${s.pkiHandoff}-handoff, the hand-off of environment ` +
                `"${s.pkiHandoff}", but ${project.name}:environment is ${JSON.stringify(environment ?? null)}: a mesh stack reads no other environment's key material`);
        }
        const pkiStack = `pki-${s.pkiHandoff}`;
        const outputs = outputsOf.get(pkiStack) ?? await planReferenced(pkiStack, [opts.stack]);
        return withPkiHandoff(s, project.name, outputs.outputs);
    };

    const fileSettings = readStack(project, opts.stack);
    const ownSettings = opts.config
        ? { ...fileSettings, config: { ...opts.config }, secretKeys: [...(opts.secretKeys ?? [])] }
        : fileSettings;
    let settings = await handedOff(ownSettings);
    const packs = discoverPacks(policyDirOf(opts));
    const mode = opts.mode ?? "preview";
    // The emulated create comes first: it is what the inspection artifacts show, and it tells the preview which
    // outputs each provider computes. Stacks read by StackReference are deployed already: their outputs are known.
    let graph = await run(opts.stack, settings, [opts.stack]);
    let caHandoff: CaHandoff | undefined;
    const csrs = opts.caHandoff === false ? {} : pendingCsrs(stackOutputs(graph).outputs);
    const pkiStack = signerOf(outputsOf, Object.keys(csrs));
    if (Object.keys(csrs).length > 0 && pkiStack) {
        referencedConfig[pkiStack] = withCsrs(referencedConfig[pkiStack] ?? readStack(project, pkiStack).config, csrs);
        outputsOf.delete(pkiStack);
        referencedGraphs.delete(pkiStack);
        referenced.splice(referenced.indexOf(pkiStack), 1);
        // A hand-off imported from ESC carries what the pki stack now holds: the certificates, no key for them.
        settings = await handedOff(ownSettings);
        graph = await run(opts.stack, settings, [opts.stack]);
        caHandoff = { pkiStack, clusters: Object.keys(csrs) };
    }
    const policyGraph = mode === "preview"
        ? await run(opts.stack, settings, [opts.stack], { created: byUrn(graph), existing: opts.existing })
        : graph;
    const withConfig = packs.map((pack) => ({ pack, config: opts.policyConfig?.[pack.name] }));
    const { violations, notRun } = await evaluatePacks(policyGraph, withConfig);
    if (mode === "preview") {
        // The same packs over the emulated create: what `pulumi up` would refuse once the values a preview cannot see
        // exist, found here before anything is created.
        const seen = new Set(violations.map((v) => `${v.pack}\0${v.policy}\0${v.urn}`));
        const later = (await evaluatePacks(graph, withConfig)).violations.filter((v) => !seen.has(`${v.pack}\0${v.policy}\0${v.urn}`));
        violations.push(...later.map((v) => ({ ...v, at: "up" as const })));
    }
    return { project, settings, mode, graph, policyGraph, packs, violations, notRun, referenced, referencedGraphs, caHandoff, now: new Date(Date.now()) };
}

/** `org/project/stack` → the stack's name when it belongs to this project; other projects cannot be planned here. */
function stackOf(name: string, project: ProjectInfo): string {
    const parts = name.split("/");
    const [proj, stack] = parts.length === 3 ? [parts[1], parts[2]] : parts.length === 1 ? [project.name, parts[0]] : [undefined, undefined];
    if (proj !== project.name || !stack) throw new StackInputError(`StackReference ${name}: only stacks of project ${project.name} can be planned offline`);
    return stack;
}

/** A stack's outputs as a StackReference reads them: plain values, with the names of secret ones. */
export function stackOutputs(graph: ProgramGraph): StackOutputs {
    const root = graph.resources.find((r) => r.type === "pulumi:pulumi:Stack");
    const wire = root?.outputs ?? {};
    return {
        outputs: Object.fromEntries(Object.entries(wire).map(([k, v]) => [k, plain(v)])),
        secretOutputNames: Object.entries(wire).filter(([, v]) => containsSecret(v)).map(([k]) => k),
    };
}

export function mandatoryViolations(plan: Plan): Violation[] {
    return plan.violations.filter((v) => v.enforcementLevel === "mandatory");
}

/** Mandatory policies the gate could not run: at a real preview they pass silently, so the plan counts them. */
export function mandatoryNotRun(plan: Plan): NotRun[] {
    return plan.notRun.filter((n) => n.enforcementLevel === "mandatory");
}
