/**
 * X.509 name constraints (RFC 5280 §4.2.1.10), DER-encoded and decoded by hand: @peculiar/x509 2.2 has no
 * NameConstraints extension class. This module imports nothing: the intermediate signer's create code calls
 * `encodeNameConstraints`, and Pulumi serializes that code, with every function it reaches, into the dynamic
 * resource's `__provider` (pulumi.runtime.serializeFunction).
 *
 * What the constraints mean to verifiers (RFC 5280: a name type with no subtree of its type is unconstrained):
 * - URI subtrees match the URI's host only, whatever its scheme (openssl/openssl crypto/x509/v3_ncons.c `nc_uri`,
 *   the same in 3.0, which Node and `openssl verify` use here, and in master@01e5aa4; google/boringssl
 *   crypto/x509/v3_ncons.cc `nc_uri` at a0689af, the library Envoy verifies peers with). `spiffe://aws.td/ns/a/sa/b`
 *   and `https://aws.td/x` both match the subtree `aws.td`; a URI with another host, or without `//host` (`urn:...`),
 *   is refused. That the URI is a SPIFFE ID is enforced at issuance (approver-policy allows only
 *   `spiffe://<trust domain>/ns/<ns>/sa/<sa>` patterns) and by Istio, which takes identities only from `spiffe://`
 *   URIs.
 * - DNS subtrees match the name and its subdomains.
 * - IP subtrees: OpenSSL matches them (`nc_ip`); BoringSSL has no IP matcher and refuses any IP SAN under an IP
 *   constraint (`nc_match_single`: X509_V_ERR_UNSUPPORTED_CONSTRAINT_TYPE). Excluding every address refuses IP SANs
 *   in both, and costs nothing for certificates without one.
 */

/** The constraints this project's intermediates carry. */
export interface NameConstraints {
    /** Permitted URI hosts: the cluster's SPIFFE trust domain. */
    readonly permittedUriDomains: readonly string[];
    /** Permitted DNS names (each with its subdomains): the serving names the cluster's issuer signs. */
    readonly permittedDnsNames: readonly string[];
    /** Excluded IP ranges as CIDRs: `0.0.0.0/0` and `::/0`, so no certificate under the intermediate names an address. */
    readonly excludedIpRanges: readonly string[];
}

/** Every IPv4 and IPv6 address: CA/Browser Forum BR §7.1.2.5.2 asks a DNS-constrained CA to exclude both. */
export const ALL_IP_RANGES: readonly string[] = ["0.0.0.0/0", "::/0"];

export type GeneralNameType = "email" | "dns" | "directoryName" | "uri" | "ip" | "other";

/** One subtree as read from a certificate: its type and its value as text (IP ranges as CIDRs). */
export interface Subtree {
    readonly type: GeneralNameType;
    readonly value: string;
}

export interface DecodedNameConstraints {
    readonly permitted: readonly Subtree[];
    readonly excluded: readonly Subtree[];
}

/**
 * The DNS subtree that covers a serving name: a wildcard host by its base name. A dNSName constraint covers the name
 * and every subdomain (RFC 5280 §4.2.1.10; golang/go src/crypto/x509/verify.go matchDomainConstraint),
 * so the subtree `shop.example` permits `*.shop.example`. Both the signer and the check of an intermediate read
 * wildcards through this one function, so they cannot disagree on what a wildcard host needs.
 */
export function dnsSubtreeOf(name: string): string {
    return name.toLowerCase().replace(/^\*\./, "").replace(/^\./, "");
}

/** The constraints of a cluster's intermediate: its trust domain, the names its issuer serves, no IP addresses. */
export function constraintsFor(trustDomain: string, dnsNames: readonly string[]): NameConstraints {
    return {
        permittedUriDomains: [trustDomain],
        permittedDnsNames: [...new Set(dnsNames.map(dnsSubtreeOf))],
        excludedIpRanges: [...ALL_IP_RANGES],
    };
}

/** The DER of the extension's value: `NameConstraints ::= SEQUENCE { permittedSubtrees [0], excludedSubtrees [1] }`. */
export function encodeNameConstraints(nc: NameConstraints): Buffer {
    const tlv = (tag: number, body: Buffer): Buffer => {
        const n = body.length;
        const length = n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : [0x82, n >> 8, n & 0xff];
        return Buffer.concat([Buffer.from([tag, ...length]), body]);
    };
    const ia5 = (what: string, text: string): Buffer => {
        if (!/^[\x21-\x7e]+$/.test(text)) throw new Error(`name constraint ${what} ${JSON.stringify(text)} is not a printable ASCII name`);
        return Buffer.from(text, "ascii");
    };
    // GeneralSubtree ::= SEQUENCE { base GeneralName, minimum [0] DEFAULT 0, maximum [1] OPTIONAL }: base only.
    const subtree = (tag: number, value: Buffer) => tlv(0x30, tlv(tag, value));
    const permitted = [
        ...nc.permittedUriDomains.map((d) => subtree(0x86, ia5("URI host", d))),
        ...nc.permittedDnsNames.map((d) => subtree(0x82, ia5("DNS name", d))),
    ];
    const excluded = nc.excludedIpRanges.map((cidr) => subtree(0x87, ipRangeBytes(cidr)));
    return tlv(0x30, Buffer.concat([
        permitted.length ? tlv(0xa0, Buffer.concat(permitted)) : Buffer.alloc(0),
        excluded.length ? tlv(0xa1, Buffer.concat(excluded)) : Buffer.alloc(0),
    ]));
}

