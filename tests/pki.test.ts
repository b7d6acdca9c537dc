import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { mandatoryNotRun, mandatoryViolations, Plan, planStack, stackOutputs } from "../engine/plan";
import { planDocument, writePlan } from "../engine/report";
import { isSecretValue, plain } from "../engine/values";
import { signIntermediate } from "../components/pki/IntermediateCertificate";
import { issueLeaf, LeafOptions, mtlsHandshake, opensslVerify } from "./support/pki";
import { stackConfig, toRuntime } from "./support/stacks";
import { shippedPlan, tempDir } from "./support/plan";

const INTERMEDIATE = "pulumi-nodejs:dynamic/pki:IntermediateCertificate";

/** The public and private halves of the CAs a pki plan created, by resource name. */
function material(plan: Plan) {
    const out = (type: string, name: string, key: string) => {
        const r = plan.graph.resources.find((x) => x.type === type && x.name === name);
        assert.ok(r, `no ${type} ${name} in ${plan.settings.stack}`);
        return plain(r.outputs)[key] as string;
    };
    return {
        rootCert: (id: string) => out("tls:index/selfSignedCert:SelfSignedCert", `${id}-cert`, "certPem"),
        rootKey: (id: string) => out("tls:index/privateKey:PrivateKey", `${id}-key`, "privateKeyPem"),
        intCert: (cluster: string) => out(INTERMEDIATE, `int-${cluster}-e1-cert`, "certPem"),
        intKey: (cluster: string) => out("tls:index/privateKey:PrivateKey", `int-${cluster}-e1-key`, "privateKeyPem"),
        csr: (cluster: string) => out("tls:index/certRequest:CertRequest", `int-${cluster}-e1-csr`, "certRequestPem"),
    };
}

const spiffe = (td: string, ns: string, sa: string) => `spiffe://${td}/ns/${ns}/sa/${sa}`;
const opensslText = (pem: string) => execFileSync("openssl", ["x509", "-noout", "-text"], { input: pem }).toString();

// The serving names the mesh issuer signs, as upstream requests them: istiod's certificate from istio-csr's chart
// (cert-manager/istio-csr v0.17.0 templates/certificate.yaml: CN and DNS `istiod.<ns>.svc` for the default revision,
// URI spiffe://<td>/ns/<ns>/sa/istiod-service-account) and istio-csr's serving certificate (its only SAN is
// app.tls.certificateDNSNames: pkg/tls/tls.go).
const ISTIOD = "istiod.istio-system.svc";
const ISTIO_CSR = "cert-manager-istio-csr.cert-manager.svc";
const ENVIRONMENTS = ["dev", "staging", "prod"] as const;

/** The clusters of an environment as its mesh stack declares them, with the private ingress hosts they serve. */
function meshClusters(env: string): Array<{ name: string; trustDomain: string; ingressHosts: string[] }> {
    const mesh = stackConfig(env);
    const ingress = mesh.ingress?.issuer === "private" ? mesh.ingress.hosts : [];
    return mesh.clusters.map((c: { name: string; trustDomain: string }) => ({ name: c.name, trustDomain: c.trustDomain, ingressHosts: ingress }));
}

/** `Permitted:` and `Excluded:` entries of openssl's rendering of the name constraints. */
function renderedConstraints(text: string): { critical: boolean; permitted: string[]; excluded: string[] } {
    const m = /X509v3 Name Constraints:( critical)?\n([\s\S]*?)\n {12}\S|X509v3 Name Constraints:( critical)?\n([\s\S]*?)\n {4}Signature/.exec(text);
    assert.ok(m, "no name constraints");
    const body = m[2] ?? m[4];
    const [permitted, excluded] = body.split(/^\s*Excluded:\s*$/m);
    const entries = (block = "") => block.split("\n").map((l) => l.trim()).filter((l) => l && !/^(Permitted|Excluded):$/.test(l));
    return { critical: Boolean(m[1] ?? m[3]), permitted: entries(permitted), excluded: entries(excluded) };
}

