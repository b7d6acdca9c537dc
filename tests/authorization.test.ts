import assert from "node:assert/strict";
import { authorize, AuthzRequest, PolicyObject } from "../engine/mesh/authorization";
import { Plan, planStack } from "../engine/plan";
import { plain } from "../engine/values";
import { secretBackendProdPlan, shippedPlan } from "./support/plan";
import { issueLeaf, mtlsHandshake } from "./support/pki";
import { stackConfig, toRuntime } from "./support/stacks";

const AWS_TD = "aws.prod.mesh.acme.example";
const GCP_TD = "gcp.prod.mesh.acme.example";

/** The AuthorizationPolicies one cluster applies to a workload (its namespace's and the root namespace's). */
function policiesFor(plan: Plan, cluster: string, namespace: string, app: string) {
    return plan.graph.resources
        .filter((r) => r.type === "kubernetes:security.istio.io/v1:AuthorizationPolicy" && plan.graph.resources.find((p) => p.urn === r.provider)?.name === cluster)
        .map((r) => plain(r.inputs))
        .filter((p) => p.metadata.namespace === "istio-system" && !p.spec.selector || p.metadata.namespace === namespace && p.spec.selector?.matchLabels?.app === app)
        .map((p): PolicyObject => ({ namespace: p.metadata.namespace, name: p.metadata.name, spec: p.spec }));
}

/** What the workload's sidecar decides (engine/mesh/authorization.ts, Istio's evaluation); a gateway listens on 443. */
const allowed = (policies: readonly PolicyObject[], r: Partial<AuthzRequest>) => authorize(policies, { port: 443, ...r }).decision === "allowed";

