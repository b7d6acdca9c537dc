import { spawn } from "node:child_process";
import * as grpc from "@grpc/grpc-js";
import * as emptyproto from "google-protobuf/google/protobuf/empty_pb";
import * as structproto from "google-protobuf/google/protobuf/struct_pb";
import * as analyzerproto from "@pulumi/pulumi/proto/analyzer_pb";
import * as analyzerrpc from "@pulumi/pulumi/proto/analyzer_grpc_pb";
import { CapturedResource, ProgramGraph } from "../../engine/graph";
import type { NotRun, PackConfig, Verdicts, Violation } from "../../engine/policy";
import { isObject, RESOURCE_SIG, SIG_KEY, UNKNOWN, Wire } from "../../engine/values";

/**
 * The real policy runtime, driven the way `pulumi preview --policy-pack <dir>` drives it (pulumi/pulumi v3.248.0):
 *
 * - Start. The CLI finds the `nodejs` language plugin and calls its RunPlugin (`sdk/go/common/resource/plugin/
 *   analyzer_plugin.go` NewPolicyAnalyzer, `plugin.go` ExecPlugin), which runs `node <@pulumi/pulumi/cmd/run-policy-pack
 *   resolved from the pack folder> <engine address> <pack folder>` with the pack folder as its working directory and
 *   PULUMI_NODEJS_{ORGANIZATION,PROJECT,STACK,DRY_RUN} in its environment (`sdk/nodejs/cmd/pulumi-language-nodejs/
 *   main.go` RunPlugin). The launcher registers ts-node with type checking (`cmd/run-policy-pack/run.js`) and loads
 *   the pack, whose `new PolicyPack(...)` serves the analyzer and prints its port as the first line of stdout
 *   (@pulumi/policy 1.21.0 `server.ts`), which the language host's policy proxy reads (`sdk/policy_proxy.go` Attach).
 *   The launcher drops the engine address (`run-policy-pack/index.js` shifts it off) and the pack's SDK logs to an
 *   engine only through PULUMI_NODEJS_ENGINE, which RunPlugin does not set: no engine endpoint is needed.
 * - Setup. Handshake (answered by the policy proxy; @pulumi/policy does not implement it), ConfigureStack,
 *   GetAnalyzerInfo, then Configure with the effective config (`pkg/engine/update.go` LoadLocalPolicyPackAnalyzers).
 * - Analysis. Analyze for every registered resource, with its inputs, in registration order, then AnalyzeStack with
 *   every resource of the deployment, its outputs as properties (`pkg/resource/deploy/step_generator.go`).
 */

const LAUNCHER = "@pulumi/pulumi/cmd/run-policy-pack";

/** A policy pack process, started once and reused for every graph it analyses. */
export class PackProcess {
    /** Milliseconds from spawn to the port line: the launcher's ts-node type-checks the pack on a cold cache. */
    startupMs = 0;
    readonly ready: Promise<void>;
    private client?: analyzerrpc.AnalyzerClient;
    private info?: analyzerproto.AnalyzerInfo;
    private readonly child;

    constructor(readonly dir: string, env: Readonly<Record<string, string>>) {
        const started = Date.now();
        const launcher = require.resolve(LAUNCHER, { paths: [dir] });
        // The CLI's engine address: the launcher ignores it, any address of the right shape will do.
        this.child = spawn(process.execPath, [launcher, "127.0.0.1:0", dir], {
            cwd: dir, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"],
        });
        // A test run that ends early (a grep that skips the suite) must not wait for these processes.
        this.child.unref();
        process.once("exit", () => this.child.kill());
        let stderr = "";
        this.child.stderr.on("data", (d) => (stderr += d));
        this.ready = new Promise((resolve, reject) => {
            let stdout = "";
            const onData = (d: Buffer) => {
                stdout += d;
                const newline = stdout.indexOf("\n");
                if (newline < 0) return;
                this.child.stdout.off("data", onData);
                // The proxy reads the port with Fscanf("%d\n"): anything else first is a pack the CLI cannot start.
                const port = /^(\d+)$/.exec(stdout.slice(0, newline))?.[1];
                if (!port) return reject(new Error(`policy pack ${dir} printed ${JSON.stringify(stdout.slice(0, newline))} where the CLI reads its port\n${stderr}`));
                this.startupMs = Date.now() - started;
                this.client = new analyzerrpc.AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
                resolve();
            };
            this.child.stdout.on("data", onData);
            this.child.once("exit", (code) => reject(new Error(`policy pack ${dir} exited (${code}) before serving\n${stderr}`)));
        });
        this.ready.catch(() => undefined);
        for (const stream of [this.child.stdout, this.child.stderr]) (stream as unknown as { unref?: () => void }).unref?.();
    }

