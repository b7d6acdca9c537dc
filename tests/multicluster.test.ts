import assert from "node:assert/strict";
import { CapturedResource } from "../engine/graph";
import { pendingCsrs } from "../engine/caHandoff";
import { Plan, stackOutputs } from "../engine/plan";
import { planDocument } from "../engine/report";
import { isSecretValue, plain } from "../engine/values";
import { stackConfig, toRuntime } from "./support/stacks";
import { shippedPlan } from "./support/plan";
import { createdBeforeHandoff, threeClusterProd } from "./support/variants";

const secrets = (plan: Plan) => plan.graph.resources.filter((r) => r.type === "kubernetes:core/v1:Secret" && !r.read);
const remoteSecrets = (plan: Plan) => secrets(plan).filter((r) => plain(r.inputs).metadata.labels?.["istio/multiCluster"] === "true");
const providerName = (plan: Plan, r: CapturedResource) => plan.graph.resources.find((p) => p.urn === r.provider)!.name;
const eastWest = (plan: Plan, cluster: string) => plan.graph.resources.find((r) => r.type === "kubernetes:helm.sh/v3:Release" && plain(r.inputs).name === "istio-eastwestgateway" && r.name.startsWith(cluster))!;
const egress = (plan: Plan, cluster: string) => [
    ...plan.graph.resources.filter((r) => r.type === "aws:ec2/eip:Eip" && r.name.startsWith(`${cluster}-network-nat-`)).map((r) => `${plain(r.outputs).publicIp}/32`),
    ...plan.graph.resources.filter((r) => r.type === "gcp:compute/address:Address" && r.name.startsWith(`${cluster}-network-nat-`)).map((r) => `${plain(r.outputs).address}/32`),
];

/** Check every remote secret of a plan against the clusters it names. */
function checkRemoteSecrets(plan: Plan, clusters: string[]) {
    const found = remoteSecrets(plan);
    assert.equal(found.length, clusters.length * (clusters.length - 1), "one remote secret per ordered pair");
    const pairs = found.map((r) => {
        const { metadata, stringData } = plain(r.inputs);
        const watched = metadata.annotations["networking.istio.io/cluster"];
        const watcher = providerName(plan, r);
        assert.equal(metadata.name, `istio-remote-secret-${watched}`);
        assert.equal(metadata.namespace, "istio-system");
        assert.deepEqual(Object.keys(stringData), [watched], "the data key is the watched cluster's name");
        assert.ok(isSecretValue(r.inputs.stringData), "the kubeconfig holds a token: it must be a Pulumi secret");
        const kc = JSON.parse(stringData[watched]);
        assert.deepEqual(Object.keys(kc.users[0].user), ["token"], "token auth only: istiod refuses exec plugins");
        assert.match(kc.users[0].user.token, /^[\w-]+\.[\w-]+\.[\w-]+$/);
        const api = plan.graph.resources.find((x) => (x.type === "aws:eks/cluster:Cluster" || x.type === "gcp:container/cluster:Cluster") && x.name === watched)!;
        const server = x(api).endpoint.startsWith("https://") ? x(api).endpoint : `https://${x(api).endpoint}`;
        assert.equal(kc.clusters[0].cluster.server, server, "server of the watched cluster");
        const ca = x(api).certificateAuthority?.data ?? x(api).masterAuth.clusterCaCertificate;
        assert.equal(kc.clusters[0].cluster["certificate-authority-data"], ca, "CA of the watched cluster");
        // Removing a cluster deletes the peers' remote secrets for it first: Pulumi deletes dependents before dependencies.
        assert.ok(r.dependencies.includes(api.urn), "the remote secret depends on the watched cluster");
        return `${watcher}->${watched}`;
    });
    const expected = clusters.flatMap((w) => clusters.filter((r) => r !== w).map((r) => `${w}->${r}`));
    assert.deepEqual(pairs.sort(), expected.sort());
}
const x = (r: CapturedResource) => plain(r.outputs);

