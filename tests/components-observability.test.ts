import assert from "node:assert/strict";
import { plain } from "../engine/values";
import { builtAlone, refusedAlone } from "./support/components";
import { HELM_RELEASE } from "./support/upstream";

// The observability components built alone (tests/fixtures/components/observability.ts), on stand-in clusters' meshes.

describe("ClusterMonitoring built alone, as a federation source", () => {
    const built = builtAlone("cluster-monitoring");

    it("installs Prometheus in its namespace, labelling every series with the cluster and the mesh", () => {
        const release = built().inputs("west-monitoring-prometheus", HELM_RELEASE);
        assert.deepEqual({ chart: release.chart, repo: release.repositoryOpts.repo, namespace: release.namespace },
            { chart: "prometheus", repo: "https://prometheus-community.github.io/helm-charts", namespace: "monitoring" });
        // prometheus-community/prometheus 29.27.0 values.yaml: `server.global.external_labels`.
        assert.deepEqual(release.values.server.global.external_labels, { cluster: "west", mesh_id: "mesh1" });
        assert.ok(built().byName("west-monitoring-prometheus").dependencies.includes(built().byName("given-west-mesh-istiod").urn), "a federating server runs a sidecar");
    });

    it("serves /federate to the hub's Prometheus alone, under a mesh-wide name", () => {
        // Istio protocol selection: a Service port named `http-*` is HTTP, which authorization by path needs.
        const service = built().inputs("west-monitoring-federated");
        assert.equal(service.metadata.name, "prometheus-west");
        assert.deepEqual(service.spec.ports.map((p: any) => [p.name, p.port]), [["http-federate", 9090]]);
        const rules = built().inputs("west-monitoring-federation-allow").spec.rules;
        assert.deepEqual(rules, [{
            from: [{ source: { principals: ["aws.mesh.example/ns/monitoring/sa/prometheus-server"] } }],
            to: [{ operation: { methods: ["GET"], paths: ["/federate"], ports: ["9090"] } }],
        }]);
    });

    it("sets the mesh-wide Telemetry: Envoy access logs and the sampling asked for", () => {
        // Istio Telemetry API: accessLogging providers, tracing randomSamplingPercentage; in the root namespace.
        const telemetry = built().inputs("west-monitoring-telemetry");
        assert.equal(telemetry.metadata.namespace, "istio-system");
        assert.deepEqual(telemetry.spec, { accessLogging: [{ providers: [{ name: "envoy" }] }], tracing: [{ randomSamplingPercentage: 5 }] });
        assert.equal(built().registered("west-monitoring").prometheus.status, plain(built().byName("west-monitoring-prometheus").outputs).status.status);
    });

    it("refuses a federation source without the hub's principal, before creating anything", async () => {
        const { message, registered } = await refusedAlone("cluster-monitoring-source-without-hub", "ClusterMonitoring");
        assert.match(message, /^ClusterMonitoring west-monitoring: cluster west is a federation source without the hub's principal \(hubPrincipal\)/);
        assert.deepEqual(registered.filter((r) => r.name.startsWith("west-monitoring-")).map((r) => r.name), []);
    });
});

describe("Kiali built alone", () => {
    const built = builtAlone("kiali");

    it("runs on the hub, reading the mesh's namespaces there through its own roles, logging users in through the issuer", () => {
        const release = built().byName("east-kiali-east", HELM_RELEASE);
        const inputs = plain(release.inputs);
        assert.deepEqual({ chart: inputs.chart, repo: inputs.repositoryOpts.repo, namespace: inputs.namespace }, { chart: "kiali-server", repo: "https://kiali.org/helm-charts", namespace: "istio-system" });
        assert.ok(release.provider.endsWith("::given-east"));
        // kiali-server 2.29.0 values: auth.strategy openid with `client_id` and `issuer_uri`.
        assert.deepEqual({ client: inputs.values.auth.openid.client_id, issuer: inputs.values.auth.openid.issuer_uri }, { client: "kiali", issuer: "https://login.example.com" });
        for (const ns of ["istio-system", "istio-ingress", "shop"]) {
            const role = built().byName(`east-kiali-east-viewer-${ns}`, "kubernetes:rbac.authorization.k8s.io/v1:Role");
            assert.ok(release.dependencies.includes(role.urn), `Kiali waits for its role in ${ns}`);
        }
        assert.ok(built().byName("east-kiali-east-viewer-shop", "kubernetes:rbac.authorization.k8s.io/v1:Role").dependencies.includes(built().byName("given-east-ns-shop").urn));
    });

    it("reads the other cluster through a remote-cluster secret holding a token of the remote-only account, the epoch in its name", () => {
        // kiali/kiali v2.29.0: a remote cluster secret is labelled kiali.io/multiCluster=true and annotated
        // kiali.io/cluster=<cluster>, with the kubeconfig under the cluster's name, in Kiali's namespace on the hub.
        const secret = built().byName("east-kiali-west-remote-secret");
        const inputs = plain(secret.inputs);
        assert.deepEqual(inputs.metadata, {
            name: "kiali-remote-cluster-secret-west", namespace: "istio-system",
            labels: { "kiali.io/multiCluster": "true" }, annotations: { "kiali.io/cluster": "west" },
        });
        assert.deepEqual(Object.keys(inputs.stringData), ["west"]);
        assert.ok(secret.provider.endsWith("::given-east"), "the secret lives on the hub");
        // Kubernetes: a Secret of type service-account-token annotated with the account's name gets a token.
        const token = built().byName("east-kiali-west-token-e4");
        assert.deepEqual(plain(token.inputs).metadata.annotations, { "kubernetes.io/service-account.name": "kiali" });
        assert.ok(token.provider.endsWith("::given-west"));
        assert.equal(built().inputs("east-kiali-west-remote", HELM_RELEASE).values.deployment.remote_cluster_resources_only, true);
    });
});

describe("MeshObservability built alone", () => {
    const built = builtAlone("mesh-observability");

    it("monitors every cluster and runs Kiali on the hub, the first cluster, as its children", () => {
        const children = built().children(built().component("observability")).map((c) => `${c.type} ${c.name}`).sort();
        assert.deepEqual(children, [
            "istio-production:observability:ClusterMonitoring east-monitoring",
            "istio-production:observability:ClusterMonitoring west-monitoring",
            "istio-production:observability:Kiali east-kiali",
        ]);
    });

    it("lets the hub's Prometheus alone federate the source, verifying the source's identity in its own trust domain", () => {
        const allow = built().inputs("west-monitoring-federation-allow").spec.rules[0].from;
        assert.deepEqual(allow, [{ source: { principals: ["aws.mesh.example/ns/monitoring/sa/prometheus-server"] } }]);
        const tls = built().inputs("east-monitoring-source-west").spec.trafficPolicy.tls;
        assert.deepEqual(tls.subjectAltNames, ["spiffe://gcp.mesh.example/ns/monitoring/sa/prometheus-server"]);
    });

    it("logs users in to Kiali through the edge's issuer, and names its tokens after the remote-secret epoch", () => {
        assert.equal(built().inputs("east-kiali-east", HELM_RELEASE).values.auth.openid.issuer_uri, "https://login.example.com");
        assert.ok(built().byName("east-kiali-west-token-e2"));
    });

    it("refuses a hub that is not one of its clusters, and Kiali without an issuer, before creating anything", async () => {
        const hub = await refusedAlone("mesh-observability-unknown-hub", "MeshObservability");
        assert.match(hub.message, /^MeshObservability observability: observability\.hubCluster north is not a cluster of this stack/);
        const issuer = await refusedAlone("mesh-observability-kiali-without-issuer", "MeshObservability");
        assert.match(issuer.message, /^MeshObservability observability: observability\.kialiAuth: Kiali needs an openid strategy with an issuer/);
        for (const { registered } of [hub, issuer]) {
            assert.deepEqual(registered.filter((r) => r.type.startsWith("istio-production:observability:") && r.name !== "observability").map((r) => r.name), []);
        }
    });
});