    stop(): void {
        this.client?.close();
        this.child.kill();
    }

    /** The handshake the CLI sends first; `undefined` when the pack leaves it to the language host's policy proxy. */
    async handshake(): Promise<analyzerproto.AnalyzerHandshakeResponse | undefined> {
        const req = new analyzerproto.AnalyzerHandshakeRequest();
        req.setEngineAddress("127.0.0.1:0");
        req.setRootDirectory(this.dir);
        req.setProgramDirectory(this.dir);
        try {
            return await this.call("handshake", req);
        } catch (e) {
            if ((e as grpc.ServiceError).code === grpc.status.UNIMPLEMENTED) return undefined;
            throw e;
        }
    }

    async analyzerInfo(): Promise<analyzerproto.AnalyzerInfo> {
        this.info ??= await this.call<analyzerproto.AnalyzerInfo>("getAnalyzerInfo", new emptyproto.Empty());
        return this.info;
    }

    /**
     * What `pulumi preview` (dry run) or `pulumi up` would make of this program graph: setup, Analyze per resource,
     * AnalyzeStack, and the diagnostics sorted into violations and policies the runtime could not run.
     */
    async analyze(graph: ProgramGraph, opts: { dryRun: boolean; config?: PackConfig }): Promise<Verdicts> {
        await this.ready;
        const stackReq = new analyzerproto.AnalyzerStackConfigureRequest();
        stackReq.setStack(graph.stack);
        stackReq.setProject(graph.project);
        stackReq.setOrganization("organization");
        stackReq.setDryRun(opts.dryRun);
        await this.call("configureStack", stackReq);
        const info = await this.analyzerInfo();
        const config = effectiveConfig(info, opts.config ?? {});
        const configReq = new analyzerproto.ConfigureAnalyzerRequest();
        for (const [name, c] of config) {
            const pc = new analyzerproto.PolicyConfig();
            pc.setEnforcementlevel(LEVELS[c.level]);
            pc.setProperties(structproto.Struct.fromJavaScript(c.properties as Record<string, structproto.JavaScriptValue>));
            configReq.getPolicyconfigMap().set(name, pc);
        }
        await this.call("configure", configReq);

        const verdicts: Verdicts = { violations: [], notRun: [] };
        const sort = diagnosticSorter(info, config, verdicts);
        const requests = requestsFor(graph);
        // Sent together: the pack answers each request on its own; what counts is that AnalyzeStack comes after them all.
        const answers = await Promise.all(requests.analyze.map((req) => this.call<analyzerproto.AnalyzeResponse>("analyze", req)));
        answers.forEach((resp, i) => resp.getDiagnosticsList().forEach((d) => sort(d, requests.analyze[i].getUrn())));
        const resp = await this.call<analyzerproto.AnalyzeResponse>("analyzeStack", requests.stack);
        for (const d of resp.getDiagnosticsList()) sort(d, "");
        return verdicts;
    }

    private call<T>(method: string, req: unknown): Promise<T> {
        const client = this.client as unknown as Record<string, (req: unknown, cb: (e: grpc.ServiceError | null, r: T) => void) => void>;
        return new Promise((resolve, reject) => client[method].call(this.client, req, (e, r) => (e ? reject(e) : resolve(r))));
    }
}

const built = new WeakMap<ProgramGraph, { analyze: analyzerproto.AnalyzeRequest[]; stack: analyzerproto.AnalyzeStackRequest }>();

