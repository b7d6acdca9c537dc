import type { Session } from "node:inspector";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { ProgramGraph } from "./graph";
import { EngineMonitor, MissingStackError, MONITOR_METHODS, MonitorOptions } from "./monitor";

export { MissingStackError, PreviewBasis, StackOutputs } from "./monitor";

export interface RunOptions extends MonitorOptions {
    /** Directory holding the program's `Pulumi.yaml`. */
    readonly programDir: string;
    /** Module to load (the runtime's `main`), absolute. */
    readonly entry: string;
}

/** The program failed: a thrown error, a rejected registration, or a provider refusing inputs. */
export class ProgramError extends Error {
    constructor(readonly causes: readonly Error[]) {
        super(causes.map((c) => c.message).join("\n"));
        this.name = "ProgramError";
    }
}

let running = false;
let collectUncaught: ((e: unknown) => void) | undefined;
const onRejection = (e: unknown) => collectUncaught?.(e);
const onException = (e: Error) => {
    if (!collectUncaught) throw e;
    collectUncaught(e);
};

/**
 * Errors thrown outside the program's promise chain belong to the run in progress. A run that was abandoned (to plan
 * a stack it references first) leaves rejected registrations behind; they surface later and were already reported,
 * so between runs they are dropped instead of crashing the process. Installed again whenever missing: a test runner
 * may remove every process listener between files (mocha's parallel workers do, lib/nodejs/worker.cjs).
 */
function installUncaughtRouter() {
    if (!process.listeners("unhandledRejection").includes(onRejection)) process.on("unhandledRejection", onRejection);
    if (!process.listeners("uncaughtException").includes(onException)) process.on("uncaughtException", onException);
}

/**
 * Run a Pulumi TypeScript program in this process against the offline engine and return what it registered.
 * The program is loaded the way the Node.js language host loads it: inside the root `pulumi:pulumi:Stack`, with its
 * exports (or the result of an exported function) as the stack outputs.
 */
