import * as crypto from "node:crypto";

/**
 * The CA Issuer's `tls.crt` must hold the intermediate followed by the root that signed it. During a root rotation
 * the trust bundle holds two roots; only the signer belongs in the chain.
 */
export function issuerChain(intermediatePem: string, rootPems: readonly string[]): { chainPem: string; signerPem: string } {
    const intermediate = new crypto.X509Certificate(intermediatePem);
    const signerPem = rootPems.find((pem) => {
        const root = new crypto.X509Certificate(pem);
        return intermediate.checkIssued(root) && intermediate.verify(root.publicKey);
    });
    if (!signerPem) throw new Error(`the intermediate "${intermediate.subject.replace(/\n/g, ", ")}" is not signed by any root of the trust bundle: hand off the pki stack's outputs again`);
    return { chainPem: `${intermediatePem.trim()}\n${signerPem.trim()}\n`, signerPem };
}
