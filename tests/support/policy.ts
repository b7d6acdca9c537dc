import type { PolicyResource, ResourceValidationArgs, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { resolvePolicies } from "../../engine/policy";

/** Config as the engine would hand it: the policy's schema defaults merged with `config`. */
function configFor(policy: ResourceValidationPolicy | StackValidationPolicy, config: Record<string, unknown>) {
    const pack = { name: "test", version: "0", dir: "", enforcementLevel: "mandatory" as const, policies: [policy] };
    return resolvePolicies(pack, { [policy.name]: config })[0].config;
}

const opts = { protect: false, ignoreChanges: [], aliases: [], additionalSecretOutputs: [], customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 } };

/** Run a resource policy on one resource of a real resource class (its type token comes from the class). */
export async function violations(policy: ResourceValidationPolicy, cls: any, props: Record<string, any>, config: Record<string, unknown> = {}, stack = "dev"): Promise<string[]> {
    const type: string = cls.__pulumiType;
    const found: string[] = [];
    const args: ResourceValidationArgs = {
        type, props, urn: `urn:pulumi:${stack}::istio-production::${type}::r`, name: "r", opts, stackTags: new Map(),
        isType: (c: any) => c.__pulumiType === type, asType: ((c: any) => (c.__pulumiType === type ? props : undefined)) as ResourceValidationArgs["asType"],
        getConfig: <T extends object>() => configFor(policy, config) as T,
        notApplicable: () => { throw new Error("not applicable"); },
    };
    const fns = Array.isArray(policy.validateResource) ? policy.validateResource : [policy.validateResource!];
    for (const fn of fns) {
        try {
            await fn(args, (m) => found.push(m));
        } catch (e) {
            if ((e as Error).message !== "not applicable") throw e;
        }
    }
    return found;
}

/** A node of a small stack graph for stack policies. */
export function node(cls: any, name: string, props: Record<string, any>, extra: { protect?: boolean; deps?: Record<string, PolicyResource[]> } = {}): PolicyResource {
    const type: string = cls.__pulumiType;
    return {
        type, props, name, urn: `urn:pulumi:pki::istio-production::${type}::${name}`,
        opts: { ...opts, protect: extra.protect ?? false }, dependencies: Object.values(extra.deps ?? {}).flat(),
        propertyDependencies: extra.deps ?? {},
        isType: (c: any) => c.__pulumiType === type, asType: (c: any) => (c.__pulumiType === type ? props : undefined),
    } as PolicyResource;
}

export async function stackViolations(policy: StackValidationPolicy, resources: PolicyResource[]): Promise<string[]> {
    const found: string[] = [];
    await policy.validateStack({ resources, stackTags: new Map(), getConfig: <T extends object>() => configFor(policy, {}) as T, notApplicable: () => { throw new Error("n/a"); } }, (m) => found.push(m));
    return found;
}
