import assert from "node:assert/strict";
import * as path from "node:path";
import * as k8s from "@pulumi/kubernetes";
import * as tls from "@pulumi/tls";
import * as rules from "../policy/key-material/rules";
import { formatDuration, parseGoDuration } from "../policy/key-material/durations";
import { istioCsrValues } from "../components/mesh/values";
import { meshSettingsSchema } from "../config/schema";
import { loadPack } from "../engine/policy";
import { node, packContract, packFlagsGraph, stackViolations, violations } from "./support/policy";
import { FIXTURE_PROGRAM, runCli, shippedPlan, tempDir } from "./support/plan";
import { issueLeaf } from "./support/pki";
import { signIntermediate } from "../components/pki/IntermediateCertificate";
import { plain } from "../engine/values";

const CERTIFICATE = "kubernetes:cert-manager.io/v1:Certificate";
const REQUEST_POLICY = "kubernetes:policy.cert-manager.io/v1alpha1:CertificateRequestPolicy";
const STACK = "pulumi:pulumi:Stack";

/** A Certificate as the ingress gateway registers it; each case changes one thing. */
const goodCertificate = {
    metadata: { name: "ingress-tls", namespace: "istio-system" },
    spec: {
        secretName: "ingress-tls", dnsNames: ["shop.acme.example"], issuerRef: { name: "acme", kind: "ClusterIssuer", group: "cert-manager.io" },
        duration: "2160h", renewBefore: "720h", privateKey: { algorithm: "ECDSA", size: 256, rotationPolicy: "Always" }, usages: ["digital signature", "server auth"],
    },
};
const certificate = (spec: Record<string, unknown>) => ({ ...goodCertificate, spec: { ...goodCertificate.spec, ...spec } });

/** The workload policy MeshCa registers on the mesh issuer. */
const workloadPolicy = {
    metadata: { name: "istio-mesh-workloads" },
    spec: {
        allowed: {
            uris: { values: ["spiffe://aws.prod.mesh.acme.example/ns/*/sa/*"], required: true },
            subject: { organizations: { values: [""] } },
            usages: ["digital signature", "key encipherment", "server auth", "client auth"], isCA: false,
        },
        constraints: { maxDuration: "60m", privateKey: { algorithm: "ECDSA", minSize: 256, maxSize: 384 } },
        selector: { issuerRef: { name: "istio-ca", kind: "Issuer", group: "cert-manager.io" } },
    },
};
const requestPolicy = (allowed: Record<string, unknown>, rest: Record<string, unknown> = {}) =>
    ({ ...workloadPolicy, spec: { ...workloadPolicy.spec, allowed: { ...workloadPolicy.spec.allowed, ...allowed }, ...rest } });

const PEM_KEY = "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEE\n-----END EC PRIVATE KEY-----\n";

const INTERMEDIATE = "pulumi-nodejs:dynamic/pki:IntermediateCertificate";
/** The inputs the pki program gives prod's GKE intermediate; each case changes one thing. */
const goodIntermediate = {
    cluster: "prod-gcp-usc1", trustDomain: "gcp.prod.mesh.acme.example", maxPathLength: 0, validityPeriodHours: 8760, earlyRenewalHours: 720,
    nameConstraints: {
        permittedUriDomains: ["gcp.prod.mesh.acme.example"],
        permittedDnsNames: ["istiod.istio-system.svc", "cert-manager-istio-csr.cert-manager.svc"],
        excludedIpRanges: ["0.0.0.0/0", "::/0"],
    },
};

