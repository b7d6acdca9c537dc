import * as crypto from "node:crypto";

/** One line of the machine-identity audit view: what a security team asks of every CA the program creates or uses. */
export interface CertificateRecord {
    readonly name: string;
    readonly role: "root" | "intermediate";
    readonly subject: string;
    readonly issuer: string;
    readonly keyAlgorithm: string;
    readonly serialNumber: string;
    readonly notBefore: string;
    readonly notAfter: string;
    readonly fingerprintSha256: string;
    /** Where the certificate is used: environments for roots, the cluster for intermediates. */
    readonly usedBy: readonly string[];
}

export function describeCertificate(name: string, role: CertificateRecord["role"], pem: string, usedBy: readonly string[]): CertificateRecord {
    const cert = new crypto.X509Certificate(pem);
    const details = cert.publicKey.asymmetricKeyDetails ?? {};
    const type = cert.publicKey.asymmetricKeyType ?? "unknown";
    const keyAlgorithm = type === "ec" ? `ECDSA ${details.namedCurve}` : type === "rsa" ? `RSA ${details.modulusLength}` : type;
    return {
        name, role, keyAlgorithm, usedBy,
        subject: cert.subject.replace(/\n/g, ", "),
        issuer: cert.issuer.replace(/\n/g, ", "),
        serialNumber: cert.serialNumber,
        notBefore: new Date(cert.validFrom).toISOString(),
        notAfter: new Date(cert.validTo).toISOString(),
        fingerprintSha256: cert.fingerprint256,
    };
}
