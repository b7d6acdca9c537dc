import * as crypto from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { KeySpec } from "../../config";
import { CA_KEY_USAGES, intermediateSubject, privateKeyArgs } from "./keys";

export interface IntermediateCaArgs {
    readonly organization: string;
    /** The cluster the intermediate signs for; named in the subject's CN. */
    readonly cluster: string;
    readonly key: KeySpec;
    /**
     * The root that signs this intermediate in this stack. Exactly one of `issuer` and `externalCertPem` is used:
     * with `issuer` the stack signs; otherwise an enterprise CA signed this stack's CSR.
     */
    readonly issuer?: { readonly certPem: pulumi.Input<string>; readonly privateKeyPem: pulumi.Input<string> };
    /** External mode: the certificate the enterprise CA issued for this intermediate's CSR, once it exists. */
    readonly externalCertPem?: string;
    /** External mode: the enterprise root the external certificate must chain to. */
    readonly externalRootPem?: string;
    /** @default 8760 (1 year) */
    readonly validityHours?: number;
    /** `pulumi up` re-issues the certificate this long before it expires. @default 720 (30 days) */
    readonly earlyRenewalHours?: number;
}

/**
 * One cluster's intermediate CA: its own key, a CSR naming the cluster, and a certificate from the environment's
 * root (or from an enterprise CA). Clusters trust each other only through the root.
 */
export class IntermediateCa extends pulumi.ComponentResource {
    /** Undefined in external mode until the enterprise CA has signed the CSR. */
    readonly certPem?: pulumi.Output<string>;
    readonly certRequestPem: pulumi.Output<string>;
    readonly privateKeyPem: pulumi.Output<string>;

    constructor(name: string, args: IntermediateCaArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("istio-production:pki:IntermediateCa", name, {}, opts);
        const key = new tls.PrivateKey(`${name}-key`, privateKeyArgs(args.key), { parent: this });
        const csr = new tls.CertRequest(`${name}-csr`, { privateKeyPem: key.privateKeyPem, subject: intermediateSubject(args.organization, args.cluster) }, { parent: this });
        if (args.issuer) {
            const cert = new tls.LocallySignedCert(`${name}-cert`, {
                certRequestPem: csr.certRequestPem,
                caCertPem: args.issuer.certPem,
                caPrivateKeyPem: args.issuer.privateKeyPem,
                isCaCertificate: true,
                validityPeriodHours: args.validityHours ?? 8760,
                earlyRenewalHours: args.earlyRenewalHours ?? 720,
                allowedUses: CA_KEY_USAGES,
                setSubjectKeyId: true,
            }, { parent: this });
            this.certPem = cert.certPem;
        } else if (args.externalCertPem) {
            const external = args.externalCertPem;
            this.certPem = key.privateKeyPem.apply((pem) => checkExternal(args.cluster, external, pem, args.externalRootPem));
        }
        this.certRequestPem = csr.certRequestPem;
        this.privateKeyPem = pulumi.secret(key.privateKeyPem);
        this.registerOutputs({ certPem: this.certPem, certRequestPem: this.certRequestPem, privateKeyPem: this.privateKeyPem });
    }
}

/** An enterprise-signed certificate must be a CA, carry this stack's key and chain to the configured root. */
export function checkExternal(cluster: string, certPem: string, keyPem: string, rootPem?: string): string {
    const cert = new crypto.X509Certificate(certPem);
    if (!cert.ca) throw new Error(`externalIntermediates.${cluster}: the certificate is not a CA certificate`);
    if (!cert.checkPrivateKey(crypto.createPrivateKey(keyPem))) {
        throw new Error(`externalIntermediates.${cluster}: the certificate does not carry this stack's key for ${cluster}; sign the CSR this stack exports`);
    }
    if (rootPem && !cert.verify(new crypto.X509Certificate(rootPem).publicKey)) {
        throw new Error(`externalIntermediates.${cluster}: the certificate is not signed by its environment's enterprise root`);
    }
    return certPem;
}
