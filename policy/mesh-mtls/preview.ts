import { Policy, PolicyResource, ReportViolation, ResourceValidation, ResourceValidationArgs } from "@pulumi/policy";

/**
 * Reaching a verdict at a first `pulumi preview`, where values that providers compute for resources not yet created
 * are unknown. Reading an unknown value through a policy's props throws the policy SDK's UnknownValueError, and the
 * runtime then skips the policy with an advisory (@pulumi/policy 1.21.0 `proxy.ts`, `server.ts`): a mandatory rule
 * would pass unchecked. These helpers let a rule look at the shape that is known instead. Every pack keeps its own
 * copy so that it can be published and run on its own.
 */

/** The sentinels an unknown value arrives as (@pulumi/policy 1.21.0 `proxy.ts`; the engine sends the string one). */
const UNKNOWN_SENTINELS = new Set([
    "04da6b54-80e4-46f7-96ec-b56ff0331ba9", "1c4a061d-8072-4f0a-a4cb-0ff528b18fe7", "3eeb2bf0-c639-47a8-9e75-3b44932eb421",
    "6a19a0b0-7e62-4c92-b797-7f8e31da9cc2", "030794c1-ac77-496b-92df-f27374a8bd58", "e48ece36-62e2-4504-bad9-02848725956a",
    "dd056dcd-154b-4c76-9bd3-c8f88648b5ff",
]);

/** Marks a value that is not known until the resource computing it exists. */
export const UNKNOWN: unique symbol = Symbol("unknown until created");
export type Known<T> = T | typeof UNKNOWN;

/**
 * The value at `path` under `value`, or UNKNOWN where the path crosses a value not known at preview; never throws.
 * The proxy guards reads (`get`), not own-property descriptors, so the descriptor shows the raw value.
 */
export function peek(value: unknown, ...path: (string | number)[]): Known<any> {
    let current: unknown = value;
    for (const key of path) {
        if (isUnknown(current)) return UNKNOWN;
        if (current === null || typeof current !== "object") return undefined;
        current = Object.getOwnPropertyDescriptor(current, key)?.value;
    }
    return isUnknown(current) ? UNKNOWN : current;
}

/** The entries of a list: known ones as they are, unknown ones as UNKNOWN; UNKNOWN for a list that is itself unknown. */
export function peekList(value: unknown, ...path: (string | number)[]): Known<Known<any>[] | undefined> {
    const list = peek(value, ...path);
    if (list === UNKNOWN || !Array.isArray(list)) return list === UNKNOWN ? UNKNOWN : undefined;
    return Array.from({ length: list.length }, (_, i) => peek(list, i));
}

export function isUnknown(v: unknown): boolean {
    return typeof v === "string" && UNKNOWN_SENTINELS.has(v);
}

/**
 * What each resource of the preview was registered with, recorded by this pack's resource policies as the analyzer
 * sees them. Stack policies see outputs only, and at a first preview a resource under a provider whose configuration
 * is unknown (every object of a cluster that does not exist yet) has none: pulumi/pulumi v3.248.0
 * `sdk/go/common/resource/plugin/provider_plugin.go` returns an empty bag from Create when `!pcfg.known`. The
 * analyzer process serves one deployment and receives every Analyze call before AnalyzeStack
 * (`pkg/resource/deploy/step_generator.go`), so the inputs of every resource in the stack are here by then.
 */
const inputs = new Map<string, Record<string, any>>();

/** The props a stack policy should read: the outputs, or where the provider returned none yet, the inputs. */
export function propsOf(r: PolicyResource): Record<string, any> {
    if (Object.getOwnPropertyNames(r.props).length > 0) return r.props;
    return inputs.get(r.urn) ?? r.props;
}

/**
 * Wraps the pack's resource policies so that every Analyze call records the resource's inputs for `propsOf`. It
 * records as long as one resource policy of the pack is enabled (every pack here has several).
 */
export function recordingInputs(policies: readonly Policy[]): Policy[] {
    return policies.map((policy) => {
        if (!("validateResource" in policy) || !policy.validateResource) return policy;
        const validations = ([] as ResourceValidation[]).concat(policy.validateResource as ResourceValidation | ResourceValidation[]);
        // Untyped wrappers: the server's fast path skips a typed validator for other types before it could record.
        // The typed validator itself still says "not applicable" for them (@pulumi/policy `validateResourceOfType`).
        const wrapped = validations.map((fn): ResourceValidation => (args: ResourceValidationArgs, report: ReportViolation) => {
            inputs.set(args.urn, args.props);
            return fn(args, report);
        });
        return { ...policy, validateResource: Array.isArray(policy.validateResource) ? wrapped : wrapped[0] };
    });
}
