/**
 * Certificates and certificate requests as Go's crypto/x509 writes them for terraform-provider-tls: same field
 * order, string types, extension order and criticality, so verifiers see what they would see from the real provider.
 */
import { createPublicKey, KeyObject, X509Certificate } from "node:crypto";
import { boolean, children, explicit, integer, octetString, oid, pemDecode, read, readOid, sequence, setOf, time, tlv } from "./der";
import { describePublicKey, PrivateKeyInfo, PublicKeyInfo, signatureAlgorithm, signStructure } from "./keys";
import { decodeSans, encodeName, encodeSans, hasSans, Name, nameFromDer, SubjectAltNames } from "./names";

// --- Extensions ------------------------------------------------------------------------------------------------

export const KEY_USAGES = {
    digital_signature: 1 << 0,
    content_commitment: 1 << 1,
    key_encipherment: 1 << 2,
    data_encipherment: 1 << 3,
    key_agreement: 1 << 4,
    cert_signing: 1 << 5,
    crl_signing: 1 << 6,
    encipher_only: 1 << 7,
    decipher_only: 1 << 8,
} as const;

export const EXTENDED_KEY_USAGES = {
    any_extended: "2.5.29.37.0",
    server_auth: "1.3.6.1.5.5.7.3.1",
    client_auth: "1.3.6.1.5.5.7.3.2",
    code_signing: "1.3.6.1.5.5.7.3.3",
    email_protection: "1.3.6.1.5.5.7.3.4",
    ipsec_end_system: "1.3.6.1.5.5.7.3.5",
    ipsec_tunnel: "1.3.6.1.5.5.7.3.6",
    ipsec_user: "1.3.6.1.5.5.7.3.7",
    timestamping: "1.3.6.1.5.5.7.3.8",
    ocsp_signing: "1.3.6.1.5.5.7.3.9",
    microsoft_server_gated_crypto: "1.3.6.1.4.1.311.10.3.3",
    netscape_server_gated_crypto: "2.16.840.1.113730.4.1",
    microsoft_commercial_code_signing: "1.3.6.1.4.1.311.2.1.22",
    microsoft_kernel_code_signing: "1.3.6.1.4.1.311.61.1.1",
} as const;

const OID_SUBJECT_KEY_ID = "2.5.29.14";
const OID_SUBJECT_ALT_NAME = "2.5.29.17";
const OID_EXTENSION_REQUEST = "1.2.840.113549.1.9.14";

const extension = (id: string, critical: boolean, value: Buffer): Buffer =>
    sequence(oid(id), ...(critical ? [boolean(true)] : []), octetString(value));

/** Go's marshalKeyUsage: bit i of the usage is ASN.1 bit i, trailing zero bits dropped. */
function keyUsageValue(usage: number): Buffer {
    const reverse = (b: number) => parseInt(b.toString(2).padStart(8, "0").split("").reverse().join(""), 2);
    const bytes = [reverse(usage & 0xff), reverse(usage >> 8)];
    const used = Buffer.from(bytes[1] ? bytes : bytes.slice(0, 1));
    const last = used[used.length - 1];
    let unused = 0;
    while (!((last >> unused) & 1)) unused++;
    return tlv(0x03, Buffer.concat([Buffer.of(unused), used]));
}

// --- Certificates ----------------------------------------------------------------------------------------------

/** What the provider puts in its x509.Certificate template. */
export interface CertificateTemplate {
    readonly serialNumber: bigint;
    readonly notBefore: Date;
    readonly notAfter: Date;
    readonly subject: Name;
    readonly sans: SubjectAltNames;
    /** Bit set of KEY_USAGES values. */
    readonly keyUsage: number;
    readonly extKeyUsage: readonly string[];
    readonly isCa: boolean;
    /** Go's MaxPathLen with MaxPathLenZero never set: 0 and -1 both mean "no constraint". */
    readonly maxPathLen: number;
    readonly subjectKeyId?: Buffer;
    readonly authorityKeyId?: Buffer;
}

/** The parent certificate as Go's CreateCertificate uses it. */
export interface Issuer {
    /** DER of the issuer's subject, copied verbatim into the new certificate. */
    readonly rawSubject: Buffer;
    readonly subjectKeyId?: Buffer;
    readonly publicKey: KeyObject;
}

/**
 * Go's x509.CreateCertificate for the templates the provider builds; `issuer` undefined means self-signed (the
 * template is its own parent). Throws with Go's messages.
 */
