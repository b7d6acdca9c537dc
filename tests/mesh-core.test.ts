import assert from "node:assert/strict";
import { CapturedResource } from "../engine/graph";
import { Plan, planStack } from "../engine/plan";
import { isSecretValue, plain } from "../engine/values";
import { istioCsrValues, istiodValues } from "../components/mesh/values";
import { MeshSettings } from "../config";
import { opensslVerify } from "./support/pki";
import { stackConfig, toRuntime } from "./support/stacks";
import { shippedPlan } from "./support/plan";

const releases = (plan: Plan) => plan.graph.resources.filter((r) => r.type === "kubernetes:helm.sh/v3:Release");
const release = (plan: Plan, releaseName: string, cluster?: string): CapturedResource => {
    const found = releases(plan).filter((r) => plain(r.inputs).name === releaseName && (!cluster || r.name.startsWith(cluster)));
    assert.equal(found.length, 1, `one release ${releaseName}${cluster ? ` in ${cluster}` : ""}; found ${found.length}`);
    return found[0];
};
const values = (r: CapturedResource) => plain(r.inputs).values;
const kind = (plan: Plan, k: string, name?: string) => plan.graph.resources.filter((r) => r.type.endsWith(`:${k}`) && r.custom && (!name || plain(r.inputs).metadata?.name === name));
const dependsOn = (a: CapturedResource, b: CapturedResource) => a.dependencies.includes(b.urn);

describe("chart values (pure)", () => {
    const mesh: MeshSettings = { workloadCertificateTtlMinutes: 60, keyAlgorithm: "ECDSA", istioHub: "docker.io/istio", trustDomainAliases: [], outboundTrafficPolicy: "REGISTRY_ONLY" };
    const csr = istioCsrValues({ clusterName: "eks-a", trustDomain: "aws.mesh.example", highAvailability: true, mesh });
    const istiodArgs = { meshId: "m", clusterName: "eks-a", network: "net-a", trustDomain: "aws.mesh.example", highAvailability: true, enterpriseCa: true, version: "1.30.3", mesh };
    const istiod = istiodValues(istiodArgs);

    it("runs istiod's images from mesh.istioHub, tagged with the chart version unless mesh.istioTag sets a tag", () => {
        assert.deepEqual([istiod.global.hub, istiod.global.tag], ["docker.io/istio", "1.30.3"]);
        const fips = istiodValues({ ...istiodArgs, mesh: { ...mesh, istioHub: "registry.example/istio-fips", istioTag: "1.30.3-fips" } });
        assert.deepEqual([fips.global.hub, fips.global.tag], ["registry.example/istio-fips", "1.30.3-fips"]);
    });

    it("ties istio-csr to istiod: cluster ID = clusterName, trust domains equal, CA address = the istio-csr Service", () => {
        assert.equal(csr.app.server.clusterID, istiod.global.multiCluster.clusterName);
        assert.equal(csr.app.tls.trustDomain, istiod.meshConfig.trustDomain);
        assert.equal(istiod.global.caAddress, `${csr.app.tls.certificateDNSNames[0]}:443`);
    });

    it("turns istiod's CA off with top-level env (the chart ignores pilot.env)", () => {
        assert.deepEqual(istiod.env, { ENABLE_CA_SERVER: "false" });
        assert.equal((istiod as Record<string, unknown>).pilot, undefined);
    });

    it("pins istio-csr's root bundle to a mounted file, keeps no CertificateRequests, caps workload TTL at an hour", () => {
        assert.equal(csr.app.tls.rootCAFile, "/var/run/secrets/istio-csr/ca.pem");
        assert.equal(csr.volumeMounts[0].mountPath, "/var/run/secrets/istio-csr");
        assert.equal(csr.volumes[0].secret.secretName, "istio-root-ca");
        assert.equal(csr.app.certmanager.preserveCertificateRequests, false);
        assert.equal(csr.app.server.maxCertificateDuration, "60m");
    });

    it("uses ECDSA P-256 for proxies, istiod and istio-csr unless told otherwise", () => {
        assert.deepEqual(istiod.meshConfig.defaultConfig.proxyMetadata, { ECC_SIGNATURE_ALGORITHM: "ECDSA", ECC_CURVE: "P256" });
        assert.deepEqual([csr.app.tls.istiodPrivateKeyAlgorithm, csr.app.tls.istiodPrivateKeySize], ["ECDSA", 256]);
        assert.deepEqual(csr.app.server.serving, { signatureAlgorithm: "ECDSA", certificateKeySize: 256 });
        const rsa = istioCsrValues({ clusterName: "c", trustDomain: "t", highAvailability: false, mesh: { ...mesh, workloadCertificateTtlMinutes: 30, keyAlgorithm: "RSA" } });
        assert.deepEqual(rsa.app.server.serving, { signatureAlgorithm: "RSA", certificateKeySize: 3072 });
    });
});

