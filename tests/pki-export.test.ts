import assert from "node:assert/strict";
import { stackOutputs } from "../engine/plan";
import { parseStackConfig } from "../config";
import { escScript, exportScript, handoffEnvironment } from "../tools/pki-export";
import { secretBackendProd, toRuntime } from "./support/stacks";
import { shippedPlan } from "./support/plan";

describe("air-gap handoff (npm run pki:export)", () => {
    it("prints the environment's roots and, as a secret via stdin, its clusters' intermediates; the mesh config gate accepts them", async () => {
        const pki = await shippedPlan("pki-prod");
        const outputs = stackOutputs(pki.graph).outputs as any;
        const script = exportScript(outputs, "prod");
        const values = [...script.matchAll(/pulumi config set --stack prod (--secret )?(\S+) <<'PKI_EOF'\n(.*)\nPKI_EOF/g)]
            .map(([, secret, key, json]) => ({ secret: Boolean(secret), key, value: JSON.parse(json) }));
        assert.deepEqual(values.map((v) => [v.key, v.secret]), [["istio-production:pki", false], ["istio-production:trustBundle", false], ["istio-production:intermediates", true]]);
        assert.deepEqual(Object.keys(values[2].value).sort(), ["prod-aws-use1", "prod-gcp-usc1"]);
        assert.deepEqual(values[1].value, outputs.trustBundle);
        const rootKey = pki.graph.resources.find((r) => r.name === "prod-root-1-key")!;
        assert.ok(!script.includes((rootKey.outputs.privateKeyPem as any).value.split("\n")[1]), "the root key leaked");

        // What the script sets is what the config gate of the prod stack accepts, with the keys marked secret.
        const config = { ...secretBackendProd(), pki: values[0].value, trustBundle: values[1].value, intermediates: values[2].value };
        const parsed = parseStackConfig(toRuntime(config), new Set(["istio-production:intermediates"]));
        assert.equal(parsed.role, "mesh");
        assert.throws(() => parseStackConfig(toRuntime(config)), /must be set with `pulumi config set --secret istio-production:intermediates`/);
    });

    it("refuses clusters whose key lives in a managed CA: they read the pki stack, never an air-gapped key", async () => {
        // pki-prod once it signed prod's managed subordinates' CSRs (the plan of prod carries the handoff out).
        const outputs = stackOutputs((await shippedPlan("prod")).referencedGraphs.get("pki-prod")!).outputs as any;
        assert.throws(() => exportScript(outputs, "prod"), /cluster "prod-aws-use1"'s key lives in its managed CA/);
    });

    it("refuses another environment's pki outputs: staging's material never reaches prod's script", async () => {
        const staging = stackOutputs((await shippedPlan("pki-staging")).graph).outputs as any;
        assert.throws(() => exportScript(staging, "prod"), /these pki outputs hold the key material of environment "staging", not "prod": export pki-prod's outputs/);
        assert.throws(() => exportScript({ ...staging, environment: undefined }, "staging"), /environment null, not "staging"/, "the former shared stack's outputs name no environment");
    });

    it("publishes the hand-off to the environment's own ESC environment, which the mesh stack file imports", async () => {
        const pki = await shippedPlan("pki-prod");
        const outputs = stackOutputs(pki.graph).outputs as any;
        const script = escScript(outputs, "prod", "acme");
        assert.equal(handoffEnvironment("prod"), "istio-production/pki-prod-handoff");
        assert.match(script, /^pulumi env get acme\/istio-production\/pki-prod-handoff >\/dev\/null 2>&1 \|\| pulumi env init acme\/istio-production\/pki-prod-handoff$/m);
        const values = [...script.matchAll(/pulumi env set acme\/istio-production\/pki-prod-handoff 'pulumiConfig\["(\S+)"\]' (--secret --string )?--file - <<'PKI_EOF'\n(.*)\nPKI_EOF/g)]
            .map(([, key, secret, text]) => ({ key, secret: Boolean(secret), text }));
        assert.deepEqual(values.map((v) => [v.key, v.secret]), [["istio-production:pki", false], ["istio-production:trustBundle", false], ["istio-production:intermediates", true]]);
        const rootKey = pki.graph.resources.find((r) => r.name === "prod-root-1-key")!;
        assert.ok(!script.includes((rootKey.outputs.privateKeyPem as any).value.split("\n")[1]), "the root key leaked");

        // The CLI merges pulumiConfig into the config of a stack file that sets no pki of its own: the gate accepts it.
        const { ["istio-production:pki"]: _own, ...file } = toRuntime(secretBackendProd());
        assert.ok(_own, "the shipped file names its pki stack; an importing file drops that line");
        const merged = { ...file, ...Object.fromEntries(values.map((v) => [v.key, v.text])) };
        assert.equal(parseStackConfig(merged, new Set(["istio-production:intermediates"])).role, "mesh");

        const staging = stackOutputs((await shippedPlan("pki-staging")).graph).outputs as any;
        assert.throws(() => escScript(staging, "prod", "acme"), /hold the key material of environment "staging", not "prod"/);
        assert.match(escScript(staging, "staging", "acme"), /pki-staging-handoff/);
    });
});
