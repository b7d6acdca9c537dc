import { EmulatedState, ProviderEmulator, ProviderInputError, ResourceRequest } from "./types";
import { stableId } from "./stableId";

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
        if (req.id !== undefined && req.existing) return readBack(req, req.existing);
        const metadata = { ...(req.inputs.metadata ?? {}) };
        // The provider's auto-naming: logical name plus a random suffix, so replacements can create before delete.
        // Check assigns it, so a preview knows it.
        const autoNamed = metadata.name === undefined;
        metadata.name ??= `${req.name}-${stableId(req.urn, 8)}`;
        metadata.uid = uuidFrom(req.urn);
        metadata.resourceVersion = "1";
        const id = metadata.namespace ? `${metadata.namespace}/${metadata.name}` : metadata.name;
        const isSecret = req.type === "kubernetes:core/v1:Secret";
        return { id, outputs: { metadata }, secretOutputs: isSecret ? ["data", "stringData"] : [], knownAtPreview: autoNamed ? ["metadata.name"] : [] };
    },
};

/**
 * What the API server returns for an object this program created. For a service-account-token Secret the token
 * controller has filled in `token` and `namespace`, as it does within seconds of creation (its `ca.crt` is left out:
 * nothing here reads it, and the emulator does not know the cluster's CA).
 */
function readBack(req: ResourceRequest, existing: Record<string, any>): EmulatedState {
    const isSecret = req.type === "kubernetes:core/v1:Secret";
    const outputs = { ...existing };
    if (isSecret && existing.type === "kubernetes.io/service-account-token") {
        const ns = existing.metadata?.namespace ?? "default";
        const sa = existing.metadata?.annotations?.["kubernetes.io/service-account.name"] ?? "default";
        const b64 = (s: string) => Buffer.from(s).toString("base64");
        const b64url = (o: object) => Buffer.from(JSON.stringify(o)).toString("base64url");
        const token = [
            b64url({ alg: "RS256", kid: stableId(`${req.urn}/kid`, 20) }),
            b64url({ iss: "kubernetes/serviceaccount", "kubernetes.io/serviceaccount/namespace": ns, "kubernetes.io/serviceaccount/secret.name": existing.metadata?.name, "kubernetes.io/serviceaccount/service-account.name": sa, sub: `system:serviceaccount:${ns}:${sa}` }),
            Buffer.from(stableId(`${req.urn}/sig`, 64), "hex").toString("base64url"),
        ].join(".");
        outputs.data = { ...(existing.data ?? {}), token: b64(token), namespace: b64(ns) };
    }
    return { id: req.id!, outputs, secretOutputs: isSecret ? ["data", "stringData"] : [] };
}

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
        knownAtPreview: req.inputs.name === undefined ? ["name"] : [],
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
