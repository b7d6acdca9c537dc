import { StackValidationPolicy } from "@pulumi/policy";
import { isKind, JsonSchema, stackOf, wildcardMatches } from "./support";

const PRODUCTION_STACKS: JsonSchema = {
    type: "array", items: { type: "string" }, default: ["prod"],
    description: "Stacks held to production rules (the stack is read from each resource's URN); `*` matches any run of characters.",
};

/**
 * The `secret` CA backend in production: a cert-manager CA Issuer or ClusterIssuer (`spec.ca`, cert-manager v1.21.1
 * pkg/apis/certmanager/v1 `CAIssuer`) whose key is a Secret this program creates. That key lives as long as the
 * intermediate (a year by default) and anyone who can read Secrets in its namespace can mint mesh identities: the
 * istio-reader ClusterRole whose tokens every peer holds reads Secrets cluster-wide (istio/istio
 * manifests/charts/istio-control/istio-discovery/templates/reader-clusterrole.yaml). Only the hardware-backed
 * backends pass, whose keys never reach the cluster. The link is the issuer's dependency on the Secret, known at
 * preview (the Secret's name is not, before the cluster exists).
 */
export const noSecretCaBackendInProduction: StackValidationPolicy = {
    name: "no-secret-ca-backend-in-production",
    description: "In production stacks no cert-manager CA Issuer or ClusterIssuer signs with a CA key held in a Kubernetes Secret that this program creates: set the clusters' caBackend to aws-private-ca or google-cas.",
    enforcementLevel: "mandatory",
    configSchema: { properties: { productionStacks: PRODUCTION_STACKS } },
    validateStack: (args, report) => {
        const { productionStacks } = args.getConfig<{ productionStacks: string[] }>();
        for (const issuer of args.resources) {
            if (!isKind(issuer.type, "cert-manager.io", "Issuer") && !isKind(issuer.type, "cert-manager.io", "ClusterIssuer")) continue;
            const stack = stackOf(issuer.urn);
            if (!productionStacks.some((p) => wildcardMatches(p, stack))) continue;
            if (issuer.props.spec?.ca === undefined) continue;
            const keySecret = issuer.dependencies.find((d) => d.type === "kubernetes:core/v1:Secret");
            if (keySecret) {
                report(`${issuer.type.split(":").pop()} ${issuer.name} in production stack ${stack} signs with the CA key in Secret ${keySecret.name}, which outlives any workload certificate and which every identity that reads Secrets there can take (the peers' istio-reader tokens among them): set the cluster's caBackend to aws-private-ca (EKS) or google-cas (GKE)`, issuer.urn);
            }
        }
    },
};

export const caBackendPolicies = [noSecretCaBackendInProduction];
