import * as fs from "node:fs";
import * as path from "node:path";
import Ajv from "ajv";
import type {
    EnforcementLevel, Policy, PolicyPackArgs, PolicyResource, ResourceValidationArgs, ResourceValidationPolicy,
    StackValidationArgs, StackValidationPolicy,
} from "@pulumi/policy";
import { CapturedResource, ProgramGraph } from "./graph";
import { plain } from "./values";

/** A policy pack as `new PolicyPack(...)` in its `index.ts` declared it. */
export interface LoadedPack {
    readonly name: string;
    readonly version: string;
    readonly dir: string;
    readonly enforcementLevel: EnforcementLevel;
    readonly policies: readonly Policy[];
    readonly initialConfig?: Record<string, unknown>;
}

/** The JSON of `pulumi preview --policy-pack-config`: per policy an enforcement level or an object; `all` for every policy. */
export type PackConfig = Record<string, EnforcementLevel | ({ enforcementLevel?: EnforcementLevel } & Record<string, unknown>)>;

export interface Violation {
    readonly pack: string;
    readonly policy: string;
    readonly enforcementLevel: "advisory" | "mandatory";
    /** The resource the violation is about; empty for a stack-wide finding that names none. */
    readonly urn: string;
    readonly message: string;
}

/** Bad policy pack config: reported like bad stack config (exit 2), never as a violation. */
export class PolicyConfigError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "PolicyConfigError";
    }
}

const loaded = new Map<string, LoadedPack>();

