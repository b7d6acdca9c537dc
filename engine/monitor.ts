import * as structproto from "google-protobuf/google/protobuf/struct_pb";
import * as resproto from "@pulumi/pulumi/proto/resource_pb";
import * as provproto from "@pulumi/pulumi/proto/provider_pb";
import { CapturedResource, providerUrn } from "./graph";
import { Emulators, stableId } from "./emulation";
import { containsUnknown, isObject, plain, secret, isSecretValue, UNKNOWN, Wire } from "./values";

/** The outputs of another stack, as a `StackReference` reads them. */
export interface StackOutputs {
    readonly outputs: Record<string, unknown>;
    readonly secretOutputNames: readonly string[];
}

/** What the resource monitor answers with: the stack, its config, the provider emulators and other stacks' outputs. */
export interface MonitorOptions {
    readonly project: string;
    readonly stack: string;
    readonly organization?: string;
    /** `project:key` → value as the CLI would hand it to the program (structured values as JSON text). */
    readonly config: Readonly<Record<string, string>>;
    readonly secretKeys: readonly string[];
    readonly emulators: Emulators;
    /** Receives every resource as it is registered, also when the run later fails (tests prove "nothing registered"). */
    readonly onRegister?: (res: CapturedResource) => void;
    /** Resolves a `StackReference` by fully qualified name; throws `MissingStackError` when it cannot. */
    readonly resolveStack: (name: string) => StackOutputs;
    /** Answer as `pulumi preview` does instead of as if every resource were created. @default - created */
    readonly preview?: PreviewBasis;
}

/**
 * What a preview run needs to answer registrations the way the engine does during `pulumi preview`.
 * Outputs are never invented: a value a provider would compute is unknown unless the resource already exists.
 */
export interface PreviewBasis {
    /** The same program and config as an emulated create registered it, by URN: which outputs a provider computes. */
    readonly created: ReadonlyMap<string, CapturedResource>;
    /** URNs of resources that already exist (an update preview): their outputs are known. @default - none */
    readonly existing?: ReadonlySet<string>;
}

/** A `StackReference` named a stack the engine has no outputs for yet. */
export class MissingStackError extends Error {
    constructor(readonly stackName: string) {
        super(`no outputs known for stack ${stackName}`);
        this.name = "MissingStackError";
    }
}

const ROOT_TYPE = "pulumi:pulumi:Stack";

interface EmulationRequest {
    readonly type: string;
    readonly name: string;
    readonly urn: string;
    readonly inputs: Record<string, Wire>;
    readonly custom: boolean;
    readonly id?: string;
    /** URN of the provider resource (explicit, or the package's default provider). */
    readonly provider: string;
    readonly existing?: Record<string, any>;
}

/**
 * The resource monitor of the offline engine. It stands where the Pulumi engine's monitor stands: it receives the
 * SDK's real registration requests (parent, dependencies, options and all), assigns URNs the way the engine does,
 * asks a provider emulator for outputs, applies secret marking as the engine would, and records everything.
 */
export class EngineMonitor {
    readonly resources: CapturedResource[] = [];
    readonly errors: Error[] = [];
    /** Rejects at the first failed registration: outputs that depend on it would never resolve. */
    readonly failed: Promise<never>;
    private rejectFailed: (e: Error) => void = () => undefined;
    private readonly byUrn = new Map<string, CapturedResource>();

    constructor(private readonly opts: MonitorOptions) {
        this.failed = new Promise<never>((_, reject) => (this.rejectFailed = reject));
        this.failed.catch(() => undefined);
    }

