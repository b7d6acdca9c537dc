import { EmulatedState, ProviderEmulator, ResourceRequest } from "./types";
import { stableId } from "./index";

/** Generic Google Cloud resources: a deterministic self link in the provider's project. */
export const gcpEmulator: ProviderEmulator = {
    pkg: "gcp",
    create(req: ResourceRequest): EmulatedState {
        const project = req.inputs.project ?? req.provider?.project ?? "offline-project";
        const [, module, resource] = /^gcp:([^/]+)\/([^:]+):/.exec(req.type) ?? [];
        const name = req.inputs.name ?? `${req.name}-${stableId(req.urn, 7)}`;
        const id = `projects/${project}/${module}/${resource}s/${name}`;
        return { id, outputs: { name, project, selfLink: `https://www.googleapis.com/${module}/v1/${id}` } };
    },
    invoke(token: string) {
        throw new Error(`the offline engine does not emulate the provider function ${token}`);
    },
};
