import assert from "node:assert/strict";
import type { Policy, ReportViolation, ResourceValidationArgs, StackValidationArgs } from "@pulumi/policy";
import { CapturedResource } from "../engine/graph";
import { PROJECT_ROOT } from "../engine/plan";
import { evaluatePacks, LoadedPack } from "../engine/policy";

/**
 * The analyzer deserializes a resource's and its provider's properties once per validation (@pulumi/policy 1.21.0
 * server.js `makeAnalyzeRpcFun`: `deserializeProperties` and `getProviderResource(req)` inside
 * `for (const validation of validations)`), and each resource is its own Analyze call: a validation that edits what it
 * reads cannot change what another policy, or the next resource of the same provider, sees. Offline, a resource's
 * properties, its options and its provider's properties are shared read-only, so an edit is refused loudly rather
 * than seen by the next policy or resource (engine/policy.ts).
 */
describe("policy validations are isolated from each other's edits (upstream analyzer)", () => {
    const stack = "test";
    const urn = (type: string, name: string) => `urn:pulumi:${stack}::istio-production::${type}::${name}`;
    const provider = urn("pulumi:providers:aws", "acct");
    const resource = (type: string, name: string, inputs: Record<string, any>, prov = ""): CapturedResource => ({
        urn: urn(type, name), type, name, parent: "", custom: true, remote: false, read: false, dependencies: [], propertyDependencies: {},
        provider: prov, protect: false, retainOnDelete: false, ignoreChanges: [], replaceOnChanges: [], additionalSecretOutputs: [], aliases: [],
        inputs, outputs: inputs,
    });
    const graph = {
        project: "istio-production", stack, resources: [
            resource("pulumi:providers:aws", "acct", { region: "eu-west-1" }),
            resource("aws:s3/bucket:Bucket", "a", { tags: { team: "mesh" } }, provider),
            resource("aws:s3/bucket:Bucket", "b", { tags: { team: "mesh" } }, provider),
        ],
    };
    const probe = (edit: (args: ResourceValidationArgs) => void): LoadedPack => ({
        name: "probe", version: "0.0.1", dir: PROJECT_ROOT, enforcementLevel: "mandatory", policies: [
            { name: "edits", description: "edits what it reads", enforcementLevel: "mandatory", validateResource: edit } as Policy,
            {
                name: "reads", description: "reports what it sees", enforcementLevel: "mandatory",
                validateResource: (args: ResourceValidationArgs, report: ReportViolation) => {
                    if (args.provider && args.provider.props.region !== "eu-west-1") report(`provider props of ${args.name} edited by another validation`);
                    if (args.props.tags && args.props.tags.team !== "mesh") report(`props of ${args.name} edited by another validation`);
                },
            } as Policy,
        ],
    });

    it("an edit of the provider's properties is refused, naming the resource whose provider it is, instead of reaching the next validation or resource", async () => {
        const pack = probe((args) => {
            if (args.provider) (args.provider.props as Record<string, unknown>).region = "edited";
        });
        await assert.rejects(evaluatePacks(graph, [{ pack }]), /a policy changed the provider of urn:pulumi:test::istio-production::aws:s3\/bucket:Bucket::a: the offline gate hands policies read-only properties/);
    });

    it("a provider replaced in place is refused, naming the resource, instead of reaching the next validation", async () => {
        const pack = probe((args) => {
            if (args.provider) (args.provider as { props: unknown }).props = { region: "edited" };
        });
        await assert.rejects(evaluatePacks(graph, [{ pack }]), /a policy changed the provider of urn:pulumi:test::istio-production::aws:s3\/bucket:Bucket::a: the offline gate hands policies read-only properties/);
    });

    it("an edit of a resource's options is refused, naming the resource", async () => {
        const pack = probe((args) => {
            (args.opts.ignoreChanges as string[]).push("tags");
        });
        await assert.rejects(evaluatePacks(graph, [{ pack }]), /a policy changed the options of urn:pulumi:test::istio-production::pulumi:providers:aws::acct: the offline gate hands policies read-only properties/);
    });

    it("an edit through a property's descriptor, or of a stack resource's props through asType, is refused", async () => {
        const byDescriptor = probe((args) => {
            if (args.props.tags) Object.getOwnPropertyDescriptor(args.props, "tags")!.value.team = "edited";
        });
        await assert.rejects(evaluatePacks(graph, [{ pack: byDescriptor }]), /a policy changed the properties of urn:pulumi:test::istio-production::aws:s3\/bucket:Bucket::a/);
        const byAsType: LoadedPack = {
            name: "probe", version: "0.0.1", dir: PROJECT_ROOT, enforcementLevel: "mandatory", policies: [
                {
                    name: "edits", description: "edits a resource through asType", enforcementLevel: "mandatory",
                    validateStack: (args: StackValidationArgs) => {
                        const bucket = args.resources.find((r) => r.name === "a")!;
                        (bucket.asType({ __pulumiType: bucket.type } as any) as any).tags.team = "edited";
                    },
                } as Policy,
            ],
        };
        await assert.rejects(evaluatePacks(graph, [{ pack: byAsType }]), /a policy changed the properties of the stack's resources/);
    });

    it("calls a stack policy as a method of its policy, as the analyzer does", async () => {
        const pack: LoadedPack = {
            name: "probe", version: "0.0.1", dir: PROJECT_ROOT, enforcementLevel: "mandatory", policies: [
                {
                    name: "names-itself", description: "reports its own name through this", enforcementLevel: "mandatory",
                    validateStack(this: Policy, _args: StackValidationArgs, report: ReportViolation) {
                        report(`called on ${this.name}`);
                    },
                } as Policy,
            ],
        };
        const { violations } = await evaluatePacks(graph, [{ pack }]);
        assert.deepEqual(violations.map((v) => v.message), ["called on names-itself"]);
    });

    it("an edit of a resource's properties is refused, naming the resource, instead of reaching the next policy", async () => {
        const pack = probe((args) => {
            if (args.props.tags) (args.props.tags as Record<string, string>).team = "edited";
        });
        await assert.rejects(evaluatePacks(graph, [{ pack }]), /a policy changed the properties of urn:pulumi:test::istio-production::aws:s3\/bucket:Bucket::a: the offline gate hands policies read-only properties/);
    });

    it("a stack policy's edit of the stack's resources is refused instead of reaching the pack's next stack policy", async () => {
        const pack: LoadedPack = {
            name: "probe", version: "0.0.1", dir: PROJECT_ROOT, enforcementLevel: "mandatory", policies: [
                {
                    name: "sorts", description: "sorts the resources in place", enforcementLevel: "mandatory",
                    validateStack: (args: StackValidationArgs) => {
                        args.resources.sort((a, b) => b.urn.localeCompare(a.urn));
                    },
                } as Policy,
            ],
        };
        await assert.rejects(evaluatePacks(graph, [{ pack }]), /a policy changed the properties of the stack's resources/);
    });
});
