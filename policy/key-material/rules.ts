import * as coreV1 from "@pulumi/kubernetes/core/v1";
import * as tls from "@pulumi/tls";
import { PolicyResource, ResourceValidationPolicy, StackValidationPolicy, validateResourceOfType } from "@pulumi/policy";
import { acmePolicies } from "./acme";
import { approverPolicyPolicies } from "./approverPolicy";
import { caBackendPolicies } from "./caBackends";
import { certificatePolicies } from "./certificates";
import { istioCsrPolicies } from "./istioCsr";
import { signedCaConstraints } from "./certificate";
import { peek } from "./preview";
import { stackOutputPolicies } from "./stackOutputs";
import { PEM_PRIVATE_KEY, stackOf, wildcardMatches } from "./support";

/**
 * Key material and CA hierarchy: the keys and CAs Pulumi creates (here), what cert-manager, istio-csr and
 * approver-policy may issue in the clusters, and where keys may surface. Plain modules, so tests and the offline
 * plan load exactly what `pulumi preview --policy-pack policy/key-material` runs.
 */

export * from "./acme";
export * from "./approverPolicy";
export * from "./caBackends";
export * from "./certificates";
export * from "./istioCsr";
export * from "./stackOutputs";

const CA_USAGES = new Set(["cert_signing", "crl_signing", "digital_signature"]);
/** The provider's defaults, which apply when an input is unset. */
const PROVIDER_DEFAULT_CURVE = "P224";
const PROVIDER_DEFAULT_RSA_BITS = 2048;

export const privateKeyStrength: ResourceValidationPolicy = {
    name: "tls-private-key-strength",
    description: "Every tls.PrivateKey is RSA of at least minRsaBits (a multiple of 8), an allowed ECDSA curve, or Ed25519.",
    enforcementLevel: "mandatory",
    configSchema: {
        properties: {
            minRsaBits: { type: "integer", minimum: 2048, default: 3072 },
            allowedCurves: { type: "array", items: { type: "string", enum: ["P256", "P384", "P521"] }, default: ["P256", "P384", "P521"] },
            allowEd25519: { type: "boolean", default: true },
        },
    },
    validateResource: validateResourceOfType(tls.PrivateKey, (key, args, report) => {
        const { minRsaBits, allowedCurves, allowEd25519 } = args.getConfig<{ minRsaBits: number; allowedCurves: string[]; allowEd25519: boolean }>();
        if (key.algorithm === "RSA") {
            const bits = key.rsaBits ?? PROVIDER_DEFAULT_RSA_BITS;
            if (bits < minRsaBits || bits % 8 !== 0) report(`RSA key of ${bits} bits${key.rsaBits === undefined ? " (the provider default)" : ""}: use at least ${minRsaBits} bits, a multiple of 8 (set rsaBits), or ECDSA`);
        } else if (key.algorithm === "ECDSA") {
            const curve = key.ecdsaCurve ?? PROVIDER_DEFAULT_CURVE;
            if (!allowedCurves.includes(curve)) report(`ECDSA curve ${curve}${key.ecdsaCurve === undefined ? " (the provider default, 112-bit)" : ""} is not allowed: set ecdsaCurve to one of ${allowedCurves.join(", ")}`);
        } else if (key.algorithm === "ED25519") {
            if (!allowEd25519) report("Ed25519 keys are not allowed by this pack's config: use ECDSA (set algorithm and ecdsaCurve)");
        } else {
            report(`unknown key algorithm ${JSON.stringify(key.algorithm)}: use ECDSA, RSA or ED25519`);
        }
    }),
};

export const offlineRoot: ResourceValidationPolicy = {
    name: "offline-root-only-in-pki-stack",
    description: "Self-signed CA certificates (roots) exist only in the offline pki stacks, never in a stack that deploys to clusters.",
    enforcementLevel: "mandatory",
    configSchema: {
        properties: {
            rootStacks: { type: "array", items: { type: "string" }, default: ["pki-*"], description: "Stack names (`*` matches any run of characters) that may hold roots: by default every environment's pki stack." },
        },
    },
    validateResource: validateResourceOfType(tls.SelfSignedCert, (cert, args, report) => {
        const { rootStacks } = args.getConfig<{ rootStacks: string[] }>();
        const stack = stackOf(args.urn);
        if (cert.isCaCertificate && !rootStacks.some((pattern) => wildcardMatches(pattern, stack))) {
            report(`a root CA is created in stack "${stack}": roots belong only to the offline stack(s) ${rootStacks.join(", ")}; hand the root certificate to this stack through its environment's pki stack instead`);
        }
    }),
};