/** Every pack under `policyRoot`: each folder with a `PulumiPolicy.yaml`. */
export function discoverPacks(policyRoot: string): LoadedPack[] {
    if (!fs.existsSync(policyRoot)) return [];
    return fs.readdirSync(policyRoot, { withFileTypes: true })
        .filter((d) => d.isDirectory() && fs.existsSync(path.join(policyRoot, d.name, "PulumiPolicy.yaml")))
        .map((d) => loadPack(path.join(policyRoot, d.name)))
        .sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * Load a pack by running its real entry module. `new PolicyPack(...)` would start the gRPC analyzer server the CLI
 * talks to; for the duration of the load, the pack's `serve` is replaced by a function that keeps the arguments,
 * so the offline engine evaluates exactly the policies, levels and initial config `pulumi preview` would.
 */
export function loadPack(dir: string): LoadedPack {
    const abs = path.resolve(dir);
    const cached = loaded.get(abs);
    if (cached) return cached;
    const server = require(require.resolve("@pulumi/policy/server", { paths: [abs] }));
    const original = server.serve;
    const cwd = process.cwd();
    let captured: LoadedPack | undefined;
    server.serve = (name: string, version: string, enforcementLevel: EnforcementLevel, args: PolicyPackArgs, initialConfig?: Record<string, unknown>) => {
        captured = { name, version, dir: abs, enforcementLevel, policies: args.policies, initialConfig };
    };
    try {
        // The CLI runs a pack in its own folder; PolicyPack reads the version from the package.json there.
        process.chdir(abs);
        require(path.join(abs, packMain(abs)));
    } finally {
        process.chdir(cwd);
        server.serve = original;
    }
    if (!captured) throw new Error(`policy pack ${abs} constructed no PolicyPack (or uses its own copy of @pulumi/policy)`);
    loaded.set(abs, captured);
    return captured;
}

function packMain(dir: string): string {
    const manifest = fs.readFileSync(path.join(dir, "PulumiPolicy.yaml"), "utf8");
    const main = /^main:\s*(\S+)/m.exec(manifest)?.[1];
    return main ?? "index.ts";
}

interface EffectivePolicy {
    readonly policy: Policy;
    readonly level: EnforcementLevel;
    readonly config: Record<string, unknown>;
}

/**
 * What the engine does before analysis: every policy's config is its schema defaults, then the pack's initial
 * config, then the config file; `all` sets every level; the result is validated against the policy's schema.
 */
export function resolvePolicies(pack: LoadedPack, fileConfig: PackConfig = {}): EffectivePolicy[] {
    const names = new Set(pack.policies.map((p) => p.name));
    for (const key of Object.keys(fileConfig)) {
        if (key !== "all" && !names.has(key)) throw new PolicyConfigError(`policy pack ${pack.name} config: no policy named "${key}"`);
    }
    const levelOf = (v: unknown): EnforcementLevel | undefined =>
        typeof v === "string" ? (v as EnforcementLevel) : (v as { enforcementLevel?: EnforcementLevel } | undefined)?.enforcementLevel;
    const ajv = new Ajv({ allErrors: true, strict: false });
    return pack.policies.map((policy) => {
        const defaults = Object.fromEntries(Object.entries(policy.configSchema?.properties ?? {})
            .filter(([, s]) => (s as { default?: unknown }).default !== undefined)
            .map(([k, s]) => [k, (s as { default?: unknown }).default]));
        const initial = objectPart(pack.initialConfig?.[policy.name]);
        const fromFile = objectPart(fileConfig[policy.name]);
        const config = { ...defaults, ...initial, ...fromFile };
        if (policy.configSchema) {
            const validate = ajv.compile({ type: "object", ...policy.configSchema });
            if (!validate(config)) {
                const problems = (validate.errors ?? []).map((e) => `${e.instancePath || "(config)"} ${e.message}`).join("; ");
                throw new PolicyConfigError(`policy pack ${pack.name}, policy ${policy.name}: invalid config: ${problems}`);
            }
        }
        const level = levelOf(fileConfig[policy.name]) ?? levelOf(fileConfig.all) ?? levelOf(pack.initialConfig?.[policy.name])
            ?? levelOf(pack.initialConfig?.all) ?? policy.enforcementLevel ?? pack.enforcementLevel ?? "advisory";
        return { policy, level, config };
    });
}

function objectPart(v: unknown): Record<string, unknown> {
    if (typeof v !== "object" || v === null) return {};
    const { enforcementLevel: _ignored, ...rest } = v as Record<string, unknown>;
    return rest;
}

/**
 * Thrown by `args.notApplicable()`. Not an Error: it is thrown once per policy per resource of another type, and an
 * Error would capture (and source-map) a stack trace each time.
 */
class NotApplicable {
    constructor(readonly reason?: string) {}
}

const notApplicable = (reason?: string): never => {
    throw new NotApplicable(reason);
};

/** Props are shared by every policy that looks at a resource: frozen, so no policy can change what the next one sees. */
function deepFreeze<T>(value: T): T {
    if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
        Object.freeze(value);
        for (const v of Object.values(value)) deepFreeze(v);
    }
    return value;
}

/** Evaluate packs over a captured program the way `pulumi preview --policy-pack` does. */
export async function evaluatePacks(graph: ProgramGraph, packs: readonly { pack: LoadedPack; config?: PackConfig }[]): Promise<Violation[]> {
    const violations: Violation[] = [];
    const byUrn = new Map(graph.resources.map((r) => [r.urn, r]));
    const analysed = graph.resources
        .filter((r) => !r.read && !r.type.startsWith("pulumi:providers:") && r.type !== "pulumi:pulumi:Stack")
        .map((res) => ({ res, props: deepFreeze(plain(res.inputs)), provider: byUrn.get(res.provider) }));
    const stackResources = policyResources(graph);
    for (const { pack, config } of packs) {
        for (const { policy, level, config: policyConfig } of resolvePolicies(pack, config)) {
            if (level === "disabled") continue;
            // Offline there is no program to remediate: a remediate-level policy that still fails counts as mandatory,
            // as the engine reports it.
            const reported = level === "advisory" ? "advisory" : "mandatory";
            const report = (urn: string) => (message: string, violationUrn?: string) =>
                violations.push({ pack: pack.name, policy: policy.name, enforcementLevel: reported, urn: violationUrn ?? urn, message });
            if ("validateResource" in policy && policy.validateResource) {
                for (const a of analysed) await runResourcePolicy(policy as ResourceValidationPolicy, a, policyConfig, report(a.res.urn));
            }
            if ("validateStack" in policy && policy.validateStack) {
                const args: StackValidationArgs = {
                    resources: stackResources, stackTags: new Map(), notApplicable,
                    getConfig: <T extends object>() => policyConfig as T,
                };
                await swallowNotApplicable(() => (policy as StackValidationPolicy).validateStack(args, report("")));
            }
        }
    }
    return violations;
}

