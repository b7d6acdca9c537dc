/**
 * Distinguished names and subject alternative names as Go's crypto/x509 writes and reads them for
 * terraform-provider-tls: attribute order, string types and SET ordering of pkix.Name, SAN order and IP forms.
 */
import { isIPv4, isIPv6 } from "node:net";
import { children, directoryString, ia5String, Node, oid, read, readOid, sequence, setOf, tlv } from "./der";

const MULTI_VALUED = [
    ["country", "2.5.4.6"],
    ["province", "2.5.4.8"],
    ["locality", "2.5.4.7"],
    ["streetAddress", "2.5.4.9"],
    ["postalCode", "2.5.4.17"],
    ["organization", "2.5.4.10"],
    ["organizationalUnit", "2.5.4.11"],
] as const;
const OID_COMMON_NAME = "2.5.4.3";
const OID_SERIAL_NUMBER = "2.5.4.5";
const OID_EMAIL_ADDRESS = "1.2.840.113549.1.9.1";

type MultiValuedField = (typeof MULTI_VALUED)[number][0];

/** Go's pkix.Name, reduced to what the provider sets and reads. */
export type Name = { readonly [F in MultiValuedField]?: readonly string[] } & {
    readonly commonName: string;
    readonly serialNumber: string;
    /** Encoded AttributeTypeAndValues appended after the standard ones (the provider's e-mail attribute). */
    readonly extraNames: readonly Buffer[];
    /** Go's `cmp.Equal(name, pkix.Name{})`, the provider's test for "no subject" before issuing a CA. */
    readonly isZero: boolean;
};

export interface SubjectInput {
    commonName?: string;
    organization?: string;
    organizationalUnit?: string;
    streetAddresses?: string[];
    locality?: string;
    province?: string;
    country?: string;
    postalCode?: string;
    serialNumber?: string;
    emailAddress?: string;
}

const atv = (type: string, value: Buffer): Buffer => sequence(oid(type), value);

/** The provider's createSubjectDistinguishedNames. An empty string still counts as set, except for CN and serial. */
export function nameFromSubject(subject: SubjectInput | undefined): Name {
    const s = subject ?? {};
    const one = (value: string | undefined) => (value == null ? undefined : [value]);
    const name = {
        country: one(s.country),
        province: one(s.province),
        locality: one(s.locality),
        streetAddress: s.streetAddresses ?? undefined,
        postalCode: one(s.postalCode),
        organization: one(s.organization),
        organizationalUnit: one(s.organizationalUnit),
        commonName: s.commonName ?? "",
        serialNumber: s.serialNumber ?? "",
        extraNames: s.emailAddress == null ? [] : [atv(OID_EMAIL_ADDRESS, ia5String(s.emailAddress))],
    };
    const isZero = !name.commonName && !name.serialNumber && s.emailAddress == null && MULTI_VALUED.every(([f]) => !name[f]);
    return { ...name, isZero };
}

/** Go's Name.ToRDNSequence: fixed attribute order, one RDN per attribute type, extra names last. */
export function encodeName(name: Name): Buffer {
    const rdns: Buffer[] = [];
    for (const [field, type] of MULTI_VALUED) {
        const values = name[field];
        if (values?.length) rdns.push(setOf(values.map((v) => atv(type, directoryString(v)))));
    }
    if (name.commonName) rdns.push(setOf([atv(OID_COMMON_NAME, directoryString(name.commonName))]));
    if (name.serialNumber) rdns.push(setOf([atv(OID_SERIAL_NUMBER, directoryString(name.serialNumber))]));
    for (const extra of name.extraNames) rdns.push(setOf([extra]));
    return sequence(...rdns);
}

function decodeString(node: Node): string | undefined {
    switch (node.tag) {
        case 0x0c:
            return node.content.toString("utf8");
        case 0x12: case 0x13: case 0x14: case 0x16:
            return node.content.toString("latin1");
        case 0x1e:
            return Buffer.from(node.content).swap16().toString("utf16le");
        default:
            return undefined;
    }
}

/**
 * Go's Name.FillFromRDNSequence: known string attributes land in fields, anything else only in `Names`, which
 * ToRDNSequence ignores; so a CSR's e-mail attribute does not survive into a locally signed certificate.
 */
export function nameFromDer(node: Node): Name {
    const fields: Record<string, string[]> = {};
    let commonName = "";
    let serialNumber = "";
    let attributes = 0;
    for (const rdn of children(node)) {
        for (const attribute of children(rdn)) {
            attributes++;
            const [typeNode, valueNode] = children(attribute);
            const type = readOid(typeNode);
            const value = decodeString(valueNode);
            if (value === undefined) continue;
            if (type === OID_COMMON_NAME) commonName = value;
            else if (type === OID_SERIAL_NUMBER) serialNumber = value;
            else {
                const field = MULTI_VALUED.find(([, t]) => t === type)?.[0];
                if (field) (fields[field] ??= []).push(value);
            }
        }
    }
    return { ...fields, commonName, serialNumber, extraNames: [], isZero: attributes === 0 };
}