describe("policy pack key-material", () => {
    it("loads as pulumi preview loads it: every policy named once, described, leveled, with a valid config schema", () => {
        packContract(loadPack(path.join(__dirname, "..", "policy", "key-material")), rules.keyMaterialPolicies);
    });

    it("tls-private-key-strength: P-256/P-384 and RSA-4096 pass; the P224 default, small or odd RSA fail", async () => {
        const p = rules.privateKeyStrength;
        assert.deepEqual(await violations(p, tls.PrivateKey, { algorithm: "ECDSA", ecdsaCurve: "P384" }), []);
        assert.deepEqual(await violations(p, tls.PrivateKey, { algorithm: "RSA", rsaBits: 4096 }), []);
        assert.match((await violations(p, tls.PrivateKey, { algorithm: "ECDSA" }))[0], /P224 \(the provider default/);
        assert.match((await violations(p, tls.PrivateKey, { algorithm: "RSA" }))[0], /2048 bits \(the provider default\)/);
        assert.equal((await violations(p, tls.PrivateKey, { algorithm: "RSA", rsaBits: 4100 })).length, 1);
        assert.deepEqual(await violations(p, tls.PrivateKey, { algorithm: "RSA", rsaBits: 2048 }, { minRsaBits: 2048 }), [], "configurable");
    });

    it("offline-root-only-in-pki-stack: a root in an environment's pki stack passes, in a mesh stack fails", async () => {
        const root = { isCaCertificate: true, validityPeriodHours: 1, allowedUses: ["cert_signing"] };
        assert.deepEqual(await violations(rules.offlineRoot, tls.SelfSignedCert, root, {}, "pki-prod"), []);
        assert.deepEqual(await violations(rules.offlineRoot, tls.SelfSignedCert, root, {}, "pki-qa"), [], "a new environment's pki stack needs no config");
        assert.match((await violations(rules.offlineRoot, tls.SelfSignedCert, root, {}, "prod"))[0], /root CA is created in stack "prod"/);
        assert.match((await violations(rules.offlineRoot, tls.SelfSignedCert, root, {}, "pki"))[0], /root CA is created in stack "pki"/, "the former shared stack name");
        assert.deepEqual(await violations(rules.offlineRoot, tls.SelfSignedCert, root, { rootStacks: ["ca-*"] }, "ca-prod"), [], "configurable");
        assert.deepEqual(await violations(rules.offlineRoot, tls.SelfSignedCert, { ...root, isCaCertificate: false }, {}, "prod"), [], "self-signed leaves are not roots");
    });

    it("root-ca-constraints: validity, path length and usages", async () => {
        const good = { isCaCertificate: true, validityPeriodHours: 87600, maxPathLength: 1, allowedUses: ["cert_signing", "crl_signing", "digital_signature"] };
        assert.deepEqual(await violations(rules.rootConstraints, tls.SelfSignedCert, good), []);
        const bad = await violations(rules.rootConstraints, tls.SelfSignedCert, { ...good, validityPeriodHours: 175200, maxPathLength: 0, allowedUses: ["server_auth"] });
        assert.equal(bad.length, 4, bad.join("\n"));
        assert.ok(bad.some((m) => /0 emits no constraint/.test(m)));
    });

    it("intermediate-ca-constraints: usages, validity, early renewal", async () => {
        const good = { isCaCertificate: true, validityPeriodHours: 8760, earlyRenewalHours: 720, allowedUses: ["cert_signing", "crl_signing"] };
        assert.deepEqual(await violations(rules.intermediateConstraints, tls.LocallySignedCert, good), []);
        const bad = await violations(rules.intermediateConstraints, tls.LocallySignedCert, { ...good, validityPeriodHours: 43800, earlyRenewalHours: 0, allowedUses: ["cert_signing", "client_auth"] });
        assert.equal(bad.length, 3, bad.join("\n"));
    });

    it("intermediate-ca-constraints: the name-constrained signer's validity and early renewal too", async () => {
        const good = { cluster: "c", validityPeriodHours: 8760, earlyRenewalHours: 720 };
        assert.deepEqual(await violations(rules.intermediateConstraints, INTERMEDIATE, good), []);
        assert.equal((await violations(rules.intermediateConstraints, INTERMEDIATE, { ...good, validityPeriodHours: 43800, earlyRenewalHours: 0 })).length, 2);
    });

    it("intermediate-name-constraints: pathlen:0 with the cluster's trust domain, its serving hosts and no IP passes; a tls CA, wider or other URIs, domain-wide DNS, IP addresses fail", async () => {
        const p = rules.intermediateNameConstraints;
        const check = (changes: Record<string, unknown>, config = {}) => violations(p, INTERMEDIATE, { ...goodIntermediate, ...changes }, config);
        const constraints = (changes: Record<string, unknown>) => ({ nameConstraints: { ...goodIntermediate.nameConstraints, ...changes } });
        assert.deepEqual(await check({}), []);
        assert.match((await violations(p, tls.LocallySignedCert, { isCaCertificate: true, validityPeriodHours: 8760 }, {}, { name: "int-x" }))[0], /int-x is a tls\.LocallySignedCert, which emits neither name constraints nor pathlen:0/);
        assert.deepEqual(await violations(p, tls.LocallySignedCert, { isCaCertificate: false }), [], "leaves are not intermediates");
        assert.match((await check({ maxPathLength: 1 }))[0], /maxPathLength 1: it must be 0/);
        assert.match((await check({ nameConstraints: undefined }))[0], /carries no name constraints/);
        assert.match((await check(constraints({ permittedUriDomains: [] })))[0], /permits URIs of any trust domain/);
        assert.match((await check(constraints({ permittedUriDomains: ["prod.mesh.acme.example"] })))[0], /permits URIs of "prod\.mesh\.acme\.example", wider than its trust domain "gcp\.prod\.mesh\.acme\.example"/);
        assert.match((await check(constraints({ permittedUriDomains: [".mesh.acme.example"] })))[0], /wider than/);
        assert.match((await check(constraints({ permittedUriDomains: ["gcp.prod.mesh.acme.example", "aws.prod.mesh.acme.example"] })))[0], /permits URIs of "aws\.prod\.mesh\.acme\.example", outside its trust domain/);
        assert.match((await check(constraints({ permittedDnsNames: [] })))[0], /permits any DNS name/);
        assert.match((await check(constraints({ permittedDnsNames: ["istiod.istio-system.svc", "istio-system.svc"] })))[0], /the DNS subtree "istio-system\.svc", a whole domain/);
        assert.deepEqual(await check(constraints({ permittedDnsNames: ["shop.example"] }), { minDnsLabels: 2 }), [], "configurable");
        assert.match((await check(constraints({ excludedIpRanges: ["0.0.0.0/0"] })))[0], /does not exclude every IP address/);
        assert.deepEqual(await violations(p, "kubernetes:core/v1:Secret", goodIntermediate), [], "other types");
    });

    it("intermediate-name-constraints: once signed, the certificate's own extensions are judged, not only the declared inputs", async function () {
        this.timeout(60_000);
        const pki = await shippedPlan("pki-prod");
        const signer = pki.graph.resources.find((r) => r.type === INTERMEDIATE && r.name === "int-prod-gcp-usc1-e1-cert")!;
        const inputs = plain(signer.inputs);
        const real = plain(signer.outputs).certPem as string;
        const key = plain(pki.graph.resources.find((r) => r.name === "int-prod-gcp-usc1-e1-key")!.outputs).privateKeyPem as string;
        const check = (certPem: string) => violations(rules.intermediateNameConstraints, INTERMEDIATE, { ...goodIntermediate, certPem });
        assert.deepEqual(await check(real), [], "the shipped signer's certificate");
        // Declared exactly, signed wider: what verifiers enforce is the certificate (RFC 5280 §4.2.1.10).
        const wide = await signIntermediate({ ...inputs, nameConstraints: { ...inputs.nameConstraints, permittedUriDomains: ["prod.mesh.acme.example"] } });
        assert.match((await check(wide.certPem))[0], /is signed permitting URIs of prod\.mesh\.acme\.example: it must permit exactly its trust domain "gcp\.prod\.mesh\.acme\.example"/);
        const unconstrained = await issueLeaf({ caCertPem: real, caKeyPem: key, isCa: true });
        const found = await check(unconstrained.certPem);
        assert.match(found.join("\n"), /is signed with no path length: it must be CA:TRUE, pathlen:0/);
        assert.match(found.join("\n"), /is signed without name constraints/);
        assert.deepEqual(await violations(rules.intermediateNameConstraints, INTERMEDIATE, { ...goodIntermediate, certPem: "04da6b54-80e4-46f7-96ec-b56ff0331ba9" }), [], "unknown at a first preview: the inputs are judged");
    });

    it("intermediate-trust-domains-disjoint: no intermediate permits a parent domain of another cluster's trust domain", async () => {
        // golang/go src/crypto/x509/verify.go matchDomainConstraint: the URI constraint `prod.mesh.acme.example`
        // matches the host `gcp.prod.mesh.acme.example`, so that intermediate mints the other cluster's identities.
        const p = rules.intermediateTrustDomainsDisjoint;
        const int = (cluster: string, trustDomain: string, uri = trustDomain) => node(INTERMEDIATE, `int-${cluster}`, { cluster, trustDomain, nameConstraints: { permittedUriDomains: [uri] } });
        assert.deepEqual(await stackViolations(p, [int("aws", "aws.prod.mesh.acme.example"), int("gcp", "gcp.prod.mesh.acme.example")]), []);
        assert.deepEqual(await stackViolations(p, [int("a", "prod.mesh.acme.example"), int("b", "prod.mesh.acme.example")]), [], "one trust domain shared by clusters");
        const found = await stackViolations(p, [int("aws", "prod.mesh.acme.example"), int("gcp", "gcp.prod.mesh.acme.example")]);
        assert.equal(found.length, 1, found.join("\n"));
        assert.match(found[0], /cluster aws's intermediate permits URIs of "prod\.mesh\.acme\.example", a parent domain of cluster gcp's trust domain "gcp\.prod\.mesh\.acme\.example"/);
    });

    it("intermediate-within-root-validity: an intermediate outliving its root fails", async () => {
        const root = node(tls.SelfSignedCert, "root", { isCaCertificate: true, validityEndTime: "2035-01-01T00:00:00Z" });
        const inside = node(tls.LocallySignedCert, "int", { isCaCertificate: true, validityEndTime: "2027-01-01T00:00:00Z" }, { deps: { caCertPem: [root] } });
        const outside = node(tls.LocallySignedCert, "late", { isCaCertificate: true, validityEndTime: "2036-01-01T00:00:00Z" }, { deps: { caCertPem: [root] } });
        assert.deepEqual(await stackViolations(rules.intermediateWithinRoot, [root, inside]), []);
        assert.match((await stackViolations(rules.intermediateWithinRoot, [root, outside]))[0], /late is valid until 2036/);
        const signed = node(INTERMEDIATE, "signed", { validityEndTime: "2036-01-01T00:00:00Z" }, { deps: { caCertPem: [root] } });
        assert.match((await stackViolations(rules.intermediateWithinRoot, [root, signed]))[0], /signed is valid until 2036/, "the name-constrained signer's intermediates too");
        // At a first preview, where validityEndTime is unknown, the signer's intermediates are judged by their hours too.
        const unknown = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
        const previewRoot = node(tls.SelfSignedCert, "new-root", { isCaCertificate: true, validityPeriodHours: 8760, validityEndTime: unknown });
        const previewInt = (name: string, hours: number) => node(INTERMEDIATE, name, { validityPeriodHours: hours, validityEndTime: unknown }, { deps: { caCertPem: [previewRoot] } });
        assert.deepEqual(await stackViolations(rules.intermediateWithinRoot, [previewRoot, previewInt("short", 4380)]), []);
        assert.match((await stackViolations(rules.intermediateWithinRoot, [previewRoot, previewInt("long", 17520)]))[0], /long would be valid for 17520 hours, ending at or after its root new-root/);
    });

    it("intermediate-within-root-validity at a first preview: validity hours decide, an intermediate signed after its root must be strictly shorter", async () => {
        const unknown = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
        const root = node(tls.SelfSignedCert, "root", { isCaCertificate: true, validityPeriodHours: 26280, validityEndTime: unknown });
        const int = (hours: number) => node(tls.LocallySignedCert, "int", { isCaCertificate: true, validityPeriodHours: hours, validityEndTime: unknown }, { deps: { caCertPem: [root] } });
        assert.deepEqual(await stackViolations(rules.intermediateWithinRoot, [root, int(8760)]), []);
        assert.match((await stackViolations(rules.intermediateWithinRoot, [root, int(26280)]))[0], /int would be valid for 26280 hours, ending at or after its root root \(26280 hours\)/);
        const existingRoot = node(tls.SelfSignedCert, "root", { isCaCertificate: true, validityPeriodHours: 26280, validityEndTime: "2027-01-01T00:00:00Z" });
        const late = node(tls.LocallySignedCert, "int", { isCaCertificate: true, validityPeriodHours: 8760 * 5, validityEndTime: unknown }, { deps: { caCertPem: [existingRoot] } });
        assert.match((await stackViolations(rules.intermediateWithinRoot, [existingRoot, late]))[0], /valid until 2027-01-01/);
    });

    it("root-ca-protected: an unprotected root key or certificate fails", async () => {
        const key = (protect: boolean) => node(tls.PrivateKey, "root-key", {}, { protect });
        const cert = (protect: boolean, k = key(true)) => node(tls.SelfSignedCert, "root-cert", { isCaCertificate: true }, { protect, deps: { privateKeyPem: [k] } });
        assert.deepEqual(await stackViolations(rules.caKeysProtected, [cert(true)]), []);
        assert.match((await stackViolations(rules.caKeysProtected, [cert(false)]))[0], /root certificate root-cert is not protected/);
        assert.match((await stackViolations(rules.caKeysProtected, [cert(true, key(false))]))[0], /root key root-key is not protected/);
    });

    it("no-private-key-in-configmap", async () => {
        assert.deepEqual(await violations(rules.noKeyInConfigMap, k8s.core.v1.ConfigMap, { data: { "ca.crt": "-----BEGIN CERTIFICATE-----" } }), []);
        assert.equal((await violations(rules.noKeyInConfigMap, k8s.core.v1.ConfigMap, { data: { k: "-----BEGIN EC PRIVATE KEY-----\nx" } })).length, 1);
    });

    it("the plan refuses a program with weak key material and a root outside the pki stack (exit 1, resources named)", async () => {
        const { code, stdout } = await runCli(["mesh", "--program", `${FIXTURE_PROGRAM}/../weak-pki`, "--out", tempDir("weak")]);
        assert.equal(code, 1, stdout);
        for (const expected of [/tls-private-key-strength.*P224/, /offline-root-only-in-pki-stack/, /root-ca-protected/, /intermediate-ca-constraints/]) assert.match(stdout, expected);
        assert.match(stdout, /at urn:pulumi:mesh::weak-pki::tls:index\/privateKey:PrivateKey::default-curve/);
    });
    it("parses Go durations as cert-manager, approver-policy and istio-csr do", () => {
        assert.equal(parseGoDuration("2160h"), 2160 * 3600);
        assert.equal(parseGoDuration("1h30m"), 5400);
        assert.equal(parseGoDuration("1.5h"), 5400);
        assert.equal(parseGoDuration("90m"), 5400);
        assert.equal(parseGoDuration("1h0m0s"), 3600);
        assert.equal(parseGoDuration("500ms"), 0.5);
        assert.equal(parseGoDuration("0"), 0);
        assert.equal(parseGoDuration("-1h"), -3600);
        for (const bad of ["90d", "1h 30m", "h", "", "1", "1.h30", undefined, 60]) assert.equal(parseGoDuration(bad), undefined, String(bad));
        assert.equal(formatDuration(5400), "1h30m");
        assert.equal(formatDuration(720 * 3600), "720h");
    });

    it("certificate-private-key: ECDSA 256/384 and RSA 4096 pass; cert-manager's RSA 2048 default, odd RSA and other curves fail", async () => {
        const p = rules.certificatePrivateKey;
        assert.deepEqual(await violations(p, CERTIFICATE, goodCertificate), []);
        assert.deepEqual(await violations(p, CERTIFICATE, certificate({ privateKey: { algorithm: "ECDSA", size: 384, rotationPolicy: "Always" } })), []);
        assert.deepEqual(await violations(p, CERTIFICATE, certificate({ privateKey: { algorithm: "RSA", size: 4096, rotationPolicy: "Always" } })), []);
        assert.deepEqual(await violations(p, CERTIFICATE, certificate({ privateKey: { algorithm: "ECDSA", rotationPolicy: "Always" } })), [], "ECDSA defaults to P-256");
        assert.match((await violations(p, CERTIFICATE, certificate({ privateKey: undefined })))[0], /RSA 2048 bits \(spec\.privateKey\.algorithm and spec\.privateKey\.size unset: cert-manager's default\): set spec\.privateKey\.size to at least 3072/);
        assert.match((await violations(p, CERTIFICATE, certificate({ privateKey: { algorithm: "RSA", size: 3076 } })))[0], /RSA 3076 bits: .*a multiple of 8/);
        assert.match((await violations(p, CERTIFICATE, certificate({ privateKey: { algorithm: "ECDSA", size: 224 } })))[0], /ECDSA 224: set spec\.privateKey\.size to one of 256, 384, 521/);
        assert.deepEqual(await violations(p, CERTIFICATE, certificate({ privateKey: { algorithm: "RSA", size: 2048 } }), { minRsaBits: 2048 }), [], "configurable");
        assert.equal((await violations(p, CERTIFICATE, certificate({ privateKey: { algorithm: "Ed25519" } }), { allowEd25519: false })).length, 1);
        assert.deepEqual(await violations(p, CERTIFICATE, certificate({ privateKey: undefined }), { exemptResources: ["legacy"] }, { name: "legacy" }), [], "exempt resources are skipped");
        assert.deepEqual(await violations(p, k8s.core.v1.ConfigMap, { spec: {} }), [], "only Certificates");
    });

    it("certificate-key-rotation: Always passes; unset (Never before cert-manager 1.18) and Never fail", async () => {
        const p = rules.certificateKeyRotation;
        assert.deepEqual(await violations(p, CERTIFICATE, goodCertificate), []);
        assert.match((await violations(p, CERTIFICATE, certificate({ privateKey: { algorithm: "ECDSA" } })))[0], /rotationPolicy is not set: cert-manager before v1\.18 defaults to Never/);
        assert.match((await violations(p, CERTIFICATE, certificate({ privateKey: { rotationPolicy: "Never" } })))[0], /is "Never": the key is reused across renewals/);
    });

    it("certificate-lifetime: duration within bounds (unset is 90 days), renewal window between 10% and a third of the lifetime", async () => {
        const p = rules.certificateLifetime;
        const lifetime = (spec: Record<string, unknown>, config = {}) => violations(p, CERTIFICATE, certificate(spec), config);
        assert.deepEqual(await lifetime({}), [], "2160h renewed 720h before expiry: exactly cert-manager's default point");
        assert.deepEqual(await lifetime({ duration: undefined, renewBefore: undefined }), [], "cert-manager's defaults");
        assert.deepEqual(await lifetime({ duration: "1h", renewBefore: "20m" }), []);
        assert.deepEqual(await lifetime({ duration: "1h30m", renewBefore: "30m" }), []);
        assert.deepEqual(await lifetime({ renewBefore: undefined, renewBeforePercentage: 25 }), []);
        assert.match((await lifetime({ duration: "4320h", renewBefore: "1000h" }))[0], /spec\.duration 4320h exceeds 2160h/);
        assert.match((await lifetime({ duration: "30m", renewBefore: "10m" }))[0], /spec\.duration 30m is shorter than 1h/);
        assert.match((await lifetime({ renewBefore: "1500h" }))[0], /spec\.renewBefore 1500h renews more than a third of the lifetime \(720h of 2160h\)/);
        assert.match((await lifetime({ renewBefore: "24h" }))[0], /spec\.renewBefore 24h leaves less than 10% of the lifetime \(216h of 2160h\)/);
        assert.match((await lifetime({ renewBefore: "2160h" }))[0], /is not shorter than spec\.duration/);
        assert.match((await lifetime({ renewBefore: undefined, renewBeforePercentage: 50 }))[0], /spec\.renewBeforePercentage 50 renews more than a third/);
        assert.match((await lifetime({ duration: undefined, renewBefore: "1h" }))[0], /of 2160h \(unset: cert-manager's default\)/);
        assert.match((await lifetime({ duration: "90d" }))[0], /spec\.duration "90d" is not a positive Go duration/);
        assert.match((await lifetime({ renewBefore: "720h", renewBeforePercentage: 30 }))[0], /both set/);
        assert.deepEqual(await lifetime({ duration: "4320h", renewBefore: "1440h" }, { maxDuration: "4320h" }), [], "configurable");
        assert.deepEqual(await lifetime({ renewBefore: "24h" }, { minRenewBeforePercent: 1 }), [], "configurable");
    });

    it("certificate-ca-issuer: a CA certificate only from an approved issuer", async () => {
        const p = rules.certificateCaIssuer;
        const ca = certificate({ isCA: true, issuerRef: { name: "bootstrap", kind: "ClusterIssuer" } });
        assert.deepEqual(await violations(p, CERTIFICATE, goodCertificate), []);
        assert.match((await violations(p, CERTIFICATE, ca))[0], /spec\.isCA is true with issuer ClusterIssuer\/bootstrap, which is not an approved CA issuer \(none are\)/);
        assert.deepEqual(await violations(p, CERTIFICATE, ca, { approvedCaIssuers: ["ClusterIssuer/bootstrap"] }), []);
        assert.equal((await violations(p, CERTIFICATE, certificate({ isCA: true, issuerRef: { name: "bootstrap" } }), { approvedCaIssuers: ["ClusterIssuer/bootstrap"] })).length, 1, "issuerRef.kind defaults to Issuer");
    });

    it("certificate-leaf-usages: no cert sign or crl sign on a certificate that is not a CA", async () => {
        const p = rules.certificateLeafUsages;
        assert.deepEqual(await violations(p, CERTIFICATE, goodCertificate), []);
        assert.deepEqual(await violations(p, CERTIFICATE, certificate({ isCA: true, usages: ["cert sign", "crl sign"] })), []);
        const found = await violations(p, CERTIFICATE, certificate({ usages: ["digital signature", "cert sign", "crl sign"] }));
        assert.equal(found.length, 2, found.join("\n"));
        assert.match(found[0], /spec\.usages has "cert sign" on a certificate that is not a CA/);
    });

    it("istio-csr-issuance: the shipped values pass; a long maximum, a discovered root and kept requests fail", async () => {
        const p = rules.istioCsrIssuance;
        const shipped = istioCsrValues({ clusterName: "c1", trustDomain: "c1.mesh.acme.example", highAvailability: true, mesh: meshSettingsSchema.parse({}) });
        const release = (values: Record<string, any>) => ({ chart: "oci://quay.io/jetstack/charts/cert-manager-istio-csr", version: "v0.17.0", values });
        const app = (changes: Record<string, any>) => release({ ...shipped, app: { ...shipped.app, ...changes } });
        assert.deepEqual(await violations(p, k8s.helm.v3.Release, release(shipped)), []);
        assert.match((await violations(p, k8s.helm.v3.Release, app({ server: { ...shipped.app.server, maxCertificateDuration: "24h" } })))[0], /maxCertificateDuration 24h exceeds 1h/);
        assert.match((await violations(p, k8s.helm.v3.Release, app({ tls: { ...shipped.app.tls, rootCAFile: "" } })))[0], /values\.app\.tls\.rootCAFile is not set: /);
        assert.match((await violations(p, k8s.helm.v3.Release, { ...app({ tls: { trustDomain: "x" } }), valueYamlFiles: ["values.yaml"] }))[0], /invisible to policies/);
        assert.match((await violations(p, k8s.helm.v3.Release, app({ certmanager: { ...shipped.app.certmanager, preserveCertificateRequests: true } })))[0], /preserveCertificateRequests is true/);
        const chartDefault = { ...shipped, app: { ...shipped.app, server: { clusterID: "c1" } } };
        assert.deepEqual(await violations(p, k8s.helm.v3.Release, release(chartDefault)), [], "the chart's default is 1h");
        assert.match((await violations(p, k8s.helm.v3.Release, release(chartDefault), { maxCertificateDuration: "30m" }))[0], /1h \(unset: the chart's default\) exceeds 30m/);
        assert.deepEqual(await violations(p, k8s.helm.v3.Release, { chart: "istiod", values: {} }), [], "other charts");
    });

    it("mesh-issuer-request-policy: the shipped policies pass; CA, unbounded, unpinned or foreign identities on the mesh issuer fail", async () => {
        const p = rules.meshIssuerRequestPolicy;
        const check = (crp: Record<string, any>, config = {}) => violations(p, REQUEST_POLICY, crp, config);
        const serving = requestPolicy({ uris: undefined, dnsNames: { values: ["cert-manager-istio-csr.cert-manager.svc"], required: true } }, { constraints: { maxDuration: "1h" } });
        assert.deepEqual(await check(workloadPolicy), []);
        assert.deepEqual(await check(serving), [], "serving certificates pin DNS names instead of SPIFFE IDs");
        assert.match((await check(requestPolicy({ isCA: true })))[0], /spec\.allowed\.isCA is true and the policy selects the mesh issuer istio-ca/);
        assert.match((await check(requestPolicy({ usages: ["digital signature", "cert sign"] })))[0], /spec\.allowed\.usages has "cert sign"/);
        assert.match((await check(requestPolicy({}, { constraints: {} })))[0], /spec\.constraints\.maxDuration is not set/);
        assert.match((await check(requestPolicy({}, { constraints: { maxDuration: "2160h" } })))[0], /maxDuration 2160h exceeds 1h/);
        assert.deepEqual(await check(requestPolicy({}, { constraints: { maxDuration: "2h" } }), { maxDuration: "2h" }), [], "configurable");
        const unrequired = await check(requestPolicy({ uris: { values: ["spiffe://aws.prod.mesh.acme.example/ns/*/sa/*"] } }));
        assert.equal(unrequired.length, 2, unrequired.join("\n"));
        assert.match(unrequired[0], /uris\.required is not true: a request without any SPIFFE ID is approved as well/);
        assert.match(unrequired[1], /approves certificates that name no workload and no service/);
        assert.match((await check(requestPolicy({ uris: { values: ["spiffe://*/ns/*/sa/*"], required: true } })))[0], /is not a SPIFFE ID of one trust domain/);
        assert.match((await check(requestPolicy({ uris: { values: ["*"], required: true } })))[0], /is not a SPIFFE ID/);
        assert.match((await check(requestPolicy({ uris: { values: ["spiffe://cluster.local/ns/*/sa/*"], required: true } })))[0], /cluster\.local, Istio's default/);
        assert.deepEqual(await check(requestPolicy({ uris: { values: ["spiffe://cluster.local/ns/*/sa/*"], required: true } }), { allowClusterLocal: true }), []);
        assert.match((await check(workloadPolicy, { trustDomains: ["gcp.prod.mesh.acme.example"] }))[0], /trust domain aws\.prod\.mesh\.acme\.example, not one of gcp\.prod\.mesh\.acme\.example/);
        assert.match((await check(requestPolicy({ dnsNames: { values: ["*"], required: true } })))[0], /allows every DNS name/);
        const loose = requestPolicy({ isCA: true }, { constraints: {} });
        for (const selector of [{ issuerRef: {} }, { issuerRef: { name: "istio-*" } }, { namespace: { matchNames: ["*"] } }]) {
            assert.equal((await check({ ...loose, spec: { ...loose.spec, selector } })).length, 2, `${JSON.stringify(selector)} selects the mesh issuer too`);
        }
        // A managed CA's issuer (aws-privateca-issuer, google-cas-issuer) is the mesh issuer of its cluster.
        for (const selector of [{ issuerRef: { name: "*", kind: "AWSPCAIssuer", group: "awspca.cert-manager.io" } }, { issuerRef: { name: "istio-ca", kind: "GoogleCASIssuer" } }]) {
            assert.equal((await check({ ...loose, spec: { ...loose.spec, selector } })).length, 2, `${JSON.stringify(selector)} selects a managed mesh issuer`);
        }
        for (const selector of [{ issuerRef: { name: "acme", kind: "ClusterIssuer" } }, { issuerRef: { name: "*", kind: "VenafiIssuer" } }, { issuerRef: { name: "*", group: "jetstack.io" } }]) {
            assert.deepEqual(await check({ ...loose, spec: { ...loose.spec, selector } }), [], `${JSON.stringify(selector)} is another issuer`);
        }
        assert.equal((await check({ ...loose, spec: { ...loose.spec, selector: { issuerRef: { name: "vault" } } } }, { meshIssuers: ["vault"] })).length, 2, "mesh issuers are configurable");
    });

    describe("acme-http01-where-it-works", () => {
        const p = rules.acmeHttp01WhereItWorks;
        const CLUSTER_ISSUER = "kubernetes:cert-manager.io/v1:ClusterIssuer";
        const INGRESS_CLASS = "kubernetes:networking.k8s.io/v1:IngressClass";
        const kube = (name: string) => node("pulumi:providers:kubernetes", name, {});
        const http01 = { http01: { ingress: { ingressClassName: "istio" } } };
        const dns01 = { dns01: { route53: { hostedZoneID: "Z0123", region: "eu-west-1" } } };
        /** One cluster's ACME issuer, the IngressClass istio when asked, and a Certificate for `hosts`. */
        const cluster = (provider: ReturnType<typeof kube> | undefined, solvers: object[], hosts: string[], ingressClass = true) => [
            ...(provider ? [provider] : []),
            node(CLUSTER_ISSUER, `${provider?.name ?? "default"}-acme`, { metadata: { name: "acme" }, spec: { acme: { server: "https://acme.example/dir", solvers } } }, { provider }),
            ...(ingressClass ? [node(INGRESS_CLASS, `${provider?.name ?? "default"}-class`, { metadata: { name: "istio" }, spec: { controller: "istio.io/ingress-controller" } }, { provider })] : []),
            node(CERTIFICATE, `${provider?.name ?? "default"}-cert`, certificate({ dnsNames: hosts }), { provider }),
        ];

        it("passes DNS-01 from several clusters, and HTTP-01 on one cluster with its IngressClass, default provider included", async () => {
            assert.deepEqual(await stackViolations(p, [...cluster(kube("eks-a"), [dns01], ["shop.acme.example"]), ...cluster(kube("gke-b"), [dns01], ["shop.acme.example"])]), []);
            assert.deepEqual(await stackViolations(p, cluster(undefined, [http01], ["shop.acme.example"])), []);
            assert.deepEqual(await stackViolations(p, cluster(kube("default_4_34_2"), [http01, { ...dns01, selector: { dnsNames: ["*.acme.example"] } }], ["shop.acme.example", "*.acme.example"])), [], "a dns01 solver for the wildcard");
        });

        it("refuses an IngressClass nobody created, a wildcard over HTTP-01, and one name ordered by HTTP-01 on two clusters", async () => {
            const noClass = await stackViolations(p, cluster(kube("default"), [http01], ["shop.acme.example"], false));
            assert.equal(noClass.length, 1, noClass.join("\n"));
            assert.match(noClass[0], /^ACME issuer default-acme on cluster default solves HTTP-01 through an Ingress of class istio, and no IngressClass istio exists/);
            assert.deepEqual(await stackViolations(p, cluster(kube("default"), [http01], ["shop.acme.example"], false), { externalIngressClasses: ["istio"] }), [], "a class installed elsewhere");
            assert.match((await stackViolations(p, cluster(undefined, [http01], ["*.acme.example"])))[0], /asks default-acme for wildcard \*\.acme\.example, which ACME CAs validate only by DNS-01/);
            const two = await stackViolations(p, [...cluster(kube("eks-a"), [http01], ["shop.acme.example"]), ...cluster(kube("eks-b"), [http01], ["shop.acme.example", "api.acme.example"])]);
            assert.equal(two.length, 2, two.join("\n"));
            assert.match(two[0], /^Certificate eks-a-cert on cluster eks-a orders shop\.acme\.example by HTTP-01, as clusters eks-b do/);
            assert.deepEqual(await stackViolations(p, [...cluster(kube("eks-a"), [http01], ["shop.acme.example"]), ...cluster(kube("eks-b"), [http01], ["shop.acme.example"])], { exemptClusters: ["eks-b"] }), []);
        });

        it("picks solvers as cert-manager does: dnsNames before dnsZones before none; wildcards only by dns01", () => {
            const byZone = { ...dns01, selector: { dnsZones: ["acme.example"] } };
            const byDeeperZone = { ...http01, selector: { dnsZones: ["shop.acme.example"] } };
            const byName = { ...http01, selector: { dnsNames: ["www.acme.example"] } };
            const solvers = [http01, byZone, byDeeperZone, byName];
            assert.equal(rules.pickSolver(solvers, "www.acme.example"), byName);
            assert.equal(rules.pickSolver(solvers, "api.acme.example"), byZone);
            assert.equal(rules.pickSolver(solvers, "x.shop.acme.example"), byDeeperZone);
            assert.equal(rules.pickSolver(solvers, "other.example"), http01);
            assert.equal(rules.pickSolver([http01], "*.acme.example"), undefined);
        });
    });

    it("istio-csr-requests-approvable: the empty organization passes; none, a wider one or no policy fails, on default and explicit providers", async () => {
        const csr = istioCsrValues({ clusterName: "c1", trustDomain: "aws.prod.mesh.acme.example", highAvailability: false, mesh: meshSettingsSchema.parse({}) });
        const serving = requestPolicy({ uris: undefined, dnsNames: { values: ["cert-manager-istio-csr.cert-manager.svc"], required: true } }, { constraints: { maxDuration: "1h" } });
        const RELEASE = "kubernetes:helm.sh/v3:Release";
        // A program that names no provider: the engine registers the default one, a cluster like any other.
        const cluster = (provider: string, policies: Record<string, any>[]) => [
            { type: "pulumi:providers:kubernetes", name: provider, inputs: {} },
            { type: RELEASE, name: `${provider}-approver-policy`, provider, inputs: { chart: "oci://quay.io/jetstack/charts/cert-manager-approver-policy", values: {} } },
            { type: RELEASE, name: `${provider}-istio-csr`, provider, inputs: { chart: "oci://quay.io/jetstack/charts/cert-manager-istio-csr", namespace: "cert-manager", values: csr } },
            ...policies.map((crp, i) => ({ type: REQUEST_POLICY, name: `${provider}-crp-${i}`, provider, inputs: crp })),
        ];
        const flagged = async (...entries: ReturnType<typeof cluster>[]) =>
            (await packFlagsGraph("key-material", entries.flat())).filter((v) => v.policy === "istio-csr-requests-approvable");
        assert.deepEqual(await flagged(cluster("default", [workloadPolicy, serving])), []);
        const unset = await flagged(cluster("default_4_34_2", [requestPolicy({ subject: undefined })]));
        assert.equal(unset.length, 1, JSON.stringify(unset));
        assert.match(unset[0].message, /istio-csr release default_4_34_2-istio-csr on cluster default_4_34_2: CertificateRequestPolicy istio-mesh-workloads does not allow the empty subject organization every Istio CSR carries/);
        assert.equal(unset[0].enforcementLevel, "mandatory");
        assert.match((await flagged(cluster("default", [requestPolicy({ subject: { organizations: { values: ["", "*"] } } })])))[0].message, /allows subject organizations "\*", which istio-csr never requests/);
        assert.match((await flagged(cluster("default", [])))[0].message, /no CertificateRequestPolicy on Issuer istio-ca allows istio-csr's requests/);
        const two = await flagged(cluster("eks-a", [workloadPolicy]), cluster("gke-b", [{ ...serving, spec: { ...serving.spec, allowed: { ...serving.spec.allowed, subject: undefined } } }]));
        assert.deepEqual(two.map((v) => v.message.split(":")[0]), ["istio-csr release gke-b-istio-csr on cluster gke-b"], "per cluster: the serving policy of gke-b");
        // approver-policy evaluates only the policies the requester may `use`: istiod's, bound to cert-manager, is not istio-csr's.
        const istiodServing = { metadata: { name: "istiod-serving" }, spec: { ...workloadPolicy.spec, allowed: { uris: { values: ["spiffe://aws.prod.mesh.acme.example/ns/istio-system/sa/istiod"] } } } };
        const use = (policy: string, account: string) => [
            { type: "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole", name: `role-${policy}`, provider: "default", inputs: { metadata: { name: `use-${policy}` }, rules: [{ apiGroups: ["policy.cert-manager.io"], resources: ["certificaterequestpolicies"], verbs: ["use"], resourceNames: [policy] }] } },
            { type: "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding", name: `binding-${policy}`, provider: "default", inputs: { metadata: { name: `use-${policy}` }, roleRef: { kind: "ClusterRole", name: `use-${policy}` }, subjects: [{ kind: "ServiceAccount", namespace: "cert-manager", name: account }] } },
        ];
        assert.deepEqual(await flagged([...cluster("default", [workloadPolicy, istiodServing]), ...use("istio-mesh-workloads", "cert-manager-istio-csr"), ...use("istiod-serving", "cert-manager")]), []);
        assert.match((await flagged(cluster("default", [workloadPolicy, istiodServing])))[0].message, /istiod-serving does not allow/, "without grants in the stack, every policy may apply");
        const withoutApproverPolicy = cluster("default", []).filter((e) => !e.name.endsWith("approver-policy"));
        assert.deepEqual(await flagged(withoutApproverPolicy), [], "cert-manager's own approver decides");
        assert.deepEqual(await stackViolations(rules.istioCsrRequestsApprovable, [
            node(RELEASE, "ap", { chart: "cert-manager-approver-policy" }), node(RELEASE, "csr", { chart: "cert-manager-istio-csr", values: csr }),
        ], { exemptClusters: ["default"] }), [], "exemptClusters");
    });

    it("no-private-key-in-stack-output: keys only in the outputs a stack declares; nested and plain keys elsewhere fail", async () => {
        const p = rules.noPrivateKeyInStackOutput;
        const pki = (outputs: Record<string, unknown>) => node(STACK, "istio-production-pki-prod", outputs, { stack: "pki-prod" });
        const prod = (outputs: Record<string, unknown>) => node(STACK, "istio-production-prod", outputs, { stack: "prod" });
        assert.deepEqual(await stackViolations(p, [pki({ intermediateKeys: { "prod-aws-use1": PEM_KEY }, trustBundles: { prod: ["-----BEGIN CERTIFICATE-----"] } })]), []);
        const found = await stackViolations(p, [prod({ clusters: [{ name: "a", debug: { key: PEM_KEY } }], intermediateKeys: { a: PEM_KEY } })]);
        assert.equal(found.length, 2, found.join("\n"));
        assert.match(found[0], /stack output clusters\[0\]\.debug\.key of stack prod holds a PEM private key: .*declare it in keyOutputs\.prod/);
        assert.match(found[1], /stack output intermediateKeys\.a of stack prod/, "declared for pki, not for prod");
        assert.deepEqual(await stackViolations(p, [prod({ key: PEM_KEY })], { keyOutputs: { prod: ["key"] } }), []);
        assert.deepEqual(await stackViolations(p, [node(tls.PrivateKey, "k", { privateKeyPem: PEM_KEY })]), [], "only the stack's outputs");
    });

    it("key-material-of-own-environment: a stack reads keys only from its own environment's stack", async () => {
        const p = rules.keyMaterialOfOwnEnvironment;
        const mesh = (environment: unknown) => node(STACK, "istio-production-dev", environment === undefined ? {} : { environment }, { stack: "dev" });
        const ref = (name: string, outputs: Record<string, unknown>) => node("pulumi:pulumi:StackReference", name, { name, outputs }, { stack: "dev" });
        const devPki = ref("acme/istio-production/pki-dev", { environment: "dev", intermediateKeys: { "dev-aws-1": PEM_KEY } });
        assert.deepEqual(await stackViolations(p, [mesh("dev"), devPki]), []);
        assert.deepEqual(await stackViolations(p, [mesh("dev"), ref("acme/istio-production/dev", { stage: 2 })]), [], "no keys: the stage gate's read of itself");
        const prodPki = ref("acme/istio-production/pki-prod", { environment: "prod", intermediateKeys: { "prod-aws-use1": PEM_KEY } });
        assert.match((await stackViolations(p, [mesh("dev"), prodPki]))[0], /stack dev reads stack acme\/istio-production\/pki-prod, whose outputs hold private keys \(outputs\.intermediateKeys\.prod-aws-use1\), and it is not istio-production's pki-dev, and its outputs are environment "prod"'s/);
        const shared = ref("acme/istio-production/pki", { trustBundles: {}, intermediateKeys: { "dev-aws-1": PEM_KEY, "prod-aws-use1": PEM_KEY } });
        assert.match((await stackViolations(p, [mesh("dev"), shared]))[0], /of no single environment \(it declares none\)/, "the former shared pki stack");
        assert.deepEqual(await stackViolations(p, [mesh(undefined), devPki]), [], "the environment is the reader's stack name, not an output");
        // The environment is not free config: stack dev declaring prod and reading prod's keys is still dev reading prod.
        const found = await stackViolations(p, [mesh("prod"), prodPki]);
        assert.match(found[0], /it is not istio-production's pki-dev, and its outputs are environment "prod"'s, and the reader declares environment "prod" in stack dev/);
        const otherProject = ref("acme/other-project/pki-dev", { environment: "dev", intermediateKeys: { "dev-aws-1": PEM_KEY } });
        assert.match((await stackViolations(p, [mesh("dev"), otherProject]))[0], /it is not istio-production's pki-dev: /, "the whole name, not its last segment");
    });
});