    async registerResource(req: resproto.RegisterResourceRequest, callback: (err: any, resp?: any) => void) {
        try {
            const type = req.getType();
            const name = req.getName();
            const urn = this.urnFor(req.getParent(), type, name);
            const inputs = structToWire(req.getObject());
            const custom = req.getCustom();
            const additionalSecretOutputs = req.getAdditionalsecretoutputsList();
            const provider = custom ? this.providerFor(type, req.getProvider(), req.getVersion()) : "";
            const { id, state, previewKnown, inputs: checked } = !custom
                ? { id: undefined, state: {}, previewKnown: undefined, inputs: undefined }
                : this.opts.preview
                    ? this.planned(urn, type, inputs, provider, additionalSecretOutputs)
                    : { ...await this.emulate({ type, name, urn, inputs, custom, id: req.getImportid() || undefined, provider }, additionalSecretOutputs), inputs: undefined };
            const propertyDependencies: Record<string, string[]> = {};
            req.getPropertydependenciesMap().forEach((v, k) => (propertyDependencies[k] = v.getUrnsList()));
            this.record({
                urn, type, name, custom, id, inputs: checked ?? inputs, outputs: state, propertyDependencies, additionalSecretOutputs,
                parent: req.getParent(),
                remote: req.getRemote(),
                read: false,
                dependencies: req.getDependenciesList(),
                provider,
                previewKnown,
                protect: req.getProtect() ?? false,
                retainOnDelete: req.getRetainondelete() ?? false,
                ignoreChanges: req.getIgnorechangesList(),
                replaceOnChanges: req.getReplaceonchangesList(),
                aliases: req.getAliasesList().map((a) => a.toObject()),
            });
            const resp = new resproto.RegisterResourceResponse();
            resp.setUrn(urn);
            resp.setId(id ?? "");
            resp.setObject(structproto.Struct.fromJavaScript(state as any));
            callback(null, resp);
        } catch (err) {
            this.fail(err, callback);
        }
    }

    async readResource(req: resproto.ReadResourceRequest, callback: (err: any, resp?: any) => void) {
        try {
            const type = req.getType();
            const name = req.getName();
            const urn = this.urnFor(req.getParent(), type, name);
            const inputs = structToWire(req.getProperties());
            const id = req.getId();
            const provider = this.providerFor(type, req.getProvider(), req.getVersion());
            // Reading back an object the program created returns what the API server now holds for it.
            const created = this.resources.find((r) => !r.read && r.type === type && r.id === id && r.provider === provider);
            const state = type === "pulumi:pulumi:StackReference"
                ? this.readStack(id)
                : this.opts.preview
                    ? this.previewRead(urn, type, id, provider)
                    : (await this.emulate({ type, name, urn, inputs, custom: true, id, provider, existing: created && plain(created.outputs) }, [])).state;
            this.record({
                urn, type, name, id, inputs, outputs: state,
                parent: req.getParent(), custom: true, remote: false, read: true,
                dependencies: req.getDependenciesList(), propertyDependencies: {},
                provider, protect: false, retainOnDelete: false,
                ignoreChanges: [], replaceOnChanges: [], additionalSecretOutputs: req.getAdditionalsecretoutputsList(), aliases: [],
            });
            const resp = new resproto.ReadResourceResponse();
            resp.setUrn(urn);
            resp.setProperties(structproto.Struct.fromJavaScript(state as any));
            callback(null, resp);
        } catch (err) {
            this.fail(err, callback);
        }
    }

    registerResourceOutputs(req: resproto.RegisterResourceOutputsRequest, callback: (err: any, resp?: any) => void) {
        const res = this.byUrn.get(req.getUrn());
        if (res) res.outputs = structToWire(req.getOutputs());
        callback(null, {});
    }

    async invoke(req: any, callback: (err: any, resp?: any) => void) {
        try {
            const token: string = req.getTok();
            const args = plain(structToWire(req.getArgs()));
            const pkg = token.split(":")[0];
            const provider = this.byUrn.get(req.getProvider() ? providerUrn(req.getProvider()) : this.providerFor(`${pkg}:index:invoke`, "", req.getVersion()));
            const result = token === "pulumi:pulumi:getResource"
                ? this.getResource(args.urn)
                // A provider whose configuration is unknown answers nothing during a preview.
                : this.opts.preview && provider && containsUnknown(provider.inputs)
                    ? {}
                    : await this.opts.emulators.invoke(token, args, provider && providerConfig(provider.inputs));
            const resp = new provproto.InvokeResponse();
            resp.setReturn(structproto.Struct.fromJavaScript(result as any));
            callback(null, resp);
        } catch (err) {
            this.fail(err, callback);
        }
    }

