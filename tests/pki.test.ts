import assert from "node:assert/strict";
import { Plan, planStack } from "../engine/plan";
import { planDocument } from "../engine/report";
import { isSecretValue, plain } from "../engine/values";
import { issueLeaf, mtlsHandshake, opensslVerify } from "./support/pki";
import { stackConfig, toRuntime } from "./support/stacks";
import { shippedPlan } from "./support/plan";

/** The public and private halves of the CAs a pki plan created, by resource name. */
function material(plan: Plan) {
    const out = (type: string, name: string, key: string) => {
        const r = plan.graph.resources.find((x) => x.type === type && x.name === name);
        assert.ok(r, `no ${type} ${name}`);
        return plain(r.outputs)[key] as string;
    };
    return {
        rootCert: (id: string) => out("tls:index/selfSignedCert:SelfSignedCert", `${id}-cert`, "certPem"),
        rootKey: (id: string) => out("tls:index/privateKey:PrivateKey", `${id}-key`, "privateKeyPem"),
        intCert: (cluster: string, epoch = 1) => out("tls:index/locallySignedCert:LocallySignedCert", `int-${cluster}-e${epoch}-cert`, "certPem"),
        intKey: (cluster: string, epoch = 1) => out("tls:index/privateKey:PrivateKey", `int-${cluster}-e${epoch}-key`, "privateKeyPem"),
    };
}

const spiffe = (td: string, ns: string, sa: string) => `spiffe://${td}/ns/${ns}/sa/${sa}`;

