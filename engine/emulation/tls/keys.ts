/**
 * Keys as terraform-provider-tls handles them: generation, the PEM/OpenSSH encodings it stores, the ids it derives,
 * and the signature algorithm Go's crypto/x509 picks for each key.
 *
 * Everything goes through node:crypto rather than WebCrypto because the provider's default curve is P-224, which
 * WebCrypto does not offer.
 */
import { createHash, createPrivateKey, createPublicKey, KeyObject, sign } from "node:crypto";
import { currentRandom, deriveEcKey, deriveEd25519Key, deriveRsaKey, randomBytes, signEcdsaDeterministic } from "../../reproducible";
import { bitString, children, NULL, octetString, oid, pemDecode, pemEncode, read, sequence } from "./der";

export const ALGORITHMS = ["RSA", "ECDSA", "ED25519"] as const;
export type Algorithm = (typeof ALGORITHMS)[number];
export const CURVES = ["P224", "P256", "P384", "P521"] as const;
export type Curve = (typeof CURVES)[number];

const CURVE_INFO: Record<Curve, { namedCurve: string; hash: string; signatureOid: string; sshName?: string }> = {
    // x/crypto/ssh has no P-224, so the provider stores empty OpenSSH fields for it.
    P224: { namedCurve: "secp224r1", hash: "sha256", signatureOid: "1.2.840.10045.4.3.2" },
    P256: { namedCurve: "prime256v1", hash: "sha256", signatureOid: "1.2.840.10045.4.3.2", sshName: "nistp256" },
    P384: { namedCurve: "secp384r1", hash: "sha384", signatureOid: "1.2.840.10045.4.3.3", sshName: "nistp384" },
    P521: { namedCurve: "secp521r1", hash: "sha512", signatureOid: "1.2.840.10045.4.3.4", sshName: "nistp521" },
};
const curveOfNodeName = (name: string | undefined): Curve | undefined =>
    CURVES.find((curve) => CURVE_INFO[curve].namedCurve === name);

/** A public key reduced to what certificates and the provider's outputs are made from. */
export interface PublicKeyInfo {
    readonly algorithm: Algorithm;
    readonly curve?: Curve;
    readonly key: KeyObject;
    /** SubjectPublicKeyInfo DER, identical to Go's MarshalPKIXPublicKey. */
    readonly spki: Buffer;
    /** The SPKI's BIT STRING contents: PKCS#1 RSAPublicKey, uncompressed EC point, or raw Ed25519 key. */
    readonly keyBits: Buffer;
}

export interface PrivateKeyInfo {
    readonly key: KeyObject;
    readonly publicKey: PublicKeyInfo;
}

export function describePublicKey(key: KeyObject): PublicKeyInfo {
    const type = key.asymmetricKeyType;
    const curve = type === "ec" ? curveOfNodeName(key.asymmetricKeyDetails?.namedCurve) : undefined;
    const algorithm = type === "rsa" ? "RSA" : type === "ed25519" ? "ED25519" : curve ? "ECDSA" : undefined;
    if (!algorithm) {
        throw new Error(type === "ec" ? "x509: unsupported elliptic curve" : `x509: unsupported public key type: ${type}`);
    }
    const spki = key.export({ format: "der", type: "spki" });
    const keyBits = children(read(spki))[1].content.subarray(1);
    return { algorithm, curve, key, spki, keyBits };
}

const describePrivateKey = (key: KeyObject): PrivateKeyInfo => ({ key, publicKey: describePublicKey(createPublicKey(key)) });

export async function generatePrivateKey(algorithm: Algorithm, rsaBits: number, curve: Curve): Promise<PrivateKeyInfo> {
    switch (algorithm) {
        case "RSA":
            if (rsaBits < 1024) {
                throw new Error(`crypto/rsa: ${rsaBits}-bit keys are insecure (see https://go.dev/pkg/crypto/rsa#hdr-Minimum_key_size)`);
            }
            // Derived from the resource's random source (engine/reproducible.ts): a plan's keys are reproducible.
            return describePrivateKey(deriveRsaKey(rsaBits, currentRandom()));
        case "ECDSA":
            return describePrivateKey(deriveEcKey(CURVE_INFO[curve].namedCurve, currentRandom()));
        case "ED25519":
            return describePrivateKey(deriveEd25519Key(currentRandom()));
    }
}

const PRIVATE_KEY_FORMATS: Record<string, "pkcs1" | "sec1" | "pkcs8" | undefined> = {
    "RSA PRIVATE KEY": "pkcs1",
    "EC PRIVATE KEY": "sec1",
    "PRIVATE KEY": "pkcs8",
    "PUBLIC KEY": undefined,
    CERTIFICATE: undefined,
    "CERTIFICATE REQUEST": undefined,
};

