import { Provider as AwsProvider } from "@pulumi/aws/provider";
import * as acmpca from "@pulumi/aws/acmpca";
import * as iam from "@pulumi/aws/iam";
import * as pulumi from "@pulumi/pulumi";
import { AwsRoleBinding } from "../MeshCluster";
import { APPROVER_POLICY_ACCOUNT, AWS_PCA_ISSUER_ACCOUNT, ManagedCa, SignedSubordinate, subordinateSubject } from "../../pki/managedCa";
import { CERT_MANAGER_NAMESPACE } from "../../kubernetes/names";

export interface PrivateCaSubordinateArgs {
    /** The environment, the Organization (O) of the CSR's subject: the pki stack copies it into the certificate. */
    readonly environment: string;
    /** The EKS cluster's name, in the subject's CN. */
    readonly cluster: string;
    /** The CA's region, named in the issuer's spec. */
    readonly region: string;
    /** The provider pinned to the cluster's region (and account). */
    readonly provider: AwsProvider;
    /** Binds the issuer controller's ServiceAccount to its IAM role: the cluster's `bindAwsRole` (EKS Pod Identity). */
    readonly bindAwsRole: (name: string, binding: AwsRoleBinding, opts: { parent: pulumi.Resource }) => pulumi.Resource;
    /**
     * Present once the pki stack has signed this CA's CSR (step 2 of the handoff). @default - step 1: the CA awaits
     * its certificate and exposes `csrPem`; no `issuer`
     */
    readonly signed?: SignedSubordinate;
    /** aws-privateca-issuer chart version (Helm repo https://cert-manager.github.io/aws-privateca-issuer). */
    readonly issuerChartVersion: string;
    /** Two replicas of the issuer controller. */
    readonly highAvailability: boolean;
    /** `protect` on the CA. */
    readonly protect: boolean;
}

/**
 * An AWS Private CA subordinate for one EKS cluster: its key is generated in AWS's FIPS 140 level 3 HSMs and never
 * leaves them. In GENERAL_PURPOSE mode: short-lived-certificate mode would fit hour-long mesh certificates (at most 7
 * days) and costs $50 a month instead of $400, but bills $0.058 a certificate against general-purpose's tiers ($0.001
 * beyond 10,000 a month; https://aws.amazon.com/private-ca/pricing/), so it is dearer from about 72,000 certificates a
 * month: some 50 pods on hour-long certificates renewed at half-life, far below any production cluster. The mode of a
 * CA cannot change once created ("The CA mode cannot be changed for an existing CA", AWS Private CA user guide), so
 * it is fixed here rather than chosen from a size that changes (components/pki/caCost.ts). cert-manager's aws-privateca-issuer v1.9.0 calls acm-pca:IssueCertificate,
 * GetCertificate and DescribeCertificateAuthority on it (pkg/aws/pca.go), with the Pod Identity of its
 * ServiceAccount.
 */
export class PrivateCaSubordinate extends pulumi.ComponentResource implements ManagedCa {
    readonly backend = "aws-private-ca" as const;
    readonly caName: string;
    readonly csrPem?: pulumi.Output<string>;
    readonly issuer?: ManagedCa["issuer"];
    /** The subordinate CA in AWS Private CA. */
    readonly ca: acmpca.CertificateAuthority;

    constructor(name: string, args: PrivateCaSubordinateArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("istio-production:aws:PrivateCaSubordinate", name, {}, opts);
        const child = { parent: this, provider: args.provider };
        this.caName = name;
        this.ca = new acmpca.CertificateAuthority(name, {
            type: "SUBORDINATE",
            usageMode: "GENERAL_PURPOSE",
            keyStorageSecurityStandard: "FIPS_140_2_LEVEL_3_OR_HIGHER",
            certificateAuthorityConfiguration: {
                keyAlgorithm: "EC_prime256v1",
                signingAlgorithm: "SHA256WITHECDSA",
                subject: subordinateSubject(args.environment, args.cluster),
            },
            permanentDeletionTimeInDays: 30,
        }, { ...child, protect: args.protect });
        if (!args.signed) {
            this.csrPem = this.ca.certificateSigningRequest;
            this.registerOutputs({ backend: this.backend, caName: this.caName, csrPem: this.csrPem, ca: this.ca });
            return;
        }
        const imported = new acmpca.CertificateAuthorityCertificate(name, {
            certificateAuthorityArn: this.ca.arn,
            certificate: args.signed.certPem,
            certificateChain: args.signed.chainPem.apply((chain) => chain.map((c) => c.trim()).join("\n") + "\n"),
        }, child);
        const role = new iam.Role(`${name}-issuer`, {
            assumeRolePolicy: JSON.stringify({
                Version: "2012-10-17",
                Statement: [{ Effect: "Allow", Principal: { Service: "pods.eks.amazonaws.com" }, Action: ["sts:AssumeRole", "sts:TagSession"] }],
            }),
        }, child);
        const policy = new iam.RolePolicy(`${name}-issuer`, {
            role: role.id,
            policy: this.ca.arn.apply((arn) => JSON.stringify({
                Version: "2012-10-17",
                Statement: [{ Effect: "Allow", Action: ["acm-pca:DescribeCertificateAuthority", "acm-pca:GetCertificate", "acm-pca:IssueCertificate"], Resource: arn }],
            })),
        }, { ...child, parent: role });
        const association = args.bindAwsRole(`${name}-issuer`, { namespace: CERT_MANAGER_NAMESPACE, serviceAccount: AWS_PCA_ISSUER_ACCOUNT, roleArn: role.arn }, { parent: this });
        this.issuer = {
            backend: this.backend,
            spec: pulumi.output({ arn: this.ca.arn, region: args.region }),
            chart: {
                name: "aws-privateca-issuer", chart: "aws-privateca-issuer", repo: "https://cert-manager.github.io/aws-privateca-issuer", version: args.issuerChartVersion,
                values: {
                    replicaCount: args.highAvailability ? 2 : 1,
                    serviceAccount: { create: true, name: AWS_PCA_ISSUER_ACCOUNT },
                    // The chart binds approval of awspca.cert-manager.io requests to cert-manager by default; here
                    // approver-policy approves them (values.yaml `approverRole`).
                    approverRole: { enabled: true, serviceAccountName: APPROVER_POLICY_ACCOUNT, namespace: CERT_MANAGER_NAMESPACE },
                },
            },
            ready: [imported, policy, association],
        };
        this.registerOutputs({ backend: this.backend, caName: this.caName, issuer: this.issuer, ca: this.ca, arn: this.ca.arn });
    }
}
