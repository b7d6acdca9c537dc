import assert from "node:assert/strict";
import { plain } from "../engine/values";
import { builtAlone } from "./support/components";

// The authorization and traffic components built alone (tests/fixtures/components/identityTraffic.ts), each on a
// stand-in cluster's mesh: `web` (both clouds, exposed) calls `checkout` (AWS only, account checkout-sa), which calls
// `payments`; trust domains `<cloud>.mesh.example`.

const AUTHORIZATION = "kubernetes:security.istio.io/v1:AuthorizationPolicy";

describe("MeshAuthorization built alone", () => {
    const built = builtAlone("mesh-authorization");

    it("creates the services' namespaces with injection on, after istiod, and not those the mesh already has", () => {
        for (const ns of ["shop", "pay"]) {
            const namespace = built().byName(`east-authz-ns-${ns}`);
            assert.deepEqual(plain(namespace.inputs).metadata, { name: ns, labels: { "istio-injection": "enabled" } });
            assert.ok(namespace.dependencies.includes(built().byName("given-east-istiod").urn));
        }
        assert.deepEqual(built().resources.filter((r) => r.type === "kubernetes:core/v1:Namespace" && !r.name.startsWith("given-")).length, 2);
    });

    it("allows each declared call from the caller's SPIFFE principal in every trust domain it runs in, on the service's port", () => {
        // Istio AuthorizationPolicy Source.principals: `<trust domain>/ns/<namespace>/sa/<service account>`.
        const checkout = built().inputs("east-authz-shop-allow-checkout", AUTHORIZATION).spec;
        assert.deepEqual(checkout.selector, { matchLabels: { app: "checkout" } });
        assert.deepEqual(checkout.rules, [{
            from: [{ source: { principals: ["aws.mesh.example/ns/shop/sa/web", "gcp.mesh.example/ns/shop/sa/web"] } }],
            to: [{ operation: { ports: ["8080"], methods: ["POST"] } }],
        }]);
        // The exposed service admits the ingress gateway, whose account Istio's gateway chart names after the release.
        const web = built().inputs("east-authz-shop-allow-web", AUTHORIZATION).spec;
        assert.deepEqual(web.rules[0].from, [{ source: { principals: ["aws.mesh.example/ns/istio-ingress/sa/istio-ingressgateway", "gcp.mesh.example/ns/istio-ingress/sa/istio-ingressgateway"] } }]);
        const payments = built().inputs("east-authz-pay-allow-payments", AUTHORIZATION).spec;
        assert.deepEqual(payments.rules[0].from, [{ source: { principals: ["aws.mesh.example/ns/shop/sa/checkout-sa"] } }]);
    });

    it("denies everything else mesh-wide, last: after the gateways' and the services' own policies", () => {
        // An ALLOW policy with no rules matches nothing; in the root namespace it applies to every workload.
        const deny = built().byName("east-authz-istio-system-default-deny");
        assert.deepEqual(plain(deny.inputs).metadata, { name: "default-deny", namespace: "istio-system" });
        assert.deepEqual(plain(deny.inputs).spec, {});
        const others = built().resources.filter((r) => r.type === AUTHORIZATION && r !== deny);
        assert.equal(others.length, 5, "ingress, east-west, web, checkout, payments");
        for (const policy of others) assert.ok(deny.dependencies.includes(policy.urn), `the default deny waits for ${policy.name}`);
        assert.deepEqual(built().inputs("east-authz-istio-system-eastwest-gateway").spec.rules, [{ to: [{ operation: { ports: ["15443", "15021"] } }] }]);
    });

    it("registers its namespaces and hands on the cluster's mesh with them added", () => {
        const out = built().registered("east-authz");
        const ns = (name: string) => built().byName(name).urn;
        assert.deepEqual(out.namespaces, { pay: ns("east-authz-ns-pay"), shop: ns("east-authz-ns-shop") });
        assert.deepEqual(out.mesh.namespaces, { "istio-ingress": ns("given-east-ns-istio-ingress"), pay: ns("east-authz-ns-pay"), shop: ns("east-authz-ns-shop") });
        assert.equal(out.mesh.istiod, ns("given-east-istiod"));
    });
});

describe("TrafficManagement built alone", () => {
    const built = builtAlone("traffic-management");

    it("routes a service in its namespace when the mesh has it, otherwise in the root namespace", () => {
        // Istio applies a DestinationRule or VirtualService in the root namespace (istio-system) to its host from
        // every namespace.
        const checkout = built().byName("east-traffic-checkout-dr");
        assert.equal(plain(checkout.inputs).metadata.namespace, "shop");
        assert.ok(checkout.dependencies.includes(built().byName("given-east-ns-shop").urn));
        assert.equal(built().inputs("east-traffic-payments-dr").metadata.namespace, "istio-system");
        assert.equal(built().inputs("east-traffic-payments-dr").spec.host, "payments.pay.svc.cluster.local");
    });

    it("gives the canary its subsets and weights, mutual TLS to the identities given, and failover across the regions", () => {
        const dr = built().inputs("east-traffic-checkout-dr").spec;
        assert.deepEqual(dr.subsets, [{ name: "stable", labels: { version: "v1" } }, { name: "canary", labels: { version: "v2" } }]);
        assert.deepEqual(dr.trafficPolicy.tls, { mode: "ISTIO_MUTUAL", subjectAltNames: ["spiffe://aws.mesh.example/ns/shop/sa/checkout-sa"] });
        assert.deepEqual(dr.trafficPolicy.loadBalancer.localityLbSetting.failover, [{ from: "eu-west-1", to: "us-central1" }, { from: "us-central1", to: "eu-west-1" }]);
        const vs = built().byName("east-traffic-checkout-vs");
        assert.deepEqual(plain(vs.inputs).spec.http[0].route.map((r: any) => [r.destination.subset, r.weight]), [["stable", 90], ["canary", 10]]);
        assert.equal(plain(vs.inputs).spec.http[0].timeout, "5s");
        assert.ok(vs.dependencies.includes(built().byName("east-traffic-checkout-dr").urn), "subsets exist before routes name them");
    });

    it("limits the rate at the service's sidecars and at the ingress gateway", () => {
        const sidecar = built().inputs("east-traffic-checkout-ratelimit").spec;
        assert.deepEqual(sidecar.workloadSelector, { labels: { app: "checkout" } });
        assert.equal(sidecar.configPatches[0].match.context, "SIDECAR_INBOUND");
        const ingress = built().inputs("east-traffic-ingress-ratelimit");
        assert.equal(ingress.metadata.namespace, "istio-system");
        assert.deepEqual(ingress.spec.workloadSelector, { labels: { istio: "ingressgateway" } });
    });
});
