import { Provider as GcpProvider } from "@pulumi/gcp/provider";
import * as certificateauthority from "@pulumi/gcp/certificateauthority";
import * as serviceaccount from "@pulumi/gcp/serviceaccount";
import * as pulumi from "@pulumi/pulumi";
import { APPROVER_POLICY_ACCOUNT, GOOGLE_CAS_ISSUER_ACCOUNT, ManagedCa, SignedSubordinate, subordinateSubject } from "../../pki/managedCa";
import { CERT_MANAGER_NAMESPACE } from "../../kubernetes/names";
import { SERVICE_ACCOUNT_ID, shortName } from "./names";

export interface CasSubordinateArgs {
    /** The environment, the Organization (O) of the CSR's subject: the pki stack copies it into the certificate. */
    readonly environment: string;
    /** The GKE cluster's name: it names the pool (`<cluster>-mesh`), the CA (`<cluster>-int`) and the subject's CN. */
    readonly cluster: string;
    /** The project of the cluster and of the CA pool; its Workload Identity pool binds the issuer's account. */
    readonly project: string;
    /** The pool's and the CA's location. */
    readonly region: string;
    /** The provider pinned to the project; every GCP resource and the CSR lookup use it. */
    readonly provider: GcpProvider;
    /** The GKE cluster: its workload pool exists once it does. */
    readonly gkeCluster: pulumi.Resource;
    /**
     * Present once the pki stack has signed this CA's CSR (step 2 of the handoff). @default - step 1: the CA awaits
     * activation and exposes `csrPem`; no `issuer`
     */
    readonly signed?: SignedSubordinate;
    /** google-cas-issuer chart version (`oci://quay.io/jetstack/charts/cert-manager-google-cas-issuer`). */
    readonly issuerChartVersion: string;
    /** Two replicas of the issuer controller. */
    readonly highAvailability: boolean;
    /** `protect` and deletion protection on the pool and the CA. */
    readonly protect: boolean;
}

/**
 * A Certificate Authority Service subordinate for one GKE cluster, in a DevOps-tier pool of its own: HSM-backed key
 * (both tiers), the higher issuance quota (25 vs 7 QPS per CA) and no per-certificate storage, which hour-long mesh
 * certificates do not need (https://cloud.google.com/certificate-authority-service/docs/tiers). Created SUBORDINATE
 * with no issuer in CAS, it waits for activation; the provider activates it with `pemCaCertificate` and
 * `subordinateConfig.pemIssuerChain` (@pulumi/gcp 9.37.0 certificateauthority.Authority). cert-manager's
 * google-cas-issuer v0.12.0 creates certificates in the pool with ambient credentials: Workload Identity.
 */
export class CasSubordinate extends pulumi.ComponentResource implements ManagedCa {
    readonly backend = "google-cas" as const;
    readonly caName: string;
    readonly csrPem?: pulumi.Output<string>;
    readonly issuer?: ManagedCa["issuer"];

    constructor(name: string, args: CasSubordinateArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("istio-production:gcp:CasSubordinate", name, {}, opts);
        const child = { parent: this, provider: args.provider };
        this.caName = name;
        const pool = new certificateauthority.CaPool(name, {
            name: `${args.cluster}-mesh`, location: args.region, tier: "DEVOPS",
            // Publishes nothing: workloads verify against the pinned root bundle, and the pool signs hour-long certificates.
            publishingOptions: { publishCaCert: false, publishCrl: false },
        }, { ...child, protect: args.protect });
        const certificateAuthorityId = `${args.cluster}-int`;
        const ca = new certificateauthority.Authority(name, {
            pool: pool.name,
            certificateAuthorityId,
            location: args.region,
            type: "SUBORDINATE",
            keySpec: { algorithm: "EC_P256_SHA256" },
            config: {
                subjectConfig: { subject: subordinateSubject(args.environment, args.cluster) },
                x509Config: {
                    caOptions: { isCa: true, zeroMaxIssuerPathLength: true },
                    keyUsage: { baseKeyUsage: { certSign: true, crlSign: true, digitalSignature: true }, extendedKeyUsage: {} },
                },
            },
            pemCaCertificate: args.signed?.certPem,
            subordinateConfig: args.signed && { pemIssuerChain: { pemCertificates: args.signed.chainPem } },
            // Activation leaves a CA STAGED ("set to the STAGED state after activation",
            // https://cloud.google.com/certificate-authority-service/docs/certificate-authority-states); the provider
            // enables it only when desired_state asks for it (terraform-provider-google
            // resource_privateca_certificate_authority.go Update: enable on a desired_state change), and a CA that is
            // not ENABLED is skipped by a pool's load balancing. A CA awaiting activation cannot be enabled.
            desiredState: args.signed ? "ENABLED" : undefined,
            deletionProtection: args.protect,
        }, { ...child, protect: args.protect });
        if (!args.signed) {
            // Only a CA awaiting activation has a CSR (the data source's pemCsr).
            // The invoke depends on the CA: read inside an apply it would carry no dependency and run at preview
            // against a CA not yet created (@pulumi/pulumi 3.248.0 runtime/invoke.js waits only for `dependsOn` and
            // the dependencies of its inputs).
            this.csrPem = certificateauthority.getAuthorityOutput({
                pool: pool.name, location: args.region, certificateAuthorityId: ca.certificateAuthorityId, project: args.project,
            }, { provider: args.provider, parent: this, dependsOn: [ca] }).pemCsr;
            this.registerOutputs({ backend: this.backend, caName: this.caName, csrPem: this.csrPem });
            return;
        }
        const account = new serviceaccount.Account(`${name}-issuer`, {
            accountId: shortName(args.cluster, "cas-issuer", SERVICE_ACCOUNT_ID.maxLength), displayName: `google-cas-issuer of ${args.cluster}`,
        }, child);
        // Least privilege for CreateCertificate in this pool only (CAS IAM: roles/privateca.certificateRequester).
        const grant = new certificateauthority.CaPoolIamMember(`${name}-issuer`, {
            caPool: pool.id, role: "roles/privateca.certificateRequester", member: pulumi.interpolate`serviceAccount:${account.email}`,
        }, { ...child, parent: account });
        const binding = new serviceaccount.IAMMember(`${name}-issuer-wi`, {
            serviceAccountId: account.name, role: "roles/iam.workloadIdentityUser",
            member: `serviceAccount:${args.project}.svc.id.goog[${CERT_MANAGER_NAMESPACE}/${GOOGLE_CAS_ISSUER_ACCOUNT}]`,
        }, { ...child, parent: account, dependsOn: [args.gkeCluster] });
        this.issuer = {
            backend: this.backend,
            spec: pulumi.output({ project: args.project, location: args.region, caPoolId: pool.name, certificateAuthorityId }),
            chart: {
                name: GOOGLE_CAS_ISSUER_ACCOUNT, chart: "oci://quay.io/jetstack/charts/cert-manager-google-cas-issuer", version: args.issuerChartVersion,
                values: {
                    replicaCount: args.highAvailability ? 2 : 1,
                    serviceAccount: { annotations: account.email.apply((email) => ({ "iam.gke.io/gcp-service-account": email })) },
                    // values.yaml `app.approval.subjects`: approver-policy, not cert-manager, approves the requests.
                    app: { approval: { enabled: true, subjects: [{ kind: "ServiceAccount", name: APPROVER_POLICY_ACCOUNT, namespace: CERT_MANAGER_NAMESPACE }] } },
                },
            },
            ready: [ca, grant, binding],
        };
        this.registerOutputs({ backend: this.backend, caName: this.caName, issuer: this.issuer, pool: pool.id });
    }
}