// --- Subject alternative names ---------------------------------------------------------------------------------

export interface SubjectAltNames {
    readonly dnsNames: readonly string[];
    /** 4- or 16-byte addresses, as Go's net.IP holds them. */
    readonly ipAddresses: readonly Buffer[];
    readonly uris: readonly string[];
}

/** Go's net.ParseIP, which (unlike node) refuses zones: 4 bytes for IPv4, 16 for IPv6. */
export function parseIp(text: string): Buffer | undefined {
    if (isIPv4(text)) return Buffer.from(text.split(".").map(Number));
    if (!isIPv6(text) || text.includes("%")) return undefined;
    const words = (part: string) => (part ? part.split(":").map((group) => parseInt(group, 16)) : []);
    let head = text;
    let tail: number[] = [];
    const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
    if (dotted) {
        const [a, b, c, d] = dotted.slice(1).map(Number);
        tail = [(a << 8) | b, (c << 8) | d];
        head = text.slice(0, dotted.index);
        if (!head.endsWith("::")) head = head.slice(0, -1);
    }
    const [left, right] = head.split("::").map(words);
    const all = right === undefined
        ? [...left, ...tail]
        : [...left, ...Array(8 - left.length - right.length - tail.length).fill(0), ...right, ...tail];
    const bytes = Buffer.alloc(16);
    all.forEach((word, i) => bytes.writeUInt16BE(word, i * 2));
    return bytes;
}

/** Go's net.IP.To4 as marshalSANs applies it: IPv4-mapped IPv6 addresses are written as 4 bytes. */
function ipForSan(ip: Buffer): Buffer {
    const mapped = ip.length === 16 && ip.subarray(0, 10).every((b) => b === 0) && ip[10] === 0xff && ip[11] === 0xff;
    return mapped ? ip.subarray(12) : ip;
}

/**
 * The parts of Go's url.Parse / URL.String that change or refuse what the provider is given: control characters and
 * bad escapes are errors, the scheme is lower-cased. Other normalisations of exotic URIs are not reproduced.
 */
export function normaliseUri(text: string): string {
    const fail = (why: string) => new Error(`parse ${JSON.stringify(text)}: ${why}`);
    if (/[\x00-\x1f\x7f]/.test(text)) throw fail("net/url: invalid control character in URL");
    if (text.startsWith(":")) throw fail("missing protocol scheme");
    const badEscape = /%(?![0-9a-fA-F]{2})(.{0,2})/.exec(text);
    if (badEscape) throw fail(`invalid URL escape ${JSON.stringify(badEscape[0])}`);
    const scheme = /^[a-zA-Z][a-zA-Z0-9+.-]*:/.exec(text);
    return scheme ? scheme[0].toLowerCase() + text.slice(scheme[0].length) : text;
}

function assertIa5(value: string): void {
    if (/[^\x00-\x7f]/.test(value)) throw new Error(`x509: ${JSON.stringify(value)} cannot be encoded as an IA5String`);
}

/** Go's marshalSANs (the provider never sets e-mail SANs): DNS names, then IPs, then URIs. */
export function encodeSans(sans: SubjectAltNames): Buffer {
    sans.dnsNames.forEach(assertIa5);
    sans.uris.forEach(assertIa5);
    return sequence(
        ...sans.dnsNames.map((n) => tlv(0x82, Buffer.from(n, "latin1"))),
        ...sans.ipAddresses.map((ip) => tlv(0x87, ipForSan(ip))),
        ...sans.uris.map((u) => tlv(0x86, Buffer.from(u, "latin1"))),
    );
}

export const hasSans = (sans: SubjectAltNames) => sans.dnsNames.length + sans.ipAddresses.length + sans.uris.length > 0;

/** Go's parseSANExtension; e-mail names are read and dropped, as the provider's templates never copy them. */
export function decodeSans(value: Buffer): SubjectAltNames {
    const dnsNames: string[] = [];
    const ipAddresses: Buffer[] = [];
    const uris: string[] = [];
    for (const name of children(read(value))) {
        const text = name.content.toString("latin1");
        switch (name.tag) {
            case 0x82:
                if (/[^\x00-\x7f]/.test(text)) throw new Error("x509: SAN dNSName is malformed");
                dnsNames.push(text);
                break;
            case 0x87:
                if (name.content.length !== 4 && name.content.length !== 16) {
                    throw new Error(`x509: cannot parse IP address of length ${name.content.length}`);
                }
                ipAddresses.push(Buffer.from(name.content));
                break;
            case 0x86: {
                const host = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/([^/?#]*)/.exec(text)?.[1].replace(/^.*@/, "") ?? "";
                const validDomain = host.split(".").every((label) => label.length > 0 && /^[\x21-\x7e]+$/.test(label));
                if (host && !validDomain) throw new Error(`x509: cannot parse URI ${JSON.stringify(text)}: invalid domain`);
                uris.push(normaliseUri(text));
                break;
            }
        }
    }
    return { dnsNames, ipAddresses, uris };
}