describe("authorization by identity (stages 3 and 5)", () => {
    let prod: Plan;
    before(async () => {
        prod = await shippedPlan("prod");
    });

    it("denies by default mesh-wide and allows exactly the declared calls, by fully qualified principal per cloud", () => {
        for (const cluster of ["prod-aws-use1", "prod-gcp-usc1"]) {
            const catalog = policiesFor(prod, cluster, "shop", "catalog");
            assert.ok(catalog.some((p) => Object.keys(p.spec).length === 0), "an allow-nothing policy in the root namespace");
            for (const td of [AWS_TD, GCP_TD]) {
                assert.ok(allowed(catalog, { principal: `${td}/ns/shop/sa/frontend`, method: "GET", port: 8080 }));
                assert.ok(allowed(catalog, { principal: `${td}/ns/shop/sa/cart`, method: "GET", port: 8080 }));
                assert.ok(!allowed(catalog, { principal: `${td}/ns/shop/sa/frontend`, method: "DELETE", port: 8080 }), "only the declared methods");
                assert.ok(!allowed(catalog, { principal: `${td}/ns/payments/sa/payments`, method: "GET", port: 8080 }), "payments never calls catalog");
            }
            const payments = policiesFor(prod, cluster, "payments", "payments");
            assert.ok(allowed(payments, { principal: `${AWS_TD}/ns/shop/sa/cart`, path: "/payments.v1.Payments/Charge", port: 9090 }));
            assert.ok(!allowed(payments, { principal: `${AWS_TD}/ns/shop/sa/frontend`, path: "/payments.v1.Payments/Charge", port: 9090 }));
            const frontend = policiesFor(prod, cluster, "shop", "frontend");
            assert.ok(allowed(frontend, { principal: `${GCP_TD}/ns/istio-ingress/sa/istio-ingressgateway`, port: 8080 }), "exposed: the ingress gateway may call it");
            assert.ok(!allowed(frontend, { principal: `${GCP_TD}/ns/shop/sa/cart`, port: 8080 }));
        }
    });

    it("never uses wildcard, bare or cluster.local principals, and labels every mesh namespace for injection", () => {
        const principals = prod.graph.resources.filter((r) => r.type === "kubernetes:security.istio.io/v1:AuthorizationPolicy")
            .flatMap((r) => (plain(r.inputs).spec.rules ?? []).flatMap((rule: any) => (rule.from ?? []).flatMap((f: any) => f.source.principals ?? [])));
        assert.ok(principals.length > 10);
        for (const p of principals) assert.match(p, /^(aws|gcp)\.prod\.mesh\.acme\.example\/ns\/[a-z0-9-]+\/sa\/[a-z0-9-]+$/);
        const namespaces = prod.graph.resources.filter((r) => r.type === "kubernetes:core/v1:Namespace").map((r) => plain(r.inputs).metadata)
            .filter((m) => ["shop", "payments"].includes(m.name));
        assert.equal(namespaces.length, 4, "both mesh namespaces in both clusters");
        for (const m of namespaces) assert.equal(m.labels["istio-injection"], "enabled");
    });

    it("authenticates end users at the edge: JWT on protected paths, the rest public, no ACME challenge path with DNS-01", () => {
        const ra = prod.graph.resources.filter((r) => r.type === "kubernetes:security.istio.io/v1:RequestAuthentication").map((r) => plain(r.inputs).spec);
        assert.equal(ra.length, 2);
        assert.deepEqual(ra[0].jwtRules[0], { issuer: "https://login.acme.example/", jwksUri: "https://login.acme.example/.well-known/jwks.json", audiences: ["shop"], forwardOriginalToken: false });
        const gw = prod.graph.resources.filter((r) => r.type === "kubernetes:security.istio.io/v1:AuthorizationPolicy" && plain(r.inputs).metadata.name === "ingress-gateway").map((r) => ({ name: "ingress-gateway", namespace: "istio-system", spec: plain(r.inputs).spec }));
        const host = "shop.acme.example";
        assert.ok(!allowed(gw, { host, path: "/api/orders" }), "no token, protected path: refused");
        assert.ok(allowed(gw, { host, path: "/api/orders", requestPrincipal: "https://login.acme.example//user-1" }));
        assert.ok(!allowed(gw, { host, path: "/api/orders", requestPrincipal: "https://evil.example//user-1" }), "tokens of another issuer do not count");
        assert.ok(allowed(gw, { host, path: "/index.html" }), "public paths stay public");
        assert.ok(!allowed(gw, { host: "other.example", path: "/index.html" }), "only the served hosts");
        assert.ok(!allowed(gw, { path: "/.well-known/acme-challenge/token" }), "prod solves DNS-01: nothing to open at the edge");
    });

    it("accepts the other cloud's trust domain for mTLS without aliasing it", () => {
        for (const [cluster, own, peer] of [["prod-aws-use1", AWS_TD, GCP_TD], ["prod-gcp-usc1", GCP_TD, AWS_TD]]) {
            const istiod = prod.graph.resources.find((r) => r.type === "kubernetes:helm.sh/v3:Release" && plain(r.inputs).name === "istiod" && r.name.startsWith(cluster))!;
            const v = plain(istiod.inputs).values;
            assert.equal(v.meshConfig.trustDomain, own);
            assert.equal(v.meshConfig.trustDomainAliases, undefined);
            assert.deepEqual(v.meshConfig.caCertificates.map((c: any) => c.trustDomains), [[peer]]);
            assert.match(v.meshConfig.caCertificates[0].pem, /BEGIN CERTIFICATE/);
            assert.equal(v.env.ISTIO_MULTIROOT_MESH, "true");
            assert.equal(v.meshConfig.defaultConfig.proxyMetadata.PROXY_CONFIG_XDS_AGENT, "true");
            const csr = prod.graph.resources.find((r) => plain(r.inputs).name === "cert-manager-istio-csr" && r.name.startsWith(cluster))!;
            assert.equal(plain(csr.inputs).values.app.tls.trustDomain, own, "each cluster's istio-csr signs only its own trust domain");
        }
    });

    it("with real certificates: an aws workload and a gcp workload complete mTLS, and the gcp side's policy tells trust domains apart", async () => {
        // The keys of the intermediates, which managed CAs (prod's backends) never hand out: the secret backend's.
        const keyed = await secretBackendProdPlan();
        const pki = keyed.referencedGraphs.get("pki-prod")!;
        const out = (name: string, key: string) => plain(pki.resources.find((r) => r.name === name)!.outputs)[key];
        const root = out("prod-root-1-cert", "certPem");
        const peer = async (cluster: string, id: string) => {
            const leaf = await issueLeaf({ caCertPem: out(`int-${cluster}-e1-cert`, "certPem"), caKeyPem: out(`int-${cluster}-e1-key`, "privateKeyPem"), spiffeId: id });
            return { certChainPem: leaf.certPem + out(`int-${cluster}-e1-cert`, "certPem"), keyPem: leaf.keyPem, caPems: [root] };
        };
        const catalogPolicies = policiesFor(keyed, "prod-gcp-usc1", "shop", "catalog");
        const server = await peer("prod-gcp-usc1", `spiffe://${GCP_TD}/ns/shop/sa/catalog`);
        const check = async (clientId: string) => {
            const hs = await mtlsHandshake({ server, client: await peer("prod-aws-use1", clientId) });
            assert.ok(hs.ok, JSON.stringify(hs));
            return allowed(catalogPolicies, { principal: hs.serverSawPeerUri!.replace(/^spiffe:\/\//, ""), method: "GET", port: 8080 });
        };
        assert.equal(await check(`spiffe://${AWS_TD}/ns/shop/sa/cart`), true, "the aws cart may call the gcp catalog");
        for (const other of ["staging.mesh.acme.example", "cluster.local"]) {
            // The aws intermediate is name-constrained to its trust domain: the handshake refuses another's identity...
            const hs = await mtlsHandshake({ server, client: await peer("prod-aws-use1", `spiffe://${other}/ns/shop/sa/cart`) });
            assert.ok(!hs.ok && hs.serverError, `${other}: ${JSON.stringify(hs)}`);
            // ...and authorization tells trust domains apart on its own: same namespace and account, refused.
            assert.equal(allowed(catalogPolicies, { principal: `${other}/ns/shop/sa/cart`, method: "GET", port: 8080 }), false, other);
        }
    });

    it("refuses an alias for another cloud's trust domain", async () => {
        const config = stackConfig("prod");
        config.mesh = { trustDomainAliases: [GCP_TD] };
        await assert.rejects(planStack({ stack: "prod", config: toRuntime(config) }), /istio-production:mesh\.trustDomainAliases\[0\]: is the trust domain of a cluster/);
    });

    it("builds no authorization before stage 3", async () => {
        const dev = await shippedPlan("dev");
        assert.equal(dev.graph.resources.filter((r) => r.type.startsWith("kubernetes:security.istio.io/v1:Authorization")).length, 0);
    });

    it("refuses two exposed services at the same ingress path prefix", async () => {
        const config = stackConfig("staging");
        config.services[1].exposed = true;
        await assert.rejects(planStack({ stack: "staging", config: toRuntime(config) }), /istio-production:services\[1\]\.ingressPathPrefix: must be unique among exposed services/);
    });

    it("refuses callers that are not declared services", async () => {
        const config = stackConfig("staging");
        config.services[1].callers.push({ service: "ghost" });
        await assert.rejects(planStack({ stack: "staging", config: toRuntime(config) }), /istio-production:services\[1\]\.callers\[1\]\.service: names no declared service/);
    });
});