export async function runProgram(opts: RunOptions): Promise<ProgramGraph> {
    if (running) throw new Error("the offline engine runs one program at a time");
    running = true;
    const monitor = new EngineMonitor(opts);
    const uncaught: Error[] = [];
    // An error nothing awaits (an apply that throws while a resource's inputs are serialized) ends the program, as the
    // Node.js language host's unhandled-rejection handler ends it: the resources waiting on it never register.
    let failUncaught: (e: Error) => void = () => undefined;
    const uncaughtFailed = new Promise<never>((_, reject) => (failUncaught = reject));
    uncaughtFailed.catch(() => undefined);
    collectUncaught = (e: unknown) => {
        const error = e instanceof Error ? e : new Error(String(e));
        uncaught.push(error);
        failUncaught(error);
    };
    installUncaughtRouter();
    // The SDK captures a stack trace for every resource it registers (its source position); source-mapping each one
    // is most of a plan's time. Off while the program runs: program errors then point into the transpiled code.
    const sourceMaps = process.sourceMapsEnabled;
    let restorePromises = () => undefined as void;
    try {
        process.setSourceMapsEnabled(false);
        restorePromises = withoutPromiseStacks();
        // setMocks negotiates the SDK's feature flags; the engine's monitor then takes the mock monitor's place
        // (setMockOptions would reset those flags). In a preview, applies over unknown values do not run, as in
        // `pulumi preview`; otherwise every output is known and every apply runs.
        // The CLI always names an organization; self-managed backends call theirs "organization".
        await pulumi.runtime.setMocks({} as pulumi.runtime.Mocks, opts.project, opts.stack, opts.preview !== undefined, opts.organization ?? "organization");
        const installed = pulumi.runtime.getMonitor() as unknown as Record<string, unknown>;
        for (const method of MONITOR_METHODS) installed[method] = monitor[method].bind(monitor);
        pulumi.runtime.setAllConfig({ ...opts.config }, [...opts.secretKeys]);
        forgetProgramModules([opts.programDir, path.dirname(opts.entry)], opts.entry);
        let thrown: Error | undefined;
        const stalled = () => new ProgramError(monitor.errors.length ? [...monitor.errors] : [new Error("the program stopped before registering all its resources (an output never resolved)")]);
        try {
            await untilDrained(Promise.race([monitor.failed, uncaughtFailed, pulumi.runtime.runInPulumiStack(async () => {
                const exported = require(opts.entry);
                const main = exported?.__esModule && typeof exported.default === "function" ? exported.default : exported;
                return typeof main === "function" ? await main() : exported;
            })]), stalled);
        } catch (e) {
            thrown = e instanceof Error ? e : new Error(String(e));
        }
        if (monitor.errors.length === 0) await untilDrained(Promise.race([monitor.failed, uncaughtFailed, waitForRegistrations()]), stalled).catch(() => undefined);
        // Node reports a rejection nothing handled once the tick that rejected it ends: an apply that threw while the
        // SDK serialized a resource's inputs (the resource then never registers), every output of a failed read.
        // Let that tick end while this run's collector listens, not after it (the plan would pass without the
        // resource) nor during the next run (which would be blamed for it).
        await new Promise((resolve) => setImmediate(resolve));
        const missing = [thrown, ...monitor.errors, ...uncaught].find((e): e is MissingStackError => e instanceof MissingStackError);
        if (missing) throw missing;
        // What the program threw may also surface as rejections of the promises it ended: the same error, once.
        const others = uncaught.filter((e) => e !== thrown && e.message !== thrown?.message);
        if (thrown && monitor.errors.length === 0 && others.length === 0) throw thrown;
        const causes = dedupe([...(thrown ? [thrown] : []), ...monitor.errors, ...others]);
        if (causes.length > 0) throw new ProgramError(causes);
        return { project: opts.project, stack: opts.stack, resources: monitor.resources };
    } finally {
        process.setSourceMapsEnabled(sourceMaps);
        restorePromises();
        collectUncaught = undefined;
        running = false;
        // Only a cost: a debugger left on makes later runs slower, never different.
        await debuggerBetweenRuns.disable().catch(() => undefined);
    }
}

/**
 * The SDK serializes a dynamic provider's code through an inspector session of this process, with the debugger
 * enabled, and leaves it enabled for the life of the process (@pulumi/pulumi 3.248.0 `runtime/closure/v8Hooks.js`
 * `createInspectorSessionAsync`). While a debugger is enabled every exception thrown is dearer (the debugger is told
 * of each), and the policy SDK says "not applicable" by throwing, for nearly every policy and resource of a plan:
 * that made a pack pass three times slower. The engine disables it when a run ends; the SDK's next use of its session
 * enables it again first. Enabling announces every script loaded so far, so the SDK's map of scripts to files (used
 * only to name a function in its serialization errors) then also knows the scripts loaded before its first use,
 * which upstream's never does: such an error can name a file where the CLI's names none. The serialized code is the
 * same (`Runtime.getProperties` reads a function's scopes and location with the debugger off).
 */
const debuggerBetweenRuns = (() => {
    const hooks = require("@pulumi/pulumi/runtime/closure/v8Hooks") as { getSessionAsync(): Promise<Session> };
    const sdkSession = hooks.getSessionAsync;
    let session: Session | undefined;
    let enabled = true;
    const post = (s: Session, method: string) => new Promise<void>((resolve, reject) => s.post(method, (e) => (e ? reject(e) : resolve())));
    // The SDK reads the function from its module's exports at each call (runtime/closure/v8.js).
    hooks.getSessionAsync = async () => {
        session = await sdkSession();
        if (!enabled) {
            await post(session, "Debugger.enable");
            enabled = true;
        }
        return session;
    };
    return {
        async disable() {
            if (!session || !enabled) return;
            // Marked first: the SDK may ask for its session while the request is answered.
            enabled = false;
            await post(session, "Debugger.disable");
        },
    };
})();