/** The provider's parsePrivateKeyPEM: first PEM block, parser chosen by its preamble, RSA/ECDSA/Ed25519 only. */
export function parsePrivateKeyPem(text: string): PrivateKeyInfo {
    const block = pemDecode(text);
    if (!block) throw new Error(`failed to decode PEM block: decoded bytes 0, undecoded ${Buffer.byteLength(text)}`);
    if (!(block.type in PRIVATE_KEY_FORMATS)) throw new Error(`unsupported PEM preamble/type: ${block.type}`);
    const format = PRIVATE_KEY_FORMATS[block.type];
    if (!format) throw new Error(`unable to determine parser for PEM preamble: ${block.type}`);
    let key: KeyObject;
    try {
        key = createPrivateKey({ key: block.der, format: "der", type: format });
    } catch (err) {
        throw new Error(`failed to parse private key given PEM preamble '${block.type}': ${(err as Error).message}`);
    }
    try {
        return describePrivateKey(key);
    } catch (err) {
        throw new Error(`failed to determine key algorithm for private key: ${(err as Error).message}`);
    }
}

/** `private_key_pem` is PKCS#1 for RSA, SEC1 for ECDSA and PKCS#8 for Ed25519; OpenSSL writes the same DER as Go. */
export function privateKeyPem({ key, publicKey }: PrivateKeyInfo): string {
    const type = publicKey.algorithm === "RSA" ? "pkcs1" : publicKey.algorithm === "ECDSA" ? "sec1" : "pkcs8";
    return key.export({ format: "pem", type }) as string;
}

export const privateKeyPemPkcs8 = ({ key }: PrivateKeyInfo): string => key.export({ format: "pem", type: "pkcs8" }) as string;

// --- Ids -------------------------------------------------------------------------------------------------------

const UNICODE_SPACES = ["\u0085", "\u00a0", "\u1680", "\u2028", "\u2029", "\u202f", "\u205f", "\u3000"]
    .concat(Array.from({ length: 11 }, (_, i) => String.fromCharCode(0x2000 + i)))
    .map((space) => Buffer.from(space, "utf8"));

/**
 * The provider's hashForState: hex SHA-1 of `strings.TrimSpace(string(der))`. Go trims Unicode white space off the
 * raw bytes, so a DER value that happens to end in such bytes hashes shorter. DER starts with 0x30, so only the
 * tail can lose bytes.
 */
export function hashForState(der: Buffer): string {
    let end = der.length;
    for (;;) {
        const last = der[end - 1];
        if (last === 0x20 || (last >= 0x09 && last <= 0x0d)) {
            end--;
            continue;
        }
        const space = UNICODE_SPACES.find((s) => s.length <= end && der.subarray(end - s.length, end).equals(s));
        if (!space) break;
        end -= space.length;
    }
    return createHash("sha1").update(der.subarray(0, end)).digest("hex");
}

/**
 * The provider's generateSubjectKeyID: SHA-1 of the PKCS#1 key for RSA and of the point for ECDSA, but for Ed25519
 * of the key wrapped as an ASN.1 OCTET STRING (it calls asn1.Marshal on the byte slice).
 */
export function subjectKeyId(pub: PublicKeyInfo): Buffer {
    const input = pub.algorithm === "ED25519" ? octetString(pub.keyBits) : pub.keyBits;
    return createHash("sha1").update(input).digest();
}

// --- Signing ---------------------------------------------------------------------------------------------------

/** Go's signingParamsForKey defaults: SHA-256 RSA PKCS#1 v1.5, ECDSA hash by curve size (P-224 too uses SHA-256). */
export function signatureAlgorithm(pub: PublicKeyInfo): { identifier: Buffer; hash: string | null } {
    switch (pub.algorithm) {
        case "RSA":
            return { identifier: sequence(oid("1.2.840.113549.1.1.11"), NULL), hash: "sha256" };
        case "ECDSA": {
            const info = CURVE_INFO[pub.curve!];
            return { identifier: sequence(oid(info.signatureOid)), hash: info.hash };
        }
        case "ED25519":
            return { identifier: sequence(oid("1.3.101.112")), hash: null };
    }
}

/** Signs `tbs` and wraps it as Go does for certificates and requests: SEQUENCE { tbs, algorithm, BIT STRING }. */
export function signStructure(signer: PrivateKeyInfo, tbs: Buffer): Buffer {
    const { identifier, hash } = signatureAlgorithm(signer.publicKey);
    // ECDSA with RFC 6979 nonces: the same plan gives the same signature bytes (RSA PKCS #1 v1.5 and Ed25519 already do).
    const signature = signer.publicKey.algorithm === "ECDSA" ? signEcdsaDeterministic(hash!, tbs, signer.key) : sign(hash, tbs, signer.key);
    return sequence(tbs, identifier, bitString(signature));
}