describe("mesh core in the plan", () => {
    let dev: Plan;
    let prod: Plan;
    before(async () => {
        [dev, prod] = [await shippedPlan("dev"), await shippedPlan("prod")];
    });

    it("stage 2 installs cert-manager, approver-policy, istio-csr, base, istiod and the ingress gateway, all pinned", () => {
        const pins = Object.fromEntries(releases(dev).map((r) => [plain(r.inputs).name, [plain(r.inputs).chart, plain(r.inputs).version]]));
        assert.deepEqual(pins, {
            "aws-load-balancer-controller": ["aws-load-balancer-controller", "1.14.0"],
            "cert-manager": ["oci://quay.io/jetstack/charts/cert-manager", "v1.21.1"],
            "cert-manager-approver-policy": ["oci://quay.io/jetstack/charts/cert-manager-approver-policy", "v0.27.0"],
            "cert-manager-istio-csr": ["oci://quay.io/jetstack/charts/cert-manager-istio-csr", "v0.17.0"],
            "istio-base": ["base", "1.30.3"],
            istiod: ["istiod", "1.30.3"],
            "istio-ingressgateway": ["gateway", "1.30.3"],
        });
        assert.equal(values(release(dev, "cert-manager")).crds.enabled, true);
        assert.equal(values(release(dev, "cert-manager")).disableAutoApproval, true, "approver-policy, not the built-in approver, decides");
    });

    it("orders the install: issuer and root bundle before istio-csr, istio-csr before istiod, CRDs before custom resources", () => {
        const csr = release(dev, "cert-manager-istio-csr");
        const istiod = release(dev, "istiod");
        const issuer = kind(dev, "Issuer", "istio-ca")[0];
        const rootBundle = dev.graph.resources.find((r) => r.type === "kubernetes:core/v1:Secret" && plain(r.inputs).metadata.name === "istio-root-ca")!;
        const certManager = release(dev, "cert-manager");
        assert.ok(dependsOn(csr, issuer) && dependsOn(csr, rootBundle));
        assert.ok(dependsOn(istiod, csr), "istiod picks its serving certificate once, at startup");
        assert.ok(dependsOn(istiod, release(dev, "istio-base")));
        assert.ok(dependsOn(issuer, certManager));
        for (const policy of kind(dev, "CertificateRequestPolicy")) assert.ok(dependsOn(policy, release(dev, "cert-manager-approver-policy")), policy.name);
        assert.ok(dependsOn(kind(dev, "PeerAuthentication")[0], istiod));
        assert.ok(dependsOn(kind(dev, "Certificate")[0], kind(dev, "ClusterIssuer", "istio-ca")[0]), "the private ingress certificate waits for the intermediate's ClusterIssuer");
        assert.equal(plain(issuer.inputs).metadata.annotations["pulumi.com/waitFor"], "condition=Ready");
    });

    it("labels istio-system with the network before istiod, and enforces STRICT mTLS mesh-wide", () => {
        const ns = dev.graph.resources.find((r) => r.type === "kubernetes:core/v1:Namespace" && plain(r.inputs).metadata.name === "istio-system")!;
        assert.equal(plain(ns.inputs).metadata.labels["topology.istio.io/network"], "net-dev-aws-1");
        assert.ok(dependsOn(release(dev, "istio-base"), ns) && dependsOn(release(dev, "istiod"), release(dev, "istio-base")));
        const pa = plain(kind(dev, "PeerAuthentication")[0].inputs);
        assert.deepEqual([pa.metadata, pa.spec], [{ name: "default", namespace: "istio-system" }, { mtls: { mode: "STRICT" } }]);
    });

    it("installs the cluster's intermediate with the root that signed it as the CA Issuer's chain (openssl verifies it)", async () => {
        const secret = dev.graph.resources.find((r) => r.type === "kubernetes:core/v1:Secret" && plain(r.inputs).metadata.name === "istio-ca")!;
        const data = plain(secret.inputs).stringData;
        assert.equal(plain(secret.inputs).type, "kubernetes.io/tls");
        const certs = data["tls.crt"].match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g);
        assert.equal(certs.length, 2);
        assert.equal(certs[1].trim(), data["ca.crt"].trim());
        assert.ok((await opensslVerify([data["ca.crt"]], [], certs[0])).ok);
        assert.match(data["tls.key"], /BEGIN EC PRIVATE KEY/);
        assert.ok(isSecretValue(secret.inputs.stringData), "the intermediate key is a Pulumi secret");
    });

    it("lets approver-policy sign only this trust domain's SPIFFE identities, short-lived, with approved keys", () => {
        const workloads = plain(kind(dev, "CertificateRequestPolicy", "istio-mesh-workloads")[0].inputs).spec;
        assert.deepEqual(workloads.allowed.uris, { values: ["spiffe://dev.mesh.acme.example/ns/*/sa/*"], required: true });
        assert.equal(workloads.allowed.isCA, false);
        assert.equal(workloads.constraints.maxDuration, "60m");
        assert.deepEqual(workloads.constraints.privateKey, { algorithm: "ECDSA", minSize: 256, maxSize: 384 });
        assert.deepEqual(workloads.selector.issuerRef, { name: "istio-ca", kind: "Issuer", group: "cert-manager.io" });
        const binding = dev.graph.resources.find((r) => r.type === "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding" && plain(r.inputs).metadata.name === "cert-manager-policy:istio-mesh-workloads")!;
        assert.deepEqual(plain(binding.inputs).subjects, [{ kind: "ServiceAccount", namespace: "cert-manager", name: "cert-manager-istio-csr" }]);
    });

    it("issues the ingress certificate with cert-manager and serves it by credentialName", () => {
        const cert = plain(kind(prod, "Certificate")[0].inputs).spec;
        assert.deepEqual(cert.issuerRef, { name: "acme", kind: "ClusterIssuer", group: "cert-manager.io" });
        assert.equal(cert.privateKey.rotationPolicy, "Always");
        const gw = plain(kind(prod, "Gateway", "ingress")[0].inputs).spec.servers[0];
        assert.equal(gw.tls.credentialName, cert.secretName);
        assert.deepEqual(gw.hosts, cert.dnsNames);
        assert.equal(plain(kind(prod, "ClusterIssuer", "acme")[0].inputs).spec.acme.server, "https://acme-v02.api.letsencrypt.org/directory");
    });

    it("routes the ingress hosts to the exposed services, following a release in progress at the edge too", () => {
        for (const vs of kind(prod, "VirtualService", "ingress")) {
            const spec = plain(vs.inputs).spec;
            assert.deepEqual(spec.gateways, ["istio-ingress/ingress"]);
            assert.deepEqual(spec.hosts, ["shop.acme.example"]);
            // prod runs frontend blue/green with blue active: edge traffic goes to blue, as mesh traffic does.
            assert.deepEqual(spec.http.map((h: any) => ({ match: h.match, route: h.route })),
                [{ match: [{ uri: { prefix: "/" } }], route: [{ destination: { host: "frontend.shop.svc.cluster.local", port: { number: 8080 }, subset: "blue" }, weight: 100 }] }]);
        }
        assert.equal(kind(prod, "VirtualService", "ingress").length, 2);
    });

    it("runs every control-plane component highly available in prod", () => {
        for (const cluster of ["prod-aws-use1", "prod-gcp-usc1"]) {
            const cm = values(release(prod, "cert-manager", cluster));
            assert.deepEqual([cm.replicaCount, cm.webhook.replicaCount, cm.cainjector.replicaCount], [2, 2, 2]);
            assert.equal(cm.podDisruptionBudget.enabled, true);
            assert.equal(cm.topologySpreadConstraints[0].topologyKey, "topology.kubernetes.io/zone");
            for (const chart of ["cert-manager-istio-csr", "cert-manager-approver-policy"]) {
                const v = values(release(prod, chart, cluster));
                assert.deepEqual([v.replicaCount, v.podDisruptionBudget.enabled], [2, true], chart);
            }
            // The managed CAs' issuer controllers (aws-privateca-issuer v1.9.0, google-cas-issuer v0.12.0 values.yaml `replicaCount`).
            assert.equal(values(release(prod, cluster.includes("aws") ? "aws-privateca-issuer" : "cert-manager-google-cas-issuer", cluster)).replicaCount, 2);
            const istiod = values(release(prod, "istiod", cluster));
            assert.deepEqual([istiod.autoscaleEnabled, istiod.autoscaleMin, istiod.pdb.minAvailable], [true, 2, 1]);
            assert.equal(values(release(prod, "istio-ingressgateway", cluster)).autoscaling.minReplicas, 2);
        }
        assert.equal(values(release(dev, "istiod")).replicaCount, 1);
    });

    it("uses per-cluster identities: clusterID, network and trust domain per cluster (per-cloud trust domains in prod)", () => {
        for (const [cluster, td, network] of [["prod-aws-use1", "aws.prod.mesh.acme.example", "net-prod-aws-use1"], ["prod-gcp-usc1", "gcp.prod.mesh.acme.example", "net-prod-gcp-usc1"]]) {
            const istiod = values(release(prod, "istiod", cluster));
            const csr = values(release(prod, "cert-manager-istio-csr", cluster));
            assert.deepEqual([istiod.global.multiCluster.clusterName, csr.app.server.clusterID], [cluster, cluster]);
            assert.deepEqual([istiod.meshConfig.trustDomain, csr.app.tls.trustDomain], [td, td]);
            assert.equal(istiod.global.network, network);
            assert.equal(istiod.global.meshID, "mesh-prod");
        }
    });

    it("gives the ingress gateway a public load balancer per cloud: the LB controller's internet-facing NLB on AWS", () => {
        const aws = values(release(prod, "istio-ingressgateway", "prod-aws-use1")).service.annotations;
        assert.equal(aws["service.beta.kubernetes.io/aws-load-balancer-scheme"], "internet-facing");
        const gcp = values(release(prod, "istio-ingressgateway", "prod-gcp-usc1")).service.annotations;
        assert.equal(gcp["service.beta.kubernetes.io/aws-load-balancer-scheme"], undefined);
    });

    it("every Kubernetes resource names its cluster's provider", () => {
        for (const r of [...dev.graph.resources, ...prod.graph.resources].filter((x) => x.custom && x.type.startsWith("kubernetes:"))) {
            assert.ok(!r.provider.endsWith("::default"), `${r.type} ${r.name}`);
        }
    });
});

