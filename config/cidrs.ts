/** IPv4 ranges as intervals of addresses, for the rules between CIDRs (overlaps, what a set of CIDRs covers). */

export interface Range {
    readonly first: number;
    /** Exclusive. */
    readonly end: number;
}

/** The range of a well-formed `a.b.c.d/n` (the primitive `ipv4Cidr` checks the form); undefined for anything else. */
export function rangeOf(cidr: unknown): Range | undefined {
    const m = typeof cidr === "string" ? /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr) : null;
    if (!m || m.slice(1, 5).some((o) => Number(o) > 255) || Number(m[5]) > 32) return undefined;
    const address = m.slice(1, 5).reduce((acc, o) => acc * 256 + Number(o), 0);
    const size = 2 ** (32 - Number(m[5]));
    const first = address - (address % size);
    return { first, end: first + size };
}

export function overlaps(a: Range, b: Range): boolean {
    return a.first < b.end && b.first < a.end;
}

// The IANA IPv4 Special-Purpose Address Registry (RFC 6890 and its updates) and multicast/reserved space: addresses
// that are not on the internet. Everything else is.
const NOT_INTERNET = [
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12", "192.0.0.0/24",
    "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16", "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24",
    "224.0.0.0/4", "240.0.0.0/4",
].map((c) => rangeOf(c)!);

/** Whether the ranges together admit every address on the internet (`0.0.0.0/0`, or two /1s, or any such split). */
export function coversInternet(ranges: readonly Range[]): boolean {
    const covered = merge([...ranges, ...NOT_INTERNET]);
    return covered.length === 1 && covered[0].first === 0 && covered[0].end === 2 ** 32;
}

/** How many internet addresses the ranges admit together (each counted once, special-purpose space left out). */
export function publicAddresses(ranges: readonly Range[]): number {
    const reserved = merge(NOT_INTERNET);
    return merge(ranges).reduce((total, r) => total + (r.end - r.first) -
        reserved.reduce((inside, n) => inside + Math.max(0, Math.min(r.end, n.end) - Math.max(r.first, n.first)), 0), 0);
}

function merge(ranges: readonly Range[]): Range[] {
    const sorted = [...ranges].sort((a, b) => a.first - b.first);
    const out: Range[] = [];
    for (const r of sorted) {
        const last = out[out.length - 1];
        if (last && r.first <= last.end) out[out.length - 1] = { first: last.first, end: Math.max(last.end, r.end) };
        else out.push(r);
    }
    return out;
}
