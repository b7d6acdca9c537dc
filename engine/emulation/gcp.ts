import { EmulatedState, ProviderEmulator, ProviderInputError, ResourceRequest } from "./types";
import { stableId } from "./index";
import { clusterCaData, publicIp } from "./addresses";

type Outputs = (req: ResourceRequest, ctx: { project: string; name: string; id: string }) => Record<string, any> | Promise<Record<string, any>>;

/** Outputs the Google provider computes for the resources this program creates; ids follow the API's resource names. */
const computed: Record<string, Outputs> = {
    "gcp:compute/address:Address": (r) => ({ address: publicIp("34", r.urn) }),
    "gcp:serviceaccount/account:Account": (r, c) => ({ email: `${r.inputs.accountId}@${c.project}.iam.gserviceaccount.com`, uniqueId: BigInt(`0x${stableId(r.urn, 15)}`).toString(), member: `serviceAccount:${r.inputs.accountId}@${c.project}.iam.gserviceaccount.com` }),
    "gcp:kms/keyRing:KeyRing": (r, c) => ({ id: `projects/${c.project}/locations/${r.inputs.location}/keyRings/${c.name}` }),
    "gcp:kms/cryptoKey:CryptoKey": (r) => ({ id: `${r.inputs.keyRing}/cryptoKeys/${r.inputs.name ?? r.name}` }),
    "gcp:container/cluster:Cluster": async (r, c) => ({
        id: `projects/${c.project}/locations/${r.inputs.location}/clusters/${c.name}`,
        endpoint: publicIp("35", r.urn),
        masterAuth: { ...r.inputs.masterAuth, clusterCaCertificate: await clusterCaData(r.urn) },
        privateClusterConfig: { ...r.inputs.privateClusterConfig, privateEndpoint: `172.16.0.2`, publicEndpoint: publicIp("35", r.urn) },
        masterVersion: "1.34.1-gke.1000",
    }),
    "gcp:container/nodePool:NodePool": (r, c) => ({ id: `${r.inputs.cluster}/nodePools/${c.name}`, name: c.name }),
};

export const gcpEmulator: ProviderEmulator = {
    pkg: "gcp",
    async create(req: ResourceRequest): Promise<EmulatedState> {
        const project = req.inputs.project ?? projectOf(req.provider);
        if (!project) throw new ProviderInputError(req.type, req.name, "has no project: set gcp:project in the stack config (the default provider), project on the gcp.Provider or the resource, or GOOGLE_PROJECT");
        const [, module, resource] = /^gcp:([^/]+)\/([^:]+):/.exec(req.type) ?? [];
        const autoNamed = req.inputs.name === undefined;
        const name = req.inputs.name ?? `${req.name}-${stableId(req.urn, 7)}`;
        const extra = (await computed[req.type]?.(req, { project, name, id: "" })) ?? {};
        const id = extra.id ?? `projects/${project}/${module}/${resource}s/${name}`;
        return { id, knownAtPreview: autoNamed ? ["name"] : [], outputs: { name, project, selfLink: `https://www.googleapis.com/${module}/v1/${id}`, ...extra } };
    },
    invoke(token: string, inputs: Record<string, any>, provider?: Record<string, any>) {
        switch (token) {
            case "gcp:organizations/getProject:getProject": {
                const projectId = inputs.projectId ?? projectOf(provider);
                if (!projectId) throw new Error(`${token}: no project: set gcp:project in the stack config, project on the gcp.Provider, or GOOGLE_PROJECT`);
                return { id: `projects/${projectId}`, projectId, name: projectId, number: String(100000000000 + (parseInt(stableId(projectId, 8), 16) % 899999999999)) };
            }
            default:
                throw new Error(`the offline engine does not emulate the provider function ${token}`);
        }
    },
};

/**
 * The project the provider uses: its `project` setting, else the environment it reads (terraform-provider-google
 * `google/provider/provider.go`: GOOGLE_PROJECT, GOOGLE_CLOUD_PROJECT, GCLOUD_PROJECT, CLOUDSDK_CORE_PROJECT).
 */
function projectOf(provider: Record<string, any> | undefined): string | undefined {
    const env = process.env;
    return provider?.project || env.GOOGLE_PROJECT || env.GOOGLE_CLOUD_PROJECT || env.GCLOUD_PROJECT || env.CLOUDSDK_CORE_PROJECT || undefined;
}
