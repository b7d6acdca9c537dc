import { EmulatedState, ProviderEmulator, ProviderInputError, ResourceRequest } from "./types";
import { stableId } from "./stableId";
import { clusterCaData, publicIp } from "./addresses";
import { activateManagedCa, managedCaCsr, ManagedCaCurve } from "./managedCa";

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
    "gcp:certificateauthority/caPool:CaPool": (r, c) => ({ id: `projects/${c.project}/locations/${r.inputs.location}/caPools/${c.name}` }),
    // certificateAuthorities.create makes the key in Google's HSM. A SUBORDINATE with no issuer in CAS waits in
    // AWAITING_USER_ACTIVATION with its CSR (fetchCsr); given pemCaCertificate and subordinateConfig.pemIssuerChain,
    // the provider activates it (terraform-provider-google privateca resource_privateca_certificate_authority.go).
    "gcp:certificateauthority/authority:Authority": (r, c) => {
        const id = `projects/${c.project}/locations/${r.inputs.location}/caPools/${r.inputs.pool}/certificateAuthorities/${r.inputs.certificateAuthorityId}`;
        const algorithm = r.inputs.keySpec?.algorithm;
        const curve = CAS_CURVES[algorithm];
        if (!curve) throw new ProviderInputError(r.type, r.name, `keySpec.algorithm ${JSON.stringify(algorithm)}: the offline engine emulates ${Object.keys(CAS_CURVES).join(", ")} (HSM-backed, Google-managed)`);
        if (r.inputs.type !== "SUBORDINATE") throw new ProviderInputError(r.type, r.name, `the offline engine emulates subordinate CAs only, got type ${r.inputs.type ?? "SELF_SIGNED (the default)"}`);
        const subject = r.inputs.config?.subjectConfig?.subject ?? {};
        awaiting.set(id, { curve, subject });
        if (!r.inputs.pemCaCertificate) return { id, state: "AWAITING_USER_ACTIVATION", pemCaCertificates: [] };
        const chain: string[] = r.inputs.subordinateConfig?.pemIssuerChain?.pemCertificates ?? [];
        const problem = activateManagedCa(id, curve, r.inputs.pemCaCertificate, chain);
        if (problem) throw new ProviderInputError(r.type, r.name, `activate: ${problem}`);
        // Activated, a CA is STAGED until enabled (desiredState ENABLED).
        return { id, state: r.inputs.desiredState === "ENABLED" ? "ENABLED" : "STAGED", pemCaCertificates: [r.inputs.pemCaCertificate, ...chain] };
    },
};

const CAS_CURVES: Record<string, ManagedCaCurve> = { EC_P256_SHA256: "P256", EC_P384_SHA384: "P384" };
/** Subordinate CAs created in this process, by resource name: the data source reads their CSR. */
const awaiting = new Map<string, { curve: ManagedCaCurve; subject: { organization?: string; commonName: string } }>();

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
            case "gcp:certificateauthority/getAuthority:getAuthority": {
                const project = inputs.project ?? projectOf(provider);
                const id = `projects/${project}/locations/${inputs.location}/caPools/${inputs.pool}/certificateAuthorities/${inputs.certificateAuthorityId}`;
                const ca = awaiting.get(id);
                if (!ca) throw new Error(`${token}: no certificate authority ${id}`);
                return { id, ...inputs, project, type: "SUBORDINATE", state: "AWAITING_USER_ACTIVATION", pemCsr: managedCaCsr(id, ca.curve, ca.subject) };
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
