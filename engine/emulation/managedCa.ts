import { createECDH, createHmac, createPrivateKey, createPublicKey, X509Certificate } from "node:crypto";
import { randomBytes } from "../reproducible";
import { pemEncode } from "./tls/der";
import { describePublicKey, PrivateKeyInfo, subjectKeyId } from "./tls/keys";
import { nameFromSubject } from "./tls/names";
import { createCertificate, createCertificateRequest, EXTENDED_KEY_USAGES, KEY_USAGES, parseCertificatePem, parseCertificateRequestPem } from "./tls/x509";

/**
 * The HSM behind the emulated managed CAs (AWS Private CA, Google CAS): each CA's key is made here and never leaves
 * this module, as a hardware-backed CA's never leaves its HSM. Callers get what the services hand out: the CA's CSR,
 * an import that checks the certificate against the key, and certificates issued with the key.
 *
 * Keys are derived from the CA's resource name with a seed private to this module, so the same CA has the same key in
 * every plan: a pki stack file can hold a CSR the mesh stack exported earlier, as an operator would paste it.
 */
const HSM_SEED = "offline-engine hsm: keys derived here are never exported";

const CURVES = { P256: { ecdh: "prime256v1", jwk: "P-256", bytes: 32, n: BigInt("0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551") },
    P384: { ecdh: "secp384r1", jwk: "P-384", bytes: 48, n: BigInt("0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973") } } as const;
export type ManagedCaCurve = keyof typeof CURVES;

/** CA name → the certificate it was activated with; a CA issues nothing before. */
const activated = new Map<string, { certPem: string; chainPem: readonly string[] }>();

function hsmKey(caName: string, curve: ManagedCaCurve): PrivateKeyInfo {
    const c = CURVES[curve];
    const digest = createHmac(curve === "P256" ? "sha256" : "sha384", HSM_SEED).update(caName).digest();
    const d = (BigInt(`0x${digest.toString("hex")}`) % (c.n - 1n)) + 1n;
    const dBytes = Buffer.from(d.toString(16).padStart(c.bytes * 2, "0"), "hex");
    const ecdh = createECDH(c.ecdh);
    ecdh.setPrivateKey(dBytes);
    const point = ecdh.getPublicKey();
    const b64 = (b: Buffer) => b.toString("base64url");
    const key = createPrivateKey({ format: "jwk", key: { kty: "EC", crv: c.jwk, d: b64(dBytes), x: b64(point.subarray(1, 1 + c.bytes)), y: b64(point.subarray(1 + c.bytes)) } });
    return { key, publicKey: describePublicKey(createPublicKey(key)) };
}

/** The CSR the service exports for a subordinate CA awaiting its certificate. */
export function managedCaCsr(caName: string, curve: ManagedCaCurve, subject: { organization?: string; commonName: string }): string {
    return pemEncode("CERTIFICATE REQUEST", createCertificateRequest(nameFromSubject(subject), { dnsNames: [], ipAddresses: [], uris: [] }, hsmKey(caName, curve)));
}

/**
 * Import of the signed certificate, as ImportCertificateAuthorityCertificate and CAS activation check it: it must
 * carry the CA's own key, be a CA, and be signed by the first certificate of the chain given with it. Returns the
 * problem, or undefined when the CA is now active.
 */
export function activateManagedCa(caName: string, curve: ManagedCaCurve, certPem: string, chainPem: readonly string[]): string | undefined {
    let cert: X509Certificate;
    try {
        cert = new X509Certificate(certPem);
    } catch (e) {
        return `the certificate does not parse: ${(e as Error).message}`;
    }
    const own = hsmKey(caName, curve).publicKey.spki;
    if (!cert.publicKey.export({ format: "der", type: "spki" }).equals(own)) return "the certificate does not carry this CA's public key: sign the CSR this CA exported";
    if (!cert.ca) return "the certificate is not a CA certificate";
    if (!chainPem.length) return "the issuer chain is empty";
    const issuer = new X509Certificate(chainPem[0]);
    if (!cert.checkIssued(issuer) || !cert.verify(issuer.publicKey)) return "the certificate is not signed by the first certificate of the chain";
    activated.set(caName, { certPem, chainPem });
    return undefined;
}

/**
 * IssueCertificate / CreateCertificate with the CA's key: the CSR's key and SANs, an end-entity (or, with `isCa`, a
 * pathlen:0 CA) certificate. Throws as the services refuse a CA that is not active.
 */
export function issueFromManagedCa(caName: string, curve: ManagedCaCurve, csrPem: string, options: { validityMinutes: number; isCa?: boolean }): { certPem: string; chainPem: readonly string[] } {
    const ca = activated.get(caName);
    if (!ca) throw new Error(`${caName}: the CA is not active: import its signed certificate first`);
    const csr = parseCertificateRequestPem(csrPem);
    // The plan's clock and the resource's random source (engine/reproducible.ts): the same plan, the same certificate.
    const notBefore = new Date(Date.now());
    const isCa = options.isCa ?? false;
    const der = createCertificate({
        serialNumber: BigInt(`0x${randomBytes(16).toString("hex")}`),
        notBefore,
        notAfter: new Date(notBefore.getTime() + options.validityMinutes * 60_000),
        subject: csr.subject,
        sans: csr.sans,
        keyUsage: isCa ? KEY_USAGES.cert_signing | KEY_USAGES.crl_signing | KEY_USAGES.digital_signature : KEY_USAGES.digital_signature | KEY_USAGES.key_encipherment,
        extKeyUsage: isCa ? [] : [EXTENDED_KEY_USAGES.server_auth, EXTENDED_KEY_USAGES.client_auth],
        isCa,
        maxPathLen: 0,
        subjectKeyId: isCa ? subjectKeyId(csr.publicKey) : undefined,
    }, parseCertificatePem(ca.certPem), csr.publicKey, hsmKey(caName, curve));
    return { certPem: pemEncode("CERTIFICATE", der), chainPem: [ca.certPem, ...ca.chainPem] };
}
