import { eksPolicies } from "./eks";
import { gkePolicies } from "./gke";
import { kmsPolicies } from "./kms";
import { productionPolicies } from "./production";

/**
 * Platform baseline: what `pulumi preview --policy-pack policy/platform-baseline` refuses before a weaker cloud
 * platform is created. Plain modules, so tests and the offline plan load exactly what the CLI runs.
 */

export * from "./eks";
export * from "./gke";
export * from "./kms";
export * from "./production";

export const platformBaselinePolicies = [...eksPolicies, ...gkePolicies, ...kmsPolicies, ...productionPolicies];
