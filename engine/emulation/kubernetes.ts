import { EmulatedState, ProviderEmulator, ProviderInputError, ResourceRequest } from "./types";
import { stableId } from "./index";

const HELM_RELEASE = "kubernetes:helm.sh/v3:Release";

/**
 * The Kubernetes provider as the program sees it after a successful apply: objects get their (auto-)name, a uid
 * and a namespace-qualified id; Secret data is secret, as the provider always marks it; Helm releases report a
 * deployed status for the pinned chart version.
 */
export const kubernetesEmulator: ProviderEmulator = {
    pkg: "kubernetes",
    create(req: ResourceRequest): EmulatedState {
        if (req.type === HELM_RELEASE) return helmRelease(req);
        const metadata = { ...(req.inputs.metadata ?? {}) };
        // The provider's auto-naming: logical name plus a random suffix, so replacements can create before delete.
        metadata.name ??= `${req.name}-${stableId(req.urn, 8)}`;
        metadata.uid = uuidFrom(req.urn);
        metadata.resourceVersion = "1";
        const id = metadata.namespace ? `${metadata.namespace}/${metadata.name}` : metadata.name;
        const isSecret = req.type === "kubernetes:core/v1:Secret";
        return { id, outputs: { metadata }, secretOutputs: isSecret ? ["data", "stringData"] : [] };
    },
};

function helmRelease(req: ResourceRequest): EmulatedState {
    const { chart, version } = req.inputs;
    if (typeof chart !== "string" || chart.length === 0) throw new ProviderInputError(req.type, req.name, "chart is required");
    if (typeof version !== "string" || version.length === 0) {
        // Without a version Helm installs whatever is newest at apply time; this project pins every chart.
        throw new ProviderInputError(req.type, req.name, "version is required offline: an unpinned chart cannot be planned");
    }
    const name: string = req.inputs.name ?? `${req.name}-${stableId(req.urn, 8)}`;
    const namespace: string = req.inputs.namespace ?? "default";
    const chartName = chart.split("/").pop()!;
    return {
        id: `${namespace}/${name}`,
        outputs: {
            name,
            namespace,
            status: { name, namespace, chart: chartName, version, status: "deployed", revision: 1 },
        },
    };
}

function uuidFrom(seed: string): string {
    const h = stableId(seed, 32);
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