function caUsageProblems(uses: readonly string[] | undefined): string[] {
    const list = uses ?? [];
    const problems = list.filter((u) => !CA_USAGES.has(u)).map((u) => `"${u}" is not a CA key usage`);
    if (!list.includes("cert_signing")) problems.push("cert_signing is missing");
    return problems;
}

export const rootConstraints: ResourceValidationPolicy = {
    name: "root-ca-constraints",
    description: "Root CA certificates have only CA key usages, a bounded validity and a constrained path length.",
    enforcementLevel: "mandatory",
    configSchema: {
        properties: {
            maxRootValidityHours: { type: "integer", minimum: 1, default: 87600 },
            maxRootPathLength: { type: "integer", minimum: 1, default: 1 },
        },
    },
    validateResource: validateResourceOfType(tls.SelfSignedCert, (cert, args, report) => {
        if (!cert.isCaCertificate) return;
        const { maxRootValidityHours, maxRootPathLength } = args.getConfig<{ maxRootValidityHours: number; maxRootPathLength: number }>();
        if (cert.validityPeriodHours > maxRootValidityHours) report(`root validity of ${cert.validityPeriodHours} hours exceeds ${maxRootValidityHours}: lower validityPeriodHours`);
        const pathLength = cert.maxPathLength ?? 0;
        // The provider emits no pathlen for 0 (unlimited), so only 1..max constrains anything.
        if (pathLength < 1 || pathLength > maxRootPathLength) report(`root path length ${cert.maxPathLength ?? "unset"} leaves the hierarchy unconstrained: set maxPathLength between 1 and ${maxRootPathLength} (0 emits no constraint)`);
        for (const p of caUsageProblems(cert.allowedUses)) report(`root allowedUses: ${p}; use only cert_signing, crl_signing, digital_signature`);
    }),
};

/**
 * The pki program's name-constrained intermediate, a dynamic resource (components/pki/IntermediateCertificate.ts):
 * matched by type token, since a pack does not import the program.
 */
export const INTERMEDIATE_CERTIFICATE = "pulumi-nodejs:dynamic/pki:IntermediateCertificate";

interface IntermediateCertificateProps {
    readonly cluster?: string;
    readonly trustDomain?: string;
    readonly maxPathLength?: number;
    readonly validityPeriodHours?: number;
    readonly earlyRenewalHours?: number;
    readonly nameConstraints?: { readonly permittedUriDomains?: string[]; readonly permittedDnsNames?: string[]; readonly excludedIpRanges?: string[] };
    /** Known at `pulumi up`, and at preview for an intermediate that exists. */
    readonly certPem?: string;
}

function lifetimeProblems(validityPeriodHours: number | undefined, earlyRenewalHours: number | undefined, max: number): string[] {
    const problems: string[] = [];
    if (validityPeriodHours === undefined || validityPeriodHours > max) problems.push(`intermediate validity of ${validityPeriodHours ?? "unset"} hours exceeds ${max}: lower validityPeriodHours`);
    if (!earlyRenewalHours || earlyRenewalHours <= 0) problems.push("the intermediate is never renewed early: set earlyRenewalHours so pulumi up re-issues it before it expires");
    return problems;
}