    supportsFeature(req: any, callback: (err: any, resp?: any) => void) {
        // Transforms run in the engine through a callback server, which the offline engine does not have; saying so
        // makes the SDK refuse them loudly instead of silently skipping them.
        const unsupported = new Set(["outputValues", "transforms", "invokeTransforms"]);
        callback(null, { getHassupport: () => !unsupported.has(req.getId()) });
    }

    registerPackage(_req: any, callback: (err: any, resp?: any) => void) {
        const resp = new resproto.RegisterPackageResponse();
        resp.setRef("offline-package");
        callback(null, resp);
    }

    private async emulate(req: EmulationRequest, additionalSecretOutputs: readonly string[]) {
        const provider = this.byUrn.get(req.provider);
        const emulated = await this.opts.emulators.create({
            type: req.type, name: req.name, urn: req.urn, custom: req.custom, id: req.id, existing: req.existing,
            inputs: plain(req.inputs), provider: provider && providerConfig(provider.inputs),
            project: this.opts.project, stack: this.opts.stack,
        });
        // As the engine does: outputs that echo a secret input stay secret, and both the provider's secret
        // properties and the program's additionalSecretOutputs are marked secret.
        const secretNames = new Set([...(emulated.secretOutputs ?? []), ...additionalSecretOutputs]);
        const state: Record<string, Wire> = { ...req.inputs };
        for (const [k, v] of Object.entries(emulated.outputs)) state[k] = isSecretValue(req.inputs[k]) ? secret(v) : v;
        for (const k of secretNames) if (k in state) state[k] = secret(state[k]);
        return { id: emulated.id, state, previewKnown: emulated.knownAtPreview };
    }

    /**
     * A read during a preview, as pulumi/pulumi v3.248.0 runs it (`pkg/resource/deploy/step.go`, ReadStep: "Read steps
     * run during previews"): an unknown id reads nothing; a provider whose configuration is unknown returns an empty
     * bag (`provider_plugin.go`, Read); otherwise the provider reads the object, and one that does not exist yet (the
     * program creates it in this very deployment) fails the preview with "resource '<id>' does not exist".
     */
    private previewRead(urn: string, type: string, id: string, provider: string): Record<string, Wire> {
        if (id === UNKNOWN || containsUnknown(this.byUrn.get(provider)?.inputs ?? {})) return {};
        const created = [...this.opts.preview!.created.values()];
        const target = created.find((r) => !r.read && r.type === type && r.id === id && r.provider === provider);
        if (target && !this.existing(target.urn)) throw new Error(`reading ${type} ${id} during preview: resource '${id}' does not exist (the program creates it in this deployment: read it by an id that is unknown until it exists, such as the created resource's id)`);
        return this.opts.preview!.created.get(urn)?.outputs ?? {};
    }

    private existing(urn: string): boolean {
        return this.opts.preview?.existing?.has(urn) === true && this.opts.preview.created.has(urn);
    }

