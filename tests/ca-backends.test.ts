import assert from "node:assert/strict";
import { mandatoryViolations, Plan, planStack, stackOutputs } from "../engine/plan";
import { plain } from "../engine/values";
import { CapturedResource } from "../engine/graph";
import { caHandoffStep } from "../config/stageGate";
import { activateManagedCa, issueFromManagedCa, ManagedCaCurve } from "../engine/emulation/managedCa";
import { pemEncode, splitCertificatesPem } from "../engine/emulation/tls/der";
import { generatePrivateKey, privateKeyPem } from "../engine/emulation/tls/keys";
import { createCertificateRequest } from "../engine/emulation/tls/x509";
import { nameFromSubject } from "../engine/emulation/tls/names";
import { mtlsHandshake, opensslVerify } from "./support/pki";
import { secretBackendProdPlan, shippedPlan } from "./support/plan";
import { node, stackViolations } from "./support/policy";
import { managedCaHandoffPending, noSecretCaBackendInProduction } from "../policy/key-material/caBackends";
import { stackConfig, toRuntime } from "./support/stacks";

const AWS_CA = "aws:acmpca/certificateAuthority:CertificateAuthority";
const AWS_IMPORT = "aws:acmpca/certificateAuthorityCertificate:CertificateAuthorityCertificate";
const GCP_CA = "gcp:certificateauthority/authority:Authority";
const RELEASE = "kubernetes:helm.sh/v3:Release";

const ofType = (plan: Plan, type: string) => plan.graph.resources.filter((r) => r.type === type);

/**
 * The emulated CA services keep what was imported into them in the process that made the plan, and this test process
 * may have read a plan another one made: the plan's imports are replayed into this process's services first.
 */
function replayImports(plan: Plan): void {
    // The key algorithms the emulators accept (engine/emulation/aws.ts PCA_CURVES, gcp.ts CAS_CURVES).
    const curves: Record<string, ManagedCaCurve> = { EC_prime256v1: "P256", EC_secp384r1: "P384", EC_P256_SHA256: "P256", EC_P384_SHA384: "P384" };
    for (const r of ofType(plan, AWS_IMPORT)) {
        const { certificateAuthorityArn, certificate, certificateChain } = plain(r.inputs);
        const ca = ofType(plan, AWS_CA).find((c) => plain(c.outputs).arn === certificateAuthorityArn)!;
        const curve = curves[plain(ca.inputs).certificateAuthorityConfiguration.keyAlgorithm];
        assert.equal(activateManagedCa(certificateAuthorityArn, curve, certificate, splitCertificatesPem(certificateChain)), undefined);
    }
    for (const r of ofType(plan, GCP_CA)) {
        const { pemCaCertificate, subordinateConfig, keySpec } = plain(r.inputs);
        assert.equal(activateManagedCa(String(plain(r.outputs).id), curves[keySpec.algorithm], pemCaCertificate, subordinateConfig.pemIssuerChain.pemCertificates), undefined);
    }
}
const one = (plan: Plan, type: string): CapturedResource => {
    const found = ofType(plan, type);
    assert.equal(found.length, 1, `${type}: ${found.map((r) => r.name).join(", ")}`);
    return found[0];
};
/** The Kubernetes cluster a resource is applied to: its provider's name. */
const clusterOf = (r: CapturedResource) => r.provider.split("::").pop();

/** A proxy's CSR as Istio makes it (empty subject, the identity in a URI SAN), and its key. */
async function workloadCsr(spiffeId: string): Promise<{ csrPem: string; keyPem: string }> {
    const key = await generatePrivateKey("ECDSA", 2048, "P256");
    const csr = createCertificateRequest(nameFromSubject(undefined), { dnsNames: [], ipAddresses: [], uris: [spiffeId] }, key);
    return { csrPem: pemEncode("CERTIFICATE REQUEST", csr), keyPem: privateKeyPem(key) };
}