export const intermediateConstraints: ResourceValidationPolicy = {
    name: "intermediate-ca-constraints",
    description: "Intermediate CA certificates have only CA key usages, a bounded validity, and are renewed before they expire.",
    enforcementLevel: "mandatory",
    configSchema: { properties: { maxIntermediateValidityHours: { type: "integer", minimum: 1, default: 26280 } } },
    validateResource: [
        validateResourceOfType(tls.LocallySignedCert, (cert, args, report) => {
            if (!cert.isCaCertificate) return;
            const { maxIntermediateValidityHours } = args.getConfig<{ maxIntermediateValidityHours: number }>();
            lifetimeProblems(cert.validityPeriodHours, cert.earlyRenewalHours, maxIntermediateValidityHours).forEach((p) => report(p));
            for (const p of caUsageProblems(cert.allowedUses)) report(`intermediate allowedUses: ${p}; use only cert_signing, crl_signing, digital_signature`);
        }),
        (args, report) => {
            if (args.type !== INTERMEDIATE_CERTIFICATE) return;
            const { maxIntermediateValidityHours } = args.getConfig<{ maxIntermediateValidityHours: number }>();
            const cert = args.props as IntermediateCertificateProps;
            lifetimeProblems(cert.validityPeriodHours, cert.earlyRenewalHours, maxIntermediateValidityHours).forEach((p) => report(p));
        },
    ],
};

/** Every IPv4 and IPv6 address, as the signer excludes them. */
const ALL_IP_RANGES = ["0.0.0.0/0", "::/0"];

/**
 * Why an intermediate's constraints do not confine it to its cluster. RFC 5280 §4.2.1.10: a URI subtree is a host
 * (a leading "." a whole domain) and matches the host of any URI; a DNS subtree matches the name and its subdomains.
 */
function nameConstraintProblems(cert: IntermediateCertificateProps, minDnsLabels: number): string[] {
    const who = `cluster ${cert.cluster ?? "(unnamed)"}'s intermediate`;
    const problems: string[] = [];
    if (cert.maxPathLength !== 0) problems.push(`${who} has maxPathLength ${cert.maxPathLength ?? "unset"}: it must be 0, or it can sign a sub-CA`);
    const nc = cert.nameConstraints;
    const td = cert.trustDomain;
    if (!td) problems.push(`${who} names no trust domain: its URI constraint cannot be checked`);
    if (!nc) return [...problems, `${who} carries no name constraints: it can sign identities of every trust domain under the root`];
    const uris = nc.permittedUriDomains ?? [];
    if (uris.length === 0) problems.push(`${who} permits URIs of any trust domain: permit only spiffe://${td ?? "<its trust domain>"}`);
    for (const uri of uris) {
        if (td && uri.toLowerCase() === td.toLowerCase()) continue;
        const base = uri.replace(/^\./, "").toLowerCase();
        const wider = td !== undefined && (td.toLowerCase().endsWith(`.${base}`) || uri.startsWith("."));
        problems.push(`${who} permits URIs of ${JSON.stringify(uri)}, ${wider ? "wider than" : "outside"} its trust domain ${JSON.stringify(td ?? "")}: a leak would mint identities of ${wider ? "every trust domain under it" : "another trust domain"}`);
    }
    const dns = nc.permittedDnsNames ?? [];
    if (dns.length === 0) problems.push(`${who} permits any DNS name: permit only the names its issuer serves (istiod, istio-csr, private ingress hosts)`);
    for (const name of dns) {
        if (name.startsWith(".") || name.includes("*") || name.split(".").length < minDnsLabels) {
            problems.push(`${who} permits the DNS subtree ${JSON.stringify(name)}, a whole domain: permit the served host names themselves (at least ${minDnsLabels} labels)`);
        }
    }
    const excluded = new Set(nc.excludedIpRanges ?? []);
    if (!ALL_IP_RANGES.every((r) => excluded.has(r))) problems.push(`${who} does not exclude every IP address (${ALL_IP_RANGES.join(", ")}): it could sign certificates for any address`);
    return [...problems, ...signedProblems(cert, who)];
}

/**
 * The declared inputs say what the signer was asked for; verifiers read the signed certificate. Once it is known,
 * its own extensions must be what the inputs declare: critical name constraints, URIs of exactly the trust domain,
 * a CA of pathlen:0.
 */