// --- OpenSSH ---------------------------------------------------------------------------------------------------

const u32 = (n: number): Buffer => {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(n);
    return b;
};
const sshString = (bytes: Buffer | string): Buffer => {
    const b = typeof bytes === "string" ? Buffer.from(bytes) : bytes;
    return Buffer.concat([u32(b.length), b]);
};
/** SSH mpint from an unsigned big-endian magnitude (JWK members are base64url magnitudes). */
const mpint = (magnitude: Buffer | string): Buffer => {
    let b = typeof magnitude === "string" ? Buffer.from(magnitude, "base64url") : magnitude;
    while (b.length && b[0] === 0) b = b.subarray(1);
    return sshString(b.length && b[0] & 0x80 ? Buffer.concat([Buffer.of(0), b]) : b);
};

function sshKeyType(pub: PublicKeyInfo): string {
    if (pub.algorithm === "RSA") return "ssh-rsa";
    if (pub.algorithm === "ED25519") return "ssh-ed25519";
    return `ecdsa-sha2-${CURVE_INFO[pub.curve!].sshName}`;
}

/** The SSH wire-format public key blob; undefined for P-224, which x/crypto/ssh cannot represent. */
function sshPublicKeyBlob(pub: PublicKeyInfo): Buffer | undefined {
    switch (pub.algorithm) {
        case "RSA": {
            const jwk = pub.key.export({ format: "jwk" });
            return Buffer.concat([sshString("ssh-rsa"), mpint(jwk.e!), mpint(jwk.n!)]);
        }
        case "ECDSA": {
            const sshName = CURVE_INFO[pub.curve!].sshName;
            if (!sshName) return undefined;
            return Buffer.concat([sshString(sshKeyType(pub)), sshString(sshName), sshString(pub.keyBits)]);
        }
        case "ED25519":
            return Buffer.concat([sshString("ssh-ed25519"), sshString(pub.keyBits)]);
    }
}

/** The provider's setPublicKeyAttributes: empty strings where x/crypto/ssh has no encoding (P-224). */
export function publicKeyOutputs(pub: PublicKeyInfo) {
    const blob = sshPublicKeyBlob(pub);
    return {
        id: hashForState(pub.spki),
        publicKeyPem: pemEncode("PUBLIC KEY", pub.spki),
        publicKeyOpenssh: blob ? `${sshKeyType(pub)} ${blob.toString("base64")}\n` : "",
        publicKeyFingerprintMd5: blob ? (createHash("md5").update(blob).digest("hex").match(/../g) ?? []).join(":") : "",
        publicKeyFingerprintSha256: blob ? `SHA256:${createHash("sha256").update(blob).digest("base64").replace(/=+$/, "")}` : "",
    };
}

/**
 * x/crypto/ssh MarshalPrivateKey(key, ""): an unencrypted openssh-key-v1 container with a random check word, an
 * empty comment and 1,2,3… padding to 8 bytes, PEM-wrapped at 64 columns. Empty for P-224.
 */
export function privateKeyOpenssh({ key, publicKey: pub }: PrivateKeyInfo): string {
    const blob = sshPublicKeyBlob(pub);
    if (!blob) return "";
    const jwk = key.export({ format: "jwk" });
    let fields: Buffer[];
    switch (pub.algorithm) {
        case "RSA":
            fields = [mpint(jwk.n!), mpint(jwk.e!), mpint(jwk.d!), mpint(jwk.qi!), mpint(jwk.p!), mpint(jwk.q!)];
            break;
        case "ECDSA":
            fields = [sshString(CURVE_INFO[pub.curve!].sshName!), sshString(pub.keyBits), mpint(jwk.d!)];
            break;
        case "ED25519":
            fields = [sshString(pub.keyBits), sshString(Buffer.concat([Buffer.from(jwk.d!, "base64url"), pub.keyBits]))];
            break;
    }
    const check = randomBytes(4);
    const body = Buffer.concat([check, check, sshString(sshKeyType(pub)), ...fields, sshString("")]);
    const padding = Buffer.from(Array.from({ length: (8 - (body.length % 8)) % 8 }, (_, i) => i + 1));
    const container = Buffer.concat([
        Buffer.from("openssh-key-v1\0", "latin1"),
        sshString("none"),
        sshString("none"),
        sshString(""),
        u32(1),
        sshString(blob),
        sshString(Buffer.concat([body, padding])),
    ]);
    return pemEncode("OPENSSH PRIVATE KEY", container);
}
