import assert from "node:assert/strict";
import { attributeClusters, CreationEstimate, Layer, modelDeployment, ModelResource } from "../bench/criticalPath";
import { creationTime, DEFAULT_ESTIMATE } from "../bench/durations";

/** A hand-made resource: `deps` and `parent`/`provider` name other resources of the same little graph. */
interface TestResource extends ModelResource {
    readonly seconds: number;
    readonly layer: Layer;
}

function res(name: string, seconds: number, opts: { deps?: string[]; parent?: string; provider?: string; layer?: Layer; component?: boolean; type?: string } = {}): TestResource {
    return {
        urn: name, name, type: opts.type ?? "test:index:Thing", parent: opts.parent ?? "", custom: !opts.component,
        dependencies: opts.deps ?? [], provider: opts.provider ?? "", seconds, layer: opts.layer ?? "other",
    };
}

const estimate = (r: TestResource): CreationEstimate => ({ seconds: r.seconds, layer: r.layer, known: true });
const model = (resources: TestResource[], clusters: string[] = []) => modelDeployment(resources, { clusters, estimate });
const names = (steps: readonly { name: string }[]) => steps.map((s) => s.name);

/** One cluster's chain: network, control plane, nodes. */
const cluster = (c: string, [net, cp, nodes]: [number, number, number], extraDeps: { cp?: string[] } = {}) => [
    res(`${c}-vpc`, net, { layer: "network" }),
    res(`${c}-cluster`, cp, { deps: [`${c}-vpc`, ...(extraDeps.cp ?? [])], layer: "cluster" }),
    res(`${c}-nodes`, nodes, { deps: [`${c}-cluster`], layer: "nodes" }),
];

describe("deployment critical path model", () => {
    it("a chain takes the sum of its steps, in order", () => {
        const m = model([res("c", 3, { deps: ["b"] }), res("a", 1), res("b", 2, { deps: ["a"] })]);
        assert.equal(m.criticalPath.seconds, 6);
        assert.deepEqual(names(m.criticalPath.steps), ["a", "b", "c"]);
        assert.deepEqual(m.criticalPath.steps.map((s) => [s.start, s.finish]), [[0, 1], [1, 3], [3, 6]]);
    });

    it("a diamond takes its longer branch", () => {
        const m = model([res("a", 1), res("b", 5, { deps: ["a"] }), res("c", 2, { deps: ["a"] }), res("d", 1, { deps: ["b", "c"] })]);
        assert.equal(m.criticalPath.seconds, 7);
        assert.deepEqual(names(m.criticalPath.steps), ["a", "b", "d"]);
    });

    it("children wait for their parent and provider; components take no time but pass waits on", () => {
        const m = model([
            res("cluster", 10),
            res("k8s", 0, { deps: ["cluster"], type: "pulumi:providers:kubernetes" }),
            res("mesh", 0, { component: true, deps: ["k8s"] }),
            res("istiod", 4, { parent: "mesh", provider: "k8s" }),
            res("unrelated", 3),
        ]);
        assert.equal(m.criticalPath.seconds, 14);
        assert.deepEqual(names(m.criticalPath.steps), ["cluster", "k8s", "mesh", "istiod"]);
        assert.equal(m.criticalPath.steps.find((s) => s.name === "mesh")!.created, false);
    });

    it("two clusters in parallel: critical path = ideal = the slower cluster; sequential adds them up", () => {
        const m = model([...cluster("east", [2, 10, 5]), ...cluster("west", [2, 8, 3])], ["east", "west"]);
        assert.equal(m.criticalPath.seconds, 17);
        assert.equal(m.ideal.seconds, 17);
        assert.deepEqual(m.ideal.perCluster.map((c) => [c.cluster, c.chain.seconds]), [["east", 17], ["west", 13]]);
        assert.equal(m.sequential.seconds, 30);
        assert.deepEqual(m.sequential.phases.map((p) => `${p.layer}/${p.cluster}:${p.seconds}`),
            ["network/east:2", "network/west:2", "cluster/east:10", "cluster/west:8", "nodes/east:5", "nodes/west:3"]);
        assert.deepEqual(m.crossClusterEdges, []);
    });

    it("a needless cross-cluster wait lengthens the critical path past the ideal and is reported on it", () => {
        const m = model([...cluster("east", [2, 10, 5]), ...cluster("west", [2, 8, 3], { cp: ["east-cluster"] })], ["east", "west"]);
        assert.equal(m.criticalPath.seconds, 23);
        assert.deepEqual(names(m.criticalPath.steps), ["east-vpc", "east-cluster", "west-cluster", "west-nodes"]);
        assert.equal(m.ideal.seconds, 17);
        assert.ok(m.criticalPath.seconds / m.ideal.seconds > 1.05);
        assert.deepEqual(m.crossClusterEdges, [{ from: "east-cluster", fromCluster: "east", to: "west-cluster", toCluster: "west", onCriticalPath: true }]);
    });

    it("the cross-cluster step comes on top of the slowest cluster", () => {
        const m = model([
            ...cluster("east", [2, 10, 5]), ...cluster("west", [2, 8, 3]),
            res("peering", 4, { deps: ["east-nodes", "west-nodes"] }),
            res("mesh-config", 1, { deps: ["peering"] }),
        ], ["east", "west"]);
        assert.equal(m.criticalPath.seconds, 22);
        assert.deepEqual(names(m.ideal.crossCluster.steps), ["peering", "mesh-config"]);
        assert.equal(m.ideal.seconds, 17 + 5);
        assert.ok(m.sequential.seconds >= m.criticalPath.seconds);
    });

    it("a phased deployment moves a resource that waits for a later phase into that phase", () => {
        const m = model([
            res("vpc", 2, { layer: "network" }),
            res("cluster", 10, { deps: ["vpc"], layer: "cluster" }),
            res("irsa-role", 1, { deps: ["cluster"], layer: "identity" }),
        ]);
        assert.equal(m.sequential.seconds, 13);
        assert.deepEqual(m.sequential.phases.map((p) => p.layer), ["network", "cluster"]);
    });

    it("a provider that takes no time does not pull the resources using it into its layer's phase", () => {
        const m = model([
            res("aws", 0, { layer: "cluster", type: "pulumi:providers:aws" }),
            res("vpc", 2, { layer: "network", provider: "aws" }),
            res("cluster", 10, { deps: ["vpc"], layer: "cluster", provider: "aws" }),
        ]);
        assert.deepEqual(m.sequential.phases.map((p) => `${p.layer}:${p.seconds}`), ["network:2", "cluster:10"]);
    });

    it("refuses a dependency cycle, naming it", () => {
        assert.throws(() => model([res("a", 1, { deps: ["b"] }), res("b", 1, { deps: ["a"] })]), /dependency cycle: (a → b → a|b → a → b)/);
    });

    it("ignores dependencies on resources outside the graph", () => {
        assert.equal(model([res("a", 2, { deps: ["urn:elsewhere"] })]).criticalPath.seconds, 2);
    });

    it("an empty graph takes no time", () => {
        const m = model([]);
        assert.deepEqual([m.criticalPath.seconds, m.ideal.seconds, m.sequential.seconds], [0, 0, 0]);
    });
});

