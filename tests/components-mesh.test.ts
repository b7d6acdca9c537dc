import assert from "node:assert/strict";
import { containsSecret, plain } from "../engine/values";
import { builtAlone, refusedAlone } from "./support/components";
import { HELM_RELEASE } from "./support/upstream";

// The mesh layer's components built alone (tests/fixtures/components/mesh.ts): each on a stand-in cluster (a
// Kubernetes provider and the addresses the cloud layer would hand on), with stand-ins for what it waits for.

const POLICY = "kubernetes:policy.cert-manager.io/v1alpha1:CertificateRequestPolicy";
const ISTIO_REPO = "https://istio-release.storage.googleapis.com/charts";

describe("CertManager built alone", () => {
    const built = builtAlone("cert-manager");

    it("installs the chart with its CRDs, in its own namespace, after what must outlive it", () => {
        const release = built().inputs("west-cert-manager-cert-manager", HELM_RELEASE);
        assert.deepEqual({ chart: release.chart, version: release.version, namespace: release.namespace }, { chart: "oci://quay.io/jetstack/charts/cert-manager", version: "v1.21.1", namespace: "cert-manager" });
        // cert-manager v1.21.1 deploy/charts/cert-manager/values.yaml: `crds.enabled` installs the CRDs with the release,
        // `disableAutoApproval` turns the built-in approver off, `serviceAccount.annotations` annotate the controller's.
        assert.equal(release.values.crds.enabled, true);
        assert.equal(release.values.disableAutoApproval, true);
        assert.deepEqual(release.values.serviceAccount.annotations, { "example.com/identity": "cert-manager" });
        const namespace = built().byName("west-cert-manager-ns");
        assert.ok(namespace.dependencies.includes(built().byName("given-service-controller").urn));
        const dependencies = built().byName("west-cert-manager-cert-manager").dependencies;
        for (const waited of [namespace, built().byName("given-acme-dns-identity")]) assert.ok(dependencies.includes(waited.urn), `the release waits for ${waited.name}`);
    });

    it("lets cert-manager request tokens of the ACME DNS-01 account and of no other", () => {
        // Kubernetes TokenRequest is `create` on the `serviceaccounts/token` subresource; cert-manager's controller runs
        // as the chart's `cert-manager` ServiceAccount.
        const role = built().inputs("west-cert-manager-cert-manager-acme-dns01", "kubernetes:rbac.authorization.k8s.io/v1:Role");
        assert.deepEqual(role.rules, [{ apiGroups: [""], resources: ["serviceaccounts/token"], resourceNames: ["cert-manager-acme-dns01"], verbs: ["create"] }]);
        const binding = built().inputs("west-cert-manager-cert-manager-acme-dns01", "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding");
        assert.deepEqual(binding.subjects, [{ kind: "ServiceAccount", name: "cert-manager", namespace: "cert-manager" }]);
        assert.equal(binding.roleRef.name, role.metadata.name);
        const out = built().registered("west-cert-manager");
        assert.equal(out.namespace, built().byName("west-cert-manager-ns").urn);
        assert.equal(out.acmeDnsAccess.length, 3);
    });
});