describe("multi-cluster and multi-cloud (stages 4-5)", () => {
    let prod: Plan;
    before(async () => {
        prod = await shippedPlan("prod");
    });

    it("prod (EKS + GKE): remote secrets both ways, token-authenticated, from the right cluster, secret", () => {
        checkRemoteSecrets(prod, ["prod-aws-use1", "prod-gcp-usc1"]);
        const doc = JSON.stringify(planDocument(prod));
        for (const r of remoteSecrets(prod)) {
            const token = JSON.parse(Object.values(plain(r.inputs).stringData)[0] as string).users[0].user.token;
            assert.ok(!doc.includes(token), "a token reached plan.json");
        }
    });

    it("token Secrets belong to the reader account of the watched cluster and are read back after creation", () => {
        const tokens = secrets(prod).filter((r) => plain(r.inputs).type === "kubernetes.io/service-account-token" && plain(r.inputs).metadata.name.startsWith("istio-reader-token-"));
        assert.equal(tokens.length, 2);
        for (const t of tokens) {
            assert.equal(plain(t.inputs).metadata.annotations["kubernetes.io/service-account.name"], "istio-reader-service-account");
            const read = prod.graph.resources.find((r) => r.read && r.id === t.id && r.provider === t.provider);
            assert.ok(read && read.dependencies.includes(t.urn), "the token is read back from the API after creation");
        }
    });

    it("east-west gateways: static addresses, only 15021 and 15443, reachable only from the peers' egress", () => {
        for (const [cluster, peer] of [["prod-aws-use1", "prod-gcp-usc1"], ["prod-gcp-usc1", "prod-aws-use1"]]) {
            const v = plain(eastWest(prod, cluster).inputs).values;
            assert.deepEqual(v.service.ports.map((p: any) => p.port), [15021, 15443]);
            assert.deepEqual(v.service.loadBalancerSourceRanges, egress(prod, peer));
            assert.equal(v.labels["topology.istio.io/network"], `net-${cluster}`);
            assert.equal(v.env.ISTIO_META_REQUESTED_NETWORK_VIEW, `net-${cluster}`);
        }
        const aws = plain(eastWest(prod, "prod-aws-use1").inputs).values.service;
        const eips = prod.graph.resources.filter((r) => r.type === "aws:ec2/eip:Eip" && r.name.includes("-eastwest-")).map((r) => x(r).allocationId);
        assert.equal(eips.length, 3, "one Elastic IP per public subnet");
        assert.equal(aws.annotations["service.beta.kubernetes.io/aws-load-balancer-eip-allocations"], eips.join(","));
        assert.equal(aws.annotations["service.beta.kubernetes.io/aws-load-balancer-scheme"], "internet-facing");
        const gcp = plain(eastWest(prod, "prod-gcp-usc1").inputs).values.service;
        const address = prod.graph.resources.find((r) => r.type === "gcp:compute/address:Address" && r.name.endsWith("-eastwest"))!;
        assert.equal(gcp.loadBalancerIP, x(address).address);
    });

    it("passes mTLS through on *.local with AUTO_PASSTHROUGH only", () => {
        const gateways = prod.graph.resources.filter((r) => r.type === "kubernetes:networking.istio.io/v1:Gateway" && plain(r.inputs).metadata.name === "cross-network-gateway");
        assert.equal(gateways.length, 2);
        for (const g of gateways) {
            assert.deepEqual(plain(g.inputs).spec.servers, [{ port: { number: 15443, name: "tls", protocol: "TLS" }, tls: { mode: "AUTO_PASSTHROUGH" }, hosts: ["*.local"] }]);
        }
    });

    it("three clusters: six remote secrets, each gateway open to both peers; istiod ports only when asked", async () => {
        const three = await threeClusterProd();
        // pki-prod signed the third cluster's managed CA too, and prod imported it: nothing is left pending.
        assert.deepEqual([three.caHandoff!.pkiStack, [...three.caHandoff!.clusters].sort()], ["pki-prod", ["prod-aws-euw1", "prod-aws-use1", "prod-gcp-usc1"]]);
        assert.deepEqual(pendingCsrs(stackOutputs(three.graph).outputs), {});
        assert.ok(three.graph.resources.some((r) => r.type === "aws:acmpca/certificateAuthorityCertificate:CertificateAuthorityCertificate" && r.name.includes("prod-aws-euw1")));
        checkRemoteSecrets(three, ["prod-aws-use1", "prod-aws-euw1", "prod-gcp-usc1"]);
        const v = plain(eastWest(three, "prod-aws-euw1").inputs).values;
        assert.deepEqual(v.service.loadBalancerSourceRanges, [...egress(three, "prod-aws-use1"), ...egress(three, "prod-gcp-usc1")]);
        assert.deepEqual(v.service.ports.map((p: any) => p.port), [15021, 15443, 15012, 15017]);
    });

    it("rotates remote-secret tokens by epoch: new token Secrets, the same remote secrets repointed", async () => {
        const config = stackConfig("prod");
        config.multiCluster = { remoteSecretEpoch: 2 };
        const rotated = await createdBeforeHandoff({ stack: "prod", config: toRuntime(config) });
        const tokenNames = secrets(rotated).filter((r) => plain(r.inputs).type === "kubernetes.io/service-account-token").map((r) => plain(r.inputs).metadata.name).sort();
        // Kiali's token for the cluster it reads rotates with the same epoch.
        assert.deepEqual(tokenNames, ["istio-reader-token-prod-aws-use1-e2", "istio-reader-token-prod-gcp-usc1-e2", "kiali-remote-token-prod-aws-use1-e2"]);
        assert.deepEqual(remoteSecrets(rotated).map((r) => r.urn).sort(), remoteSecrets(prod).map((r) => r.urn).sort(), "remote secrets are updated in place, not replaced");
        // So is Kiali's remote-cluster secret, which now carries the new token.
        const kiali = (plan: Plan) => secrets(plan).find((r) => plain(r.inputs).metadata.labels?.["kiali.io/multiCluster"] === "true")!;
        const token = (plan: Plan) => JSON.parse(plain(kiali(plan).inputs).stringData["prod-gcp-usc1"]).users[0].user.token;
        assert.equal(kiali(rotated).urn, kiali(prod).urn);
        assert.notEqual(token(rotated), token(prod));
    });

    it("stage 3 and below build no east-west gateway and no remote secret", async () => {
        const dev = await shippedPlan("dev");
        assert.equal(remoteSecrets(dev).length, 0);
        assert.equal(dev.graph.resources.filter((r) => r.name.includes("eastwest")).length, 0);
    });

    it("staging verifies the live mesh: a Job per cluster calls every other cluster's echo after the peering exists", async () => {
        const staging = await shippedPlan("staging");
        const jobs = staging.graph.resources.filter((r) => r.type === "kubernetes:batch/v1:Job");
        assert.equal(jobs.length, 2);
        const peeringUrns = remoteSecrets(staging).map((r) => r.urn);
        for (const job of jobs) {
            const self = providerName(staging, job);
            const script = plain(job.inputs).spec.template.spec.containers[0].command[2];
            const other = ["staging-aws-euw1", "staging-aws-euc1"].find((c) => c !== self)!;
            assert.match(script, new RegExp(`http://echo-${other}\\.mesh-verify:8080/hostname`));
            assert.ok(!script.includes(`echo-${self}.`), "a cluster does not verify itself");
            assert.ok(peeringUrns.every((u) => job.dependencies.includes(u)), "the check runs after every remote secret exists");
        }
        const allow = staging.graph.resources.filter((r) => r.type === "kubernetes:security.istio.io/v1:AuthorizationPolicy" && plain(r.inputs).metadata.name === "allow-verifier").map((r) => plain(r.inputs).spec.rules[0].from[0].source.principals);
        assert.deepEqual(allow[0], ["staging.mesh.acme.example/ns/mesh-verify/sa/mesh-verify"]);
    });
});