/** The requests the engine sends for a program graph, built once for every pack that analyses it. */
function requestsFor(graph: ProgramGraph) {
    const cached = built.get(graph);
    if (cached) return cached;
    const byUrn = new Map(graph.resources.map((r) => [r.urn, r]));
    // Reads are not analysed: the engine generates their steps without the analyzers.
    const analyze = graph.resources.filter((r) => !r.read).map((res) => described(new analyzerproto.AnalyzeRequest(), res, res.inputs, byUrn));
    const stack = new analyzerproto.AnalyzeStackRequest();
    stack.setResourcesList(graph.resources.map((res) => {
        const r = described(new analyzerproto.AnalyzerResource(), res, res.outputs, byUrn);
        r.setParent(res.parent);
        r.setDependenciesList([...res.dependencies]);
        for (const [key, urns] of Object.entries(res.propertyDependencies)) {
            if (urns.length === 0) continue;
            const deps = new analyzerproto.AnalyzerPropertyDependencies();
            deps.setUrnsList([...urns]);
            r.getPropertydependenciesMap().set(key, deps);
        }
        return r;
    }));
    const requests = { analyze, stack };
    built.set(graph, requests);
    return requests;
}

/** What Analyze and AnalyzeStack both say of a resource; Analyze sends its inputs, AnalyzeStack its outputs. */
function described<T extends analyzerproto.AnalyzeRequest | analyzerproto.AnalyzerResource>(msg: T, res: CapturedResource, props: Record<string, Wire>, byUrn: ReadonlyMap<string, CapturedResource>): T {
    msg.setUrn(res.urn);
    msg.setType(res.type);
    msg.setName(res.name);
    msg.setProperties(marshal(props));
    msg.setOptions(options(res));
    const provider = providerOf(res, byUrn);
    if (provider) msg.setProvider(provider);
    return msg;
}

type Level = "advisory" | "mandatory" | "remediate" | "disabled";
const LEVELS: Record<Level, analyzerproto.EnforcementLevel> = {
    advisory: analyzerproto.EnforcementLevel.ADVISORY,
    mandatory: analyzerproto.EnforcementLevel.MANDATORY,
    remediate: analyzerproto.EnforcementLevel.REMEDIATE,
    disabled: analyzerproto.EnforcementLevel.DISABLED,
};
const levelOf = (e: analyzerproto.EnforcementLevel): Level => (Object.keys(LEVELS) as Level[]).find((l) => LEVELS[l] === e)!;

interface PolicyConfig {
    readonly level: Level;
    readonly properties: Record<string, unknown>;
}

/**
 * The config the engine sends with Configure: each policy's schema defaults at its declared level, then the pack's
 * initial config, then the `--policy-pack-config` file, `all` first (pulumi/pulumi v3.248.0
 * `pkg/resource/analyzer/config.go` ReconcilePolicyPackConfig; its schema validation is the engine's, and the configs
 * given here are valid).
 */
function effectiveConfig(info: analyzerproto.AnalyzerInfo, file: PackConfig): Map<string, PolicyConfig> {
    const result = new Map<string, PolicyConfig>();
    for (const p of info.getPoliciesList()) {
        const schema = (p.getConfigschema()?.getProperties()?.toJavaScript() ?? {}) as Record<string, { default?: unknown }>;
        const defaults = Object.entries(schema).filter(([, s]) => s.default !== undefined).map(([k, s]) => [k, s.default]);
        result.set(p.getName(), { level: levelOf(p.getEnforcementlevel()), properties: Object.fromEntries(defaults) });
    }
    const initial = new Map<string, Partial<PolicyConfig>>();
    info.getInitialconfigMap().forEach((c, name) => initial.set(name, { level: levelOf(c.getEnforcementlevel()), properties: c.getProperties()?.toJavaScript() ?? {} }));
    apply(result, initial);
    apply(result, new Map(Object.entries(file).map(([name, c]): [string, Partial<PolicyConfig>] => {
        if (typeof c === "string") return [name, { level: c }];
        const { enforcementLevel, ...properties } = c;
        return [name, { level: enforcementLevel, properties }];
    })));
    return result;
}

function apply(result: Map<string, PolicyConfig>, given: ReadonlyMap<string, Partial<PolicyConfig>>) {
    const all = given.get("all")?.level;
    if (all) for (const [name, c] of result) result.set(name, { ...c, level: all });
    for (const [name, c] of given) {
        const current = result.get(name);
        const level = c.level ?? current?.level;
        // The CLI's Configure refuses a config without a valid level (analyzer_plugin.go).
        if (!level) throw new Error(`policy ${name}: invalid enforcement level`);
        result.set(name, { level, properties: { ...current?.properties, ...c.properties } });
    }
}

/**
 * Diagnostics as the engine's verdicts: the policy SDK reports a policy it skipped for an unknown value as an advisory
 * "can't run policy ... during preview: <reason>" (@pulumi/policy 1.21.0 `server.ts`), and a violation's message as
 * the policy's description, a newline and what the policy reported.
 */
