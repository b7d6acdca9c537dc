/**
 * A model of how cert-manager/approver-policy v0.27.0 decides a CertificateRequest, and of the requests istio-csr
 * v0.17.0 sends it, written from upstream source so that tests check the program against what the real components
 * do rather than against the program's own idea of them.
 *
 * approver-policy (cert-manager/approver-policy, tag v0.27.0):
 * - pkg/internal/approver/manager/review.go: a request is approved when one applicable policy has no evaluator
 *   denying it; with no applicable policy it stays unprocessed (never signed).
 * - pkg/internal/approver/manager/predicate/predicate.go: a policy applies when its `selector.issuerRef` fields
 *   (wildcards, unset matches all; the request's kind defaults to Issuer, its group to cert-manager.io) match, when
 *   the request's namespace matches one of `selector.namespace.matchNames` (wildcards; none or no selector: any
 *   namespace; `SelectorNamespace`), and when the requester may `use` it (a SubjectAccessReview, modelled on the
 *   plan's RBAC).
 * - pkg/internal/approver/allowed/evaluator.go: every attribute the request carries must be allowed (`evaluateSlice`,
 *   `evaluateString`: an attribute present in the request with no allowed values is denied; `required` fails an
 *   absent one); usages must be a wildcard subset; isCA needs `allowed.isCA: true`.
 * - pkg/internal/util/wildcard.go: `*` matches any run; an empty pattern matches only the empty string.
 * - pkg/internal/approver/constraints/evaluator.go: duration ≤ maxDuration, key algorithm and size.
 *
 * istio-csr (cert-manager/istio-csr, tag v0.17.0) and Istio (istio/istio, tag 1.30.3):
 * - istio security/pkg/pki/util/generate_csr.go `GenCSRTemplate`: the subject always has one Organization, `""` when
 *   unset; no CN unless dual-use; SANs from the host list. Proxies set no org (security/pkg/nodeagent/cache/secretcache.go).
 * - istio-csr pkg/server/server.go `CreateCertificate`: the CSR is forwarded unchanged with usages client auth and
 *   server auth, for min(requested, app.server.maxCertificateDuration); pkg/certmanager/certmanager.go: isCA false,
 *   the issuer from app.certmanager.issuer.
 * - istio-csr pkg/tls/tls.go: its serving certificate comes from `pkiutil.GenCSR` too, for
 *   app.tls.certificateDNSNames, usage server auth, app.tls.certificateDuration.
 */
import { parseGoDuration } from "../../policy/key-material/durations";

export interface ModelledRequest {
    /** The ServiceAccount that creates the CertificateRequest. */
    readonly requester: { readonly namespace: string; readonly name: string };
    readonly issuerRef: { readonly name: string; readonly kind?: string; readonly group?: string };
    /** The namespace the CertificateRequest is created in (a Certificate's own). */
    readonly namespace?: string;
    /** Subject Organization values, as Go's pkix.Name parses them (one `""` for Istio's template). */
    readonly organizations: readonly string[];
    readonly commonName?: string;
    readonly dnsNames: readonly string[];
    readonly uris: readonly string[];
    readonly usages: readonly string[];
    readonly isCA: boolean;
    readonly durationSeconds: number;
    readonly key: { readonly algorithm: "ECDSA" | "RSA"; readonly size: number };
}

export interface PolicyObject {
    readonly name: string;
    readonly spec: any;
}

/** A grant of `use` on named CertificateRequestPolicies (names empty: all) to service accounts. */
export interface UseGrant {
    readonly policies: readonly string[];
    readonly subjects: ReadonlyArray<{ readonly namespace: string; readonly name: string }>;
}

export type Review = { result: "Approved"; policy: string } | { result: "Denied" | "Unprocessed"; message: string };

export function wildcardMatches(pattern: string, value: string): boolean {
    if (pattern.length === 0) return value.length === 0;
    const re = new RegExp(`^${pattern.split("*").map((p) => p.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*")}$`, "s");
    return re.test(value);
}

const subset = (patterns: readonly string[], members: readonly string[]) => members.every((m) => patterns.some((p) => wildcardMatches(p, m)));

function evaluateSlice(what: string, values: readonly string[], allowed: { values?: string[]; required?: boolean } | undefined): string[] {
    if (values.length === 0) return allowed?.required ? [`${what}: required`] : [];
    if (!allowed || allowed.values === undefined) return [`${what}: ${JSON.stringify(values)}: no allowed values`];
    return subset(allowed.values, values) ? [] : [`${what}: ${JSON.stringify(values)} not in ${JSON.stringify(allowed.values)}`];
}

function evaluateString(what: string, value: string | undefined, allowed: { value?: string; required?: boolean } | undefined): string[] {
    if (!value) return allowed?.required ? [`${what}: required`] : [];
    if (!allowed || allowed.value === undefined) return [`${what}: ${JSON.stringify(value)}: no allowed value`];
    return wildcardMatches(allowed.value, value) ? [] : [`${what}: ${JSON.stringify(value)} does not match ${JSON.stringify(allowed.value)}`];
}

