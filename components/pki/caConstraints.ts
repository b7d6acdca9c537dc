import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import { ALL_IP_RANGES, decodeNameConstraints, DecodedNameConstraints, dnsSubtreeOf } from "./nameConstraints";

const NAME_CONSTRAINTS_OID = "2.5.29.30";

/** A CA certificate's constraints, as verifiers read them. */
export interface CaConstraints {
    readonly isCa: boolean;
    /** Undefined: no path length constraint. */
    readonly pathLength?: number;
    readonly nameConstraints?: DecodedNameConstraints & { readonly critical: boolean };
}

export function readCaConstraints(certPem: string): CaConstraints {
    const cert = new x509.X509Certificate(certPem);
    const basic = cert.getExtension(x509.BasicConstraintsExtension);
    const nc = cert.extensions.find((e) => e.type === NAME_CONSTRAINTS_OID);
    return {
        isCa: basic?.ca ?? false,
        pathLength: basic?.pathLength,
        nameConstraints: nc && { ...decodeNameConstraints(new Uint8Array(nc.value)), critical: nc.critical },
    };
}

/** What a cluster's issuer must be able to sign, and so exactly what its intermediate may permit. */
export interface ClusterNames {
    readonly trustDomain: string;
    /** Serving names (istiod, istio-csr, private ingress hosts); wildcards as `*.host`. */
    readonly dnsNames: readonly string[];
}

/** RFC 5280 DNS subtree match: the name itself or a subdomain of it; wildcards and subtrees as the signer reads them. */
function withinDns(name: string, subtree: string): boolean {
    const [n, base] = [dnsSubtreeOf(name), dnsSubtreeOf(subtree)];
    return n === base || n.endsWith(`.${base}`);
}

/**
 * Why an intermediate does not confine its cluster to its own names: not a CA, a sub-CA possible, no critical name
 * constraints, URIs permitted beyond (or other than) the trust domain, DNS names beyond the serving names or missing
 * one of them, IP addresses not excluded. Empty when it is constrained exactly as the signer in this stack makes it.
 */
export function constraintProblems(c: CaConstraints, want: ClusterNames): string[] {
    const problems: string[] = [];
    if (!c.isCa) return ["it is not a CA certificate"];
    if (c.pathLength !== 0) problems.push(`it has ${c.pathLength === undefined ? "no path length constraint" : `pathlen:${c.pathLength}`}: it could sign a sub-CA; it must be pathlen:0`);
    const nc = c.nameConstraints;
    if (!nc) return [...problems, `it carries no name constraints: it could sign identities of any trust domain; it must permit only URIs of ${want.trustDomain}`];
    if (!nc.critical) problems.push("its name constraints are not critical");
    const uris = nc.permitted.filter((s) => s.type === "uri").map((s) => s.value);
    if (uris.length === 0) problems.push(`it permits URIs of any host: it must permit only ${want.trustDomain}`);
    for (const uri of uris.filter((u) => u.toLowerCase() !== want.trustDomain.toLowerCase())) {
        problems.push(`it permits URIs of ${uri}, beyond the cluster's trust domain ${want.trustDomain}`);
    }
    const dns = nc.permitted.filter((s) => s.type === "dns").map((s) => s.value);
    if (dns.length === 0) problems.push(`it permits any DNS name: it must permit only ${want.dnsNames.join(", ")}`);
    for (const subtree of dns.filter((d) => !want.dnsNames.some((n) => withinDns(d, n)))) {
        problems.push(`it permits DNS names under ${subtree}, beyond the names the cluster's issuer signs (${want.dnsNames.join(", ")})`);
    }
    for (const name of want.dnsNames.filter((n) => dns.length > 0 && !dns.some((d) => withinDns(n, d)))) {
        problems.push(`it does not permit ${name}, which the cluster's issuer signs`);
    }
    const excluded = new Set(nc.excluded.filter((s) => s.type === "ip").map((s) => s.value));
    if (!ALL_IP_RANGES.every((r) => excluded.has(r))) problems.push(`it does not exclude every IP address (${ALL_IP_RANGES.join(", ")}): it could sign certificates for any address`);
    return problems;
}
