import { EmulatedState, ProviderEmulator, ResourceRequest } from "./types";
import { stableId } from "./index";

/** The account the offline engine pretends to be in when a stack pins none. */
export const OFFLINE_AWS_ACCOUNT = "123456789012";

/** Generic AWS resources: a deterministic id and an ARN in the provider's region and account. */
export const awsEmulator: ProviderEmulator = {
    pkg: "aws",
    create(req: ResourceRequest): EmulatedState {
        const region = req.provider?.region ?? "us-east-1";
        const account = req.provider?.allowedAccountIds?.[0] ?? OFFLINE_AWS_ACCOUNT;
        const [, module, resource] = /^aws:([^/]+)\/([^:]+):/.exec(req.type) ?? [];
        const id = `${resource ?? "res"}-${stableId(req.urn, 17)}`;
        return { id, outputs: { arn: `arn:aws:${module}:${region}:${account}:${resource}/${id}`, region } };
    },
    invoke(token: string, inputs: Record<string, any>) {
        switch (token) {
            case "aws:index/getCallerIdentity:getCallerIdentity":
                return { accountId: OFFLINE_AWS_ACCOUNT, arn: `arn:aws:iam::${OFFLINE_AWS_ACCOUNT}:role/offline-plan`, userId: "AROAOFFLINEPLAN", id: OFFLINE_AWS_ACCOUNT };
            case "aws:index/getPartition:getPartition":
                return { partition: "aws", dnsSuffix: "amazonaws.com", id: "aws" };
            case "aws:index/getRegion:getRegion":
                return { name: inputs.name ?? "us-east-1", region: inputs.region ?? "us-east-1", id: inputs.name ?? "us-east-1" };
            default:
                throw new Error(`the offline engine does not emulate the provider function ${token}`);
        }
    },
};