describe("pki stack, proven with real crypto", function () {
    let pki: Plan;
    let m: ReturnType<typeof material>;
    const clusters: Array<[string, string]> = [["dev", "dev-aws-1"], ["staging", "staging-aws-euw1"], ["staging", "staging-aws-euc1"], ["prod", "prod-aws-use1"], ["prod", "prod-gcp-usc1"]];

    before(async () => {
        pki = await shippedPlan("pki");
        m = material(pki);
    });

    it("has no mandatory policy violation", () => {
        assert.deepEqual(pki.violations.filter((v) => v.enforcementLevel === "mandatory"), []);
    });

    it("openssl verifies root → intermediate → workload leaf for every cluster of every environment", async () => {
        for (const [env, cluster] of clusters) {
            const leaf = await issueLeaf({ caCertPem: m.intCert(cluster), caKeyPem: m.intKey(cluster), spiffeId: spiffe(`${env}.mesh`, "default", "web") });
            const res = await opensslVerify([m.rootCert(`${env}-root-1`)], [m.intCert(cluster)], leaf.certPem);
            assert.ok(res.ok, `${cluster}: ${res.output}`);
        }
    });

    it("refuses a leaf paired with another cluster's intermediate, and a sub-CA under an intermediate (path length)", async () => {
        const leaf = await issueLeaf({ caCertPem: m.intCert("staging-aws-euw1"), caKeyPem: m.intKey("staging-aws-euw1"), spiffeId: spiffe("s", "a", "b") });
        const crossed = await opensslVerify([m.rootCert("staging-root-1")], [m.intCert("staging-aws-euc1")], leaf.certPem);
        assert.equal(crossed.ok, false, crossed.output);
        const sub = await issueLeaf({ caCertPem: m.intCert("dev-aws-1"), caKeyPem: m.intKey("dev-aws-1"), isCa: true });
        const under = await issueLeaf({ caCertPem: sub.certPem, caKeyPem: sub.keyPem, spiffeId: spiffe("d", "a", "b") });
        const deep = await opensslVerify([m.rootCert("dev-root-1")], [m.intCert("dev-aws-1"), sub.certPem], under.certPem);
        assert.equal(deep.ok, false);
        assert.match(deep.output, /path length constraint exceeded/);
    });

    it("lets workloads of two clusters complete mutual TLS trusting only the root, and refuses other roots, expired and non-CA issuers", async () => {
        const [a, b] = ["prod-aws-use1", "prod-gcp-usc1"];
        const root = m.rootCert("prod-root-1");
        const peer = async (cluster: string, id: string, roots = [root]) => {
            const leaf = await issueLeaf({ caCertPem: m.intCert(cluster), caKeyPem: m.intKey(cluster), spiffeId: id });
            return { certChainPem: leaf.certPem + m.intCert(cluster), keyPem: leaf.keyPem, caPems: roots };
        };
        const idA = spiffe("aws.prod", "shop", "frontend");
        const idB = spiffe("gcp.prod", "shop", "cart");
        const ok = await mtlsHandshake({ server: await peer(a, idA), client: await peer(b, idB) });
        assert.ok(ok.ok, JSON.stringify(ok));
        assert.equal(ok.serverSawPeerUri, idB);
        assert.equal(ok.clientSawPeerUri, idA);

        // A dev identity is never trusted in prod: dev has its own root.
        const rogue = await mtlsHandshake({ server: await peer(a, idA), client: await peer("dev-aws-1", idB, [root]) });
        assert.equal(rogue.serverError, "UNABLE_TO_GET_ISSUER_CERT_LOCALLY");

        const expiredInt = await issueLeaf({ caCertPem: root, caKeyPem: m.rootKey("prod-root-1"), isCa: true, validityHours: 1, notBefore: new Date(Date.now() - 48 * 3600e3) });
        const underExpired = await issueLeaf({ caCertPem: expiredInt.certPem, caKeyPem: expiredInt.keyPem, spiffeId: idB, notBefore: new Date(Date.now() - 47.5 * 3600e3) });
        const expired = await mtlsHandshake({ server: await peer(a, idA), client: { certChainPem: underExpired.certPem + expiredInt.certPem, keyPem: underExpired.keyPem, caPems: [root] } });
        assert.equal(expired.serverError, "CERT_HAS_EXPIRED");

        const notCa = await issueLeaf({ caCertPem: m.intCert(b), caKeyPem: m.intKey(b), spiffeId: spiffe("gcp.prod", "x", "signer") });
        const forged = await issueLeaf({ caCertPem: notCa.certPem, caKeyPem: notCa.keyPem, spiffeId: idB });
        const refused = await mtlsHandshake({ server: await peer(a, idA), client: { certChainPem: forged.certPem + notCa.certPem + m.intCert(b), keyPem: forged.keyPem, caPems: [root] } });
        assert.equal(refused.ok, false);
        assert.ok(refused.serverError, "the server must say why it refused a chain through a non-CA");
    });

    it("marks every private key secret and never writes one to plan.json", () => {
        const keys = pki.graph.resources.filter((r) => r.type === "tls:index/privateKey:PrivateKey");
        assert.equal(keys.length, 3 + clusters.length);
        for (const k of keys) assert.ok(isSecretValue(k.outputs.privateKeyPem), `${k.name}.privateKeyPem is not secret`);
        const root = pki.graph.resources.find((r) => r.type === "pulumi:pulumi:Stack")!;
        assert.ok(isSecretValue(root.outputs.intermediateKeys));
        const doc = JSON.stringify(planDocument(pki));
        assert.ok(!/PRIVATE KEY/.test(doc), "a private key reached plan.json");
    });

    it("protects root keys and certificates, and constrains them as the real provider would emit", () => {
        for (const r of pki.graph.resources.filter((x) => /-root-1-(key|cert)$/.test(x.name))) assert.equal(r.protect, true, r.name);
        const cert = pki.graph.resources.find((r) => r.name === "prod-root-1-cert")!;
        assert.equal(plain(cert.inputs).maxPathLength, 1);
        assert.deepEqual(plain(cert.inputs).allowedUses, ["cert_signing", "crl_signing", "digital_signature"]);
        assert.equal(plain(pki.graph.resources.find((r) => r.name === "prod-root-1-key")!.inputs).ecdsaCurve, "P384");
    });

    it("lists every CA in the inventory with subject, key, validity and use", () => {
        const root = pki.graph.resources.find((r) => r.type === "pulumi:pulumi:Stack")!;
        const inventory = plain(root.outputs.inventory) as Array<Record<string, any>>;
        assert.equal(inventory.length, 3 + clusters.length);
        const int = inventory.find((i) => i.name === "int-prod-gcp-usc1-e1")!;
        assert.match(int.subject, /CN=prod-gcp-usc1 Intermediate CA/);
        assert.match(int.issuer, /CN=ACME Corp prod-root-1 Root CA/);
        assert.equal(int.keyAlgorithm, "ECDSA prime256v1");
        assert.deepEqual(int.usedBy, ["prod/prod-gcp-usc1"]);
        const days = (Date.parse(int.notAfter) - Date.parse(int.notBefore)) / 86400e3;
        assert.ok(days > 364 && days < 366, `intermediate validity ${days} days`);
    });

    it("keeps every root key out of the mesh stacks' plans, in any form", async () => {
        const dev = await shippedPlan("dev");
        const ownPki = material({ ...pki, graph: dev.referencedGraphs.get("pki")! });
        const everything = JSON.stringify(dev.graph.resources.map((r) => ({ inputs: plain(r.inputs), outputs: plain(r.outputs) })));
        for (const id of ["dev-root-1", "staging-root-1", "prod-root-1"]) {
            const body = ownPki.rootKey(id).split("\n").slice(1, -2).join("");
            assert.ok(body.length > 40 && !everything.replace(/\\n/g, "").includes(body), `${id}'s private key reached the dev plan`);
        }
        assert.ok(everything.includes(ownPki.intKey("dev-aws-1").split("\n")[1]), "the dev cluster's own intermediate key is handed off");
    });

    it("rotates roots in three phases without breaking mutual TLS between clusters on either root", async () => {
        // Two environments sharing the two roots stand for one environment mid-rollout: a cluster still holding an
        // intermediate under the old root, and one already re-issued under the new root (phase 2).
        const config = stackConfig("pki");
        config.environments = {
            old: { clusters: ["still-on-old"], roots: ["root-a", "root-b"], issuingRoot: "root-a" },
            new: { clusters: ["already-on-new"], roots: ["root-a", "root-b"], issuingRoot: "root-b" },
        };
        const rotation = await planStack({ stack: "pki", config: toRuntime(config) });
        const r = material(rotation);
        const bundle = (plain(rotation.graph.resources.find((x) => x.type === "pulumi:pulumi:Stack")!.outputs.trustBundles) as Record<string, string[]>).old;
        assert.deepEqual(bundle, [r.rootCert("root-a"), r.rootCert("root-b")], "phase 1: both roots in every bundle, old first");
        const peer = async (cluster: string, roots: string[]) => {
            const leaf = await issueLeaf({ caCertPem: r.intCert(cluster), caKeyPem: r.intKey(cluster), spiffeId: spiffe("dev.mesh", "ns", cluster) });
            return { certChainPem: leaf.certPem + r.intCert(cluster), keyPem: leaf.keyPem, caPems: roots };
        };
        for (const [server, client] of [["still-on-old", "already-on-new"], ["already-on-new", "still-on-old"]]) {
            const res = await mtlsHandshake({ server: await peer(server, bundle), client: await peer(client, bundle) });
            assert.ok(res.ok, `${client} → ${server} during the rollout: ${JSON.stringify(res)}`);
        }
        const phase3 = [r.rootCert("root-b")];
        const dropped = await mtlsHandshake({ server: await peer("already-on-new", phase3), client: await peer("still-on-old", phase3) });
        assert.equal(dropped.serverError, "UNABLE_TO_GET_ISSUER_CERT_LOCALLY", "after phase 3 an old-root identity is refused");
    });
});