describe("attributing resources to clusters", () => {
    const clusters = ["prod-aws-1", "prod-aws-10", "prod-gcp-1"];

    it("by the explicit provider first, then by its own or its nearest ancestor's name, as whole tokens", () => {
        const graph: ModelResource[] = [
            res("prod-aws-10", 0, { component: true }),
            res("prod-aws-10-k8s", 0, { parent: "prod-aws-10", type: "pulumi:providers:kubernetes" }),
            res("istiod", 1, { provider: "prod-aws-10-k8s" }),
            res("remote-secret-prod-gcp-1", 1, { provider: "prod-aws-10-k8s" }),
            res("vpc", 1, { parent: "prod-aws-10" }),
            res("int-prod-aws-1-e1", 1),
            res("prod-aws-100-thing", 1),
            res("mesh-root", 1),
        ];
        const of = attributeClusters(graph, clusters);
        assert.equal(of.get("istiod"), "prod-aws-10");
        assert.equal(of.get("remote-secret-prod-gcp-1"), "prod-aws-10", "created in the cluster its provider talks to");
        assert.equal(of.get("vpc"), "prod-aws-10");
        assert.equal(of.get("int-prod-aws-1-e1"), "prod-aws-1");
        assert.equal(of.get("prod-aws-100-thing"), undefined);
        assert.equal(of.get("mesh-root"), undefined);
    });
});

describe("creation time table", () => {
    it("knows the cluster layer, Helm charts by name and LoadBalancer Services; unknown types get the default", () => {
        assert.equal(creationTime({ type: "aws:eks/cluster:Cluster" }).seconds, 750);
        assert.equal(creationTime({ type: "aws:iam/rolePolicyAttachment:RolePolicyAttachment" }).layer, "identity");
        const istiod = creationTime({ type: "kubernetes:helm.sh/v3:Release", inputs: { chart: "istiod" } });
        const csr = creationTime({ type: "kubernetes:helm.sh/v3:Release", inputs: { chart: "oci://quay.io/jetstack/charts/cert-manager-istio-csr" } });
        assert.notEqual(istiod.basis, csr.basis);
        const lb = creationTime({ type: "kubernetes:core/v1:Service", inputs: { spec: { type: "LoadBalancer" } } });
        assert.ok(lb.seconds > creationTime({ type: "kubernetes:core/v1:Service", inputs: { spec: {} } }).seconds);
        const unknown = creationTime({ type: "acme:index:Widget" });
        assert.equal(unknown.known, false);
        assert.equal(unknown.seconds, DEFAULT_ESTIMATE.seconds);
    });

    it("names the unknown types a graph used", () => {
        const m = modelDeployment([{ ...res("w", 0), type: "acme:index:Widget" }], { clusters: [], estimate: creationTime });
        assert.deepEqual(m.unknownTypes, ["acme:index:Widget"]);
        assert.equal(m.criticalPath.seconds, DEFAULT_ESTIMATE.seconds);
    });
});