function signedProblems(cert: IntermediateCertificateProps, who: string): string[] {
    const signed = signedCaConstraints(peek(cert, "certPem"));
    if (!signed) return [];
    const problems: string[] = [];
    if (!signed.isCa || signed.pathLength !== 0) problems.push(`${who} is signed ${signed.isCa ? `with ${signed.pathLength === undefined ? "no path length" : `pathlen:${signed.pathLength}`}` : "as no CA"}: it must be CA:TRUE, pathlen:0`);
    const nc = signed.nameConstraints;
    if (!nc) return [...problems, `${who} is signed without name constraints: it can sign identities of every trust domain under the root`];
    if (!nc.critical) problems.push(`${who} is signed with name constraints that are not critical: a verifier that cannot read them accepts any name`);
    const td = cert.trustDomain?.toLowerCase();
    if (nc.permittedUris.length !== 1 || nc.permittedUris[0].toLowerCase() !== td) {
        problems.push(`${who} is signed permitting URIs of ${nc.permittedUris.length ? nc.permittedUris.join(", ") : "any host"}: it must permit exactly its trust domain ${JSON.stringify(cert.trustDomain ?? "")}`);
    }
    return problems;
}

export const intermediateNameConstraints: ResourceValidationPolicy = {
    name: "intermediate-name-constraints",
    description: "Intermediate CAs are pathlen:0 and name-constrained to their cluster: URIs only of its SPIFFE trust domain, DNS only named serving hosts, no IP address. A tls.LocallySignedCert CA can carry neither and is refused.",
    enforcementLevel: "mandatory",
    configSchema: {
        properties: {
            minDnsLabels: { type: "integer", minimum: 2, default: 3, description: "A permitted DNS subtree with fewer labels (`svc`, `acme.example`) counts as a whole domain." },
        },
    },
    validateResource: [
        validateResourceOfType(tls.LocallySignedCert, (cert, args, report) => {
            if (!cert.isCaCertificate) return;
            report(`intermediate ${args.name} is a tls.LocallySignedCert, which emits neither name constraints nor pathlen:0: a leak would mint identities of every trust domain under the root, and sub-CAs; issue it with the pki program's IntermediateCertificate`);
        }),
        (args, report) => {
            if (args.type !== INTERMEDIATE_CERTIFICATE) return;
            const { minDnsLabels } = args.getConfig<{ minDnsLabels: number }>();
            nameConstraintProblems(args.props as IntermediateCertificateProps, minDnsLabels).forEach((p) => report(p));
        },
    ],
};

/**
 * Go's crypto/x509, which istiod and istio-agent verify with, reads a URI constraint `a.example` as that host and
 * every subdomain of it (golang/go src/crypto/x509/verify.go: matchURIConstraint hands the host to
 * matchDomainConstraint, which matches any domain ending in the constraint's labels). So an intermediate permitting a
 * trust domain that is a parent of another cluster's (`acme.example` over `aws.acme.example`) mints that cluster's
 * identities when it leaks, though each intermediate permits exactly its own trust domain.
 */
export const intermediateTrustDomainsDisjoint: StackValidationPolicy = {
    name: "intermediate-trust-domains-disjoint",
    description: "No intermediate permits URIs of a domain that is a parent of another cluster's trust domain: Go verifiers (istiod, istio-agent) let a URI constraint cover subdomains.",
    enforcementLevel: "mandatory",
    validateStack: (args, report) => {
        const ints = args.resources.filter((r) => r.type === INTERMEDIATE_CERTIFICATE).map((r) => ({
            r, cluster: peek(r.props, "cluster"), trustDomain: peek(r.props, "trustDomain"),
            uris: ((peek(r.props, "nameConstraints", "permittedUriDomains") ?? []) as unknown[]).filter((u): u is string => typeof u === "string"),
        }));
        for (const a of ints) {
            for (const b of ints) {
                if (typeof b.trustDomain !== "string" || a.cluster === b.cluster) continue;
                for (const uri of a.uris) {
                    const base = uri.replace(/^\./, "").toLowerCase();
                    if (!b.trustDomain.toLowerCase().endsWith(`.${base}`)) continue;
                    report(`cluster ${a.cluster}'s intermediate permits URIs of ${JSON.stringify(uri)}, a parent domain of cluster ${b.cluster}'s trust domain ${JSON.stringify(b.trustDomain)}: Go verifiers (istiod, istio-agent) accept subdomains of a permitted URI host, so a leak would mint ${b.cluster}'s identities; give the clusters trust domains neither of which is under the other`, a.r.urn);
                }
            }
        }
    },
};