/** An IP subtree is the address followed by the mask (RFC 5280): 8 bytes for IPv4, 32 for IPv6. */
function ipRangeBytes(cidr: string): Buffer {
    const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr);
    if (v4 && v4.slice(1, 5).every((o) => Number(o) <= 255) && Number(v4[5]) <= 32) {
        const bits = Number(v4[5]);
        const mask = [0, 1, 2, 3].map((i) => (0xff00 >> Math.min(8, Math.max(0, bits - 8 * i))) & 0xff);
        return Buffer.from([...v4.slice(1, 5).map((o, i) => Number(o) & mask[i]), ...mask]);
    }
    if (cidr === "::/0") return Buffer.alloc(32);
    throw new Error(`excluded IP range ${JSON.stringify(cidr)} must be an IPv4 CIDR or ::/0`);
}

const TYPES: Record<number, GeneralNameType> = { 1: "email", 2: "dns", 4: "directoryName", 6: "uri", 7: "ip" };

/** Reads the extension's value as any CA may have written it (every GeneralName type, minimum/maximum ignored). */
export function decodeNameConstraints(der: Uint8Array): DecodedNameConstraints {
    const bytes = Buffer.from(der);
    const outer = readTlv(bytes, 0);
    if (outer.tag !== 0x30 || outer.end !== bytes.length) throw new Error("name constraints: not one DER SEQUENCE");
    const result: { permitted: Subtree[]; excluded: Subtree[] } = { permitted: [], excluded: [] };
    for (const list of children(bytes, outer)) {
        const into = list.tag === 0xa0 ? result.permitted : list.tag === 0xa1 ? result.excluded : undefined;
        if (!into) throw new Error(`name constraints: unexpected tag 0x${list.tag.toString(16)}`);
        for (const subtree of children(bytes, list)) {
            const base = children(bytes, subtree)[0];
            if (!base) throw new Error("name constraints: an empty subtree");
            const type = TYPES[base.tag & 0x1f] ?? "other";
            const value = bytes.subarray(base.start, base.end);
            into.push({ type, value: type === "ip" ? ipRangeText(value) : type === "directoryName" || type === "other" ? value.toString("hex") : value.toString("latin1") });
        }
    }
    return result;
}

interface Tlv {
    readonly tag: number;
    /** First byte of the contents. */
    readonly start: number;
    /** One past the last byte of the contents. */
    readonly end: number;
}

function readTlv(bytes: Buffer, at: number): Tlv {
    const tag = bytes[at];
    let length = bytes[at + 1];
    let start = at + 2;
    if (length & 0x80) {
        const count = length & 0x7f;
        if (count === 0 || count > 3) throw new Error("name constraints: unsupported DER length");
        length = 0;
        for (let i = 0; i < count; i++) length = length * 256 + bytes[start + i];
        start += count;
    }
    if (tag === undefined || start + length > bytes.length) throw new Error("name constraints: truncated DER");
    return { tag, start, end: start + length };
}

function children(bytes: Buffer, parent: Tlv): Tlv[] {
    const out: Tlv[] = [];
    for (let at = parent.start; at < parent.end;) {
        const child = readTlv(bytes, at);
        out.push(child);
        at = child.end;
    }
    return out;
}

function ipRangeText(value: Buffer): string {
    if (value.length === 8) {
        const prefix = [...value.subarray(4)].reduce((n, b) => n + countBits(b), 0);
        return `${[...value.subarray(0, 4)].join(".")}/${prefix}`;
    }
    if (value.length === 32) {
        const prefix = [...value.subarray(16)].reduce((n, b) => n + countBits(b), 0);
        const groups = [...Array(8).keys()].map((i) => value.readUInt16BE(2 * i).toString(16));
        return groups.every((g) => g === "0") ? `::/${prefix}` : `${groups.join(":")}/${prefix}`;
    }
    return `invalid:${value.toString("hex")}`;
}

function countBits(b: number): number {
    let n = 0;
    for (let v = b; v; v >>= 1) n += v & 1;
    return n;
}
