import assert from "node:assert/strict";
import * as path from "node:path";
import Ajv from "ajv";
import type { Policy, PolicyResource, ResourceValidationArgs, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { CapturedResource } from "../../engine/graph";
import { evaluatePacks, LoadedPack, loadPack, resolvePolicies, Violation } from "../../engine/policy";

/** Config as the engine would hand it: the policy's schema defaults merged with `config`. */
function configFor(policy: ResourceValidationPolicy | StackValidationPolicy, config: Record<string, unknown>) {
    const pack = { name: "test", version: "0", dir: "", enforcementLevel: "mandatory" as const, policies: [policy] };
    return resolvePolicies(pack, { [policy.name]: config })[0].config;
}

const opts = { protect: false, ignoreChanges: [], aliases: [], additionalSecretOutputs: [], customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 } };

/**
 * A resource class (its type token comes from the class) or a type token; custom resources such as Istio's have no
 * class with a token, so they are named by `kubernetes:<group>/<version>:<Kind>`.
 */
export type ResourceType = string | (abstract new (...args: any[]) => unknown);

function tokenOf(cls: ResourceType): string {
    const type: string | undefined = typeof cls === "string" ? cls : (cls as { __pulumiType?: string }).__pulumiType;
    if (!type) throw new Error("a resource class without __pulumiType: pass its type token instead");
    return type;
}

/** Where a resource under test lives and how it was registered. */
export interface ResourceContext {
    /** @default "dev" */
    readonly stack?: string;
    /** The Pulumi resource name, e.g. to test exemptions. @default "r" */
    readonly name?: string;
    readonly protect?: boolean;
    /** The provider as policies see it, e.g. a node of type `pulumi:providers:kubernetes`. */
    readonly provider?: PolicyResource;
}

