import * as fs from "node:fs";
import * as path from "node:path";
import Ajv, { ValidateFunction } from "ajv";
import type {
    EnforcementLevel, Policy, PolicyPackArgs, PolicyResource, ReportViolation, ResourceValidation, ResourceValidationArgs,
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
    /**
     * "up": a first preview cannot see it (a value it needs is unknown until created); the packs refuse it during
     * `pulumi up`, once that value exists, after whatever comes before it was created. Absent: the preview refuses it.
     */
    readonly at?: "up";
}

/**
 * A policy the runtime skipped because it read a value unknown at preview: the policy SDK reports it as an advisory
 * "can't run policy ... during preview" (@pulumi/policy 1.21.0 `server.ts`, UnknownValueError), whatever its level.
 */
export interface NotRun {
    readonly pack: string;
    readonly policy: string;
    /** The level the policy was configured at: a mandatory policy that cannot run is a hole in the gate. */
    readonly enforcementLevel: "advisory" | "mandatory";
    /** The resource being analysed; empty for a stack policy. */
    readonly urn: string;
    readonly reason: string;
}

export interface Verdicts {
    readonly violations: Violation[];
    readonly notRun: NotRun[];
}

/** Bad policy pack config: reported like bad stack config (exit 2), never as a violation. */
export class PolicyConfigError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "PolicyConfigError";
    }
}

const loaded = new Map<string, LoadedPack>();

/**
 * Every pack under `policyRoot`: each folder (or link to one) with a `PulumiPolicy.yaml`. A gate that silently runs no
 * policy is no gate: a missing, unreadable or empty folder and a pack that fails to load are bad input.
 */