interface Analysed {
    readonly res: CapturedResource;
    /** Plain inputs, computed once per resource. */
    readonly props: Record<string, any>;
    readonly provider?: CapturedResource;
}

async function runResourcePolicy(policy: ResourceValidationPolicy, { res, props, provider }: Analysed, config: Record<string, unknown>, report: (m: string, urn?: string) => void) {
    const fns = Array.isArray(policy.validateResource) ? policy.validateResource : [policy.validateResource!];
    const args: ResourceValidationArgs = {
        type: res.type, props, urn: res.urn, name: res.name, stackTags: new Map(), notApplicable,
        opts: {
            protect: res.protect, ignoreChanges: [...res.ignoreChanges], aliases: [], parent: res.parent || undefined,
            customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
            additionalSecretOutputs: [...res.additionalSecretOutputs],
        },
        provider: provider && { type: provider.type, props: plain(provider.inputs), urn: provider.urn, name: provider.name },
        isType: (cls: any) => matchesType(res.type, cls),
        asType: ((cls: any) => (matchesType(res.type, cls) ? props : undefined)) as ResourceValidationArgs["asType"],
        getConfig: <T extends object>() => config as T,
    };
    for (const fn of fns) {
        // Like the analyzer server: a single typed validator is skipped outright for other types.
        const typed = (fn as { __pulumiType?: string }).__pulumiType;
        if (!Array.isArray(policy.validateResource) && typed !== undefined && typed !== res.type) continue;
        await swallowNotApplicable(() => fn(args, report));
    }
}

function matchesType(type: string, cls: any): boolean {
    return cls?.__pulumiType === type || (typeof cls?.isInstance === "function" && cls.isInstance({ __pulumiType: type }));
}

async function swallowNotApplicable(fn: () => unknown) {
    try {
        await fn();
    } catch (e) {
        if (!(e instanceof NotApplicable)) throw e;
    }
}

/**
 * The graph as stack policies see it: every registered resource, the root stack included (its props are the stack
 * outputs), with outputs as props and parents and dependencies as resources.
 */
function policyResources(graph: ProgramGraph): PolicyResource[] {
    const out = new Map<string, PolicyResource>();
    const resources = graph.resources;
    for (const r of resources) {
        const props = plain(r.outputs);
        out.set(r.urn, {
            type: r.type, props, urn: r.urn, name: r.name, dependencies: [], propertyDependencies: {},
            opts: { protect: r.protect, ignoreChanges: [...r.ignoreChanges], aliases: [], customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 }, additionalSecretOutputs: [...r.additionalSecretOutputs], parent: r.parent || undefined },
            isType: (cls: any) => matchesType(r.type, cls),
            asType: (cls: any) => (matchesType(r.type, cls) ? props : undefined),
        } as PolicyResource);
    }
    for (const r of resources) {
        const pr = out.get(r.urn)! as { -readonly [K in keyof PolicyResource]: PolicyResource[K] };
        pr.parent = out.get(r.parent);
        pr.provider = out.get(r.provider) && { type: out.get(r.provider)!.type, props: out.get(r.provider)!.props, urn: r.provider, name: out.get(r.provider)!.name };
        pr.dependencies = r.dependencies.map((u) => out.get(u)).filter((x): x is PolicyResource => x !== undefined);
        pr.propertyDependencies = Object.fromEntries(Object.entries(r.propertyDependencies).map(([k, us]) => [k, us.map((u) => out.get(u)).filter((x): x is PolicyResource => x !== undefined)]));
    }
    return [...out.values()];
}
