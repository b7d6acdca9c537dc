import * as pulumi from "@pulumi/pulumi";
import { CaBackend } from "../../config";

export type ManagedCaBackend = Exclude<CaBackend, "secret">;

/**
 * The cert-manager external issuers of the managed CAs: their CRD kinds and groups (aws-privateca-issuer v1.9.0
 * `awspca.cert-manager.io_awspcaissuers.yaml`, google-cas-issuer v0.12.0 `cas-issuer.jetstack.io_googlecasissuers.yaml`)
 * and the signer names cert-manager gives their CertificateRequests (`<plural>.<group>/<namespace>.<name>`,
 * cert-manager v1.21.1 pkg/apis/certmanager/v1 types_certificaterequest.go), which approver-policy must be allowed to
 * approve.
 */
export const MANAGED_ISSUERS = {
    "aws-private-ca": { kind: "AWSPCAIssuer", group: "awspca.cert-manager.io", signerNames: "awspcaissuers.awspca.cert-manager.io/*" },
    "google-cas": { kind: "GoogleCASIssuer", group: "cas-issuer.jetstack.io", signerNames: "googlecasissuers.cas-issuer.jetstack.io/*" },
} as const;

/** The cert-manager side of a managed CA: the issuer controller's chart and the issuer's spec. */
export interface ManagedCaIssuer {
    readonly backend: ManagedCaBackend;
    readonly spec: pulumi.Input<object>;
    readonly chart: { readonly name: string; readonly chart: string; readonly repo?: string; readonly version: string; readonly values: pulumi.Input<Record<string, unknown>> };
    /** The issuer's cloud identity and its grants: the issuer is not Ready until they exist. */
    readonly ready: readonly pulumi.Resource[];
}

/** One cluster's subordinate CA in a managed CA service; its key never leaves the service's HSMs. */
export interface ManagedCa {
    readonly backend: ManagedCaBackend;
    /** The Pulumi name of the subordinate CA resource (aws.acmpca.CertificateAuthority, gcp certificateauthority.Authority). */
    readonly caName: string;
    /** Step 1 of the handoff: the CSR for the environment's pki stack (`subordinateCsrs.<cluster>`) while awaiting it. */
    readonly csrPem?: pulumi.Output<string>;
    /** Step 2: the certificate the pki stack signed is imported; the issuer exists only then. */
    readonly issuer?: ManagedCaIssuer;
}

/** What the pki stack signed for a cluster's managed CA: its certificate and the chain above it up to the root. */
export interface SignedSubordinate {
    readonly certPem: pulumi.Output<string>;
    readonly chainPem: pulumi.Output<string[]>;
}

/**
 * Annotation of a CA Issuer that stands in while the cluster's managed subordinate awaits the pki stack's signature
 * (handoff step 1): its value is the subordinate's resource name, which the key-material pack looks for in the same
 * stack before it lets a Secret-backed issuer through in production.
 */
export const AWAITING_MANAGED_CA = "istio-production.io/awaiting-managed-ca";

/** Subject of a subordinate's CSR: the pki stack copies it into the certificate. */
export function subordinateSubject(environment: string, cluster: string) {
    return { organization: environment, commonName: `${cluster} Intermediate CA` };
}

/** The issuer controllers run in cert-manager's namespace under these ServiceAccounts (the charts' fullnames). */
export const AWS_PCA_ISSUER_ACCOUNT = "aws-privateca-issuer";
export const GOOGLE_CAS_ISSUER_ACCOUNT = "cert-manager-google-cas-issuer";
/** approver-policy's ServiceAccount: it approves the issuers' requests, so the issuers' approval RBAC binds it. */
export const APPROVER_POLICY_ACCOUNT = "cert-manager-approver-policy";
