import { PolicyResource, StackValidationArgs, StackValidationPolicy } from "@pulumi/policy";
import { peek, propsOf, UNKNOWN } from "./preview";
import { isKind, JsonSchema, stackOf, wildcardMatches } from "./support";

const PRODUCTION_STACKS: JsonSchema = {
    type: "array", items: { type: "string" }, default: ["prod"],
    description: "Stacks held to production rules (the stack is read from each resource's URN); `*` matches any run of characters.",
};

/**
 * The program's annotation on a CA Issuer standing in while a managed subordinate awaits the offline signature
 * (components/pki/managedCa.ts AWAITING_MANAGED_CA; a pack is published on its own, so the name is repeated here).
 */
const AWAITING_MANAGED_CA = "istio-production.io/awaiting-managed-ca";
const AWS_CA = "aws:acmpca/certificateAuthority:CertificateAuthority";
const AWS_IMPORT = "aws:acmpca/certificateAuthorityCertificate:CertificateAuthorityCertificate";
const GCP_CA = "gcp:certificateauthority/authority:Authority";

// Stack policies read what is known at a first preview (propsOf: inputs of objects of clusters not yet created).
const isCaIssuer = (r: PolicyResource) => (isKind(r.type, "cert-manager.io", "Issuer") || isKind(r.type, "cert-manager.io", "ClusterIssuer")) && peek(propsOf(r), "spec", "ca") !== undefined;

/**
 * A CA Issuer that stands in for a managed subordinate of the same stack which has not been signed yet: the
 * subordinate exists (AWS: no certificate imported; GCP: not activated) and the issuer names it. Only the program's
 * step 1 of the handoff looks like this (docs/pki/ca-backends.md); it ends when the pki stack signs the CSR.
 */
function standsInForManagedCa(issuer: PolicyResource, resources: readonly PolicyResource[]): string | undefined {
    const caName = peek(propsOf(issuer), "metadata", "annotations", AWAITING_MANAGED_CA);
    if (typeof caName !== "string") return undefined;
    const ca = resources.find((r) => (r.type === AWS_CA || r.type === GCP_CA) && r.name === caName);
    if (!ca) return undefined;
    // An activation certificate still unknown at preview is one being given: signed.
    const signed = ca.type === AWS_CA ? resources.some((r) => r.type === AWS_IMPORT && r.name === caName) : peek(propsOf(ca), "pemCaCertificate") !== undefined;
    return signed ? undefined : caName;
}

const inProduction = (args: StackValidationArgs, urn: string) =>
    args.getConfig<{ productionStacks: string[] }>().productionStacks.some((p) => wildcardMatches(p, stackOf(urn)));

/**
 * The `secret` CA backend in production: a cert-manager CA Issuer or ClusterIssuer (`spec.ca`, cert-manager v1.21.1
 * pkg/apis/certmanager/v1 `CAIssuer`) signs with a CA key held in a Kubernetes Secret. That key lives as long as the
 * intermediate (a year by default) and anyone who can read Secrets in its namespace can mint mesh identities: the
 * istio-reader ClusterRole whose tokens every peer holds reads Secrets cluster-wide (istio/istio
 * manifests/charts/istio-control/istio-discovery/templates/reader-clusterrole.yaml). Likewise a cert-manager
 * Certificate with `isCA: true` puts a CA key in a Secret (cert-manager v1.21.1 `CertificateSpec.IsCA`). Only the
 * hardware-backed backends pass, whose keys never reach the cluster; and, while a managed subordinate of the same
 * stack awaits its signature, the issuer that stands in for it (reported by managed-ca-handoff-pending).
 */
export const noSecretCaBackendInProduction: StackValidationPolicy = {
    name: "no-secret-ca-backend-in-production",
    description: "In production stacks no cert-manager CA Issuer or ClusterIssuer signs with a CA key held in a Kubernetes Secret, and no Certificate is a CA: set the clusters' caBackend to aws-private-ca or google-cas.",
    enforcementLevel: "mandatory",
    configSchema: { properties: { productionStacks: PRODUCTION_STACKS } },
    validateStack: (args, report) => {
        for (const r of args.resources) {
            if (!inProduction(args, r.urn)) continue;
            const kind = r.type.split(":").pop();
            if (isKind(r.type, "cert-manager.io", "Certificate") && peek(propsOf(r), "spec", "isCA") !== false && peek(propsOf(r), "spec", "isCA") !== undefined) {
                report(`Certificate ${r.name} in production stack ${stackOf(r.urn)} is a CA certificate: its key lands in a Secret that every identity reading Secrets there (the peers' istio-reader tokens among them) can take; issue CA certificates only in the managed CA services`, r.urn);
                continue;
            }
            if (!isCaIssuer(r) || standsInForManagedCa(r, args.resources)) continue;
            const keySecret = r.dependencies.find((d) => d.type === "kubernetes:core/v1:Secret");
            const secretName = peek(propsOf(r), "spec", "ca", "secretName");
            const where = `the CA key in Secret ${keySecret ? keySecret.name : secretName === UNKNOWN ? "(named once created)" : JSON.stringify(secretName)}`;
            report(`${kind} ${r.name} in production stack ${stackOf(r.urn)} signs with ${where}, which outlives any workload certificate and which every identity that reads Secrets there can take (the peers' istio-reader tokens among them): set the cluster's caBackend to aws-private-ca (EKS) or google-cas (GKE)`, r.urn);
        }
    },
};

/** Says, on every preview, that a production cluster's mesh CA still runs on a Secret while its managed CA waits. */
export const managedCaHandoffPending: StackValidationPolicy = {
    name: "managed-ca-handoff-pending",
    description: "A production cluster's mesh CA stands in on a Secret-held key while its managed subordinate awaits the pki stack's signature: finish the handoff.",
    enforcementLevel: "advisory",
    configSchema: { properties: { productionStacks: PRODUCTION_STACKS } },
    validateStack: (args, report) => {
        for (const r of args.resources) {
            if (!inProduction(args, r.urn) || !isCaIssuer(r)) continue;
            const caName = standsInForManagedCa(r, args.resources);
            if (caName) report(`${r.type.split(":").pop()} ${r.name} stands in for managed CA ${caName}, which awaits the pki stack's signature: copy the stack's output subordinateCsrs into the pki stack, run it, then run this stack (docs/pki/ca-backends.md)`, r.urn);
        }
    },
};

export const caBackendPolicies = [noSecretCaBackendInProduction, managedCaHandoffPending];