function diagnosticSorter(info: analyzerproto.AnalyzerInfo, config: ReadonlyMap<string, PolicyConfig>, into: Verdicts) {
    const pack = info.getName();
    const severity = (l: Level): Violation["enforcementLevel"] => (l === "advisory" ? "advisory" : "mandatory");
    return (d: analyzerproto.AnalyzeDiagnostic, analysed: string) => {
        const policy = d.getPolicyname();
        const skipped = `can't run policy '${policy}' from policy pack '${pack}@v${info.getVersion()}' during preview: `;
        const urn = d.getUrn() || analysed;
        if (d.getEnforcementlevel() === analyzerproto.EnforcementLevel.ADVISORY && d.getMessage().startsWith(skipped)) {
            (into.notRun as NotRun[]).push({ pack, policy, enforcementLevel: severity(config.get(policy)!.level), urn, reason: d.getMessage().slice(skipped.length) });
            return;
        }
        const [description, message] = [d.getDescription(), d.getMessage()];
        const reported = message === description ? "" : message.startsWith(`${description}\n`) ? message.slice(description.length + 1) : message;
        (into.violations as Violation[]).push({ pack, policy, enforcementLevel: severity(levelOf(d.getEnforcementlevel())), urn, message: reported });
    };
}

function options(res: CapturedResource): analyzerproto.AnalyzerResourceOptions {
    const opts = new analyzerproto.AnalyzerResourceOptions();
    opts.setProtect(res.protect);
    opts.setIgnorechangesList([...res.ignoreChanges]);
    opts.setAdditionalsecretoutputsList([...res.additionalSecretOutputs]);
    // Aliases, custom timeouts and delete-before-replace go as the offline engine hands them to policies (none, zero,
    // unset): the engine derives alias URNs itself (step_generator.go generateAliases), and no pack reads these.
    opts.setCustomtimeouts(new analyzerproto.AnalyzerResourceOptions.CustomTimeouts());
    opts.setParent(res.parent);
    return opts;
}

/** The provider as the engine describes it to analyzers: its inputs, not its outputs. */
function providerOf(res: CapturedResource, byUrn: ReadonlyMap<string, CapturedResource>): analyzerproto.AnalyzerProviderResource | undefined {
    const provider = res.provider ? byUrn.get(res.provider) : undefined;
    if (!provider) return undefined;
    const p = new analyzerproto.AnalyzerProviderResource();
    p.setUrn(provider.urn);
    p.setType(provider.type);
    p.setName(provider.name);
    p.setProperties(marshal(provider.inputs));
    return p;
}

/**
 * Properties as the engine marshals them for analyzers: `MarshalOptions{KeepUnknowns, KeepSecrets, SkipInternalKeys}`
 * (pulumi/pulumi v3.248.0 `sdk/go/common/resource/plugin/rpc.go`): unknowns as their sentinel string, secrets as
 * secret signature objects (the policy SDK unwraps them), top-level `__` keys dropped, resource references as their
 * id (unknown until the resource exists) or, for components, their URN.
 */
function marshal(props: Record<string, Wire>): structproto.Struct {
    const fields = Object.entries(props).filter(([k]) => !k.startsWith("__")).map(([k, v]) => [k, marshalValue(v)]);
    return structproto.Struct.fromJavaScript(Object.fromEntries(fields));
}

function marshalValue(v: Wire): any {
    if (Array.isArray(v)) return v.map(marshalValue);
    if (!isObject(v)) return v;
    if (v[SIG_KEY] === RESOURCE_SIG) return !("id" in v) ? v.urn : typeof v.id === "string" && v.id !== "" ? v.id : UNKNOWN;
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, marshalValue(x)]));
}

/**
 * Verdicts in one order, whatever order the engine and the pack processes produced them in. A message that quotes a
 * time counted from the moment of evaluation (a certificate's end of validity) differs by the milliseconds between
 * the two evaluations.
 */
export function comparable(v: { readonly violations: readonly object[]; readonly notRun: readonly object[] }) {
    const key = (x: object) => JSON.stringify(Object.entries(x).sort(([a], [b]) => a.localeCompare(b))).replace(/\d{4}-\d\d-\d\dT[\d:.]+Z/g, "<time>");
    return { violations: v.violations.map(key).sort(), notRun: v.notRun.map(key).sort() };
}