/** Run a resource policy on one resource; `context` is the stack name or a {@link ResourceContext}. */
export async function violations(policy: ResourceValidationPolicy, cls: ResourceType, props: Record<string, any>, config: Record<string, unknown> = {}, context: string | ResourceContext = "dev"): Promise<string[]> {
    const type = tokenOf(cls);
    const { stack = "dev", name = "r", protect = false, provider } = typeof context === "string" ? { stack: context } : context;
    const found: string[] = [];
    const args: ResourceValidationArgs = {
        type, props, urn: `urn:pulumi:${stack}::istio-production::${type}::${name}`, name, opts: { ...opts, protect }, stackTags: new Map(),
        provider: provider && { type: provider.type, props: provider.props, urn: provider.urn, name: provider.name },
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

/** A node of a small stack graph for stack policies; its URN is in the `pki` stack unless `stack` says otherwise. */
export function node(cls: ResourceType, name: string, props: Record<string, any>, extra: { protect?: boolean; deps?: Record<string, PolicyResource[]>; stack?: string; provider?: PolicyResource } = {}): PolicyResource {
    const type = tokenOf(cls);
    const { provider } = extra;
    return {
        type, props, name, urn: `urn:pulumi:${extra.stack ?? "pki"}::istio-production::${type}::${name}`,
        opts: { ...opts, protect: extra.protect ?? false }, dependencies: Object.values(extra.deps ?? {}).flat(),
        propertyDependencies: extra.deps ?? {},
        provider: provider && { type: provider.type, props: provider.props, urn: provider.urn, name: provider.name },
        isType: (c: any) => c.__pulumiType === type, asType: (c: any) => (c.__pulumiType === type ? props : undefined),
    } as PolicyResource;
}

export async function stackViolations(policy: StackValidationPolicy, resources: PolicyResource[], config: Record<string, unknown> = {}): Promise<string[]> {
    const found: string[] = [];
    await policy.validateStack({ resources, stackTags: new Map(), getConfig: <T extends object>() => configFor(policy, config) as T, notApplicable: () => { throw new Error("n/a"); } }, (m) => found.push(m));
    return found;
}

/** The keywords of `@pulumi/policy`'s PolicyConfigJSONSchema: the JSON-schema subset a pack may use. */
const SCHEMA_KEYWORDS = new Set([
    "type", "enum", "const", "multipleOf", "maximum", "exclusiveMaximum", "minimum", "exclusiveMinimum", "maxLength", "minLength",
    "pattern", "items", "additionalItems", "maxItems", "minItems", "uniqueItems", "contains", "maxProperties", "minProperties",
    "required", "properties", "patternProperties", "additionalProperties", "dependencies", "propertyNames", "format", "description", "default",
]);

function unknownKeywords(schema: unknown, at: string): string[] {
    if (typeof schema !== "object" || schema === null) return [];
    return Object.entries(schema).flatMap(([key, value]) => {
        if (!SCHEMA_KEYWORDS.has(key)) return [`${at}.${key}`];
        if (key === "items" || key === "contains" || key === "additionalItems" || key === "additionalProperties" || key === "propertyNames") return unknownKeywords(value, `${at}.${key}`);
        if (key === "properties" || key === "patternProperties") return Object.entries(value as object).flatMap(([k, v]) => unknownKeywords(v, `${at}.${k}`));
        return [];
    });
}

/**
 * What the CLI and the engine demand of a pack, plus this project's conventions: the pack `index.ts` declares exactly
 * `policies`; names are unique kebab-case; every policy is described and sets its level; every config property is
 * within the SDK's JSON-schema subset, compiles in strict JSON-schema mode and has a default that satisfies it.
 */
export function packContract(pack: LoadedPack, policies: readonly Policy[]): void {
    // By name: a plan forgets the project's modules, so the pack and the test may hold different module instances.
    assert.deepEqual(pack.policies.map((p) => p.name), policies.map((p) => p.name), "index.ts registers every rule of rules.ts");
    const names = pack.policies.map((p) => p.name);
    assert.equal(new Set(names).size, names.length, "policy names are unique");
    const ajv = new Ajv({ strict: true, allErrors: true });
    for (const p of pack.policies) {
        assert.match(p.name, /^[a-z0-9]+(-[a-z0-9]+)*$/, `${p.name}: kebab-case`);
        assert.notEqual(p.name, "all");
        assert.ok(p.description.length > 20, `${p.name}: described`);
        assert.ok(p.enforcementLevel === "mandatory" || p.enforcementLevel === "advisory", `${p.name}: a deliberate level`);
        const schema = p.configSchema;
        if (!schema) continue;
        assert.ok(!("enforcementLevel" in schema.properties), `${p.name}: enforcementLevel is reserved`);
        assert.deepEqual(unknownKeywords({ properties: schema.properties }, p.name), [], `${p.name}: keywords outside the SDK's schema subset`);
        for (const [key, property] of Object.entries(schema.properties)) assert.ok(property.default !== undefined, `${p.name}.${key}: has a default`);
        const validate = ajv.compile({ type: "object", ...schema, additionalProperties: false });
        const defaults = resolvePolicies({ ...pack, policies: [p] }, {})[0].config;
        assert.ok(validate(defaults), `${p.name}: defaults valid: ${JSON.stringify(validate.errors)}`);
    }
}

/** A resource as a captured program would register it; `provider` names another entry of the same graph. */
export interface GraphEntry {
    readonly type: string;
    readonly name: string;
    readonly inputs: Record<string, any>;
    readonly provider?: string;
    readonly protect?: boolean;
}

/** Evaluate one pack of `policy/`, loaded by its real `index.ts`, over a small captured program, as the plan does. */
export async function packFlagsGraph(pack: string, entries: readonly GraphEntry[], stack = "prod"): Promise<Violation[]> {
    const urnOf = (e: GraphEntry) => `urn:pulumi:${stack}::istio-production::${e.type}::${e.name}`;
    const resources: CapturedResource[] = entries.map((e) => {
        const provider = e.provider === undefined ? undefined : entries.find((p) => p.name === e.provider);
        return {
            urn: urnOf(e), type: e.type, name: e.name, parent: "", custom: true, remote: false, read: false, dependencies: [],
            propertyDependencies: {}, provider: provider ? urnOf(provider) : "", protect: e.protect ?? false, retainOnDelete: false,
            ignoreChanges: [], replaceOnChanges: [], additionalSecretOutputs: [], aliases: [], inputs: e.inputs, outputs: e.inputs,
        };
    });
    return (await evaluatePacks({ project: "istio-production", stack, resources }, [{ pack: loadPack(path.join(__dirname, "..", "..", "policy", pack)) }])).violations;
}
