import { Resource, Unwrap } from "@pulumi/pulumi";
import { PolicyConfigSchema, ResourceValidation, ResourceValidationArgs, TypedResourceValidation, validateResourceOfType } from "@pulumi/policy";

/** Config fragments and resource readers shared by this pack's rules; kept in the pack so it stays self-contained. */

export type JsonSchema = PolicyConfigSchema["properties"][string];

export const EXEMPT_RESOURCES: JsonSchema = {
    type: "array", items: { type: "string" }, default: [],
    description: "Pulumi resource names this policy skips; give each exemption its reason in the pack config file.",
};

export const PRODUCTION_STACKS: JsonSchema = {
    type: "array", items: { type: "string" }, default: ["prod"],
    description: "Stacks held to production rules (the stack is read from each resource's URN).",
};

/** Skips the resource when the policy's `exemptResources` config names it. */
export function skipExempt(args: ResourceValidationArgs): void {
    const { exemptResources = [] } = args.getConfig<{ exemptResources?: string[] }>();
    if (exemptResources.includes(args.name)) args.notApplicable(`${args.name} is exempted by this policy's exemptResources config`);
}

/** `validateResourceOfType` that honours `exemptResources`. */
export function validateOfType<TResource extends Resource, TArgs>(
    cls: { new (name: string, args: TArgs, ...rest: any[]): TResource },
    validate: TypedResourceValidation<Unwrap<NonNullable<TArgs>>>,
): ResourceValidation {
    return validateResourceOfType(cls, (props, args, report) => {
        skipExempt(args);
        return validate(props, args, report);
    });
}

/** The stack a URN belongs to: `urn:pulumi:<stack>::<project>::...`. */
export function stackOf(urn: string): string {
    return urn.split("::")[0].replace(/^urn:pulumi:/, "");
}

/** Whether the resource's stack is a production stack by the policy's `productionStacks` config. */
export function inProduction(args: ResourceValidationArgs): boolean {
    const { productionStacks } = args.getConfig<{ productionStacks: string[] }>();
    return productionStacks.includes(stackOf(args.urn));
}

/** A prefix length of 0 (`0.0.0.0/0`, `::/0`) admits every address. */
export function isOpenCidr(cidr: unknown): boolean {
    return typeof cidr === "string" && /\/0$/.test(cidr.trim());
}