export function discoverPacks(policyRoot: string): LoadedPack[] {
    let entries: string[];
    try {
        entries = fs.readdirSync(policyRoot);
    } catch (e) {
        throw new PolicyConfigError(`policy directory ${policyRoot}: ${(e as NodeJS.ErrnoException).code === "ENOENT" ? "does not exist" : (e as Error).message}`);
    }
    const dirs = entries.map((name) => path.join(policyRoot, name)).filter((dir) => {
        try {
            return fs.statSync(dir).isDirectory() && fs.existsSync(path.join(dir, "PulumiPolicy.yaml"));
        } catch (e) {
            throw new PolicyConfigError(`policy pack folder ${dir} cannot be read: ${(e as Error).message}`);
        }
    });
    if (dirs.length === 0) throw new PolicyConfigError(`policy directory ${policyRoot} holds no policy pack (no folder with a PulumiPolicy.yaml)`);
    return dirs.map((dir) => {
        try {
            return loadPack(dir);
        } catch (e) {
            throw new PolicyConfigError(`policy pack ${dir} failed to load: ${(e as Error).message.split("\n")[0]}`);
        }
    }).sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * Load a pack by running its real entry module. `new PolicyPack(...)` would start the gRPC analyzer server the CLI
 * talks to; for the duration of the load, the pack's `serve` is replaced by a function that keeps the arguments,
 * so the offline engine evaluates exactly the policies, levels and initial config `pulumi preview` would.
 */
export function loadPack(dir: string): LoadedPack {
    // A linked pack folder resolves its modules where it really lives, as Node does for the CLI's launcher.
    const abs = fs.realpathSync(path.resolve(dir));
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
    return pack.policies.map((policy) => {
        const defaults = Object.fromEntries(Object.entries(policy.configSchema?.properties ?? {})
            .filter(([, s]) => (s as { default?: unknown }).default !== undefined)
            .map(([k, s]) => [k, (s as { default?: unknown }).default]));
        const initial = objectPart(pack.initialConfig?.[policy.name]);
        const fromFile = objectPart(fileConfig[policy.name]);
        const config = { ...defaults, ...initial, ...fromFile };
        if (policy.configSchema) {
            const validate = configValidator({ type: "object", ...policy.configSchema });
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

/**
 * Each policy's config schema compiled once per process: packs are resolved for every plan (tests make hundreds), and
 * compiling a schema costs far more than checking a config against it.
 */
const configAjv = new Ajv({ allErrors: true, strict: false });
const configValidators = new Map<string, ValidateFunction>();

function configValidator(schema: object): ValidateFunction {
    const key = JSON.stringify(schema);
    let validate = configValidators.get(key);
    if (!validate) {
        validate = configAjv.compile(schema);
        configValidators.set(key, validate);
    }
    return validate;
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

/** The policy SDK's own unknown-value proxy, from the copy of @pulumi/policy the pack loads. */
interface UnknownProxy {
    unknownCheckingProxy<T>(value: T): T;
    UnknownValueError: new (...args: any[]) => Error;
}

function proxyOf(pack: LoadedPack): UnknownProxy {
    return require(require.resolve("@pulumi/policy/proxy", { paths: [pack.dir] }));
}

/**
 * Evaluate packs over a captured program the way `pulumi preview --policy-pack` does: resource policies see each
 * resource's inputs, stack policies every resource's outputs, both behind the policy SDK's unknown-checking proxy, so
 * a policy that reads a value unknown at preview is skipped exactly where the real analyzer skips it.
 */
export async function evaluatePacks(graph: ProgramGraph, packs: readonly { pack: LoadedPack; config?: PackConfig }[]): Promise<Verdicts> {
    const violations: Violation[] = [];
    const notRun: NotRun[] = [];
    const byUrn = new Map(graph.resources.map((r) => [r.urn, r]));
    // Every registration is analysed, providers (default ones too) and the root stack included: the step generator
    // runs the analyzers on each resource it generates steps for (pulumi/pulumi v3.248.0
    // `pkg/resource/deploy/step_generator.go`; `pkg/engine/lifecycletest/analyzer_test.go` sees the default provider
    // analysed). Reads are not: their steps skip the analyzers.
    // The analyzer deserializes a resource's and its provider's properties afresh for each validation (@pulumi/policy
    // 1.21.0 server.js makeAnalyzeRpcFun, getProviderResource): no policy sees another's edits. Here a resource's
    // properties and options are made once, read-only, and shared by its validations (a copy per validation was a
    // third of a plan), and a provider's properties by every resource it manages: a policy that edits them fails
    // loudly instead of passing.
    const providers = new Map<string, Record<string, any>>();
    const providerProps = (provider: CapturedResource) => {
        if (!providers.has(provider.urn)) providers.set(provider.urn, readOnly(plain(provider.inputs), `the properties of ${provider.urn}`));
        return providers.get(provider.urn)!;
    };
    const analysed = graph.resources
        .filter((r) => !r.read)
        .map((res): Analysed => ({ res, props: readOnly(plain(res.inputs), `the properties of ${res.urn}`), provider: byUrn.get(res.provider), opts: optionsOf(res) }));
    const enabled = packs.map(({ pack, config }) => ({
        pack, proxy: proxyOf(pack),
        policies: resolvePolicies(pack, config).filter((p) => p.level !== "disabled").map((p): Enabled => {
            // Offline there is no program to remediate: a remediate-level policy that still fails counts as
            // mandatory, as the engine reports it.
            const level: Violation["enforcementLevel"] = p.level === "advisory" ? "advisory" : "mandatory";
            const declared = "validateResource" in p.policy ? p.policy.validateResource as ResourceValidation | ResourceValidation[] | undefined : undefined;
            const validations = declared ? ([] as ResourceValidation[]).concat(declared) : [];
            // Like the analyzer server: a single typed validator is skipped outright for other types.
            const onlyType = declared && !Array.isArray(declared) ? (declared as { __pulumiType?: string }).__pulumiType : undefined;
            return { ...p, pack: pack.name, level, validations, onlyType, getConfig: configOf(p.config), violations, notRun };
        }),
    }));
    // The engine's order: Analyze for each resource as it is registered (every pack, every resource policy), then
    // AnalyzeStack once the program is done (pulumi/pulumi v3.248.0 `pkg/resource/deploy/step_generator.go`).
    // Validations run thousands of times a plan: what they share (the type tests, the props' view, the config) is
    // made once per resource or policy, and functions are made by factories (a named closure costs a property
    // definition each time it is created, under the test runner's transpiler).
    for (const a of analysed) {
        const isType = typeTest(a.res.type);
        for (const { proxy, policies } of enabled) {
            // The policy SDK's proxy keeps no state: one per resource and pack serves every validation.
            const props = proxy.unknownCheckingProxy(a.props);
            const provider = a.provider && readOnly({ type: a.provider.type, props: proxy.unknownCheckingProxy(providerProps(a.provider)), urn: a.provider.urn, name: a.provider.name }, `the provider of ${a.res.urn}`);
            const view: ResourceView = { analysed: a, proxy, props, isType, asType: typedProps(a.res.type, props), provider };
            for (const p of policies) {
                if (p.validations.length === 0 || (p.onlyType !== undefined && p.onlyType !== a.res.type)) continue;
                // Policies are synchronous but for a few: awaiting only what returns a promise keeps the
                // thousands of validations of a plan off the microtask queue.
                const pending = runValidations(p, view, 0);
                if (pending) await pending;
            }
        }
    }
    for (const { proxy, policies } of enabled) {
        // Shared by the pack's stack policies, read-only: upstream builds them afresh for each (@pulumi/policy 1.21.0
        // server.js makeAnalyzeStackRpcFun), so no stack policy may see another's edits either.
        const stackResources = readOnly(policyResources(graph, proxy), "the properties of the stack's resources");
        for (const p of policies) {
            if (!("validateStack" in p.policy) || !p.policy.validateStack) continue;
            const args: StackValidationArgs = { resources: stackResources, stackTags: NO_STACK_TAGS, notApplicable, getConfig: p.getConfig };
            // Called as the analyzer calls it: a method of its policy (@pulumi/policy 1.21.0 server.js
            // makeAnalyzeStackRpcFun, `p.validateStack(args, reportViolation)`).
            const policy = p.policy as StackValidationPolicy;
            await guarded((a: StackValidationArgs, r: ReportViolation) => policy.validateStack(a, r), args, reporter(p, ""), proxy, p, "");
        }
    }
    return { violations, notRun };
}

interface Analysed {
    readonly res: CapturedResource;
    /** Plain inputs, computed once per resource, read-only; the validations of a pack see them through one proxy. */
    readonly props: Record<string, any>;
    readonly provider?: CapturedResource;
    readonly opts: ResourceValidationArgs["opts"];
}

/** An enabled policy with what its validations share. */
interface Enabled extends EffectivePolicy {
    readonly pack: string;
    readonly level: Violation["enforcementLevel"];
    readonly validations: readonly ResourceValidation[];
    /** The type of a single typed validator: the server skips it for every other type. */
    readonly onlyType?: string;
    readonly getConfig: <T extends object>() => T;
    readonly violations: Violation[];
    readonly notRun: NotRun[];
}

/** A resource as one pack's validations see it. */
interface ResourceView {
    readonly analysed: Analysed;
    readonly proxy: UnknownProxy;
    readonly props: Record<string, any>;
    readonly isType: (cls: any) => boolean;
    readonly asType: ResourceValidationArgs["asType"];
    readonly provider: ResourceValidationArgs["provider"];
}

const typeTest = (type: string) => (cls: any) => matchesType(type, cls);
const typedProps = (type: string, props: Record<string, any>) => ((cls: any) => (matchesType(type, cls) ? props : undefined)) as ResourceValidationArgs["asType"];
const configOf = (config: Record<string, unknown>) => <T extends object>() => config as T;
const reporter = (p: Enabled, urn: string) => (message: string, violationUrn?: string) => {
    p.violations.push({ pack: p.pack, policy: p.policy.name, enforcementLevel: p.level, urn: violationUrn ?? urn, message });
};
/**
 * The stack's tags: none offline. Like the analyzer's, one read-only view every validation shares (@pulumi/policy
 * 1.21.0 server.js `freezeMap`).
 */
const NO_STACK_TAGS: ReadonlyMap<string, string> = (() => {
    const tags = new Map<string, string>();
    return Object.freeze({
        entries: tags.entries.bind(tags), forEach: tags.forEach.bind(tags), get: tags.get.bind(tags), has: tags.has.bind(tags),
        keys: tags.keys.bind(tags), size: tags.size, values: tags.values.bind(tags), [Symbol.iterator]: tags[Symbol.iterator].bind(tags),
    });
})();

/** A resource's options as the analyzer describes them (server.js getResourceOptions), read-only. */
function optionsOf(res: CapturedResource): ResourceValidationArgs["opts"] {
    return readOnly({
        protect: res.protect, ignoreChanges: [...res.ignoreChanges], aliases: [], parent: res.parent || undefined,
        customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
        additionalSecretOutputs: [...res.additionalSecretOutputs],
    }, `the options of ${res.urn}`);
}

/** Runs a policy's validations of one resource in order from `from`; a promise only when one of them returned one. */
function runValidations(p: Enabled, view: ResourceView, from: number): Promise<void> | undefined {
    const { res, opts } = view.analysed;
    const report = reporter(p, res.urn);
    for (let i = from; i < p.validations.length; i++) {
        const args: ResourceValidationArgs = {
            type: res.type, props: view.props, urn: res.urn, name: res.name, stackTags: NO_STACK_TAGS, notApplicable, opts,
            isType: view.isType, asType: view.asType, getConfig: p.getConfig,
        };
        // As the analyzer: the key only when the resource has a provider.
        if (view.provider) args.provider = view.provider;
        const pending = guarded(p.validations[i], args, report, view.proxy, p, res.urn);
        if (pending) return pending.then(() => runValidations(p, view, i + 1));
    }
    return undefined;
}

/** `value` behind a view that refuses every change, naming what it is; nested objects likewise (one view each). */
function readOnly<T extends object>(value: T, owner: string, views = new WeakMap<object, object>()): T {
    const refuse = (): never => {
        throw new TypeError(`a policy changed ${owner}: the offline gate hands policies read-only properties (the analyzer gives each validation its own copy)`);
    };
    const view = (v: object): object => views.get(v) ?? views.set(v, new Proxy(v, {
        get: (target, key, receiver) => {
            const x = Reflect.get(target, key, receiver);
            return x !== null && typeof x === "object" ? view(x) : x;
        },
        // A property's descriptor hands out its value too (the packs' `peek` reads values that way).
        getOwnPropertyDescriptor: (target, key) => {
            const d = Reflect.getOwnPropertyDescriptor(target, key);
            return d && "value" in d && d.value !== null && typeof d.value === "object" && d.configurable ? { ...d, value: view(d.value) } : d;
        },
        set: refuse, defineProperty: refuse, deleteProperty: refuse, setPrototypeOf: refuse, preventExtensions: refuse,
    })).get(v)!;
    return view(value) as T;
}

function matchesType(type: string, cls: any): boolean {
    return cls?.__pulumiType === type || (typeof cls?.isInstance === "function" && cls.isInstance({ __pulumiType: type }));
}

/**
 * Runs one validation: "not applicable" ends it quietly, an unknown value it read is reported as not run. A promise
 * only when the validation returned one.
 */
function guarded<A>(fn: (args: A, report: (message: string, urn?: string) => void) => unknown, args: A, report: (message: string, urn?: string) => void,
    proxy: UnknownProxy, p: Enabled, urn: string): Promise<void> | undefined {
    let result: unknown;
    try {
        result = fn(args, report);
    } catch (e) {
        settle(e, proxy, p, urn);
        return undefined;
    }
    if (typeof (result as PromiseLike<unknown> | undefined)?.then === "function") {
        return Promise.resolve(result).then(() => undefined, (e) => settle(e, proxy, p, urn));
    }
    return undefined;
}

function settle(e: unknown, proxy: UnknownProxy, p: Enabled, urn: string): void {
    if (e instanceof proxy.UnknownValueError) p.notRun.push({ pack: p.pack, policy: p.policy.name, enforcementLevel: p.level, urn, reason: e.message });
    else if (!(e instanceof NotApplicable)) throw e;
}

/**
 * The graph as stack policies see it: every registered resource, the root stack included (its props are the stack
 * outputs), with outputs as props and parents and dependencies as resources.
 */
function policyResources(graph: ProgramGraph, proxy: UnknownProxy): PolicyResource[] {
    const out = new Map<string, PolicyResource>();
    const resources = graph.resources;
    for (const r of resources) {
        // Read-only beneath the policy SDK's proxy too: `asType` hands them out past the view of the whole list.
        const props = proxy.unknownCheckingProxy(readOnly(plain(r.outputs), "the properties of the stack's resources"));
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
        const provider = out.get(r.provider);
        pr.provider = provider && { type: provider.type, props: provider.props, urn: r.provider, name: provider.name };
        pr.dependencies = r.dependencies.map((u) => out.get(u)).filter((x): x is PolicyResource => x !== undefined);
        pr.propertyDependencies = Object.fromEntries(Object.entries(r.propertyDependencies).map(([k, us]) => [k, us.map((u) => out.get(u)).filter((x): x is PolicyResource => x !== undefined)]));
    }
    return [...out.values()];
}