/** Why one policy denies the request (empty: it approves). */
export function denials(spec: any, r: ModelledRequest): string[] {
    const allowed = spec?.allowed ?? {};
    const found = [
        ...evaluateString("commonName", r.commonName, allowed.commonName),
        ...evaluateSlice("dnsNames", r.dnsNames, allowed.dnsNames),
        ...evaluateSlice("uris", r.uris, allowed.uris),
        ...evaluateSlice("subject.organizations", r.organizations, allowed.subject?.organizations),
    ];
    if (r.isCA && allowed.isCA !== true) found.push("isCA: not allowed");
    if (r.usages.length > 0 && (allowed.usages === undefined || !subset(allowed.usages, r.usages))) found.push(`usages: ${r.usages.join(", ")} not allowed`);
    const constraints = spec?.constraints;
    if (constraints?.maxDuration !== undefined && parseGoDuration(constraints.maxDuration)! < r.durationSeconds) found.push(`duration ${r.durationSeconds}s exceeds ${constraints.maxDuration}`);
    const key = constraints?.privateKey;
    if (key?.algorithm !== undefined && key.algorithm !== r.key.algorithm) found.push(`key algorithm ${r.key.algorithm} is not ${key.algorithm}`);
    if (key?.maxSize !== undefined && key.maxSize < r.key.size) found.push(`key size ${r.key.size} exceeds ${key.maxSize}`);
    if (key?.minSize !== undefined && key.minSize > r.key.size) found.push(`key size ${r.key.size} below ${key.minSize}`);
    return found;
}

function selectsNamespace(spec: any, namespace: string | undefined): boolean {
    const sel = spec?.selector?.namespace;
    if (!sel) return true;
    if (sel.matchLabels !== undefined) throw new Error("selector.namespace.matchLabels is not modelled");
    if (!sel.matchNames?.length) return true;
    if (namespace === undefined) throw new Error("the policy selects namespaces: the request needs one");
    return sel.matchNames.some((n: string) => wildcardMatches(n, namespace));
}

function selects(spec: any, ref: ModelledRequest["issuerRef"]): boolean {
    const sel = spec?.selector?.issuerRef;
    if (!sel) return true;
    const kind = ref.kind || "Issuer";
    const group = ref.group || "cert-manager.io";
    return (sel.name === undefined || wildcardMatches(sel.name, ref.name))
        && (sel.kind === undefined || wildcardMatches(sel.kind, kind))
        && (sel.group === undefined || wildcardMatches(sel.group, group));
}

/** approver-policy's decision on one request, given every policy and `use` grant of the cluster. */
export function review(policies: readonly PolicyObject[], grants: readonly UseGrant[], r: ModelledRequest): Review {
    if (policies.length === 0) return { result: "Unprocessed", message: "No CertificateRequestPolicies exist" };
    const bound = (p: PolicyObject) => grants.some((g) => (g.policies.length === 0 || g.policies.includes(p.name))
        && g.subjects.some((s) => s.namespace === r.requester.namespace && s.name === r.requester.name));
    const applicable = policies.filter((p) => selects(p.spec, r.issuerRef) && selectsNamespace(p.spec, r.namespace) && bound(p));
    if (applicable.length === 0) return { result: "Unprocessed", message: "No CertificateRequestPolicies bound or applicable" };
    const messages: string[] = [];
    for (const p of applicable) {
        const why = denials(p.spec, r);
        if (why.length === 0) return { result: "Approved", policy: p.name };
        messages.push(`[${p.name}: ${why.join("; ")}]`);
    }
    return { result: "Denied", message: `No policy approved this request: ${messages.join(" ")}` };
}

/** istio-csr's chart values as the requests depend on them (chart defaults where the values leave them unset). */
export interface IstioCsrSettings {
    readonly namespace: string;
    readonly values: any;
    /** The proxies' key: istiod's `ECC_SIGNATURE_ALGORITHM` proxy metadata (P-256), else RSA 2048. */
    readonly proxyKey: ModelledRequest["key"];
}

function istioCsrIssuer(values: any): ModelledRequest["issuerRef"] {
    const issuer = values?.app?.certmanager?.issuer ?? {};
    return { name: issuer.name ?? "istio-ca", kind: issuer.kind ?? "Issuer", group: issuer.group ?? "cert-manager.io" };
}

const requester = (s: IstioCsrSettings) => ({ namespace: s.namespace, name: s.values?.serviceAccount?.name ?? "cert-manager-istio-csr" });

/** What istio-csr asks approver-policy to approve when a proxy of `namespace`/`serviceAccount` asks for its identity. */
export function istioWorkloadRequest(s: IstioCsrSettings, workload: { namespace: string; serviceAccount: string }): ModelledRequest {
    const trustDomain = s.values?.app?.tls?.trustDomain ?? "cluster.local";
    const max = parseGoDuration(s.values?.app?.server?.maxCertificateDuration ?? "1h")!;
    // The agent asks for SECRET_TTL, 24h by default; istio-csr caps it.
    return {
        requester: requester(s), issuerRef: istioCsrIssuer(s.values), organizations: [""], dnsNames: [],
        uris: [`spiffe://${trustDomain}/ns/${workload.namespace}/sa/${workload.serviceAccount}`],
        usages: ["client auth", "server auth"], isCA: false, durationSeconds: Math.min(24 * 3600, max), key: s.proxyKey,
    };
}

/** istio-csr's own serving certificate, requested at startup: istio-csr is not ready until it is signed. */
export function istioCsrServingRequest(s: IstioCsrSettings): ModelledRequest {
    const tls = s.values?.app?.tls ?? {};
    const serving = s.values?.app?.server?.serving ?? {};
    return {
        requester: requester(s), issuerRef: istioCsrIssuer(s.values), organizations: [""],
        dnsNames: tls.certificateDNSNames ?? ["cert-manager-istio-csr.cert-manager.svc"], uris: [], usages: ["server auth"], isCA: false,
        durationSeconds: parseGoDuration(tls.certificateDuration ?? "1h")!,
        key: { algorithm: serving.signatureAlgorithm ?? "RSA", size: serving.certificateKeySize ?? 2048 },
    };
}
