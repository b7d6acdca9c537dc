import { Wire } from "./values";

/** One resource as the offline engine saw it registered: everything `pulumi preview` would know about it. */
export interface CapturedResource {
    readonly urn: string;
    readonly type: string;
    readonly name: string;
    /** Parent URN; empty only for the root stack. */
    readonly parent: string;
    readonly custom: boolean;
    /** A multi-language component: its children live in a provider process and are invisible offline. */
    readonly remote: boolean;
    /** True for reads (`Resource.get`, `StackReference`). */
    readonly read: boolean;
    /** Direct dependencies: `dependsOn` plus every resource whose outputs feed an input. */
    readonly dependencies: readonly string[];
    readonly propertyDependencies: Readonly<Record<string, readonly string[]>>;
    /** URN of the resource's provider: explicit, or the package's default provider (`default_<version>`); "" for components. */
    readonly provider: string;
    /** Output paths the provider's Check fills in (auto-names), known during a preview although computed. */
    readonly previewKnown?: readonly string[];
    readonly protect: boolean;
    readonly retainOnDelete: boolean;
    readonly ignoreChanges: readonly string[];
    /** Input paths whose change replaces the resource (`replaceOnChanges`), whatever its provider's diff says. */
    readonly replaceOnChanges: readonly string[];
    readonly additionalSecretOutputs: readonly string[];
    readonly aliases: readonly unknown[];
    /** Inputs in wire form (secrets still wrapped). */
    readonly inputs: Record<string, Wire>;
    /** Outputs in wire form: provider state for custom resources, registered outputs for components. */
    outputs: Record<string, Wire>;
    readonly id?: string;
}

export interface ProgramGraph {
    readonly project: string;
    readonly stack: string;
    /** In registration order; the root stack first. */
    readonly resources: readonly CapturedResource[];
}

export function byUrn(graph: ProgramGraph): Map<string, CapturedResource> {
    return new Map(graph.resources.map((r) => [r.urn, r]));
}

/** The provider reference the SDK sends is `<urn>::<id>`; the URN is what links a resource to its provider. */
export function providerUrn(reference: string): string {
    const i = reference.lastIndexOf("::");
    return i > 0 && reference.startsWith("urn:pulumi:") ? reference.slice(0, i) : reference;
}