/** The resource a property was computed from, e.g. the root certificate behind an intermediate's `caCertPem`. */
function source(r: PolicyResource, property: string, cls: { isInstance(o: unknown): boolean }): PolicyResource | undefined {
    return r.propertyDependencies[property]?.find((d) => d.isType(cls as never));
}

export const intermediateWithinRoot: StackValidationPolicy = {
    name: "intermediate-within-root-validity",
    description: "No intermediate outlives the root that signed it.",
    enforcementLevel: "mandatory",
    validateStack: (args, report) => {
        const intermediates = args.resources.filter((r) => (r.isType(tls.LocallySignedCert) && r.props.isCaCertificate) || r.type === INTERMEDIATE_CERTIFICATE);
        for (const cert of intermediates) {
            const root = source(cert, "caCertPem", tls.SelfSignedCert);
            if (!root) continue;
            const certEnd = peek(cert.props, "validityEndTime");
            const rootEnd = peek(root.props, "validityEndTime");
            if (typeof certEnd === "string" && typeof rootEnd === "string") {
                if (Date.parse(certEnd) > Date.parse(rootEnd)) report(`intermediate ${cert.name} is valid until ${certEnd}, after its root ${root.name} (${rootEnd}): shorten its validity or rotate the root first`, cert.urn);
                continue;
            }
            // Before creation: the intermediate is signed after its root exists (or is created), so it ends at least
            // its validity after now; it must end strictly before the root does.
            const hours = peek(cert.props, "validityPeriodHours");
            const rootHours = peek(root.props, "validityPeriodHours");
            const now = Date.now();
            const rootEndsBy = typeof rootEnd === "string" ? Date.parse(rootEnd) : typeof rootHours === "number" ? now + rootHours * 3_600_000 : Number.NaN;
            const endsAfter = typeof hours === "number" ? now + hours * 3_600_000 : Number.NaN;
            if (!(endsAfter < rootEndsBy)) {
                report(`intermediate ${cert.name} would be valid for ${typeof hours === "number" ? `${hours} hours` : "an unknown time"}, ending at or after its root ${root.name}${typeof rootEnd === "string" ? ` (valid until ${rootEnd})` : typeof rootHours === "number" ? ` (${rootHours} hours)` : ""}: give it a validityPeriodHours that ends before the root, or rotate the root first`, cert.urn);
            }
        }
    },
};

export const caKeysProtected: StackValidationPolicy = {
    name: "root-ca-protected",
    description: "Root CA keys and certificates carry `protect`: deleting a root revokes every identity under it.",
    enforcementLevel: "mandatory",
    validateStack: (args, report) => {
        for (const root of args.resources.filter((r) => r.isType(tls.SelfSignedCert) && r.props.isCaCertificate)) {
            if (!root.opts.protect) report(`root certificate ${root.name} is not protected: set protect: true`, root.urn);
            const key = source(root, "privateKeyPem", tls.PrivateKey);
            if (key && !key.opts.protect) report(`root key ${key.name} is not protected: set protect: true`, key.urn);
        }
    },
};

export const noKeyInConfigMap: ResourceValidationPolicy = {
    name: "no-private-key-in-configmap",
    description: "ConfigMaps are readable by anyone with view rights: private keys belong in Secrets.",
    enforcementLevel: "mandatory",
    validateResource: validateResourceOfType(coreV1.ConfigMap, (cm, _args, report) => {
        for (const [k, v] of Object.entries(cm.data ?? {})) {
            if (PEM_PRIVATE_KEY.test(String(v))) report(`ConfigMap key "${k}" holds a private key: move it to a Secret`);
        }
    }),
};

export const keyMaterialPolicies = [
    privateKeyStrength, offlineRoot, rootConstraints, intermediateConstraints, intermediateNameConstraints, intermediateTrustDomainsDisjoint, intermediateWithinRoot, caKeysProtected, noKeyInConfigMap,
    ...certificatePolicies, ...acmePolicies, ...istioCsrPolicies, ...approverPolicyPolicies, ...caBackendPolicies, ...stackOutputPolicies,
];