describe("stage 1 and images", () => {
    it("stage 1 keeps istiod as the CA: no istio-csr, no CA server flag, built-in approvals", async () => {
        const config = stackConfig("dev");
        config.stage = 1;
        delete config.pki;
        config.ingress = { hosts: ["shop.dev.acme.example"], issuer: "acme", acmeEmail: "ops@acme.example", acmeChallenge: "http01" };
        const plan = await planStack({ stack: "dev", config: toRuntime(config) });
        const names = releases(plan).map((r) => plain(r.inputs).name).sort();
        assert.deepEqual(names, ["aws-load-balancer-controller", "cert-manager", "istio-base", "istio-ingressgateway", "istiod"]);
        const istiod = values(release(plan, "istiod"));
        assert.deepEqual(istiod.env, {});
        assert.equal(istiod.global.caAddress, undefined);
        assert.equal(values(release(plan, "cert-manager")).disableAutoApproval, false);
        // dev's file imports its pki hand-off, which the CLI opens at any stage; stage 1 builds nothing from it (no
        // istio-csr, no CA issuer above).
        assert.deepEqual(plan.referenced, ["pki-dev"]);
        assert.ok(!plan.graph.resources.some((r) => r.type === "kubernetes:cert-manager.io/v1:Issuer" && /mesh-ca/.test(r.name)), "no mesh CA issuer at stage 1");
    });

    it("refuses a private ingress issuer before stage 2", async () => {
        const config = stackConfig("dev");
        config.stage = 1;
        await assert.rejects(planStack({ stack: "dev", config: toRuntime(config) }), /istio-production:ingress\.issuer/);
    });

    it("lets an environment use a vendor distribution's images, and open egress only when it says so", async () => {
        const open = stackConfig("dev");
        open.mesh = { outboundTrafficPolicy: "ALLOW_ANY" };
        assert.equal(values(release(await planStack({ stack: "dev", config: toRuntime(open) }), "istiod")).meshConfig.outboundTrafficPolicy.mode, "ALLOW_ANY");
        const config = stackConfig("dev");
        config.mesh = { istioHub: "registry.example.com/tetrate", istioTag: "1.30.3-tetratefips-v0" };
        const plan = await planStack({ stack: "dev", config: toRuntime(config) });
        assert.deepEqual([values(release(plan, "istiod")).global.hub, values(release(plan, "istiod")).global.tag], ["registry.example.com/tetrate", "1.30.3-tetratefips-v0"]);
        assert.equal(values(release(plan, "istiod")).meshConfig.outboundTrafficPolicy.mode, "REGISTRY_ONLY", "unknown destinations are refused by default");
    });
});