describe("MeshCa built alone", () => {
    const built = builtAlone("mesh-ca");

    it("makes the intermediate a cert-manager CA Issuer, its key secret, and a ClusterIssuer whose Secret is in cert-manager's namespace", () => {
        // cert-manager CA issuer: `spec.ca.secretName` names a kubernetes.io/tls Secret (tls.crt, tls.key) in the
        // Issuer's namespace; a ClusterIssuer reads it from the cluster resource namespace, cert-manager's own by default.
        const secret = built().byName("east-mesh-ca-intermediate");
        const data = plain(secret.inputs).stringData;
        assert.ok(containsSecret(secret.inputs.stringData), "the key stays secret");
        assert.match(data["tls.key"], /PRIVATE KEY/);
        assert.equal(data["tls.crt"].match(/BEGIN CERTIFICATE/g).length, 2, "the intermediate, then the root that signed it");
        const issuer = built().inputs("east-mesh-ca-issuer");
        assert.deepEqual({ kind: issuer.kind, namespace: issuer.metadata.namespace, secretName: issuer.spec.ca.secretName }, { kind: "Issuer", namespace: "istio-system", secretName: plain(secret.inputs).metadata.name });
        const clusterSecret = built().inputs("east-mesh-ca-intermediate-cluster");
        assert.equal(clusterSecret.metadata.namespace, "cert-manager");
        assert.equal(built().inputs("east-mesh-ca-cluster-issuer").spec.ca.secretName, clusterSecret.metadata.name);
    });

    it("lets approver-policy approve for istio-csr only SPIFFE IDs of the cluster's trust domain, no longer than the TTL", () => {
        const policy = built().inputs("east-mesh-ca-istio-mesh-workloads", POLICY);
        assert.deepEqual(policy.spec.allowed.uris, { values: ["spiffe://east.mesh.example/ns/*/sa/*"], required: true });
        assert.equal(policy.spec.constraints.maxDuration, "30m");
        assert.deepEqual(policy.spec.selector.issuerRef, { name: "istio-ca", kind: "Issuer", group: "cert-manager.io" });
        // approver-policy evaluates a policy only for requesters bound to the `use` verb on it.
        const binding = built().inputs("east-mesh-ca-istio-mesh-workloads", "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding");
        assert.deepEqual(binding.subjects, [{ kind: "ServiceAccount", namespace: "cert-manager", name: "cert-manager-istio-csr" }]);
    });

    it("points istio-csr at the Issuer and the cluster's ID, after the Issuer, the root bundle and the policies", () => {
        const release = built().byName("east-mesh-ca-istio-csr", HELM_RELEASE);
        const app = plain(release.inputs).values.app;
        assert.deepEqual(app.certmanager.issuer, { enabled: true, name: "istio-ca", kind: "Issuer", group: "cert-manager.io" });
        assert.equal(app.server.clusterID, "east");
        assert.equal(app.tls.trustDomain, "east.mesh.example");
        for (const waited of ["east-mesh-ca-issuer", "east-mesh-ca-root-bundle", "east-mesh-ca-istio-mesh-workloads"]) {
            assert.ok(release.dependencies.includes(built().byName(waited, waited.endsWith("workloads") ? POLICY : undefined).urn), `istio-csr waits for ${waited}`);
        }
        const out = built().registered("east-mesh-ca");
        assert.equal(out.issuer, built().byName("east-mesh-ca-issuer").urn);
        assert.equal(out.clusterIssuer, built().byName("east-mesh-ca-cluster-issuer").urn);
        assert.equal(out.approverPolicy, built().byName("east-mesh-ca-approver-policy").urn);
    });

    it("refuses a PKI with neither an intermediate key nor a managed issuer, before creating any Secret", async () => {
        const { message, registered } = await refusedAlone("mesh-ca-without-key", "MeshCa");
        assert.match(message, /^MeshCa east-mesh-ca: cluster east: its mesh CA has neither a managed issuer nor an intermediate key/);
        assert.deepEqual(registered.filter((r) => r.type === "kubernetes:core/v1:Secret").map((r) => r.name), []);
    });
});

describe("IstioControlPlane built alone", () => {
    const built = builtAlone("istio-control-plane");

    it("installs base, then istiod on the cluster's identity, with istio-csr as its CA and after it", () => {
        const base = built().byName("east-istio-base");
        assert.ok(base.dependencies.includes(built().byName("given-istio-system").urn));
        const istiod = built().byName("east-istio-istiod");
        for (const waited of [base, built().byName("given-istio-csr")]) assert.ok(istiod.dependencies.includes(waited.urn));
        const inputs = plain(istiod.inputs);
        assert.deepEqual({ chart: inputs.chart, repo: inputs.repositoryOpts.repo, version: inputs.version }, { chart: "istiod", repo: ISTIO_REPO, version: "1.30.3" });
        const v = inputs.values;
        assert.deepEqual({ meshID: v.global.meshID, clusterName: v.global.multiCluster.clusterName, network: v.global.network, trustDomain: v.meshConfig.trustDomain },
            { meshID: "mesh1", clusterName: "east", network: "net-east", trustDomain: "aws.mesh.example" });
        assert.equal(v.global.caAddress, "cert-manager-istio-csr.cert-manager.svc:443");
        assert.equal(v.env.ENABLE_CA_SERVER, "false");
    });

    it("accepts the peers' trust domains anchored in the given roots, and registers the tracing collector", () => {
        // Istio MeshConfig `caCertificates`: CertificateData with `pem` and the `trustDomains` it anchors.
        const v = built().inputs("east-istio-istiod", HELM_RELEASE).values;
        assert.deepEqual(v.meshConfig.caCertificates, [{ pem: `${built().outputs.rootPem.trim()}\n`, trustDomains: ["gcp.mesh.example"] }]);
        assert.deepEqual(v.meshConfig.extensionProviders, [{ name: "otel-tracing", opentelemetry: { service: "otel-collector.observability.svc.cluster.local", port: 4317 } }]);
    });

    it("makes mTLS STRICT mesh-wide once istiod serves its webhook", () => {
        const policy = built().byName("east-istio-mesh-mtls");
        assert.deepEqual(plain(policy.inputs).metadata, { name: "default", namespace: "istio-system" });
        assert.deepEqual(plain(policy.inputs).spec, { mtls: { mode: "STRICT" } });
        assert.ok(policy.dependencies.includes(built().byName("east-istio-istiod").urn));
        assert.equal(built().registered("east-istio").istiod.status, plain(built().byName("east-istio-istiod").outputs).status.status);
    });
});