describe("managed CA backends: hardware-backed subordinates per cluster, signed by the offline root", () => {
    let prod: Plan;
    before(async () => {
        prod = await shippedPlan("prod");
    });

    it("prod: a subordinate CA per cluster on its own cloud, imported, and the issuers of the matching kinds", () => {
        assert.deepEqual(mandatoryViolations(prod), []);
        const aws = plain(one(prod, AWS_CA).inputs);
        assert.equal(aws.type, "SUBORDINATE");
        assert.equal(aws.usageMode, "GENERAL_PURPOSE");
        assert.equal(aws.keyStorageSecurityStandard, "FIPS_140_2_LEVEL_3_OR_HIGHER");
        assert.match(String(plain(one(prod, AWS_IMPORT).inputs).certificate), /BEGIN CERTIFICATE/);
        const gcp = one(prod, GCP_CA);
        assert.equal(plain(gcp.inputs).type, "SUBORDINATE");
        // Activated with the pki stack's certificate and asked to be ENABLED: activation alone leaves a CA STAGED.
        assert.equal(plain(gcp.inputs).desiredState, "ENABLED");
        assert.equal(plain(gcp.outputs).state, "ENABLED");
        assert.equal(plain(one(prod, "gcp:certificateauthority/caPool:CaPool").inputs).tier, "DEVOPS");

        const issuers = prod.graph.resources.filter((r) => /:(AWSPCAIssuer|GoogleCASIssuer|Issuer|ClusterIssuer)$/.test(r.type));
        assert.deepEqual(issuers.map((r) => [r.type, clusterOf(r)]).sort(), [
            ["kubernetes:awspca.cert-manager.io/v1beta1:AWSPCAIssuer", "prod-aws-use1"],
            ["kubernetes:cas-issuer.jetstack.io/v1beta1:GoogleCASIssuer", "prod-gcp-usc1"],
            ["kubernetes:cert-manager.io/v1:ClusterIssuer", "prod-aws-use1"], // ACME, ingress
            ["kubernetes:cert-manager.io/v1:ClusterIssuer", "prod-gcp-usc1"],
        ]);
        for (const cluster of ["prod-aws-use1", "prod-gcp-usc1"]) {
            const kind = cluster.includes("aws") ? { kind: "AWSPCAIssuer", group: "awspca.cert-manager.io" } : { kind: "GoogleCASIssuer", group: "cas-issuer.jetstack.io" };
            const releases = ofType(prod, RELEASE).filter((r) => clusterOf(r) === cluster);
            const values = (chart: string) => plain(releases.find((r) => String(plain(r.inputs).chart).endsWith(chart))!.inputs).values;
            assert.deepEqual(values("cert-manager-istio-csr").app.certmanager.issuer, { enabled: true, name: "istio-ca", ...kind });
            assert.ok(values("cert-manager-approver-policy").app.approveSignerNames.some((s: string) => s.startsWith(`${kind.kind.toLowerCase()}s.${kind.group}/`)));
            // The mesh's policies (istio-mesh-workloads, istio-csr-serving, istiod-serving); the ingress's select its ACME issuer.
            const policies = prod.graph.resources.filter((r) => r.type.endsWith(":CertificateRequestPolicy") && clusterOf(r) === cluster && /istio/.test(plain(r.inputs).metadata.name));
            assert.equal(policies.length, 3);
            for (const p of policies) assert.deepEqual(plain(p.inputs).spec.selector.issuerRef, { name: "istio-ca", ...kind }, p.name);
        }
        const outputs = stackOutputs(prod.graph).outputs as any;
        assert.deepEqual(Object.fromEntries(Object.entries(outputs.caBackends).map(([k, v]: [string, any]) => [k, [v.backend, v.step]])), {
            "prod-aws-use1": ["aws-private-ca", "managed"],
            "prod-gcp-usc1": ["google-cas", "managed"],
        });
        // 12 nodes × 30 pods, 60-minute certificates renewed at half-life: 360 × 730 × 2 a month.
        const awsCost = outputs.caBackends["prod-aws-use1"].monthlyCost;
        assert.equal(awsCost.certificatesPerMonth, 360 * 730 * 2);
        // AWS's price list (https://aws.amazon.com/private-ca/pricing/): a general-purpose CA $400 a month, certificates
        // $0.75 for the first 1,000 a month, $0.35 to 10,000, $0.001 beyond; a short-lived-mode CA $50, $0.058 each.
        assert.equal(awsCost.directIssuanceUsd.generalPurpose, Math.round(400 + 1000 * 0.75 + 9000 * 0.35 + (525600 - 10000) * 0.001));
        assert.equal(awsCost.directIssuanceUsd.shortLived, Math.round(50 + 525600 * 0.058));
        assert.ok(awsCost.directIssuanceUsd.generalPurpose < awsCost.directIssuanceUsd.shortLived, "the mode prod runs is the cheaper one at its size");
        assert.deepEqual(outputs.subordinateCsrs, {});
        // The plan carried the handoff out: the shipped pki-prod holds no CSR, the plan had it sign prod's.
        assert.deepEqual(prod.caHandoff, { pkiStack: "pki-prod", clusters: ["prod-aws-use1", "prod-gcp-usc1"] });
        assert.equal(stackConfig("pki-prod").subordinateCsrs, undefined, "no CSR in the shipped pki stack: a CSR is a fact of a real account");
    });

    it("prod: no Secret holds a CA key, no Certificate makes a CA in-cluster: the reader tokens, which read Secrets cluster-wide, find none", () => {
        for (const s of ofType(prod, "kubernetes:core/v1:Secret")) {
            const data = JSON.stringify(plain(s.inputs).stringData ?? {}) + JSON.stringify(plain(s.inputs).data ?? {});
            assert.doesNotMatch(data, /PRIVATE KEY/, `Secret ${s.name} holds a private key`);
        }
        const caIssuers = prod.graph.resources.filter((r) => /cert-manager\.io\/v1:(Cluster)?Issuer$/.test(r.type) && plain(r.inputs).spec?.ca);
        assert.deepEqual(caIssuers.map((r) => r.name), []);
        const caCertificates = prod.graph.resources.filter((r) => r.type === "kubernetes:cert-manager.io/v1:Certificate" && plain(r.inputs).spec?.isCA);
        assert.deepEqual(caCertificates.map((r) => r.name), []);
        // The pki stack signed, and holds no key for either cluster.
        const pki = stackOutputs(prod.referencedGraphs.get("pki-prod")!).outputs as any;
        assert.deepEqual(Object.keys(pki.intermediateKeys), []);
        assert.deepEqual(Object.values(pki.intermediates).map((i: any) => i.key), ["managed-ca", "managed-ca"]);
    });

    it("workloads chain to the offline root through each backend, and complete mutual TLS across the clouds", async () => {
        replayImports(prod);
        const outputs = stackOutputs(prod.graph).outputs as any;
        const roots: string[] = (stackOutputs(prod.referencedGraphs.get("pki-prod")!).outputs as any).trustBundle;
        const awsArn = String(plain(one(prod, AWS_CA).outputs).arn);
        const gcpName = String(plain(one(prod, GCP_CA).outputs).id);
        const tds = Object.fromEntries(outputs.clusters.map((c: any) => [c.cloud, c.trustDomain]));
        const peer = async (ca: string, td: string, sa: string) => {
            const { csrPem, keyPem } = await workloadCsr(`spiffe://${td}/ns/shop/sa/${sa}`);
            const issued = issueFromManagedCa(ca, "P256", csrPem, { validityMinutes: 60 });
            const intermediates = issued.chainPem.filter((pem) => !roots.some((r) => r.trim() === pem.trim()));
            const verified = await opensslVerify(roots, intermediates, issued.certPem, ["-x509_strict"]);
            assert.ok(verified.ok, verified.output);
            return { certChainPem: [issued.certPem, ...intermediates].join(""), keyPem, caPems: roots };
        };
        const frontend = await peer(awsArn, tds.aws, "frontend");
        const cart = await peer(gcpName, tds.gcp, "cart");
        const result = await mtlsHandshake({ server: cart, client: frontend });
        assert.ok(result.ok, JSON.stringify(result));
        assert.equal(result.serverSawPeerUri, `spiffe://${tds.aws}/ns/shop/sa/frontend`);
        assert.equal(result.clientSawPeerUri, `spiffe://${tds.gcp}/ns/shop/sa/cart`);

        // The name constraints of the offline ceremony bind the HSM keys too: the AWS subordinate cannot mint GCP identities.
        const { csrPem } = await workloadCsr(`spiffe://${tds.gcp}/ns/shop/sa/cart`);
        const crossed = issueFromManagedCa(awsArn, "P256", csrPem, { validityMinutes: 60 });
        const refused = await opensslVerify(roots, crossed.chainPem.slice(0, 1), crossed.certPem);
        assert.equal(refused.ok, false, refused.output);
        assert.match(refused.output, /permitted subtree violation/);
    });

    it("the import is refused when the signed certificate is not the subordinate's own key: the pki stack signed another CSR", async () => {
        const step1 = await planStack({ stack: "prod", caHandoff: false });
        const { "prod-aws-use1": aws, "prod-gcp-usc1": gcp } = (stackOutputs(step1.graph).outputs as any).subordinateCsrs;
        const pki = { ...stackConfig("pki-prod"), subordinateCsrs: { "prod-aws-use1": gcp, "prod-gcp-usc1": aws } };
        await assert.rejects(planStack({ stack: "prod", referencedConfig: { "pki-prod": toRuntime(pki) } }),
            /ImportCertificateAuthorityCertificate: the certificate does not carry this CA's public key/);
    });

    it("step 1: before the pki stack signs, the mesh stack exports each subordinate's CSR and imports nothing", async () => {
        // Stage 1 (one cluster, istiod as CA) is where a new stack runs step 1.
        const config: Record<string, any> = { ...stackConfig("prod"), stage: 1, pki: undefined, edgeAuth: undefined, services: [], traffic: undefined, observability: undefined };
        config.clusters = config.clusters.slice(0, 1);
        const plan = await planStack({ stack: "prod", config: toRuntime(config) });
        assert.equal(ofType(plan, AWS_IMPORT).length, 0);
        assert.equal(plan.graph.resources.filter((r) => /AWSPCAIssuer/.test(r.type)).length, 0);
        const outputs = stackOutputs(plan.graph).outputs as any;
        assert.match(outputs.subordinateCsrs["prod-aws-use1"], /BEGIN CERTIFICATE REQUEST/);
        assert.equal(outputs.caBackends["prod-aws-use1"].step, "awaiting-signature");
    });

    it("moving a running prod to managed CAs: step 1 keeps the Secret-backed issuer standing in, reported, not refused", async () => {
        const step1 = await planStack({ stack: "prod", caHandoff: false });
        assert.deepEqual(mandatoryViolations(step1), []);
        const pending = step1.violations.filter((v) => v.policy === "managed-ca-handoff-pending");
        assert.equal(pending.length, 2, JSON.stringify(pending));
        for (const v of pending) assert.equal(v.enforcementLevel, "advisory");
        assert.deepEqual(Object.values((stackOutputs(step1.graph).outputs as any).caBackends).map((c: any) => c.step), ["awaiting-signature", "awaiting-signature"]);
        const annotated = step1.graph.resources.filter((r) => /cert-manager\.io\/v1:Issuer$/.test(r.type) && plain(r.inputs).metadata.annotations?.["istio-production.io/awaiting-managed-ca"]);
        assert.deepEqual(annotated.map((r) => plain(r.inputs).metadata.annotations["istio-production.io/awaiting-managed-ca"]).sort(), ["prod-aws-use1-ca", "prod-gcp-usc1-ca"]);
    });

    it("no-secret-ca-backend-in-production: refuses prod on the secret backend, passes dev on it", async () => {
        const secretProd = await secretBackendProdPlan();
        const refused = mandatoryViolations(secretProd).filter((v) => v.policy === "no-secret-ca-backend-in-production");
        assert.equal(refused.length, 2, JSON.stringify(refused));
        for (const v of refused) assert.match(v.message, /signs with the CA key in Secret .* set the cluster's caBackend to aws-private-ca \(EKS\) or google-cas \(GKE\)/);
        const dev = await shippedPlan("dev");
        assert.deepEqual(mandatoryViolations(dev).filter((v) => v.policy === "no-secret-ca-backend-in-production"), []);
    });

    it("the handoff step: what the pki stack holds decides it, and a mismatch names the step to run", () => {
        const h = { cluster: "c1", pkiStack: "acme/istio-production/pki-prod" };
        assert.equal(caHandoffStep({ ...h, backend: "secret", pki: "pki-stack", signed: true }), "secret");
        assert.equal(caHandoffStep({ ...h, backend: "aws-private-ca", pki: "pki-stack", signed: true }), "awaiting-signature");
        assert.equal(caHandoffStep({ ...h, backend: "google-cas", pki: "managed-ca", signed: true }), "managed");
        assert.throws(() => caHandoffStep({ ...h, backend: "secret", pki: "managed-ca", signed: true }), /caBackend secret, but pki stack .* signed a managed CA's CSR for it \(subordinateCsrs\.c1\)/);
        assert.throws(() => caHandoffStep({ ...h, backend: "google-cas", pki: "managed-ca", signed: false }), /no certificate/);
        assert.throws(() => caHandoffStep({ ...h, backend: "google-cas", pki: undefined, signed: false }), /has no intermediate for it/);
    });
});

describe("policy no-secret-ca-backend-in-production", () => {
    // Real resource classes: the policies read the Pulumi type tokens the program registers.
    const issuerType = { __pulumiType: "kubernetes:cert-manager.io/v1:Issuer" } as any;
    const certificateType = { __pulumiType: "kubernetes:cert-manager.io/v1:Certificate" } as any;
    const awsCaType = { __pulumiType: "aws:acmpca/certificateAuthority:CertificateAuthority" } as any;
    const importType = { __pulumiType: "aws:acmpca/certificateAuthorityCertificate:CertificateAuthorityCertificate" } as any;
    const caIssuer = (annotations: Record<string, string> = {}) =>
        node(issuerType, "prod-aws-use1-mesh-mesh-ca-issuer", { metadata: { name: "istio-ca", annotations }, spec: { ca: { secretName: "istio-ca" } } }, { stack: "prod" });
    const awaiting = { "istio-production.io/awaiting-managed-ca": "prod-aws-use1-ca" };
    const ca = node(awsCaType, "prod-aws-use1-ca", { type: "SUBORDINATE" }, { stack: "prod" });
    const rules = [noSecretCaBackendInProduction, managedCaHandoffPending];
    const check = async (resources: any[]) => Promise.all(rules.map((p) => stackViolations(p, resources)));

    it("lets a CA issuer stand in only for an unsigned managed CA of the same stack, and says so", async () => {
        const [refused, pending] = await check([caIssuer(awaiting), ca]);
        assert.deepEqual(refused, []);
        assert.match(pending[0], /stands in for managed CA prod-aws-use1-ca, which awaits the pki stack's signature/);
    });

    it("refuses the stand-in once the CA is signed, when the CA is missing, and any CA Issuer or CA Certificate", async () => {
        const signed = node(importType, "prod-aws-use1-ca", {}, { stack: "prod" });
        assert.match((await check([caIssuer(awaiting), ca, signed]))[0][0], /signs with the CA key in Secret "istio-ca"/);
        assert.match((await check([caIssuer(awaiting)]))[0][0], /set the cluster's caBackend to aws-private-ca/);
        assert.match((await check([caIssuer({ "istio-production.io/awaiting-managed-ca": "other-ca" }), ca]))[0][0], /signs with the CA key/);
        assert.match((await check([caIssuer()]))[0][0], /signs with the CA key/);
        const caCert = node(certificateType, "rogue", { spec: { isCA: true, secretName: "rogue" } }, { stack: "prod" });
        assert.match((await check([caCert]))[0][0], /Certificate rogue in production stack prod is a CA certificate/);
        assert.deepEqual((await check([node(certificateType, "leaf", { spec: { isCA: false } }, { stack: "prod" })]))[0], []);
        // Outside production stacks, the secret backend is fine.
        assert.deepEqual((await check([node(issuerType, "i", { spec: { ca: { secretName: "istio-ca" } } }, { stack: "dev" })]))[0], []);
    });
});
