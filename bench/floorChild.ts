/**
 * The floor of plan speed: the same registrations the offline plan received (same types, names, parents, providers,
 * dependencies and inputs), replayed in a fresh process under the stock Pulumi mocks with a trivial mocks object. No
 * engine, no provider emulation, no provider SDK classes, no policy: what registering that many resources costs the
 * Pulumi SDK alone. Usage: floorChild.ts <registrations.json> <result.json>
 */
import * as fs from "node:fs";
import { performance } from "node:perf_hooks";
import * as pulumi from "@pulumi/pulumi";
import { writeResult } from "./child";

/** One stack's registrations in order; references are indices into the same list (-1: none). */
export interface RecordedStack {
    readonly project: string;
    readonly stack: string;
    readonly resources: readonly Registration[];
}

export interface Registration {
    readonly type: string;
    readonly name: string;
    readonly custom: boolean;
    readonly read: boolean;
    readonly id?: string;
    readonly parent: number;
    readonly provider: number;
    readonly dependsOn: readonly number[];
    readonly inputs: Record<string, unknown>;
}

export interface FloorResult {
    /** When the child's own code started: Node, the TypeScript loader and @pulumi/pulumi are loaded. */
    readonly msAtStart: number;
    readonly registrations: number;
    readonly msSinceStart: number;
}

const PROVIDER_PREFIX = "pulumi:providers:";

const trivialMocks: pulumi.runtime.Mocks = {
    newResource: (args) => ({ id: `${args.name}-id`, state: args.inputs }),
    call: (args) => args.inputs,
};

/** The SDK's resource classes are abstract; provider SDKs subclass them exactly like this. */
class ReplayedResource extends pulumi.CustomResource {
    constructor(type: string, name: string, props: pulumi.Inputs, opts: pulumi.CustomResourceOptions) {
        super(type, name, props, opts);
    }
}

class ReplayedProvider extends pulumi.ProviderResource {
    constructor(pkg: string, name: string, props: pulumi.Inputs, opts: pulumi.ResourceOptions) {
        super(pkg, name, props, opts);
    }
}

class ReplayedComponent extends pulumi.ComponentResource {
    constructor(type: string, name: string, opts: pulumi.ComponentResourceOptions) {
        super(type, name, {}, opts);
        this.registerOutputs({});
    }
}

async function replay(stack: RecordedStack): Promise<number> {
    await pulumi.runtime.setMocks(trivialMocks, stack.project, stack.stack, false);
    const made: pulumi.Resource[] = [];
    for (const r of stack.resources) {
        const parent = r.parent >= 0 ? made[r.parent] : undefined;
        const dependsOn = r.dependsOn.map((i) => made[i]);
        if (r.type.startsWith(PROVIDER_PREFIX)) {
            made.push(new ReplayedProvider(r.type.slice(PROVIDER_PREFIX.length), r.name, r.inputs, { parent, dependsOn }));
        } else if (!r.custom) {
            made.push(new ReplayedComponent(r.type, r.name, { parent, dependsOn }));
        } else {
            const provider = r.provider >= 0 ? (made[r.provider] as pulumi.ProviderResource) : undefined;
            made.push(new ReplayedResource(r.type, r.name, r.read ? {} : r.inputs, { parent, dependsOn, provider, id: r.read ? r.id : undefined }));
        }
    }
    await Promise.all(made.map((m) => new Promise((resolve) => m.urn.apply(resolve))));
    return made.length;
}

async function main() {
    const msAtStart = performance.now();
    const stacks = JSON.parse(fs.readFileSync(process.argv[2], "utf8")) as RecordedStack[];
    let registrations = 0;
    for (const stack of stacks) registrations += await replay(stack);
    const result: FloorResult = { msAtStart, registrations, msSinceStart: performance.now() };
    writeResult(result);
    process.exit(0);
}

if (require.main === module) {
    main().catch((e) => {
        console.error(e);
        process.exit(1);
    });
}
