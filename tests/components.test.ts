import assert from "node:assert/strict";
import * as path from "node:path";
import { CapturedResource } from "../engine/graph";
import { Plan, planStack } from "../engine/plan";
import { plain } from "../engine/values";
import { FIXTURE_POLICY } from "./support/plan";

/** Components built alone from explicit Args (tests/fixtures/components), as pulumi-eks tests its core. */
const PROGRAM = path.join(__dirname, "fixtures", "components");

describe("components built alone", () => {
    describe("MeshPeering", () => {
        let plan: Plan;
        const byName = (name: string) => plan.graph.resources.find((r) => r.name === name) as CapturedResource;
        before(async () => {
            plan = await planStack({ programDir: PROGRAM, stack: "peering", policyDir: FIXTURE_POLICY, mode: "created" });
        });

        it("gives each cluster a remote secret for the other, as istioctl create-remote-secret writes it", () => {
            // istio/istio 1.30.3 istioctl/pkg/multicluster/remote_secret.go: named istio-remote-secret-<cluster> in
            // istio-system, labelled istio/multiCluster=true, annotated networking.istio.io/cluster=<cluster>, with the
            // kubeconfig under the cluster's name.
            for (const [watcher, watched] of [["east", "west"], ["west", "east"]]) {
                const secret = byName(`peering-${watcher}-watches-${watched}-remote-secret`);
                assert.ok(secret, `no remote secret for ${watcher} watching ${watched}`);
                const inputs = plain(secret.inputs);
                assert.deepEqual(inputs.metadata, {
                    name: `istio-remote-secret-${watched}`, namespace: "istio-system",
                    labels: { "istio/multiCluster": "true" }, annotations: { "networking.istio.io/cluster": watched },
                });
                assert.deepEqual(Object.keys(inputs.stringData), [watched]);
                assert.ok(secret.provider?.endsWith(`:kubernetes::${watcher}`), `the remote secret must be applied on ${watcher}, got ${secret.provider}`);
            }
            const stack = plan.graph.resources.find((r) => r.type === "pulumi:pulumi:Stack")!;
            assert.deepEqual(plain(stack.outputs ?? {}).remoteSecrets, { east: ["istio-remote-secret-west"], west: ["istio-remote-secret-east"] });
        });

        it("mints each token on the watched cluster after its istiod, under a name carrying the epoch", () => {
            const token = byName("peering-east-watches-west-token-e3");
            assert.ok(token, "the token Secret is named after the epoch from Args");
            assert.ok(token.provider?.endsWith(":kubernetes::west"), `the token must be minted on west, got ${token.provider}`);
            assert.ok(token.dependencies.includes(byName("west-istiod").urn));
            assert.ok(byName("peering-east-watches-west-remote-secret").dependencies.includes(byName("east-istiod").urn));
        });
    });
});