export function createCertificate(template: CertificateTemplate, issuer: Issuer | undefined, subjectKey: PublicKeyInfo, signer: PrivateKeyInfo): Buffer {
    if (!template.isCa && template.maxPathLen !== -1 && template.maxPathLen !== 0) {
        throw new Error("x509: only CAs are allowed to specify MaxPathLen");
    }
    const subject = encodeName(template.subject);
    const issuerName = issuer?.rawSubject ?? subject;
    const authorityKeyId =
        issuer?.subjectKeyId?.length && !issuerName.equals(subject) ? issuer.subjectKeyId : template.authorityKeyId;
    if (issuer && !signer.publicKey.key.equals(issuer.publicKey)) {
        throw new Error("x509: provided PrivateKey doesn't match parent's PublicKey");
    }

    const extensions: Buffer[] = [];
    if (template.keyUsage) extensions.push(extension("2.5.29.15", true, keyUsageValue(template.keyUsage)));
    if (template.extKeyUsage.length) extensions.push(extension("2.5.29.37", false, sequence(...template.extKeyUsage.map(oid))));
    const pathLen = template.isCa && template.maxPathLen > 0 ? [integer(BigInt(template.maxPathLen))] : [];
    extensions.push(extension("2.5.29.19", true, template.isCa ? sequence(boolean(true), ...pathLen) : sequence()));
    if (template.subjectKeyId?.length) extensions.push(extension(OID_SUBJECT_KEY_ID, false, octetString(template.subjectKeyId)));
    if (authorityKeyId?.length) extensions.push(extension("2.5.29.35", false, sequence(tlv(0x80, authorityKeyId))));
    if (hasSans(template.sans)) {
        // RFC 5280 4.2.1.6: with an empty subject (DER 30 00) the SAN carries the identity and must be critical.
        extensions.push(extension(OID_SUBJECT_ALT_NAME, subject.length === 2, encodeSans(template.sans)));
    }

    const tbs = sequence(
        explicit(0, integer(2n)),
        integer(template.serialNumber),
        signatureAlgorithm(signer.publicKey).identifier,
        issuerName,
        sequence(time(template.notBefore), time(template.notAfter)),
        subject,
        subjectKey.spki,
        explicit(3, sequence(...extensions)),
    );
    return signStructure(signer, tbs);
}

function decodePem(text: string, expected: string): Buffer {
    const block = pemDecode(text);
    if (!block) throw new Error(`failed to decode PEM of expected type ${JSON.stringify(expected)} from bytes`);
    if (block.type !== expected) {
        throw new Error(`invalid PEM type - expected ${JSON.stringify(expected)}, got ${JSON.stringify(block.type)}`);
    }
    return block.der;
}

/** The provider's parseCertificate: exactly one certificate in the first PEM block. */
export function parseCertificatePem(text: string): Issuer {
    const der = decodePem(text, "CERTIFICATE");
    const outer = read(der);
    if (outer.der.length !== der.length) throw new Error("multiple certificates found in");
    let cert: X509Certificate;
    try {
        cert = new X509Certificate(der);
    } catch (err) {
        throw new Error(`failed to parse certificate: ${(err as Error).message}`);
    }
    const tbs = children(children(outer)[0]);
    const fields = tbs[0].tag === 0xa0 ? tbs.slice(1) : tbs;
    const extensions = fields.find((f) => f.tag === 0xa3);
    const skid = extensions && children(children(extensions)[0]).find((e) => readOid(children(e)[0]) === OID_SUBJECT_KEY_ID);
    return {
        rawSubject: fields[4].der,
        subjectKeyId: skid && read(children(skid).at(-1)!.content).content,
        publicKey: cert.publicKey,
    };
}

// --- Certificate requests --------------------------------------------------------------------------------------

/** Go's x509.CreateCertificateRequest: SANs travel in a non-critical extension inside an extensionRequest attribute. */
export function createCertificateRequest(subject: Name, sans: SubjectAltNames, signer: PrivateKeyInfo): Buffer {
    const attributes = hasSans(sans)
        ? [sequence(oid(OID_EXTENSION_REQUEST), setOf([sequence(extension(OID_SUBJECT_ALT_NAME, false, encodeSans(sans)))]))]
        : [];
    const info = sequence(integer(0n), encodeName(subject), signer.publicKey.spki, tlv(0xa0, Buffer.concat(attributes)));
    return signStructure(signer, info);
}

export interface ParsedCertificateRequest {
    readonly subject: Name;
    readonly sans: SubjectAltNames;
    readonly publicKey: PublicKeyInfo;
}

/** Go's x509.ParseCertificateRequest, as the provider calls it: the request's own signature is not checked. */
export function parseCertificateRequestPem(text: string): ParsedCertificateRequest {
    const der = decodePem(text, "CERTIFICATE REQUEST");
    try {
        const [, subjectNode, spkiNode, attributesNode] = children(children(read(der))[0]);
        let sans: SubjectAltNames = { dnsNames: [], ipAddresses: [], uris: [] };
        for (const attribute of attributesNode ? children(attributesNode) : []) {
            const [type, values] = children(attribute);
            if (readOid(type) !== OID_EXTENSION_REQUEST) continue;
            for (const ext of children(values).flatMap(children)) {
                const parts = children(ext);
                if (readOid(parts[0]) === OID_SUBJECT_ALT_NAME) sans = decodeSans(parts.at(-1)!.content);
            }
        }
        return {
            subject: nameFromDer(subjectNode),
            sans,
            publicKey: describePublicKey(createPublicKey({ key: spkiNode.der, format: "der", type: "spki" })),
        };
    } catch (err) {
        throw new Error(`failed to parse certificate request: ${(err as Error).message}`);
    }
}
