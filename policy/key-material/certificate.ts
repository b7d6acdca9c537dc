import { isUnknown } from "./preview";

/**
 * What verifiers read from a signed CA certificate: its basic constraints and name constraints as DER carries them
 * (RFC 5280 §4.1: Certificate ::= SEQUENCE { tbsCertificate, ... }; extensions are tbsCertificate's [3]; §4.2.1.9
 * BasicConstraints; §4.2.1.10 NameConstraints with GeneralName [2] dNSName, [6] uniformResourceIdentifier).
 */
export interface SignedCaConstraints {
    readonly isCa: boolean;
    readonly pathLength?: number;
    readonly nameConstraints?: { readonly critical: boolean; readonly permittedUris: string[]; readonly permittedDns: string[] };
}

interface Tlv { readonly tag: number; readonly start: number; readonly end: number }

function tlv(b: Buffer, at: number): Tlv {
    let length = b[at + 1];
    let start = at + 2;
    if (length & 0x80) {
        const count = length & 0x7f;
        length = 0;
        for (let i = 0; i < count; i++) length = length * 256 + b[start + i];
        start += count;
    }
    if (b[at] === undefined || start + length > b.length) throw new Error("truncated DER");
    return { tag: b[at], start, end: start + length };
}

function children(b: Buffer, parent: Tlv): Tlv[] {
    const out: Tlv[] = [];
    for (let at = parent.start; at < parent.end; at = out[out.length - 1].end) out.push(tlv(b, at));
    return out;
}

const BASIC_CONSTRAINTS = "551d13"; // 2.5.29.19
const NAME_CONSTRAINTS = "551d1e"; // 2.5.29.30

/** The constraints of a PEM certificate; undefined when the value is not known yet (a first preview) or not a PEM. */
export function signedCaConstraints(certPem: unknown): SignedCaConstraints | undefined {
    if (isUnknown(certPem) || typeof certPem !== "string") return undefined;
    const body = /-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/.exec(certPem)?.[1];
    if (!body) return undefined;
    const b = Buffer.from(body.replace(/\s+/g, ""), "base64");
    const tbs = children(b, tlv(b, 0))[0];
    const extensions = children(b, tbs).find((t) => t.tag === 0xa3);
    let isCa = false;
    let pathLength: number | undefined;
    let nameConstraints: SignedCaConstraints["nameConstraints"];
    for (const ext of extensions ? children(b, children(b, extensions)[0]) : []) {
        const [oid, ...rest] = children(b, ext);
        const critical = rest[0].tag === 0x01 && b[rest[0].start] !== 0;
        const value = rest[rest.length - 1];
        const inner = children(b, value)[0];
        const id = b.subarray(oid.start, oid.end).toString("hex");
        if (id === BASIC_CONSTRAINTS) {
            for (const f of children(b, inner)) {
                if (f.tag === 0x01) isCa = b[f.start] !== 0;
                if (f.tag === 0x02) pathLength = b.subarray(f.start, f.end).reduce((n, x) => n * 256 + x, 0);
            }
        } else if (id === NAME_CONSTRAINTS) {
            const permitted = children(b, inner).find((t) => t.tag === 0xa0);
            const bases = permitted ? children(b, permitted).map((s) => children(b, s)[0]) : [];
            const text = (tag: number) => bases.filter((g) => g.tag === tag).map((g) => b.subarray(g.start, g.end).toString("latin1"));
            nameConstraints = { critical, permittedUris: text(0x86), permittedDns: text(0x82) };
        }
    }
    return { isCa, pathLength, nameConstraints };
}
