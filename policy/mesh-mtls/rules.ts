import { peerAuthenticationPolicies } from "./peerAuthentication";
import { destinationRulePolicies } from "./destinationRules";
import { injectionPolicies } from "./injection";
import { gatewayPolicies } from "./gateways";
import { istiodPolicies } from "./istiod";
import { authorizationPolicies } from "./authorization";
import { trafficPolicies } from "./traffic";

/**
 * Mesh mTLS: what `pulumi preview --policy-pack policy/mesh-mtls` refuses before a weaker mesh is applied. Plain
 * modules, so tests and the offline plan load exactly what the CLI runs.
 */

export * from "./peerAuthentication";
export * from "./destinationRules";
export * from "./injection";
export * from "./gateways";
export * from "./istiod";
export * from "./authorization";
export * from "./traffic";

export const meshMtlsPolicies = [...peerAuthenticationPolicies, ...destinationRulePolicies, ...injectionPolicies, ...gatewayPolicies, ...istiodPolicies, ...authorizationPolicies, ...trafficPolicies];
