import { Resource, Unwrap } from "@pulumi/pulumi";
import { ResourceValidation, ResourceValidationArgs, TypedResourceValidation, validateResourceOfType } from "@pulumi/policy";
import { JsonSchema, skipExempt, stackOf } from "./plumbing";

export { chartName, EXEMPT_RESOURCES, JsonSchema, skipExempt, stackOf } from "./plumbing";

/** Config fragments and resource readers shared by this pack's rules; kept in the pack so it stays self-contained. */

export const PRODUCTION_STACKS: JsonSchema = {
    type: "array", items: { type: "string" }, default: ["prod"],
    description: "Stacks held to production rules (the stack is read from each resource's URN).",
};

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

/** Whether the resource's stack is a production stack by the policy's `productionStacks` config. */
export function inProduction(args: ResourceValidationArgs): boolean {
    const { productionStacks } = args.getConfig<{ productionStacks: string[] }>();
    return productionStacks.includes(stackOf(args.urn));
}

/** A prefix length of 0 (`0.0.0.0/0`, `::/0`) admits every address. */
export function isOpenCidr(cidr: unknown): boolean {
    return typeof cidr === "string" && /\/0$/.test(cidr.trim());
}
