/**
 * Just enough DER and PEM to emit byte-for-byte what Go's encoding/asn1 and encoding/pem emit for the structures
 * terraform-provider-tls builds, and to read back the certificates and requests it is handed.
 */

export function tlv(tag: number, content: Buffer): Buffer {
    const n = content.length;
    if (n < 0x80) return Buffer.concat([Buffer.of(tag, n), content]);
    const len: number[] = [];
    for (let rest = n; rest > 0; rest = Math.floor(rest / 256)) len.unshift(rest % 256);
    return Buffer.concat([Buffer.of(tag, 0x80 | len.length, ...len), content]);
}

export const sequence = (...items: Buffer[]): Buffer => tlv(0x30, Buffer.concat(items));

/** DER SET OF: members in ascending order of their encodings (X.690 11.6), as Go sorts them. */
export const setOf = (items: readonly Buffer[]): Buffer => tlv(0x31, Buffer.concat([...items].sort(Buffer.compare)));

export const boolean = (value: boolean): Buffer => tlv(0x01, Buffer.of(value ? 0xff : 0x00));
export const octetString = (bytes: Buffer): Buffer => tlv(0x04, bytes);
export const bitString = (bytes: Buffer): Buffer => tlv(0x03, Buffer.concat([Buffer.of(0), bytes]));
export const NULL = Buffer.of(0x05, 0x00);
export const explicit = (tagNumber: number, inner: Buffer): Buffer => tlv(0xa0 | tagNumber, inner);

/** A non-negative INTEGER (serials, versions, path lengths: nothing here is negative). */
export function integer(value: bigint): Buffer {
    let hex = value.toString(16);
    if (hex.length % 2) hex = "0" + hex;
    const bytes = Buffer.from(hex, "hex");
    return tlv(0x02, bytes[0] & 0x80 ? Buffer.concat([Buffer.of(0), bytes]) : bytes);
}

export function oid(dotted: string): Buffer {
    const arcs = dotted.split(".").map(Number);
    const out: number[] = [];
    for (const arc of [arcs[0] * 40 + arcs[1], ...arcs.slice(2)]) {
        const groups = [arc & 0x7f];
        for (let rest = Math.floor(arc / 128); rest > 0; rest = Math.floor(rest / 128)) groups.unshift(0x80 | (rest & 0x7f));
        out.push(...groups);
    }
    return tlv(0x06, Buffer.from(out));
}

/** Go's encoding/asn1 string rule: PrintableString when every byte allows it ('*' and '&' do not), else UTF8String. */
export function directoryString(value: string): Buffer {
    const printable = /^[A-Za-z0-9 '()+,\-./:=?]*$/.test(value);
    return tlv(printable ? 0x13 : 0x0c, Buffer.from(value, "utf8"));
}

export const ia5String = (value: string): Buffer => tlv(0x16, Buffer.from(value, "latin1"));

/** Go's time encoding: UTCTime for 1950–2049, GeneralizedTime otherwise; whole seconds, always Zulu. */
export function time(date: Date): Buffer {
    const iso = date.toISOString();
    const year = date.getUTCFullYear();
    const digits = iso.slice(0, 19).replace(/[-T:]/g, "");
    return year >= 1950 && year < 2050
        ? tlv(0x17, Buffer.from(digits.slice(2) + "Z", "latin1"))
        : tlv(0x18, Buffer.from(digits + "Z", "latin1"));
}

export interface Node {
    readonly tag: number;
    /** The whole encoding, header included. */
    readonly der: Buffer;
    readonly content: Buffer;
}

export function read(buf: Buffer, offset = 0): Node {
    const tag = buf[offset];
    if (tag === undefined || (tag & 0x1f) === 0x1f) throw new Error("asn1: unsupported or truncated tag");
    let len = buf[offset + 1];
    let header = 2;
    if (len === undefined) throw new Error("asn1: truncated length");
    if (len & 0x80) {
        const count = len & 0x7f;
        if (count === 0 || count > 4) throw new Error("asn1: indefinite or oversized length");
        len = 0;
        for (let i = 0; i < count; i++) len = len * 256 + buf[offset + 2 + i];
        header += count;
    }
    const end = offset + header + len;
    if (end > buf.length) throw new Error("asn1: data truncated");
    return { tag, der: buf.subarray(offset, end), content: buf.subarray(offset + header, end) };
}

export function children(node: Node): Node[] {
    const out: Node[] = [];
    for (let offset = 0; offset < node.content.length; ) {
        const child = read(node.content, offset);
        out.push(child);
        offset += child.der.length;
    }
    return out;
}

export function readOid(node: Node): string {
    if (node.tag !== 0x06) throw new Error("asn1: expected an OBJECT IDENTIFIER");
    const arcs: number[] = [];
    let value = 0;
    for (const byte of node.content) {
        value = value * 128 + (byte & 0x7f);
        if (!(byte & 0x80)) {
            if (arcs.length === 0) arcs.push(value < 80 ? Math.floor(value / 40) : 2, value < 80 ? value % 40 : value - 80);
            else arcs.push(value);
            value = 0;
        }
    }
    return arcs.join(".");
}

export function pemEncode(type: string, der: Buffer): string {
    const lines = der.toString("base64").match(/.{1,64}/g) ?? [];
    return `-----BEGIN ${type}-----\n${lines.join("\n")}${lines.length ? "\n" : ""}-----END ${type}-----\n`;
}

/** Each certificate of a PEM bundle (a CA's chain as the cloud CA services take it), in order. */
export function splitCertificatesPem(text: string): string[] {
    return text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
}

/** The first well-formed PEM block, as Go's pem.Decode finds it (RFC 1421 headers skipped); undefined if none. */
export function pemDecode(text: string): { type: string; der: Buffer } | undefined {
    const blocks = /-----BEGIN ([^\n]*?)-----\r?\n([\s\S]*?)-----END \1-----/g;
    for (let m = blocks.exec(text); m; m = blocks.exec(text)) {
        const [, type, body] = m;
        const lines = body.split(/\r?\n/);
        if (lines[0].includes(":")) lines.splice(0, lines.indexOf("") + 1);
        const compact = lines.join("").replace(/\s+/g, "");
        if (/^[A-Za-z0-9+/]*={0,2}$/.test(compact) && compact.length % 4 === 0) {
            return { type, der: Buffer.from(compact, "base64") };
        }
    }
    return undefined;
}
