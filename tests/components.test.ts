import assert from "node:assert/strict";
import { plain } from "../engine/values";
import { builtAlone } from "./support/components";

// Components built alone from explicit Args (tests/fixtures/components), as pulumi-eks tests its core; one file per
// layer: components-cloud, components-mesh, components-identity-traffic, components-observability, components-pki.

describe("MeshPeering built alone", () => {
    const built = builtAlone("peering");

    it("gives each cluster a remote secret for the other, as istioctl create-remote-secret writes it", () => {
        // istio/istio 1.30.3 istioctl/pkg/multicluster/remote_secret.go: named istio-remote-secret-<cluster> in
        // istio-system, labelled istio/multiCluster=true, annotated networking.istio.io/cluster=<cluster>, with the
        // kubeconfig under the cluster's name.
        for (const [watcher, watched] of [["east", "west"], ["west", "east"]]) {
            const secret = built().byName(`peering-${watcher}-watches-${watched}-remote-secret`);
            const inputs = plain(secret.inputs);
            assert.deepEqual(inputs.metadata, {
                name: `istio-remote-secret-${watched}`, namespace: "istio-system",
                labels: { "istio/multiCluster": "true" }, annotations: { "networking.istio.io/cluster": watched },
            });
            assert.deepEqual(Object.keys(inputs.stringData), [watched]);
            assert.ok(secret.provider.endsWith(`:kubernetes::given-${watcher}`), `the remote secret must be applied on ${watcher}, got ${secret.provider}`);
        }
        assert.deepEqual(built().outputs.remoteSecrets, { east: ["istio-remote-secret-west"], west: ["istio-remote-secret-east"] });
        assert.deepEqual(built().registered("peering").remoteSecrets, built().outputs.remoteSecrets);
    });

    it("mints each token on the watched cluster after its istiod, under a name carrying the epoch", () => {
        const token = built().byName("peering-east-watches-west-token-e3");
        assert.ok(token.provider.endsWith(":kubernetes::given-west"), `the token must be minted on west, got ${token.provider}`);
        assert.ok(token.dependencies.includes(built().byName("given-west-istiod").urn));
        assert.ok(built().byName("peering-east-watches-west-remote-secret").dependencies.includes(built().byName("given-east-istiod").urn));
    });
});