    /**
     * The state a preview returns for a custom resource, as pulumi/pulumi v3.248.0 computes it:
     * - a resource that exists keeps its outputs;
     * - a provider resource's state is its inputs (the registry's Create; its id is unknown until created);
     * - under a provider whose configuration holds an unknown value (a cluster's kubeconfig before the cluster
     *   exists), Create answers an empty bag, so every output is unknown to the program and stack policies see no
     *   properties (`sdk/go/common/resource/plugin/provider_plugin.go`, Create with `Preview` and `!pcfg.known`);
     * - otherwise the provider plans the create: inputs as given, and every property it computes unknown, except
     *   what its Check fills in (auto-names).
     */
    private planned(urn: string, type: string, inputs: Record<string, Wire>, provider: string, additionalSecretOutputs: readonly string[]): { id?: string; state: Record<string, Wire>; previewKnown?: readonly string[]; inputs?: Record<string, Wire> } {
        const twin = this.opts.preview!.created.get(urn);
        if (this.existing(urn)) return { id: twin!.id, state: twin!.outputs, previewKnown: twin!.previewKnown };
        if (type.startsWith("pulumi:providers:")) return { id: undefined, state: { ...inputs }, previewKnown: undefined };
        const config = this.byUrn.get(provider)?.inputs ?? {};
        if (containsUnknown(config)) return { id: undefined, state: {}, previewKnown: undefined };
        if (BRIDGED.has(type.split(":")[0])) inputs = checkedUnknownLists(inputs, twin?.inputs ?? {});
        const state = plannedOutputs(inputs, twin?.outputs ?? {}, new Set(twin?.previewKnown ?? []), "");
        for (const k of additionalSecretOutputs) if (k in state) state[k] = secret(state[k]);
        return { id: undefined, state, previewKnown: twin?.previewKnown, inputs };
    }

    /**
     * The provider a resource uses: its explicit provider, or the package's default provider, which the engine
     * registers on first use as `pulumi:providers:<pkg>::default_<major>_<minor>_<patch>` with the stack's config of
     * that package as its inputs (pulumi/pulumi v3.248.0 `pkg/resource/deploy/default_providers.go`,
     * `providers.ProviderRequest.DefaultName`).
     */
    private providerFor(type: string, reference: string, version: string): string {
        if (reference || type.startsWith("pulumi:providers:")) return providerUrn(reference);
        const pkg = type.split(":")[0];
        const name = defaultProviderName(version);
        const urn = `urn:pulumi:${this.opts.stack}::${this.opts.project}::pulumi:providers:${pkg}::${name}`;
        if (!this.byUrn.has(urn)) {
            const secretKeys = new Set(this.opts.secretKeys);
            const inputs: Record<string, Wire> = {};
            for (const [key, value] of Object.entries(this.opts.config)) {
                if (!key.startsWith(`${pkg}:`)) continue;
                inputs[key.slice(pkg.length + 1)] = secretKeys.has(key) ? secret(value) : value;
            }
            if (version) inputs.version = version;
            this.record({
                urn, type: `pulumi:providers:${pkg}`, name, parent: "", custom: true, remote: false, read: false,
                dependencies: [], propertyDependencies: {}, provider: "", protect: false, retainOnDelete: false,
                ignoreChanges: [], replaceOnChanges: [], additionalSecretOutputs: [], aliases: [], inputs, outputs: inputs,
                id: this.opts.preview ? undefined : stableId(urn),
            });
        }
        return urn;
    }

    private readStack(name: string): Record<string, Wire> {
        const found = this.opts.resolveStack(name);
        const secretNames = new Set(found.secretOutputNames);
        const outputs = Object.fromEntries(Object.entries(found.outputs).map(([k, v]) => [k, secretNames.has(k) ? secret(v) : v]));
        return { name, outputs, secretOutputNames: [...found.secretOutputNames] };
    }

    private getResource(urn: string) {
        const res = this.byUrn.get(urn);
        if (!res) throw new Error(`unknown resource ${urn}`);
        return { urn, id: res.id ?? null, state: res.outputs };
    }

    /** URNs as the engine builds them: the parent's qualified type chain (without the root stack), then the type. */
    private urnFor(parent: string, type: string, name: string): string {
        const parentRes = parent ? this.byUrn.get(parent) : undefined;
        const qualified = parentRes && parentRes.type !== ROOT_TYPE ? `${qualifiedType(parentRes.urn)}$${type}` : type;
        return `urn:pulumi:${this.opts.stack}::${this.opts.project}::${qualified}::${name}`;
    }