describe("IngressGateway built alone", () => {
    const built = builtAlone("ingress-gateway");

    it("deploys the gateway chart in an injected namespace of its own, after istiod", () => {
        const namespace = built().inputs("east-ingress-ns");
        assert.deepEqual(namespace.metadata, { name: "istio-ingress", labels: { "istio-injection": "enabled" } });
        const release = built().byName("east-ingress-gateway", HELM_RELEASE);
        assert.deepEqual({ chart: plain(release.inputs).chart, namespace: plain(release.inputs).namespace }, { chart: "gateway", namespace: "istio-ingress" });
        assert.ok(release.dependencies.includes(built().byName("given-istiod").urn));
    });

    it("solves HTTP-01 through an Ingress of a class istiod serves, and serves the certificate's Secret by credentialName", () => {
        // istio/istio 1.30.3 pilot/pkg/config/kube/ingress: istiod serves Ingresses whose IngressClass names the
        // controller "istio.io/ingress-controller"; cert-manager's HTTP-01 solver creates an Ingress of `ingressClassName`.
        const ingressClass = built().inputs("east-ingress-ingress-class");
        assert.equal(ingressClass.spec.controller, "istio.io/ingress-controller");
        const issuer = built().inputs("east-ingress-acme");
        assert.deepEqual(issuer.spec.acme.solvers, [{ http01: { ingress: { ingressClassName: ingressClass.metadata.name } } }]);
        const certificate = built().inputs("east-ingress-certificate");
        assert.deepEqual(certificate.spec.issuerRef, { name: issuer.metadata.name, kind: "ClusterIssuer", group: "cert-manager.io" });
        // Istio Gateway `credentialName`: a Secret in the gateway's namespace.
        const server = built().inputs("east-ingress-gateway-https").spec.servers[0];
        assert.equal(server.tls.credentialName, certificate.spec.secretName);
        assert.equal(certificate.metadata.namespace, "istio-ingress");
        assert.deepEqual(server.hosts, certificate.spec.dnsNames);
    });

    it("routes the longest prefix first, with the release's weights", () => {
        const routes = built().inputs("east-ingress-routes").spec;
        assert.deepEqual(routes.gateways, ["istio-ingress/ingress"]);
        assert.deepEqual(routes.http.map((r: any) => r.match[0].uri.prefix), ["/api", "/"]);
        assert.deepEqual(routes.http[0].route.map((r: any) => [r.destination.subset, r.weight]), [["stable", 90], ["canary", 10]]);
        assert.equal(built().registered("east-ingress").namespace, built().byName("east-ingress-ns").urn);
    });

    it("refuses DNS-01 without the cluster's DNS-01 identity", async () => {
        const { message } = await refusedAlone("ingress-gateway-dns01-without-identity", "IngressGateway");
        assert.match(message, /^IngressGateway east-ingress: acmeChallenge dns01 without a DNS-01 identity on this cluster/);
    });
});

