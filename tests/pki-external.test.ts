import assert from "node:assert/strict";
import * as crypto from "node:crypto";
import { checkExternal } from "../components/pki/IntermediateCa";
import { planStack } from "../engine/plan";
import { plain } from "../engine/values";
import { issueLeaf } from "./support/pki";
import { stackConfig, toRuntime } from "./support/stacks";
import { shippedPlan } from "./support/plan";

describe("pki with an external enterprise root", () => {
    it("creates intermediate keys and CSRs only: no root key, no self-signed certificate", async () => {
        const generated = await shippedPlan("pki");
        const rootPem = (name: string) => plain(generated.graph.resources.find((r) => r.name === name)!.outputs).certPem;
        const config = stackConfig("pki");
        config.mode = "external";
        config.externalRoots = { "dev-root-1": rootPem("dev-root-1-cert"), "staging-root-1": rootPem("staging-root-1-cert"), "prod-root-1": rootPem("prod-root-1-cert") };
        const plan = await planStack({ stack: "pki", config: toRuntime(config) });
        const types = new Set(plan.graph.resources.map((r) => r.type));
        assert.ok(!types.has("tls:index/selfSignedCert:SelfSignedCert") && !types.has("tls:index/locallySignedCert:LocallySignedCert"));
        assert.equal(plan.graph.resources.filter((r) => r.type === "tls:index/privateKey:PrivateKey").length, 5, "intermediate keys only");
        const outputs = plain(plan.graph.resources.find((r) => r.type === "pulumi:pulumi:Stack")!.outputs);
        assert.match(outputs.intermediates["prod-gcp-usc1"].certRequestPem, /BEGIN CERTIFICATE REQUEST/);
        assert.equal(outputs.intermediates["prod-gcp-usc1"].certPem, undefined, "unsigned until the enterprise CA answers");
    });

    it("refuses an enterprise certificate that is not a CA, carries another key, or chains to another root", async () => {
        const rootKey = crypto.generateKeyPairSync("ec", { namedCurve: "P-384" }).privateKey.export({ type: "sec1", format: "pem" }).toString();
        const generated = await shippedPlan("pki");
        const out = (name: string, key: string) => plain(generated.graph.resources.find((r) => r.name === name)!.outputs)[key];
        const root = out("dev-root-1-cert", "certPem");
        const intCert = out("int-dev-aws-1-e1-cert", "certPem");
        const intKey = out("int-dev-aws-1-e1-key", "privateKeyPem");
        assert.equal(checkExternal("dev-aws-1", intCert, intKey, root), intCert);
        assert.throws(() => checkExternal("dev-aws-1", intCert, rootKey, root), /does not carry this stack's key/);
        assert.throws(() => checkExternal("dev-aws-1", intCert, intKey, out("prod-root-1-cert", "certPem")), /not signed by its environment's enterprise root/);
        const leaf = await issueLeaf({ caCertPem: intCert, caKeyPem: intKey, spiffeId: "spiffe://dev/ns/a/sa/b" });
        assert.throws(() => checkExternal("dev-aws-1", leaf.certPem, leaf.keyPem), /not a CA certificate/);
    });
});