/**
 * The SDK records a stack trace and a leak-detection entry on every promise it tracks, only to report promises still
 * pending when the process exits (@pulumi/pulumi 3.248.0 runtime/debuggable.js `debuggablePromise`); that was a
 * fifth of a plan. The offline engine finds a stalled program itself (`untilDrained`), so for the run the function is
 * what remains of it: the same two chained handlers, the rejection tagged with its promise. Its callers look it up on
 * the module's exports at each call (`debuggable_1.debuggablePromise(...)` in runtime/resource.js, settings.js,
 * callbacks.js). Every other error, the program's included, keeps its stack. Returns the undo.
 */
function withoutPromiseStacks(): () => void {
    const debuggable = require("@pulumi/pulumi/runtime/debuggable") as { debuggablePromise: <T>(p: Promise<T>, ctx?: unknown) => Promise<T> };
    const original = debuggable.debuggablePromise;
    debuggable.debuggablePromise = <T>(p: Promise<T>) => p
        .then((value) => value)
        .catch((err) => {
            // As upstream, in strict mode: a rejection with a primitive becomes the TypeError of this assignment.
            err.promise = p;
            throw err;
        });
    return () => {
        debuggable.debuggablePromise = original;
    };
}

/**
 * A registration that fails leaves the outputs that depend on it unresolved for ever. When nothing else is left to
 * run, Node is about to exit: that is the moment to give up on `work` and report what failed, instead of exiting
 * silently.
 */
function untilDrained<T>(work: Promise<T>, reason: () => Error): Promise<T> {
    let onDrained: () => void = () => undefined;
    const drained = new Promise<never>((_, reject) => {
        onDrained = () => reject(reason());
        process.once("beforeExit", onDrained);
    });
    return Promise.race([work, drained]).finally(() => process.off("beforeExit", onDrained));
}

async function waitForRegistrations() {
    // The SDK chains every outstanding RPC onto one promise; the language host waits on it the same way.
    const runtime = pulumi.runtime as typeof pulumi.runtime & { waitForRPCs(): Promise<void> };
    await runtime.waitForRPCs().catch(() => undefined);
}

/**
 * Folders of this project whose modules only define (types, functions, classes, constants) and do nothing when loaded:
 * they stay loaded from one run to the next. Reloading them was a tenth of each run; a test plans a stack twice in one
 * process to catch a module here that keeps state between runs.
 */
const LIBRARY_FOLDERS = ["components", "config", "program"];

/**
 * Programs are modules: a second run in the same process must execute them afresh (the entry reads its stack's config
 * when loaded). Dependencies, and the program's own library folders beside its entry, stay cached.
 */
function forgetProgramModules(dirs: readonly string[], entry: string) {
    const roots = dirs.map((d) => path.resolve(d) + path.sep);
    const engine = path.resolve(__dirname) + path.sep;
    const libraries = LIBRARY_FOLDERS.map((f) => path.join(path.dirname(entry), f) + path.sep);
    // The cache holds thousands of modules (the providers' SDKs): each is judged once per program layout.
    const layout = JSON.stringify([roots, libraries]);
    if (layout !== judged.layout) judged = { layout, kept: new Set() };
    for (const id of Object.keys(require.cache)) {
        if (judged.kept.has(id)) continue;
        const inProgram = roots.some((r) => id.startsWith(r)) && !libraries.some((l) => id.startsWith(l));
        if (inProgram && !id.startsWith(engine) && !id.includes(`${path.sep}node_modules${path.sep}`)) delete require.cache[id];
        else judged.kept.add(id);
    }
}

/** Modules found to stay loaded for the last program layout forgotten. */
let judged: { layout: string; kept: Set<string> } = { layout: "", kept: new Set() };

function dedupe(errors: Error[]): Error[] {
    const seen = new Set<string>();
    return errors.filter((e) => !seen.has(e.message) && seen.add(e.message) !== undefined);
}