    private record(res: CapturedResource) {
        if (this.byUrn.has(res.urn)) throw new Error(`duplicate resource URN ${res.urn}: two resources share a type, name and parent`);
        this.byUrn.set(res.urn, res);
        this.resources.push(res);
        this.opts.onRegister?.(res);
    }

    private fail(err: unknown, callback: (err: any) => void) {
        const error = err instanceof Error ? err : new Error(String(err));
        this.errors.push(error);
        this.rejectFailed(error);
        callback(error);
    }
}

/**
 * A provider's inputs as the provider reads its configuration: the SDK sends every non-string setting as JSON text
 * (`allowedAccountIds: '["1234"]'`), which the provider decodes.
 */
function providerConfig(inputs: Record<string, Wire>): Record<string, any> {
    return Object.fromEntries(Object.entries(plain(inputs)).map(([k, v]) => {
        if (typeof v !== "string" || !/^[[{]/.test(v)) return [k, v];
        try {
            return [k, JSON.parse(v)];
        } catch {
            return [k, v];
        }
    }));
}

/** `default`, or `default_7_48_0` for version 7.48.0 (pre-release and build parts appended as the engine does). */
export function defaultProviderName(version: string): string {
    const m = /^v?(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?(?:\+([0-9A-Za-z.-]+))?$/.exec(version);
    if (!m) return "default";
    const parts = [m[1], m[2], m[3], ...(m[4]?.split(".") ?? []), ...(m[5]?.split(".") ?? [])];
    return `default_${parts.join("_")}`;
}

/** Packages whose providers are bridged from Terraform providers (their Check follows pulumi-terraform-bridge). */
const BRIDGED = new Set(["aws", "gcp", "tls"]);

/**
 * The inputs a bridged provider's Check returns: a list-typed property whose value is unknown as a whole comes back as
 * a list of one unknown element (pulumi/pulumi-terraform-bridge `pkg/tfbridge/schema.go`, makeTerraformUnknown), which
 * is what Analyze then sees. Which properties are lists is read off the same inputs as created.
 */
function checkedUnknownLists(inputs: Record<string, Wire>, created: Record<string, Wire>): Record<string, Wire> {
    const out: Record<string, Wire> = {};
    for (const [k, v] of Object.entries(inputs)) {
        const shape = isSecretValue(created[k]) ? (created[k] as { value: Wire }).value : created[k];
        if (v === UNKNOWN && Array.isArray(shape)) out[k] = [UNKNOWN];
        else if (isObject(v) && !isSecretValue(v) && isObject(shape)) out[k] = checkedUnknownLists(v as Record<string, Wire>, shape);
        else out[k] = v;
    }
    return out;
}

/**
 * The state a provider plans for a create: the inputs as given, every property it would compute unknown (nested
 * ones too), and the paths its Check fills in known.
 */
function plannedOutputs(inputs: Record<string, Wire>, computed: Record<string, Wire>, known: ReadonlySet<string>, prefix: string): Record<string, Wire> {
    const state: Record<string, Wire> = { ...inputs };
    for (const [k, v] of Object.entries(computed)) {
        const path = prefix + k;
        if (known.has(path)) state[k] = v;
        else if (!(k in inputs)) state[k] = isSecretValue(v) ? secret(UNKNOWN) : UNKNOWN;
        else if (isObject(inputs[k]) && isObject(v) && !isSecretValue(inputs[k]) && !isSecretValue(v)) state[k] = plannedOutputs(inputs[k] as Record<string, Wire>, v, known, `${path}.`);
    }
    return state;
}

function qualifiedType(urn: string): string {
    return urn.split("::")[2];
}

function structToWire(struct: structproto.Struct | undefined): Record<string, Wire> {
    return (struct?.toJavaScript() ?? {}) as Record<string, Wire>;
}

/** The resource monitor calls the SDK makes; the engine's monitor answers them in place of the mock monitor. */
export const MONITOR_METHODS = ["registerResource", "readResource", "registerResourceOutputs", "invoke", "supportsFeature", "registerPackage"] as const;