describe("EastWestGateway built alone", () => {
    const built = builtAlone("east-west-gateway");

    it("publishes only the passthrough and status ports, on the cluster's addresses, to the peers' egress", () => {
        const values = built().inputs("west-eastwest-gateway", HELM_RELEASE).values;
        // istio/istio 1.30.3 samples/multicluster/gen-eastwest-gateway.sh: the network label on the gateway (copied to
        // its Service, where istiod finds network gateways), the requested network view, and port 15443 for mTLS.
        assert.equal(values.labels["topology.istio.io/network"], "net-west");
        assert.equal(values.env.ISTIO_META_REQUESTED_NETWORK_VIEW, "net-west");
        assert.deepEqual(values.service.ports.map((p: any) => p.port), [15021, 15443]);
        assert.deepEqual(values.service.loadBalancerSourceRanges, ["203.0.113.9/32"]);
        assert.equal(values.service.loadBalancerIP, "198.51.100.7");
        assert.deepEqual(values.service.annotations, { "cloud.google.com/l4-rbs": "enabled" });
    });

    it("passes mTLS through to *.local services after the gateway is up", () => {
        const gateway = built().byName("west-eastwest-cross-network");
        assert.deepEqual(plain(gateway.inputs).spec.servers, [{ port: { number: 15443, name: "tls", protocol: "TLS" }, tls: { mode: "AUTO_PASSTHROUGH" }, hosts: ["*.local"] }]);
        assert.ok(gateway.dependencies.includes(built().byName("west-eastwest-gateway").urn));
        assert.equal(built().registered("west-eastwest").namespace, built().byName("west-eastwest-ns").urn);
    });

    it("refuses a cluster without east-west addresses, before creating anything", async () => {
        const { message, registered } = await refusedAlone("east-west-gateway-without-addresses", "EastWestGateway");
        assert.match(message, /^EastWestGateway west-eastwest: cluster west has no east-west addresses/);
        assert.deepEqual(registered.filter((r) => r.name.startsWith("west-eastwest-")).map((r) => r.name), []);
    });
});

describe("ClusterMesh built alone", () => {
    const built = builtAlone("cluster-mesh");

    it("composes cert-manager, the mesh CA, the control plane and both gateways as its children", () => {
        const mesh = built().component("west-mesh");
        const children = built().children(mesh).map((c) => c.type).sort();
        assert.deepEqual(children, [
            "istio-production:mesh:CertManager", "istio-production:mesh:EastWestGateway", "istio-production:mesh:IngressGateway",
            "istio-production:mesh:IstioControlPlane", "istio-production:mesh:MeshCa", "kubernetes:core/v1:Namespace",
        ]);
    });

    it("labels istio-system with the network before istiod starts, and turns cert-manager's approver off for approver-policy", () => {
        // istio.io "Install Multi-Primary on different networks": istio-system carries topology.istio.io/network.
        const namespace = built().byName("west-mesh-istio-system");
        assert.equal(plain(namespace.inputs).metadata.labels["topology.istio.io/network"], "net-west");
        assert.ok(built().byName("west-mesh-istio-base").dependencies.includes(namespace.urn));
        assert.equal(built().inputs("west-mesh-cert-manager-cert-manager").values.disableAutoApproval, true);
        assert.deepEqual(built().inputs("west-mesh-ingress-certificate").spec.issuerRef, { name: "istio-ca", kind: "ClusterIssuer", group: "cert-manager.io" });
    });

    it("registers istiod and the gateways' namespaces it hands on", () => {
        const out = built().registered("west-mesh");
        assert.equal(out.istiod, built().byName("west-mesh-istio-istiod").urn);
        assert.deepEqual(out.namespaces, { "istio-ingress": built().byName("west-mesh-ingress-ns").urn, "istio-eastwest": built().byName("west-mesh-eastwest-ns").urn });
        assert.equal(out.cluster.name, "west");
    });
});

describe("MeshVerification built alone", () => {
    const built = builtAlone("mesh-verification");

    it("runs an echo on every cluster and, after the peering, a Job on each calling the others through the mesh", () => {
        for (const [cluster, other] of [["east", "west"], ["west", "east"]]) {
            const job = built().byName(`verify-${cluster}-verify`);
            assert.ok(job.provider.endsWith(`::given-${cluster}`), `the Job runs on ${cluster}`);
            assert.ok(job.dependencies.includes(built().byName("given-remote-secrets").urn), "after the peering");
            assert.match(plain(job.inputs).spec.template.spec.containers[0].command[2], new RegExp(`http://echo-${other}\\.mesh-verify:8080/hostname`));
        }
    });

    it("tells each client the identity of the other cloud's echo when the trust domains differ", () => {
        // Istio ClientTLSSettings: ISTIO_MUTUAL with `subjectAltNames` verifies the server's SPIFFE ID.
        const tls = built().inputs("verify-east-dr-west").spec.trafficPolicy.tls;
        assert.deepEqual(tls.subjectAltNames, ["spiffe://gcp.mesh.example/ns/mesh-verify/sa/mesh-verify"]);
        const allow = built().inputs("verify-east-allow").spec.rules[0].from[0].source.principals;
        assert.deepEqual(allow, ["aws.mesh.example/ns/mesh-verify/sa/mesh-verify", "gcp.mesh.example/ns/mesh-verify/sa/mesh-verify"]);
    });
});
