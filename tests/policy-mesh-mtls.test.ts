import assert from "node:assert/strict";
import * as path from "node:path";
import * as k8s from "@pulumi/kubernetes";
import * as rules from "../policy/mesh-mtls/rules";
import { loadPack } from "../engine/policy";
import { node, packContract, packFlagsGraph, stackViolations, violations } from "./support/policy";

const PA = "kubernetes:security.istio.io/v1:PeerAuthentication";
const AP = "kubernetes:security.istio.io/v1:AuthorizationPolicy";
const DR = "kubernetes:networking.istio.io/v1:DestinationRule";
const VS = "kubernetes:networking.istio.io/v1:VirtualService";
const GW = "kubernetes:networking.istio.io/v1:Gateway";

const provider = (name: string, props: Record<string, any> = {}) => node("pulumi:providers:kubernetes", name, props, { stack: "prod" });
const on = (p: ReturnType<typeof provider>) => ({ provider: p, stack: "prod" });

const strictMeshWide = { metadata: { name: "default", namespace: "istio-system" }, spec: { mtls: { mode: "STRICT" } } };

describe("policy pack mesh-mtls", () => {
    it("loads as pulumi preview loads it: every policy named once, described, leveled, with a valid config schema", () => {
        packContract(loadPack(path.join(__dirname, "..", "policy", "mesh-mtls")), rules.meshMtlsPolicies);
    });

    it("the plan reports a PERMISSIVE mesh as a mandatory violation, at the resource", async () => {
        const found = await packFlagsGraph("mesh-mtls", [
            { type: "pulumi:providers:kubernetes", name: "eks", inputs: {} },
            { type: PA, name: "mesh-wide", provider: "eks", inputs: { metadata: { namespace: "istio-system" }, spec: { mtls: { mode: "PERMISSIVE" } } } },
        ]);
        assert.ok(found.some((v) => v.policy === "peer-authentication-strict" && v.enforcementLevel === "mandatory" && v.urn.endsWith("::mesh-wide")), JSON.stringify(found));
        assert.ok(found.some((v) => v.policy === "mesh-wide-strict-mtls"), JSON.stringify(found));
    });

    it("peer-authentication-strict: STRICT passes; PERMISSIVE, DISABLE, unset and weak port-level modes fail", async () => {
        const p = rules.peerAuthenticationStrict;
        assert.deepEqual(await violations(p, PA, strictMeshWide), []);
        assert.deepEqual(await violations(p, "kubernetes:security.istio.io/v1beta1:PeerAuthentication", strictMeshWide), [], "every served version");
        assert.match((await violations(p, PA, { spec: { mtls: { mode: "PERMISSIVE" } } }))[0], /spec\.mtls\.mode is PERMISSIVE: PERMISSIVE also accepts plaintext; set it to STRICT/);
        assert.match((await violations(p, PA, { spec: { mtls: { mode: "DISABLE" } } }))[0], /DISABLE turns mTLS off/);
        assert.match((await violations(p, PA, { spec: {} }))[0], /spec\.mtls\.mode is UNSET \(not set\)/);
        const portLevel = { spec: { selector: { matchLabels: { app: "db" } }, mtls: { mode: "STRICT" }, portLevelMtls: { 5432: { mode: "DISABLE" } } } };
        assert.match((await violations(p, PA, portLevel))[0], /spec\.portLevelMtls\["5432"\]\.mode is DISABLE/);
        const unselected = { spec: { mtls: { mode: "STRICT" }, portLevelMtls: { 8080: { mode: "STRICT" } } } };
        assert.match((await violations(p, PA, unselected))[0], /portLevelMtls is set without spec\.selector/);
    });

    it("peer-authentication-strict: UNSET passes only when configured; exempt resources are skipped", async () => {
        const p = rules.peerAuthenticationStrict;
        assert.deepEqual(await violations(p, PA, { spec: { selector: { matchLabels: { app: "a" } } } }, { allowUnset: true }), []);
        assert.deepEqual(await violations(p, PA, { spec: { mtls: { mode: "PERMISSIVE" } } }, { exemptResources: ["migration"] }, { name: "migration" }), []);
        assert.deepEqual(await violations(p, k8s.core.v1.ConfigMap, { spec: { mtls: { mode: "DISABLE" } } }), [], "other kinds are not PeerAuthentications");
    });

    it("mesh-wide-strict-mtls: each cluster running Istio needs a STRICT, selector-less PeerAuthentication in its root namespace", async () => {
        const p = rules.meshWideStrict;
        const eks = provider("eks");
        const gke = provider("gke");
        const app = node(AP, "deny", { metadata: { namespace: "apps" }, spec: {} }, on(gke));
        assert.deepEqual(await stackViolations(p, [eks, node(PA, "mesh", strictMeshWide, on(eks))]), []);
        const missing = await stackViolations(p, [eks, gke, node(PA, "mesh", strictMeshWide, on(eks)), app]);
        assert.equal(missing.length, 1, missing.join("\n"));
        assert.match(missing[0], /cluster gke runs Istio without a mesh-wide PeerAuthentication.*namespace istio-system/);
        const selected = node(PA, "db", { metadata: { namespace: "istio-system" }, spec: { selector: { matchLabels: { app: "db" } }, mtls: { mode: "STRICT" } } }, on(gke));
        assert.equal((await stackViolations(p, [gke, selected])).length, 1, "a selector makes it workload-scoped, not mesh-wide");
        const unset = node(PA, "mesh", { metadata: { namespace: "istio-system" }, spec: {} }, on(eks));
        assert.match((await stackViolations(p, [eks, unset]))[0], /mesh-wide PeerAuthentication mesh on cluster eks has mode UNSET/);
    });

    it("mesh-wide-strict-mtls: the root namespace follows istiod's values; clusters without Istio are skipped, a default provider is a cluster", async () => {
        const p = rules.meshWideStrict;
        const eks = provider("eks");
        const istiod = node(k8s.helm.v3.Release, "istiod", { chart: "istiod", namespace: "mesh-system", values: { meshConfig: { rootNamespace: "mesh-root" } } }, on(eks));
        assert.match((await stackViolations(p, [eks, istiod, node(PA, "mesh", strictMeshWide, on(eks))]))[0], /namespace mesh-root/);
        assert.deepEqual(await stackViolations(p, [eks, istiod, node(PA, "mesh", { ...strictMeshWide, metadata: { namespace: "mesh-root" } }, on(eks))]), []);
        const plain = provider("plain");
        assert.deepEqual(await stackViolations(p, [plain, node(k8s.core.v1.Namespace, "ns", { metadata: { name: "apps" } }, on(plain))]), []);
        const ambient = node("pulumi:providers:kubernetes", "default_4_34_2", {});
        assert.match((await stackViolations(p, [ambient, node(AP, "deny", { spec: {} }, { provider: ambient })]))[0], /cluster default_4_34_2 runs Istio without a mesh-wide PeerAuthentication/);
        assert.deepEqual(await stackViolations(p, [eks, node(AP, "deny", { spec: {} }, on(eks))], { exemptClusters: ["eks"] }), []);
    });

    it("destination-rule-tls: ISTIO_MUTUAL passes; DISABLE or unverified TLS to mesh hosts fails at top, port and subset level", async () => {
        const p = rules.destinationRuleTls;
        const host = "reviews.apps.svc.cluster.local";
        assert.deepEqual(await violations(p, DR, { spec: { host, trafficPolicy: { tls: { mode: "ISTIO_MUTUAL" } } } }), []);
        assert.match((await violations(p, DR, { spec: { host, trafficPolicy: { tls: { mode: "DISABLE" } } } }))[0], /spec\.trafficPolicy\.tls\.mode is DISABLE for mesh host/);
        const port = await violations(p, DR, { spec: { host: "reviews", trafficPolicy: { portLevelSettings: [{ port: { number: 9080 }, tls: { mode: "DISABLE" } }] } } });
        assert.match(port[0], /spec\.trafficPolicy\.portLevelSettings\[0\] \(port 9080\)\.tls\.mode is DISABLE/);
        const subset = await violations(p, DR, { spec: { host, subsets: [{ name: "v2", trafficPolicy: { tls: { sni: "x" } } }] } });
        assert.match(subset[0], /spec\.subsets\[0\] \(v2\)\.trafficPolicy\.tls\.mode is DISABLE \(a tls block without mode\)/);
        assert.match((await violations(p, DR, { spec: { host, trafficPolicy: { tls: { mode: "SIMPLE" } } } }))[0], /SIMPLE for mesh host .* without caCertificates/);
        assert.deepEqual(await violations(p, DR, { spec: { host, trafficPolicy: { tls: { mode: "SIMPLE", caCertificates: "/etc/ca.pem" } } } }), []);
    });

    it("destination-rule-tls: external hosts may use their own TLS, but nobody skips verification", async () => {
        const p = rules.destinationRuleTls;
        assert.deepEqual(await violations(p, DR, { spec: { host: "api.payments.example.com", trafficPolicy: { tls: { mode: "SIMPLE" } } } }), []);
        assert.match((await violations(p, DR, { spec: { host: "api.payments.example.com", trafficPolicy: { tls: { mode: "SIMPLE", insecureSkipVerify: true } } } }))[0], /insecureSkipVerify is true/);
        assert.equal((await violations(p, DR, { spec: { host: "db.internal.corp", trafficPolicy: { tls: { mode: "DISABLE" } } } }, { meshHostSuffixes: [".corp"] })).length, 1, "configurable mesh suffixes");
        assert.ok(rules.isMeshHost("*", [".local"]) && rules.isMeshHost("*.svc.cluster.local", [".local"]) && !rules.isMeshHost("example.com", [".local"]));
    });

    it("sidecar-injection-not-disabled: namespaces and pod templates that leave the mesh fail; exempt namespaces pass", async () => {
        const p = rules.injectionNotDisabled;
        assert.match((await violations(p, k8s.core.v1.Namespace, { metadata: { name: "apps", labels: { "istio-injection": "disabled" } } }))[0], /istio-injection"\] is disabled: pods in namespace apps run outside the mesh/);
        assert.deepEqual(await violations(p, k8s.core.v1.Namespace, { metadata: { name: "apps", labels: { "istio-injection": "enabled" } } }), []);
        assert.deepEqual(await violations(p, k8s.core.v1.Namespace, { metadata: { name: "kube-system", labels: { "istio-injection": "disabled" } } }), []);
        const template = (meta: Record<string, any>) => ({ metadata: { namespace: "apps" }, spec: { template: { metadata: meta, spec: {} } } });
        assert.match((await violations(p, k8s.apps.v1.Deployment, template({ annotations: { "sidecar.istio.io/inject": "false" } })))[0], /spec\.template\.metadata carries annotation sidecar\.istio\.io\/inject: "false"/);
        assert.match((await violations(p, k8s.apps.v1.StatefulSet, template({ labels: { "sidecar.istio.io/inject": "false" } })))[0], /label sidecar\.istio\.io\/inject/);
        assert.equal((await violations(p, k8s.batch.v1.CronJob, { metadata: { namespace: "apps" }, spec: { jobTemplate: { spec: template({ labels: { "istio.io/dataplane-mode": "none" } }).spec } } })).length, 1);
        assert.deepEqual(await violations(p, k8s.apps.v1.Deployment, template({ annotations: { "sidecar.istio.io/inject": "true" } })), []);
        assert.deepEqual(await violations(p, k8s.apps.v1.Deployment, { ...template({ annotations: { "sidecar.istio.io/inject": "false" } }), metadata: { namespace: "cert-manager" } }), []);
        const csrCluster = provider("eks", { namespace: "cert-manager" });
        assert.deepEqual(await violations(p, k8s.apps.v1.Deployment, { spec: { template: { metadata: { labels: { "sidecar.istio.io/inject": "false" } } } } }, {}, { provider: csrCluster }), [], "the provider's default namespace counts");
    });

    it("namespace-injection-label (advisory): exactly one injection label", async () => {
        const p = rules.namespaceInjectionLabel;
        assert.equal(p.enforcementLevel, "advisory");
        assert.deepEqual(await violations(p, k8s.core.v1.Namespace, { metadata: { name: "apps", labels: { "istio.io/rev": "1-30" } } }), []);
        assert.match((await violations(p, k8s.core.v1.Namespace, { metadata: { name: "apps" } }))[0], /namespace apps has no injection label/);
        assert.match((await violations(p, k8s.core.v1.Namespace, { metadata: { name: "apps", labels: { "istio-injection": "enabled", "istio.io/rev": "1-30" } } }))[0], /IST0123/);
        assert.deepEqual(await violations(p, k8s.core.v1.Namespace, { metadata: { name: "istio-system" } }), []);
    });

    it("east-west-gateway-auto-passthrough: only AUTO_PASSTHROUGH on *.local crosses networks", async () => {
        const p = rules.eastWestGateway;
        const server = (tls: Record<string, any>, hosts = ["*.local"]) => ({ port: { number: 15443, name: "tls", protocol: "TLS" }, tls, hosts });
        assert.deepEqual(await violations(p, GW, { spec: { servers: [server({ mode: "AUTO_PASSTHROUGH" })] } }), []);
        assert.deepEqual(await violations(p, GW, { spec: { servers: [server({ mode: "AUTO_PASSTHROUGH" }, ["./*.svc.cluster.local"])] } }), [], "narrower hosts are fine");
        assert.match((await violations(p, GW, { spec: { servers: [server({ mode: "PASSTHROUGH" })] } }))[0], /spec\.servers\[0\] \(port 15443\) of an east-west gateway has tls\.mode PASSTHROUGH/);
        assert.match((await violations(p, GW, { spec: { servers: [server({ mode: "AUTO_PASSTHROUGH" }, ["*"])] } }))[0], /exposes \* to other networks/);
        const istiodExposed = { port: { number: 15012, name: "tls-istiod", protocol: "TLS" }, tls: { mode: "PASSTHROUGH" }, hosts: ["*"] };
        assert.equal((await violations(p, GW, { spec: { servers: [server({ mode: "AUTO_PASSTHROUGH" }), istiodExposed] } })).length, 2);
        const ingress = { spec: { servers: [{ port: { number: 443, protocol: "HTTPS" }, tls: { mode: "SIMPLE" }, hosts: ["shop.example.com"] }] } };
        assert.deepEqual(await violations(p, GW, ingress), [], "not an east-west gateway");
    });

    it("gateway-tls: 443 terminates TLS with an explicit minimum of TLS 1.2", async () => {
        const p = rules.gatewayTls;
        const https = (tls?: Record<string, any>, protocol = "HTTPS") => ({ spec: { servers: [{ port: { number: 443, protocol }, hosts: ["shop.example.com"], tls }] } });
        assert.deepEqual(await violations(p, GW, https({ mode: "SIMPLE", credentialName: "shop", minProtocolVersion: "TLSV1_2" })), []);
        assert.match((await violations(p, GW, https({ mode: "SIMPLE", credentialName: "shop" })))[0], /tls\.minProtocolVersion is unset, which leaves the floor to the proxy's defaults: set it to TLSV1_2/);
        assert.match((await violations(p, GW, https({ mode: "SIMPLE", minProtocolVersion: "TLSV1_1" })))[0], /minProtocolVersion is TLSV1_1: set it to TLSV1_2 or higher/);
        assert.equal((await violations(p, GW, https({ mode: "SIMPLE", minProtocolVersion: "TLSV1_2" }), { minProtocolVersion: "TLSV1_3" })).length, 1);
        assert.match((await violations(p, GW, https({ mode: "PASSTHROUGH" }, "TLS")))[0], /passes TLS through \(PASSTHROUGH\)/);
        assert.deepEqual(await violations(p, GW, https({ mode: "PASSTHROUGH" }, "TLS"), { allowPassthrough: true }), []);
        assert.match((await violations(p, GW, https({ credentialName: "shop" })))[0], /PASSTHROUGH, a tls block without mode/);
        assert.match((await violations(p, GW, https(undefined, "HTTP")))[0], /serves plaintext HTTP on a TLS port/);
        assert.match((await violations(p, GW, https(undefined)))[0], /has no tls block/);
    });

    it("gateway-http-redirects-to-https (advisory): plain HTTP servers redirect", async () => {
        const p = rules.gatewayHttpsRedirect;
        const http = (tls?: Record<string, any>) => ({ spec: { servers: [{ port: { number: 80, protocol: "HTTP" }, hosts: ["shop.example.com"], tls }] } });
        assert.deepEqual(await violations(p, GW, http({ httpsRedirect: true })), []);
        assert.match((await violations(p, GW, http()))[0], /serves plain HTTP: set tls\.httpsRedirect true/);
    });

    describe("gateway-namespace-isolation", () => {
        const p = rules.gatewayNamespaceIsolation;
        const R = k8s.helm.v3.Release;
        const gateway = (namespace: string, values: Record<string, any>, extra: { provider?: ReturnType<typeof provider> } = {}) =>
            node(R, `gw-${namespace}`, { chart: "gateway", namespace, values }, { stack: "prod", provider: extra.provider });
        const ingress = { name: "istio-ingressgateway", labels: { istio: "ingressgateway" } };
        const eastWest = (rbac?: boolean) => ({ name: "istio-eastwestgateway", labels: { istio: "eastwestgateway", "topology.istio.io/network": "net-a" }, ...(rbac === undefined ? {} : { rbac: { enabled: rbac } }) });
        const istiod = (extra: { provider?: ReturnType<typeof provider> } = {}) => node(R, "istiod", { chart: "istiod", namespace: "istio-system", values: {} }, { stack: "prod", provider: extra.provider });

        it("passes gateways in namespaces of their own, the east-west one without Secret read, on explicit and default providers", async () => {
            const eks = provider("eks");
            assert.deepEqual(await stackViolations(p, [eks, istiod(on(eks)), gateway("istio-ingress", ingress, on(eks)), gateway("istio-eastwest", eastWest(false), on(eks))]), []);
            assert.deepEqual(await stackViolations(p, [istiod(), gateway("istio-ingress", ingress), gateway("istio-eastwest", eastWest(false))]), [], "no provider named");
        });

        it("refuses a gateway beside istiod, a CA key, istio-csr's certificates or a remote secret, by cluster, default providers included", async () => {
            const byDefault = provider("default_4_34_2");
            const found = await stackViolations(p, [byDefault, istiod(on(byDefault)), gateway("istio-system", ingress, on(byDefault))]);
            assert.equal(found.length, 1, found.join("\n"));
            assert.match(found[0], /^gateway release gw-istio-system on cluster default_4_34_2 runs in namespace istio-system with istiod \(release istiod\).*install gateways in a namespace of their own/);
            const keys = await stackViolations(p, [
                node(k8s.core.v1.Secret, "ca", { metadata: { name: "istio-ca", namespace: "edge" } }),
                node("kubernetes:cert-manager.io/v1:Issuer", "issuer", { metadata: { name: "istio-ca", namespace: "edge" }, spec: { ca: { secretName: "istio-ca" } } }),
                node(k8s.core.v1.Secret, "remote", { metadata: { name: "istio-remote-secret-b", namespace: "edge", labels: { "istio/multiCluster": "true" } } }),
                node(k8s.core.v1.Secret, "plugin", { metadata: { name: "cacerts", namespace: "edge" } }),
                node(R, "csr", { chart: "cert-manager-istio-csr", namespace: "cert-manager", values: { app: { certmanager: { namespace: "edge" } } } }),
                gateway("edge", ingress),
            ]);
            assert.equal(keys.length, 1, keys.join("\n"));
            for (const what of [/the CA key of Issuer istio-ca \(Secret istio-ca\)/, /remote secret istio-remote-secret-b/, /Istio's CA key \(Secret cacerts\)/, /istio-csr's certificates \(release csr/]) assert.match(keys[0], what);
            const eks = provider("eks");
            const gke = provider("gke");
            assert.deepEqual(await stackViolations(p, [eks, gke, istiod(on(eks)), gateway("istio-system", ingress, on(gke))]), [], "istiod of another cluster");
            assert.deepEqual(await stackViolations(p, [istiod(), gateway("istio-system", { ...ingress, rbac: { enabled: false } })]), [], "a gateway that reads no Secret");
        });

        it("refuses an east-west gateway that may read Secrets: the chart's default RBAC, or a binding of the stack", async () => {
            assert.match((await stackViolations(p, [gateway("istio-eastwest", eastWest())]))[0], /^east-west gateway release gw-istio-eastwest on cluster default leaves values\.rbac\.enabled on/);
            const byPort = { name: "ew", service: { ports: [{ name: "tls", port: 15443 }] } };
            assert.equal((await stackViolations(p, [gateway("istio-eastwest", byPort)])).length, 1, "recognised by its port");
            const role = node("kubernetes:rbac.authorization.k8s.io/v1:Role", "read", { metadata: { name: "read-secrets", namespace: "istio-eastwest" }, rules: [{ apiGroups: [""], resources: ["secrets"], verbs: ["get"] }] });
            const binding = node("kubernetes:rbac.authorization.k8s.io/v1:RoleBinding", "bind", { metadata: { name: "read-secrets", namespace: "istio-eastwest" }, roleRef: { kind: "Role", name: "read-secrets" }, subjects: [{ kind: "ServiceAccount", name: "istio-eastwestgateway" }] });
            assert.match((await stackViolations(p, [role, binding, gateway("istio-eastwest", eastWest(false))]))[0], /binding bind lets east-west gateway istio-eastwest\/istio-eastwestgateway read Secrets/);
            assert.deepEqual(await stackViolations(p, [gateway("istio-eastwest", eastWest())], { exemptResources: ["gw-istio-eastwest"] }), []);
        });
    });

    describe("istiod-ca-disabled-with-istio-csr", () => {
        const p = rules.istiodCaDisabledWithIstioCsr;
        const eks = provider("eks");
        const csr = (values: Record<string, any> = {}) => node(k8s.helm.v3.Release, "istio-csr", {
            chart: "oci://quay.io/jetstack/charts/cert-manager-istio-csr", namespace: "cert-manager",
            values: { app: { tls: { trustDomain: "aws.prod.mesh.acme.example" }, server: { clusterID: "prod-aws-use1" } }, ...values },
        }, on(eks));
        const goodIstiod = {
            env: { ENABLE_CA_SERVER: "false" },
            global: { caAddress: "cert-manager-istio-csr.cert-manager.svc:443", multiCluster: { clusterName: "prod-aws-use1" } },
            meshConfig: { trustDomain: "aws.prod.mesh.acme.example" },
        };
        const istiod = (values: Record<string, any>) => node(k8s.helm.v3.Release, "istiod", { chart: "istiod", namespace: "istio-system", values }, on(eks));

        it("passes when istiod defers to istio-csr, and when there is no istio-csr", async () => {
            assert.deepEqual(await stackViolations(p, [eks, csr(), istiod(goodIstiod)]), []);
            const fqdn = istiod({ ...goodIstiod, global: { ...goodIstiod.global, caAddress: "cert-manager-istio-csr.cert-manager.svc.cluster.local:443" } });
            assert.deepEqual(await stackViolations(p, [eks, fqdn, csr({ app: { tls: { trustDomain: "aws.prod.mesh.acme.example", certificateDNSNames: ["cert-manager-istio-csr.cert-manager.svc.cluster.local"] }, server: { clusterID: "prod-aws-use1" } } })]), []);
            assert.deepEqual(await stackViolations(p, [eks, istiod({})]), [], "istiod as the CA (stage 1) is not this rule's business");
        });

        it("refuses pilot.env (ignored by the chart), an unset or foreign caAddress, and mismatched trust domain or cluster ID", async () => {
            const pilot = await stackViolations(p, [eks, csr(), istiod({ ...goodIstiod, env: undefined, pilot: { env: { ENABLE_CA_SERVER: "false" } } })]);
            assert.equal(pilot.length, 1, pilot.join("\n"));
            assert.match(pilot[0], /istiod release istiod on cluster eks: values\.env\.ENABLE_CA_SERVER is unset \(default true\) \(pilot\.env is IstioOperator syntax; the istiod chart ignores it\)/);
            assert.deepEqual(await stackViolations(p, [eks, csr(), istiod({ ...goodIstiod, env: { ENABLE_CA_SERVER: false } })]), [], "the chart quotes env values");
            assert.match((await stackViolations(p, [eks, csr(), istiod({ ...goodIstiod, global: { multiCluster: { clusterName: "prod-aws-use1" } } })]))[0], /caAddress is unset.*set it to cert-manager-istio-csr\.cert-manager\.svc:443/);
            assert.match((await stackViolations(p, [eks, csr(), istiod({ ...goodIstiod, global: { ...goodIstiod.global, caAddress: "istiod.istio-system.svc:15012" } })]))[0], /does not point at istio-csr/);
            assert.match((await stackViolations(p, [eks, csr(), istiod({ ...goodIstiod, meshConfig: { trustDomain: "cluster.local" } })]))[0], /trustDomain cluster\.local differs from istio-csr's app\.tls\.trustDomain aws\.prod\.mesh\.acme\.example/);
            assert.match((await stackViolations(p, [eks, csr(), istiod({ ...goodIstiod, global: { caAddress: goodIstiod.global.caAddress } })]))[0], /clusterName Kubernetes differs from istio-csr's app\.server\.clusterID prod-aws-use1/);
        });

        it("checks the serving certificate's names against the caAddress host", async () => {
            const fqdn = istiod({ ...goodIstiod, global: { ...goodIstiod.global, caAddress: "cert-manager-istio-csr.cert-manager.svc.cluster.local:443" } });
            assert.match((await stackViolations(p, [eks, csr(), fqdn]))[0], /add cert-manager-istio-csr\.cert-manager\.svc\.cluster\.local to its values\.app\.tls\.certificateDNSNames/);
            const moved = node(k8s.helm.v3.Release, "istio-csr", { chart: "cert-manager-istio-csr", namespace: "pki", values: { app: { tls: { trustDomain: "aws.prod.mesh.acme.example" }, server: { clusterID: "prod-aws-use1" } } } }, on(eks));
            const found = await stackViolations(p, [eks, moved, istiod({ ...goodIstiod, global: { ...goodIstiod.global, caAddress: "cert-manager-istio-csr.pki.svc:443" } })]);
            assert.match(found[0], /serves a certificate for cert-manager-istio-csr\.cert-manager\.svc, not cert-manager-istio-csr\.pki\.svc/);
        });
    });

    it("istiod-outbound-registry-only (advisory): REGISTRY_ONLY passes, the ALLOW_ANY default fails", async () => {
        const p = rules.istiodOutboundRegistryOnly;
        assert.deepEqual(await violations(p, k8s.helm.v3.Release, { chart: "istiod", values: { meshConfig: { outboundTrafficPolicy: { mode: "REGISTRY_ONLY" } } } }), []);
        assert.match((await violations(p, k8s.helm.v3.Release, { chart: "istiod", values: {} }))[0], /unset \(default ALLOW_ANY\)/);
        assert.deepEqual(await violations(p, k8s.helm.v3.Release, { chart: "cert-manager", values: {} }), []);
    });

    it("authorization-policy-least-privilege: fully qualified principals pass; allow-all, wildcards and partial identities fail", async () => {
        const p = rules.authorizationLeastPrivilege;
        const allow = (source: Record<string, any>) => ({ spec: { action: "ALLOW", rules: [{ from: [{ source }], to: [{ operation: { methods: ["GET"] } }] }] } });
        assert.deepEqual(await violations(p, AP, allow({ principals: ["aws.prod.mesh.acme.example/ns/shop/sa/frontend"] })), []);
        assert.deepEqual(await violations(p, AP, { spec: {} }), [], "allow-nothing is the default deny");
        assert.match((await violations(p, AP, { spec: { rules: [{}] } }))[0], /spec\.rules\[0\] is empty .* allows everything/);
        assert.match((await violations(p, AP, allow({ principals: ["*"] })))[0], /principals has "\*": a wildcard/);
        assert.match((await violations(p, AP, allow({ principals: ["aws.prod.mesh.acme.example/ns/shop/sa/*"] })))[0], /wildcard/);
        assert.match((await violations(p, AP, allow({ namespaces: ["*"] })))[0], /namespaces has "\*"/);
        assert.match((await violations(p, AP, allow({ principals: ["ns/shop/sa/frontend"] })))[0], /names no trust domain/);
        assert.match((await violations(p, AP, allow({ principals: ["cluster.local/ns/shop/sa/frontend"] })))[0], /cluster\.local stands for the local trust domain and all its aliases/);
        assert.deepEqual(await violations(p, AP, allow({ principals: ["cluster.local/ns/shop/sa/frontend"] }), { allowClusterLocal: true }), []);
        assert.match((await violations(p, AP, allow({ principals: ["spiffe://td/ns/shop/sa/frontend"] })))[0], /without the spiffe:\/\/ scheme/);
        assert.match((await violations(p, AP, allow({ principals: ["gcp.prod/ns/shop/sa/frontend"] }), { trustDomains: ["aws.prod"] }))[0], /trust domain gcp\.prod is not one of aws\.prod/);
        assert.match((await violations(p, AP, allow({ serviceAccounts: ["shop/frontend"] })))[0], /every trust domain the mesh trusts/);
        assert.deepEqual(await violations(p, AP, allow({ serviceAccounts: ["shop/frontend"], trustDomains: ["aws.prod"] })), []);
    });

    it("authorization-policy-least-privilege: DENY needs rules, and may use wildcards", async () => {
        const p = rules.authorizationLeastPrivilege;
        assert.match((await violations(p, AP, { spec: { action: "DENY" } }))[0], /DENY without spec\.rules/);
        assert.deepEqual(await violations(p, AP, { spec: { action: "DENY", rules: [{ from: [{ source: { notPrincipals: ["*"] } }] }] } }), []);
    });

    it("default-deny-authorization (advisory): each namespace of a mesh cluster is covered by an allow-nothing policy", async () => {
        const p = rules.defaultDenyAuthorization;
        const eks = provider("eks");
        const apps = node(k8s.core.v1.Namespace, "apps", { metadata: { name: "apps" } }, on(eks));
        const system = node(k8s.core.v1.Namespace, "istio-system", { metadata: { name: "istio-system" } }, on(eks));
        const denyApps = node(AP, "deny-apps", { metadata: { namespace: "apps" }, spec: {} }, on(eks));
        const denyAll = node(AP, "deny-all", { metadata: { namespace: "istio-system" }, spec: {} }, on(eks));
        const allowSome = node(AP, "allow", { metadata: { namespace: "apps" }, spec: { rules: [{ from: [{ source: { principals: ["td/ns/a/sa/b"] } }] }] } }, on(eks));
        assert.deepEqual(await stackViolations(p, [eks, apps, system, denyApps]), []);
        assert.deepEqual(await stackViolations(p, [eks, apps, system, denyAll]), [], "mesh-wide in the root namespace");
        const found = await stackViolations(p, [eks, apps, system, allowSome]);
        assert.equal(found.length, 1, found.join("\n"));
        assert.match(found[0], /namespace apps on cluster eks has no allow-nothing AuthorizationPolicy/);
        const gatewayOnly = node(AP, "gw", { metadata: { namespace: "apps" }, spec: { targetRefs: [{ kind: "Gateway", name: "shop" }] } }, on(eks));
        assert.equal((await stackViolations(p, [eks, apps, gatewayOnly])).length, 1, "a targeted policy covers its target only");
    });

    it("no-fault-injection-in-production: faults pass in dev, fail in prod", async () => {
        const p = rules.noFaultInjectionInProduction;
        const chaos = { spec: { hosts: ["reviews"], http: [{ name: "chaos", fault: { delay: { fixedDelay: "5s", percentage: { value: 10 } } }, route: [{ destination: { host: "reviews" } }] }] } };
        assert.deepEqual(await violations(p, VS, chaos, {}, "dev"), []);
        assert.match((await violations(p, VS, chaos, {}, "prod"))[0], /spec\.http\[0\] \(chaos\)\.fault injects delay in production stack prod/);
        assert.deepEqual(await violations(p, VS, { spec: { hosts: ["reviews"], http: [{ route: [{ destination: { host: "reviews" } }] }] } }, {}, "prod"), []);
        assert.equal((await violations(p, VS, chaos, { productionStacks: ["prod", "staging"] }, "staging")).length, 1);
    });
});
