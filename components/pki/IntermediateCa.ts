import * as crypto from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { KeySpec } from "../../config";
import { checked } from "../checked";
import { ClusterNames, constraintProblems, readCaConstraints } from "./caConstraints";
import { IntermediateCertificate } from "./IntermediateCertificate";
import { intermediateSubject, privateKeyArgs } from "./keys";
import { constraintsFor } from "./nameConstraints";

export interface IntermediateCaArgs {
    /** Subject organisation (O), the root's. */
    readonly organization: string;
    /** The cluster the intermediate signs for; named in the subject's CN. */
    readonly cluster: string;
    /** The cluster's SPIFFE trust domain: the only URI host the intermediate may sign. */
    readonly trustDomain: string;
    /** Every DNS name the cluster's issuer signs (istiod, istio-csr, private ingress hosts), and no other. */
    readonly dnsNames: readonly string[];
    /** The intermediate's key (ECDSA P-256 or P-384, or RSA of 3072 bits or more); unused with `subordinateCsrPem`. */
    readonly key: KeySpec;
    /**
     * The root that signs this intermediate in this stack. Exactly one of `issuer` and `externalCertPem` is used:
     * with `issuer` the stack signs; otherwise an enterprise CA signed this stack's CSR.
     * @default - external mode: `externalCertPem`, or no certificate until the enterprise CA signs the CSR
     */
    readonly issuer?: { readonly certPem: pulumi.Input<string>; readonly privateKeyPem: pulumi.Input<string> };
    /**
     * External mode: the certificate the enterprise CA issued for this intermediate's CSR, once it exists. It must be
     * a CA for this intermediate's key, chain to `externalRootPem` and be constrained as `issuer` would constrain it.
     * @default - none: `certPem` is undefined and only the CSR is exported
     */
    readonly externalCertPem?: string;
    /** External mode: the enterprise root the external certificate must chain to. @default - none: the chain is not checked */
    readonly externalRootPem?: string;
    /**
     * The CSR of a subordinate CA whose key lives in a managed CA's HSM (the mesh stack exported it): this stack
     * signs it and holds no key for the cluster. @default - none: the intermediate's own key and CSR are generated here
     */
    readonly subordinateCsrPem?: string;
    /** @default 8760 (1 year) */
    readonly validityHours?: number;
    /** `pulumi up` re-issues the certificate this long before it expires. @default 720 (30 days) */
    readonly earlyRenewalHours?: number;
}

/**
 * One cluster's intermediate CA: its own key, a CSR naming the cluster, and a certificate from the environment's
 * root (or from an enterprise CA), `pathlen:0` and name-constrained to the cluster's trust domain and serving
 * names: a leaked intermediate can mint neither another cloud's identities nor a sub-CA.
 */
export class IntermediateCa extends pulumi.ComponentResource {
    /** Undefined in external mode until the enterprise CA has signed the CSR. */
    readonly certPem?: pulumi.Output<string>;
    readonly certRequestPem: pulumi.Output<string>;
    /** Undefined for a subordinate whose key lives in a managed CA's HSM. */
    readonly privateKeyPem?: pulumi.Output<string>;

    constructor(name: string, args: IntermediateCaArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("istio-production:pki:IntermediateCa", name, {}, opts);
        const key = args.subordinateCsrPem === undefined ? new tls.PrivateKey(`${name}-key`, privateKeyArgs(args.key), { parent: this }) : undefined;
        const certRequestPem = key
            ? new tls.CertRequest(`${name}-csr`, { privateKeyPem: key.privateKeyPem, subject: intermediateSubject(args.organization, args.cluster) }, { parent: this }).certRequestPem
            : pulumi.output(args.subordinateCsrPem!);
        const names: ClusterNames = { trustDomain: args.trustDomain, dnsNames: args.dnsNames };
        if (args.issuer) {
            const cert = new IntermediateCertificate(`${name}-cert`, {
                certRequestPem,
                caCertPem: args.issuer.certPem,
                caPrivateKeyPem: args.issuer.privateKeyPem,
                cluster: args.cluster,
                trustDomain: args.trustDomain,
                nameConstraints: constraintsFor(args.trustDomain, args.dnsNames),
                validityPeriodHours: args.validityHours ?? 8760,
                earlyRenewalHours: args.earlyRenewalHours ?? 720,
            }, { parent: this });
            this.certPem = cert.certPem;
        } else if (args.externalCertPem && key) {
            const external = args.externalCertPem;
            this.certPem = key.privateKeyPem.apply((pem) => checked(this, `IntermediateCa ${name}`, () => checkExternal(args.cluster, external, pem, args.externalRootPem, names)));
        }
        this.certRequestPem = certRequestPem;
        this.privateKeyPem = key && pulumi.secret(key.privateKeyPem);
        // The key is not registered: state holds it once, in the key resource.
        this.registerOutputs({ certPem: this.certPem, certRequestPem: this.certRequestPem });
    }
}

/** An enterprise-signed intermediate this stack refuses; `cluster` names whose it is, the message says why. */
export class ExternalIntermediateError extends Error {
    constructor(readonly cluster: string, reason: string) {
        super(`externalIntermediates.${cluster}: ${reason}`);
        this.name = "ExternalIntermediateError";
    }
}

/**
 * An enterprise-signed certificate must be a CA, carry this stack's key, chain to the configured root and be
 * constrained as this stack's own signer constrains intermediates: the enterprise CA must add the constraints.
 */
export function checkExternal(cluster: string, certPem: string, keyPem: string, rootPem: string | undefined, names: ClusterNames): string {
    const cert = new crypto.X509Certificate(certPem);
    if (!cert.ca) throw new ExternalIntermediateError(cluster, "the certificate is not a CA certificate");
    if (!cert.checkPrivateKey(crypto.createPrivateKey(keyPem))) {
        throw new ExternalIntermediateError(cluster, `the certificate does not carry this stack's key for ${cluster}; sign the CSR this stack exports`);
    }
    if (rootPem && !cert.verify(new crypto.X509Certificate(rootPem).publicKey)) {
        throw new ExternalIntermediateError(cluster, "the certificate is not signed by its environment's enterprise root");
    }
    const problems = constraintProblems(readCaConstraints(certPem), names);
    if (problems.length) {
        throw new ExternalIntermediateError(cluster, `refusing cluster ${cluster}'s intermediate: ${problems.join("; ")} (have the enterprise CA sign it with the constraints in docs/pki/root-ceremony.md)`);
    }
    return certPem;
}
