/**
 * Offline emulation of Pulumi's Node.js dynamic provider host (package `pulumi-nodejs`). A `pulumi.dynamic.Resource`
 * registers its provider as the `__provider` input: the text `pulumi.runtime.serializeFunction` made of the provider
 * object and every function it reaches. The host (@pulumi/pulumi 3.248.0 cmd/dynamic-provider/index.js) loads that
 * text with require-from-string, calls `handler()` for the provider, runs `check(olds, news)` and `create(inputs)`,
 * and returns `outs` plus `__provider`. This emulator does the same with the same module, so the plan runs the
 * program's own create code as the CLI would, not a stand-in.
 */
import * as path from "node:path";
import { EmulatedState, ProviderEmulator, ProviderInputError, ResourceRequest } from "./types";

type DynamicProvider = {
    check?(olds: Record<string, any>, news: Record<string, any>): Promise<{ inputs?: Record<string, any>; failures?: Array<{ property: string; reason: string }> }>;
    create(inputs: Record<string, any>): Promise<{ id: string; outs?: Record<string, any> }>;
    read?(id: string, props: Record<string, any>): Promise<{ id: string; props?: Record<string, any> }>;
};

const PROVIDER_KEY = "__provider";

// The host's own loader: require-from-string as @pulumi/pulumi resolves it.
const requireFromString: (code: string) => { handler(): DynamicProvider } =
    require(require.resolve("require-from-string", { paths: [path.dirname(require.resolve("@pulumi/pulumi"))] }));

// As the host's providerCache: one deserialized provider per serialized text and process.
const providers = new Map<string, DynamicProvider>();

function providerOf(req: ResourceRequest): DynamicProvider {
    const text = req.inputs[PROVIDER_KEY];
    if (typeof text !== "string" || !text) throw new ProviderInputError(req.type, req.name, `no serialized provider in the "${PROVIDER_KEY}" input`);
    let provider = providers.get(text);
    if (!provider) {
        provider = requireFromString(text).handler();
        providers.set(text, provider);
    }
    return provider;
}

export const dynamicEmulator: ProviderEmulator = {
    pkg: "pulumi-nodejs",
    async create(req: ResourceRequest): Promise<EmulatedState> {
        const provider = providerOf(req);
        const serialized = req.inputs[PROVIDER_KEY];
        try {
            if (req.id !== undefined) {
                // A read without a `read` function returns the state it was given, as the host does.
                const read = provider.read ? await provider.read(req.id, { ...(req.existing ?? req.inputs) }) : { id: req.id, props: req.existing ?? req.inputs };
                return { id: read.id, outputs: { ...read.props, [PROVIDER_KEY]: serialized } };
            }
            let inputs = { ...req.inputs };
            if (provider.check) {
                const checked = await provider.check({}, inputs);
                if (checked.failures?.length) {
                    throw new ProviderInputError(req.type, req.name, checked.failures.map((f) => `${f.property}: ${f.reason}`).join("; "));
                }
                inputs = { ...(checked.inputs ?? inputs), [PROVIDER_KEY]: serialized };
            }
            const created = await provider.create(inputs);
            return { id: created.id, outputs: { ...created.outs, [PROVIDER_KEY]: serialized } };
        } catch (e) {
            if (e instanceof ProviderInputError) throw e;
            throw new ProviderInputError(req.type, req.name, (e as Error).message);
        }
    },
};
