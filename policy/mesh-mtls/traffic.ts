import { ResourceValidationPolicy } from "@pulumi/policy";
import { EXEMPT_RESOURCES, PRODUCTION_STACKS, stackOf, validateIstio } from "./istio";

/** mesh-mtls rules on Traffic management: no fault injection in production. */

export const noFaultInjectionInProduction: ResourceValidationPolicy = {
    name: "no-fault-injection-in-production",
    description: "VirtualServices in production stacks inject no faults (http[].fault): delays and aborts belong to test environments.",
    enforcementLevel: "mandatory",
    configSchema: { properties: { productionStacks: PRODUCTION_STACKS, exemptResources: EXEMPT_RESOURCES } },
    validateResource: validateIstio("VirtualService", (vs, args, report) => {
        const { productionStacks } = args.getConfig<{ productionStacks: string[] }>();
        const stack = stackOf(args.urn);
        if (!productionStacks.includes(stack)) return;
        (vs.spec?.http ?? []).forEach((route: any, i: number) => {
            const faults = Object.keys(route?.fault ?? {});
            if (faults.length > 0) report(`spec.http[${i}]${route.name ? ` (${route.name})` : ""}.fault injects ${faults.join(" and ")} in production stack ${stack}: remove the fault block; inject faults only in non-production stacks`);
        });
    }),
};

export const trafficPolicies = [noFaultInjectionInProduction];