describe("pki stacks, one per environment, proven with real crypto", function () {
    const plans = new Map<string, Plan>();
    const m = (env: string) => material(plans.get(env)!);

    before(async () => {
        // prod's own ceremony, with the keys it makes; signing managed CAs' CSRs is proven in ca-backends.test.ts.
        for (const env of ENVIRONMENTS) plans.set(env, await shippedPlan(`pki-${env}`));
    });

    it("each plans without a mandatory violation or an unchecked mandatory policy, and holds its own environment only", () => {
        for (const env of ENVIRONMENTS) {
            const plan = plans.get(env)!;
            assert.deepEqual(mandatoryViolations(plan), [], env);
            assert.deepEqual(mandatoryNotRun(plan), [], env);
            const outputs = stackOutputs(plan.graph).outputs as any;
            const clusters = meshClusters(env).map((c) => c.name).sort();
            assert.equal(outputs.environment, env);
            assert.deepEqual(Object.keys(outputs.intermediates).sort(), clusters);
            assert.deepEqual(Object.keys(outputs.intermediateKeys).sort(), clusters);
            const roots = plan.graph.resources.filter((r) => r.type === "tls:index/selfSignedCert:SelfSignedCert").map((r) => r.name);
            assert.deepEqual(roots, [`${env}-root-1-cert`], `${env} holds its own root only`);
        }
    });

    it("writes intermediates openssl shows as pathlen:0 with critical name constraints: the cluster's trust domain and serving names only", () => {
        for (const env of ENVIRONMENTS) {
            const out = writePlan(plans.get(env)!, tempDir(`plan-${env}`));
            for (const cluster of meshClusters(env)) {
                const pem = fs.readFileSync(path.join(out, "pki", `int-${cluster.name}-e1-cert.pem`), "utf8");
                assert.equal(pem, m(env).intCert(cluster.name));
                const text = opensslText(pem);
                assert.match(text, /X509v3 Basic Constraints: critical\n\s+CA:TRUE, pathlen:0\n/, cluster.name);
                const nc = renderedConstraints(text);
                assert.equal(nc.critical, true, `${cluster.name}: name constraints are critical`);
                assert.deepEqual(nc.permitted, [`URI:${cluster.trustDomain}`, `DNS:${ISTIOD}`, `DNS:${ISTIO_CSR}`, ...cluster.ingressHosts.map((h) => `DNS:${h}`)], cluster.name);
                assert.deepEqual(nc.excluded, ["IP:0.0.0.0/0.0.0.0", "IP:0:0:0:0:0:0:0:0/0:0:0:0:0:0:0:0"], cluster.name);
            }
        }
    });

    it("verifies every legitimate certificate: workloads of the cluster's trust domain, istiod, istio-csr and private ingress hosts", async () => {
        for (const env of ENVIRONMENTS) {
            const root = m(env).rootCert(`${env}-root-1`);
            for (const cluster of meshClusters(env)) {
                const ca = { caCertPem: m(env).intCert(cluster.name), caKeyPem: m(env).intKey(cluster.name) };
                const legitimate: Array<[string, LeafOptions, string]> = [
                    ["workload", { ...ca, spiffeId: spiffe(cluster.trustDomain, "shop", "frontend") }, "sslclient"],
                    ["istiod", { ...ca, commonName: ISTIOD, dnsNames: [ISTIOD], spiffeId: spiffe(cluster.trustDomain, "istio-system", "istiod-service-account") }, "sslserver"],
                    ["istio-csr", { ...ca, dnsNames: [ISTIO_CSR] }, "sslserver"],
                    ...cluster.ingressHosts.map((h): [string, LeafOptions, string] => [`ingress ${h}`, { ...ca, dnsNames: [h] }, "sslserver"]),
                ];
                for (const [what, options, purpose] of legitimate) {
                    const leaf = await issueLeaf(options);
                    const res = await opensslVerify([root], [ca.caCertPem], leaf.certPem, ["-x509_strict", "-purpose", purpose]);
                    assert.ok(res.ok, `${cluster.name} ${what}: ${res.output}`);
                }
            }
        }
    });

    it("refuses what a leaked intermediate would mint: the other cloud's identities, other hosts' URIs, other DNS names, IP addresses, sub-CAs", async () => {
        const root = m("prod").rootCert("prod-root-1");
        const gcp = { caCertPem: m("prod").intCert("prod-gcp-usc1"), caKeyPem: m("prod").intKey("prod-gcp-usc1") };
        const refused: Array<[string, LeafOptions, RegExp]> = [
            ["an aws identity", { ...gcp, spiffeId: spiffe("aws.prod.mesh.acme.example", "shop", "frontend") }, /permitted subtree violation/],
            ["a dev identity", { ...gcp, spiffeId: spiffe("dev.mesh.acme.example", "shop", "frontend") }, /permitted subtree violation/],
            ["a non-SPIFFE URI of another host", { ...gcp, spiffeId: "https://login.acme.example/callback" }, /permitted subtree violation/],
            ["a URI without a host", { ...gcp, spiffeId: "urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66" }, /unsupported or invalid name syntax/],
            ["another DNS name", { ...gcp, dnsNames: ["shop.acme.example"] }, /permitted subtree violation/],
            ["an IP address", { ...gcp, ipAddresses: ["10.0.0.1"] }, /excluded subtree violation/],
        ];
        for (const [what, options, reason] of refused) {
            const leaf = await issueLeaf(options);
            const res = await opensslVerify([root], [gcp.caCertPem], leaf.certPem, ["-x509_strict"]);
            assert.equal(res.ok, false, `${what} must be refused: ${res.output}`);
            assert.match(res.output, reason, what);
        }
        const sub = await issueLeaf({ ...gcp, isCa: true });
        const under = await issueLeaf({ caCertPem: sub.certPem, caKeyPem: sub.keyPem, spiffeId: spiffe("gcp.prod.mesh.acme.example", "shop", "cart") });
        const deep = await opensslVerify([root], [gcp.caCertPem, sub.certPem], under.certPem);
        assert.equal(deep.ok, false);
        assert.match(deep.output, /path length constraint exceeded/);

        // What X.509 cannot say: a URI subtree constrains the host, not the scheme (RFC 5280 §4.2.1.10; OpenSSL and
        // BoringSSL nc_uri). approver-policy allows only spiffe:// URIs at issuance, and Istio reads only those.
        const sameHost = await issueLeaf({ ...gcp, spiffeId: "https://gcp.prod.mesh.acme.example/x" });
        assert.equal((await opensslVerify([root], [gcp.caCertPem], sameHost.certPem)).ok, true);
    });

    it("completes mutual TLS across clouds trusting only the root, and refuses in the handshake a forged identity, a non-SPIFFE URI and a sub-CA's leaf", async () => {
        const root = m("prod").rootCert("prod-root-1");
        const peer = async (cluster: string, options: Partial<LeafOptions>, chainExtra: string[] = []) => {
            const ca = { caCertPem: m("prod").intCert(cluster), caKeyPem: m("prod").intKey(cluster) };
            const leaf = await issueLeaf({ ...ca, ...options });
            return { certChainPem: [leaf.certPem, ...chainExtra, ca.caCertPem].join(""), keyPem: leaf.keyPem, caPems: [root] };
        };
        const idA = spiffe("aws.prod.mesh.acme.example", "shop", "frontend");
        const idB = spiffe("gcp.prod.mesh.acme.example", "shop", "cart");
        const server = await peer("prod-aws-use1", { spiffeId: idA });
        const ok = await mtlsHandshake({ server, client: await peer("prod-gcp-usc1", { spiffeId: idB }) });
        assert.ok(ok.ok, JSON.stringify(ok));
        assert.equal(ok.serverSawPeerUri, idB);
        assert.equal(ok.clientSawPeerUri, idA);

        // Node names no code for OpenSSL's X509_V_ERR_PERMITTED_VIOLATION ("UNSPECIFIED"): openssl says which it is.
        for (const [what, spiffeId] of [["a forged aws identity", spiffe("aws.prod.mesh.acme.example", "shop", "payments")], ["a non-SPIFFE URI", "https://login.acme.example/callback"]]) {
            const client = await peer("prod-gcp-usc1", { spiffeId });
            const res = await mtlsHandshake({ server, client });
            assert.equal(res.ok, false, what);
            assert.ok(res.serverError, `${what}: the server must refuse the chain, not just fail`);
            const [leaf, ...chain] = client.certChainPem.split(/(?<=-----END CERTIFICATE-----\n)/);
            assert.match((await opensslVerify([root], chain, leaf)).output, /permitted subtree violation/, what);
        }
        const gcpCa = { caCertPem: m("prod").intCert("prod-gcp-usc1"), caKeyPem: m("prod").intKey("prod-gcp-usc1") };
        const sub = await issueLeaf({ ...gcpCa, isCa: true });
        const underSub = await issueLeaf({ caCertPem: sub.certPem, caKeyPem: sub.keyPem, spiffeId: idB });
        const deep = await mtlsHandshake({ server, client: { certChainPem: underSub.certPem + sub.certPem + gcpCa.caCertPem, keyPem: underSub.keyPem, caPems: [root] } });
        assert.equal(deep.serverError, "PATH_LENGTH_EXCEEDED", JSON.stringify(deep));
    });

    it("marks every private key secret and writes none to plan.json; the signer's state never holds the root key in the clear", () => {
        for (const env of ENVIRONMENTS) {
            const plan = plans.get(env)!;
            const keys = plan.graph.resources.filter((r) => r.type === "tls:index/privateKey:PrivateKey");
            assert.equal(keys.length, 1 + meshClusters(env).length, env);
            for (const k of keys) assert.ok(isSecretValue(k.outputs.privateKeyPem), `${k.name}.privateKeyPem is not secret`);
            for (const cert of plan.graph.resources.filter((r) => r.type === INTERMEDIATE)) {
                assert.ok(isSecretValue(cert.outputs.caPrivateKeyPem), `${cert.name} holds the root key unmarked`);
                assert.doesNotMatch(String(plain(cert.inputs).__provider), /PRIVATE KEY/, "the serialized provider captures no key");
                assert.ok(cert.additionalSecretOutputs.includes("caPrivateKeyPem"));
            }
            const root = plan.graph.resources.find((r) => r.type === "pulumi:pulumi:Stack")!;
            assert.ok(isSecretValue(root.outputs.intermediateKeys));
            assert.ok(!/PRIVATE KEY/.test(JSON.stringify(planDocument(plan))), `a private key reached ${env}'s plan.json`);
        }
    });

    it("protects root keys and certificates and lists every CA in the inventory", () => {
        const pki = plans.get("prod")!;
        for (const r of pki.graph.resources.filter((x) => /-root-1-(key|cert)$/.test(x.name))) assert.equal(r.protect, true, r.name);
        assert.equal(plain(pki.graph.resources.find((r) => r.name === "prod-root-1-cert")!.inputs).maxPathLength, 1);
        const inventory = (stackOutputs(pki.graph).outputs as any).inventory as Array<Record<string, any>>;
        assert.equal(inventory.length, 3);
        const int = inventory.find((i) => i.name === "int-prod-gcp-usc1-e1")!;
        assert.match(int.subject, /CN=prod-gcp-usc1 Intermediate CA/);
        assert.match(int.issuer, /CN=ACME Corp prod-root-1 Root CA/);
        assert.deepEqual(int.usedBy, ["prod/prod-gcp-usc1"]);
        const days = (Date.parse(int.notAfter) - Date.parse(int.notBefore)) / 86400e3;
        assert.ok(days > 364 && days < 366, `intermediate validity ${days} days`);
    });

    it("lets each mesh stack read its own environment's pki stack only, and hands it no root key", async () => {
        for (const env of ENVIRONMENTS) {
            const mesh = await shippedPlan(env);
            assert.deepEqual(mesh.referenced, [`pki-${env}`], `${env} plans and reads pki-${env} only`);
            const refs = mesh.graph.resources.filter((r) => r.type === "pulumi:pulumi:StackReference").map((r) => plain(r.inputs).name);
            assert.deepEqual(refs.filter((n: string) => /pki/.test(n)), [`acme/istio-production/pki-${env}`]);
        }
        const dev = await shippedPlan("dev");
        const ownPki = material({ ...plans.get("dev")!, graph: dev.referencedGraphs.get("pki-dev")! });
        const everything = JSON.stringify(dev.graph.resources.map((r) => ({ inputs: plain(r.inputs), outputs: plain(r.outputs) }))).replace(/\\n/g, "");
        const body = ownPki.rootKey("dev-root-1").split("\n").slice(1, -2).join("");
        assert.ok(body.length > 40 && !everything.includes(body), "dev's root key reached the dev plan");
        assert.ok(everything.includes(ownPki.intKey("dev-aws-1").split("\n")[1]), "the dev cluster's own intermediate key is handed off");
    });

    it("hands a wildcard private ingress host's intermediate to the mesh stack, which accepts it and can sign the host's names", async () => {
        // A dNSName subtree covers the name and every subdomain (RFC 5280 §4.2.1.10; OpenSSL crypto/x509/v3_ncons.c
        // nc_dns; golang/go src/crypto/x509/verify.go matchDomainConstraint), so `*.shop...` needs the subtree
        // `shop...`: the signer and the mesh stack's check must read the wildcard the same way.
        const host = "*.shop.dev.internal.acme.example";
        const pki = stackConfig("pki-dev");
        pki.clusters[0].dnsNames = [host];
        const mesh = stackConfig("dev");
        mesh.ingress.hosts = [host];
        const plan = await planStack({ stack: "dev", config: toRuntime(mesh), referencedConfig: { "pki-dev": toRuntime(pki) } });
        assert.deepEqual(mandatoryViolations(plan), []);
        const own = material({ ...plan, graph: plan.referencedGraphs.get("pki-dev")! });
        const nc = renderedConstraints(opensslText(own.intCert("dev-aws-1")));
        assert.ok(nc.permitted.includes("DNS:shop.dev.internal.acme.example"), nc.permitted.join(", "));
        const ca = { caCertPem: own.intCert("dev-aws-1"), caKeyPem: own.intKey("dev-aws-1") };
        const leaf = await issueLeaf({ ...ca, dnsNames: [host] });
        const res = await opensslVerify([own.rootCert("dev-root-1")], [ca.caCertPem], leaf.certPem, ["-x509_strict", "-purpose", "sslserver"]);
        assert.ok(res.ok, res.output);
    });

    it("keeps every legitimate chain and every refusal through the three phases of a root rotation", async () => {
        // Phase 1 of prod's rotation: both roots in the bundle, the old one issuing. Phase 2 re-issues each cluster's
        // intermediate under the new root (the same CSR, signed as the pki stack's signer signs it); clusters pick it
        // up one by one. Phase 3 drops the old root.
        const config = stackConfig("pki-prod");
        config.roots = ["prod-root-1", "prod-root-2"];
        config.issuingRoot = "prod-root-1";
        const phase1 = await planStack({ stack: "pki-prod", config: toRuntime(config) });
        assert.deepEqual(mandatoryViolations(phase1), []);
        const r = material(phase1);
        const [oldRoot, newRoot] = [r.rootCert("prod-root-1"), r.rootCert("prod-root-2")];
        const bundle = (stackOutputs(phase1.graph).outputs as any).trustBundle as string[];
        assert.deepEqual(bundle, [oldRoot, newRoot], "phase 1: both roots, old first");
        const signer = plain(phase1.graph.resources.find((x) => x.type === INTERMEDIATE && x.name === "int-prod-aws-use1-e1-cert")!.inputs);
        const reissued = (cluster: string) => signIntermediate({
            ...signer, cluster, trustDomain: meshClusters("prod").find((c) => c.name === cluster)!.trustDomain,
            nameConstraints: plain(phase1.graph.resources.find((x) => x.name === `int-${cluster}-e1-cert`)!.inputs).nameConstraints,
            certRequestPem: r.csr(cluster), caCertPem: newRoot, caPrivateKeyPem: r.rootKey("prod-root-2"),
        });
        const onNew = { "prod-aws-use1": (await reissued("prod-aws-use1")).certPem, "prod-gcp-usc1": (await reissued("prod-gcp-usc1")).certPem };
        const peer = async (cluster: "prod-aws-use1" | "prod-gcp-usc1", intermediate: string, roots: string[], spiffeId: string) => {
            const leaf = await issueLeaf({ caCertPem: intermediate, caKeyPem: r.intKey(cluster), spiffeId });
            return { certChainPem: leaf.certPem + intermediate, keyPem: leaf.keyPem, caPems: roots };
        };
        const aws = spiffe("aws.prod.mesh.acme.example", "shop", "frontend");
        const gcp = spiffe("gcp.prod.mesh.acme.example", "shop", "cart");
        const phases: Array<[string, string, string, string[]]> = [
            ["phase 1", r.intCert("prod-aws-use1"), r.intCert("prod-gcp-usc1"), bundle],
            ["phase 2, aws re-issued first", onNew["prod-aws-use1"], r.intCert("prod-gcp-usc1"), bundle],
            ["phase 2, both re-issued", onNew["prod-aws-use1"], onNew["prod-gcp-usc1"], bundle],
            ["phase 3", onNew["prod-aws-use1"], onNew["prod-gcp-usc1"], [newRoot]],
        ];
        for (const [phase, awsInt, gcpInt, roots] of phases) {
            assert.match(opensslText(gcpInt), /pathlen:0[\s\S]*Name Constraints: critical/, phase);
            const ok = await mtlsHandshake({ server: await peer("prod-aws-use1", awsInt, roots, aws), client: await peer("prod-gcp-usc1", gcpInt, roots, gcp) });
            assert.ok(ok.ok, `${phase}: ${JSON.stringify(ok)}`);
            const forgedPeer = await peer("prod-gcp-usc1", gcpInt, roots, spiffe("aws.prod.mesh.acme.example", "shop", "cart"));
            const forged = await mtlsHandshake({ server: await peer("prod-aws-use1", awsInt, roots, aws), client: forgedPeer });
            assert.ok(!forged.ok && forged.serverError, `${phase}: ${JSON.stringify(forged)}`);
            assert.match((await opensslVerify(roots, [gcpInt], forgedPeer.certChainPem.slice(0, forgedPeer.certChainPem.indexOf(gcpInt)))).output, /permitted subtree violation/, phase);
            const sub = await issueLeaf({ caCertPem: gcpInt, caKeyPem: r.intKey("prod-gcp-usc1"), isCa: true });
            const underSub = await issueLeaf({ caCertPem: sub.certPem, caKeyPem: sub.keyPem, spiffeId: gcp });
            assert.equal((await opensslVerify(roots, [gcpInt, sub.certPem], underSub.certPem)).ok, false, `${phase}: a sub-CA's leaf`);
        }
        const dropped = await mtlsHandshake({ server: await peer("prod-aws-use1", onNew["prod-aws-use1"], [newRoot], aws), client: await peer("prod-gcp-usc1", r.intCert("prod-gcp-usc1"), [newRoot], gcp) });
        assert.equal(dropped.serverError, "UNABLE_TO_GET_ISSUER_CERT_LOCALLY", "after phase 3 an old-root identity is refused");
    });
});
