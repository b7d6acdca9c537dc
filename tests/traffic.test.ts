import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import YAML from "yaml";
import { CapturedResource } from "../engine/graph";
import { Plan, PROJECT_ROOT, stackOutputs } from "../engine/plan";
import { plain } from "../engine/values";
import { ConfigError, parseStackConfig, ReleaseConfig, resolveResilience } from "../config";
import { destinationRuleSpec, failoverPairs } from "../components/traffic/destinationRule";
import { releaseRouting } from "../components/traffic/releases";
import { virtualServiceSpec } from "../components/traffic/virtualService";
import { localRateLimitSpec } from "../components/traffic/localRateLimit";
import { countsAs5xx, GRPC, istioRoutePolicy, rateLimitedAnswer, wouldRetry } from "./support/envoy";
import { validateCustomResource } from "../engine/manifests/validate";
import { runCli, shippedPlan, tempDir } from "./support/plan";
import { stackConfig, toRuntime } from "./support/stacks";

const HOST = "cart.shop.svc.cluster.local";
const defaults = resolveResilience();
const kind = (plan: Plan, k: string) => plan.graph.resources.filter((r) => r.custom && r.type.endsWith(`:${k}`));
const spec = (r: CapturedResource) => plain(r.inputs).spec;
const named = (plan: Plan, k: string, name: string, cluster: string) =>
    kind(plan, k).find((r) => plain(r.inputs).metadata.name === name && r.name.startsWith(cluster))!;

/**
 * The HTTP filters of an inbound sidecar or gateway listener with a RequestAuthentication and an AuthorizationPolicy in
 * force, in Istio's order (istio/istio 1.30.3 pilot/pkg/networking/core/listener_builder.go
 * `buildHTTPConnectionManager`: metadata exchange, CUSTOM authorization (none here), the authn plugin's JWT filter, the
 * authz plugin's RBAC filter, gRPC stats, fault, CORS, the telemetry filters, the router last), with one HTTP_FILTER
 * patch applied as pilot/pkg/networking/core/envoyfilter/listener_patch.go applies it: INSERT_BEFORE without a
 * sub-filter inserts first, with one just before the first filter of that name (util.go `insertBeforeFunc`).
 */
function patchedHttpFilters(patch: { match: any; patch: { operation: string; value: { name: string } } }): string[] {
    const chain = ["istio.metadata_exchange", "envoy.filters.http.jwt_authn", "envoy.filters.http.rbac", "envoy.filters.http.grpc_stats",
        "envoy.filters.http.fault", "envoy.filters.http.cors", "istio.stats", "envoy.filters.http.router"];
    const name = patch.patch.value.name;
    const sub = patch.match.listener?.filterChain?.filter?.subFilter?.name;
    switch (patch.patch.operation) {
        case "INSERT_FIRST": return [name, ...chain];
        case "ADD": return [...chain, name];
        case "INSERT_BEFORE": {
            if (!sub) return [name, ...chain];
            const i = chain.indexOf(sub);
            return i < 0 ? chain : [...chain.slice(0, i), name, ...chain.slice(i)];
        }
        default: throw new Error(`the model knows no ${patch.patch.operation}`);
    }
}

/** Checks every routing invariant of a VirtualService against its DestinationRule. */
function checkRouting(vs: any, dr: any, host: string) {
    assert.deepEqual(vs.hosts, [host]);
    assert.equal(dr.host, host);
    const routes = [...(vs.http ?? []), ...(vs.tcp ?? [])].flatMap((r: any) => r.route);
    assert.equal(routes.reduce((sum: number, r: any) => sum + r.weight, 0), 100, "weights sum to 100");
    const subsets = new Set((dr.subsets ?? []).map((s: any) => s.name));
    for (const r of [...routes, ...(vs.http ?? []).flatMap((h: any) => h.mirrors ?? [])]) {
        assert.equal(r.destination.host, host);
        if (r.destination.subset) assert.ok(subsets.has(r.destination.subset), `subset ${r.destination.subset} is defined`);
    }
}

function routed(release: ReleaseConfig, protocol: "http" | "tcp" = "http") {
    const routing = releaseRouting(release);
    const vs = virtualServiceSpec({ host: HOST, port: 8080, protocol, resilience: defaults, routing });
    const dr = destinationRuleSpec({ host: HOST, protocol, resilience: defaults, subsets: routing.subsets, failoverRegions: ["eu-west-1", "eu-central-1"] });
    checkRouting(vs, dr, HOST);
    for (const [k, s] of [["VirtualService", vs], ["DestinationRule", dr]] as const) {
        assert.deepEqual(validateCustomResource({ apiVersion: "networking.istio.io/v1", kind: k, metadata: { name: "cart", namespace: "shop" }, spec: s }), []);
    }
    return { vs: vs as any, dr: dr as any };
}

describe("traffic management: release routing (pure)", () => {
    for (const canaryWeight of [0, 1, 10, 50, 99, 100]) {
        it(`canary at ${canaryWeight}%: stable and canary subsets by version, weights ${100 - canaryWeight}/${canaryWeight}`, () => {
            const { vs, dr } = routed({ strategy: "canary", stable: "v1", canary: "v2", canaryWeight });
            assert.deepEqual(dr.subsets, [{ name: "stable", labels: { version: "v1" } }, { name: "canary", labels: { version: "v2" } }]);
            const weights = Object.fromEntries(vs.http[0].route.map((r: any) => [r.destination.subset, r.weight]));
            assert.deepEqual(weights, Object.fromEntries([["stable", 100 - canaryWeight], ["canary", canaryWeight]].filter(([, w]) => w !== 0)));
        });
    }

    it("blue/green both ways: all traffic to the active color, subsets unchanged, so a flip is an instant rollback", () => {
        const blue = routed({ strategy: "blueGreen", active: "blue", blue: "v1", green: "v2" });
        const green = routed({ strategy: "blueGreen", active: "green", blue: "v1", green: "v2" });
        assert.deepEqual(blue.vs.http[0].route.map((r: any) => [r.destination.subset, r.weight]), [["blue", 100]]);
        assert.deepEqual(green.vs.http[0].route.map((r: any) => [r.destination.subset, r.weight]), [["green", 100]]);
        assert.deepEqual(blue.dr, green.dr, "switching touches the VirtualService only");
    });

    it("mirrors to the canary, or to the idle color", () => {
        assert.deepEqual(routed({ strategy: "canary", stable: "v1", canary: "v2", canaryWeight: 5, mirrorPercent: 50 }).vs.http[0].mirrors,
            [{ destination: { host: HOST, subset: "canary", port: { number: 8080 } }, percentage: { value: 50 } }]);
        assert.equal(routed({ strategy: "blueGreen", active: "green", blue: "blue", green: "green", mirrorPercent: 10 }).vs.http[0].mirrors[0].destination.subset, "blue");
    });

    it("routes TCP services by weight without HTTP-only settings", () => {
        const { vs, dr } = routed({ strategy: "canary", stable: "v1", canary: "v2", canaryWeight: 20 }, "tcp");
        assert.equal(vs.http, undefined);
        assert.deepEqual(vs.tcp[0].route.map((r: any) => r.weight), [80, 20]);
        assert.equal(dr.trafficPolicy.connectionPool.http, undefined);
        assert.equal(dr.trafficPolicy.retryBudget, undefined);
    });

    it("fails over each region to the next distinct one, and not at all with one region", () => {
        assert.deepEqual(failoverPairs(["us-east-1", "us-central1"]), [{ from: "us-east-1", to: "us-central1" }, { from: "us-central1", to: "us-east-1" }]);
        assert.deepEqual(failoverPairs(["a", "b", "c"]).map((p) => `${p.from}>${p.to}`), ["a>b", "b>c", "c>a"]);
        assert.deepEqual(failoverPairs(["eu-west-1", "eu-west-1"]), []);
        const single = destinationRuleSpec({ host: HOST, protocol: "http", resilience: defaults, subsets: [], failoverRegions: ["eu-west-1"] });
        assert.deepEqual(single.trafficPolicy.loadBalancer, { simple: "LEAST_REQUEST", localityLbSetting: { enabled: true } });
    });

    it("builds Envoy's typed local rate limit as a token bucket, valid against the EnvoyFilter CRD", () => {
        const ef = localRateLimitSpec({ context: "GATEWAY", workloadLabels: { istio: "ingressgateway" }, limit: { requestsPerSecond: 100, burst: 250 } });
        const filter = ef.configPatches[0].patch.value;
        assert.equal(filter.name, "envoy.filters.http.local_ratelimit");
        assert.equal(filter.typed_config["@type"], "type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit");
        assert.deepEqual(filter.typed_config.token_bucket, { max_tokens: 250, tokens_per_fill: 100, fill_interval: "1s" });
        assert.deepEqual(validateCustomResource({ apiVersion: "networking.istio.io/v1alpha3", kind: "EnvoyFilter", metadata: { name: "x", namespace: "istio-system" }, spec: ef }), []);
    });

    it("answers a rate-limited gRPC call RESOURCE_EXHAUSTED and an HTTP request 429: callers neither retry nor eject (Envoy's model)", () => {
        const typed = localRateLimitSpec({ context: "SIDECAR_INBOUND", workloadLabels: { app: "payments" }, limit: { requestsPerSecond: 100 } })
            .configPatches[0].patch.value.typed_config;
        const grpc = rateLimitedAnswer(typed, true);
        assert.deepEqual(grpc, { httpStatus: 200, grpcStatus: GRPC.RESOURCE_EXHAUSTED });
        assert.deepEqual(rateLimitedAnswer(typed, false), { httpStatus: 429 });
        for (const answer of [grpc, rateLimitedAnswer(typed, false)]) {
            assert.equal(wouldRetry(defaults.retries.retryOn, answer), false, "the default retry conditions");
            assert.equal(countsAs5xx(answer), false, "outlier detection");
        }
        // Envoy's default, which the filter must not fall back to: UNAVAILABLE is retried and counted as a 503.
        const { rate_limited_as_resource_exhausted: _, ...envoyDefault } = typed;
        const unavailable = rateLimitedAnswer(envoyDefault, true);
        assert.equal(unavailable.grpcStatus, GRPC.UNAVAILABLE);
        assert.equal(wouldRetry(defaults.retries.retryOn, unavailable), true);
        assert.equal(countsAs5xx(unavailable), true);
    });

    it("inserts the rate limit after authentication and authorization, just before the router (Istio's model)", () => {
        for (const context of ["SIDECAR_INBOUND", "GATEWAY"] as const) {
            const patch = localRateLimitSpec({ context, workloadLabels: { app: "payments" }, limit: { requestsPerSecond: 100 } }).configPatches[0];
            const chain = patchedHttpFilters(patch);
            const at = (name: string) => chain.indexOf(name);
            assert.ok(at("envoy.filters.http.local_ratelimit") > at("envoy.filters.http.rbac") && at("envoy.filters.http.rbac") >= 0, `${context}: after RBAC`);
            assert.ok(at("envoy.filters.http.local_ratelimit") > at("envoy.filters.http.jwt_authn"), `${context}: after JWT authentication`);
            assert.equal(at("envoy.filters.http.local_ratelimit"), at("envoy.filters.http.router") - 1, `${context}: just before the router`);
            const { subFilter: _, ...unanchored } = patch.match.listener.filterChain.filter;
            assert.equal(patchedHttpFilters({ ...patch, match: { ...patch.match, listener: { filterChain: { filter: unanchored } } } }).indexOf("envoy.filters.http.local_ratelimit"), 0,
                "without a sub-filter it would run first, spending tokens on requests the mesh refuses");
        }
    });

    it("resolves resilience field by field: service over stack over defaults", () => {
        const r = resolveResilience({ timeoutMs: 5000, retries: { attempts: 3 } }, { retries: { perTryTimeoutMs: 1000 }, outlierDetection: { consecutive5xxErrors: 2 } });
        assert.equal(r.timeoutMs, 5000);
        assert.deepEqual([r.retries.attempts, r.retries.perTryTimeoutMs, r.retries.retryOn], [3, 1000, defaults.retries.retryOn]);
        assert.deepEqual([r.outlierDetection.consecutive5xxErrors, r.outlierDetection.intervalSeconds], [2, defaults.outlierDetection.intervalSeconds]);
    });
});

describe("traffic management: config gate", () => {
    const refuse = (mutate: (c: Record<string, any>) => void): Array<{ key: string; message: string }> => {
        const c = stackConfig("staging");
        mutate(c);
        try {
            parseStackConfig(toRuntime(c));
        } catch (e) {
            if (e instanceof ConfigError) return e.issues.map((i) => ({ key: i.key, message: i.message }));
            throw e;
        }
        assert.fail("the config gate accepted it");
    };
    const cases: Array<[string, (c: Record<string, any>) => void, string, RegExp]> = [
        ["a release for a service nobody declared", (c) => (c.traffic.services.basket = { release: { strategy: "canary", stable: "v1", canary: "v2", canaryWeight: 5 } }), "traffic.services.basket", /no declared service/],
        ["canary weights above 100", (c) => (c.traffic.services.cart.release.canaryWeight = 120), "traffic.services.cart.release.canaryWeight", /between 0 and 100/],
        ["a canary that is the stable version", (c) => (c.traffic.services.cart.release.canary = "v1"), "traffic.services.cart.release.canary", /differ from stable/],
        ["fault injection without the opt-in", (c) => delete c.traffic.allowFaultInjection, "traffic.services.catalog.fault", /explicit opt-in/],
        ["HTTP-only settings on a TCP service", (c) => (c.services.find((s: any) => s.name === "payments").protocol = "tcp", c.traffic.services.payments = { rateLimit: { requestsPerSecond: 5 } }), "traffic.services.payments.rateLimit", /HTTP-only/],
        ["a per-try timeout longer than the request's", (c) => (c.traffic.services.catalog.resilience.retries.perTryTimeoutMs = 3000), "traffic.services.catalog.resilience.retries.perTryTimeoutMs", /exceeds the request timeout/],
        ["an unknown strategy", (c) => (c.traffic.services.cart.release = { strategy: "shadow" }), "traffic.services.cart.release.strategy", /canary" or "blueGreen/],
        ["a rate-limited service whose callers retry RESOURCE_EXHAUSTED", (c) => (c.traffic.services.catalog.resilience.retries.retryOn = "connect-failure,resource-exhausted"), "traffic.services.catalog.resilience.retries.retryOn", /retries resource-exhausted, the answer of service catalog's rateLimit/],
        ["a stack-wide retry on 429 where a service is rate-limited", (c) => (c.traffic.resilience.retries.retryOn = "connect-failure,429"), "traffic.resilience.retries.retryOn", /retries 429, the answer of service catalog's rateLimit/],
    ];
    for (const [what, mutate, key, message] of cases) {
        it(`refuses ${what}`, () => {
            const found = refuse(mutate).find((i) => i.key === `istio-production:${key}`);
            assert.ok(found, `no issue at ${key}`);
            assert.match(found.message, message);
        });
    }
});

describe("traffic management in the plan (stage 4 and 5)", () => {
    let staging: Plan;
    let prod: Plan;
    before(async () => {
        [staging, prod] = [await shippedPlan("staging"), await shippedPlan("prod")];
    });

    it("routes every declared service on every cluster: FQDN hosts, subsets for every route, weights summing to 100", () => {
        for (const [plan, clusters] of [[staging, ["staging-aws-euw1", "staging-aws-euc1"]], [prod, ["prod-aws-use1", "prod-gcp-usc1"]]] as const) {
            const services = stackConfig(plan.settings.stack).services as Array<{ name: string; namespace: string }>;
            for (const cluster of clusters) {
                for (const s of services) {
                    const host = `${s.name}.${s.namespace}.svc.cluster.local`;
                    const vs = named(plan, "VirtualService", s.name, cluster);
                    const dr = named(plan, "DestinationRule", s.name, cluster);
                    checkRouting(spec(vs), spec(dr), host);
                    assert.equal(spec(dr).trafficPolicy.tls.mode, "ISTIO_MUTUAL");
                    assert.ok(vs.dependencies.includes(dr.urn), "subsets exist before routes name them");
                    const istiod = plan.graph.resources.find((r) => r.type === "kubernetes:helm.sh/v3:Release" && plain(r.inputs).name === "istiod" && r.name.startsWith(cluster))!;
                    assert.ok(dr.dependencies.includes(istiod.urn), "after istiod's webhook");
                    assert.equal(plan.graph.resources.find((p) => p.urn === vs.provider)!.name, cluster, "with the cluster's own provider");
                }
            }
        }
    });

    it("staging: cart's canary at 10% with mirroring, on both clusters alike", () => {
        for (const cluster of ["staging-aws-euw1", "staging-aws-euc1"]) {
            const http = spec(named(staging, "VirtualService", "cart", cluster)).http[0];
            assert.deepEqual(http.route.map((r: any) => [r.destination.subset, r.weight]), [["stable", 90], ["canary", 10]]);
            assert.equal(http.mirrors[0].percentage.value, 50);
            assert.deepEqual(spec(named(staging, "DestinationRule", "cart", cluster)).subsets.map((s: any) => s.labels.version), ["v1", "v2"]);
        }
    });

    it("staging: resilience from the stack, the service's overrides, then the defaults", () => {
        const cart = spec(named(staging, "VirtualService", "cart", "staging-aws-euw1")).http[0];
        assert.deepEqual([cart.timeout, cart.retries], ["5s", { attempts: 2, perTryTimeout: "2s", retryOn: "connect-failure,refused-stream,unavailable,cancelled" }]);
        const catalog = spec(named(staging, "VirtualService", "catalog", "staging-aws-euw1")).http[0];
        assert.deepEqual([catalog.timeout, catalog.retries.perTryTimeout], ["2s", "500ms"]);
        const policy = spec(named(staging, "DestinationRule", "catalog", "staging-aws-euw1")).trafficPolicy;
        assert.deepEqual(policy.outlierDetection, { consecutive5xxErrors: 3, interval: "10s", baseEjectionTime: "30s", maxEjectionPercent: 50 });
        assert.deepEqual(policy.connectionPool, { tcp: { maxConnections: 1024, connectTimeout: "3s" }, http: { http1MaxPendingRequests: 1024, http2MaxRequests: 1024 } });
        assert.deepEqual(policy.retryBudget, { percent: 20, minRetryConcurrency: 3 });
        assert.deepEqual(policy.loadBalancer.localityLbSetting.failover, [{ from: "eu-west-1", to: "eu-central-1" }, { from: "eu-central-1", to: "eu-west-1" }]);
    });

    it("staging injects the configured faults into catalog; prod injects none", () => {
        assert.deepEqual(spec(named(staging, "VirtualService", "catalog", "staging-aws-euw1")).http[0].fault, {
            delay: { fixedDelay: "1500ms", percentage: { value: 5 } },
            abort: { httpStatus: 503, percentage: { value: 1 } },
        });
        for (const vs of kind(prod, "VirtualService")) assert.equal(spec(vs).http?.[0]?.fault, undefined, vs.name);
    });

    it("prod: frontend blue/green, all traffic to blue", () => {
        for (const cluster of ["prod-aws-use1", "prod-gcp-usc1"]) {
            assert.deepEqual(spec(named(prod, "VirtualService", "frontend", cluster)).http[0].route.map((r: any) => [r.destination.subset, r.weight]), [["blue", 100]]);
            assert.deepEqual(spec(named(prod, "DestinationRule", "frontend", cluster)).subsets.map((s: any) => s.name), ["blue", "green"]);
        }
    });

    it("rate limits: at the sidecars of a service that asks, and at the ingress gateway", () => {
        const filters = kind(staging, "EnvoyFilter").filter((r) => r.name.startsWith("staging-aws-euw1"));
        const byName = Object.fromEntries(filters.map((f) => [plain(f.inputs).metadata.name, spec(f)]));
        assert.deepEqual(Object.keys(byName).sort(), ["catalog-local-ratelimit", "ingress-local-ratelimit"]);
        assert.deepEqual(byName["catalog-local-ratelimit"].workloadSelector, { labels: { app: "catalog" } });
        assert.equal(byName["catalog-local-ratelimit"].configPatches[0].match.context, "SIDECAR_INBOUND");
        assert.deepEqual(byName["catalog-local-ratelimit"].configPatches[0].patch.value.typed_config.token_bucket, { max_tokens: 400, tokens_per_fill: 200, fill_interval: "1s" });
        assert.deepEqual(byName["ingress-local-ratelimit"].workloadSelector, { labels: { istio: "ingressgateway" } });
        assert.equal(byName["ingress-local-ratelimit"].configPatches[0].match.context, "GATEWAY");
        for (const plan of [staging, prod]) {
            for (const f of kind(plan, "EnvoyFilter").filter((r) => plain(r.inputs).metadata.name.endsWith("-local-ratelimit"))) {
                const chain = patchedHttpFilters(spec(f).configPatches[0]);
                assert.ok(chain.indexOf("envoy.filters.http.local_ratelimit") > chain.indexOf("envoy.filters.http.rbac"), `${f.name}: after RBAC`);
            }
        }
    });

    it("rate limits are answered so that the callers' routes neither retry them nor eject the limited endpoints", () => {
        let checked = 0;
        for (const plan of [staging, prod]) {
            const services = stackConfig(plan.settings.stack).services as Array<{ name: string; protocol?: string }>;
            for (const ef of kind(plan, "EnvoyFilter").filter((f) => plain(f.inputs).metadata.name.endsWith("-local-ratelimit") && spec(f).configPatches[0].match.context === "SIDECAR_INBOUND")) {
                const app = spec(ef).workloadSelector.labels.app;
                const service = services.find((s) => s.name === app)!;
                const cluster = ef.name.slice(0, ef.name.indexOf("-traffic-"));
                const answer = rateLimitedAnswer(spec(ef).configPatches[0].patch.value.typed_config, service.protocol === "grpc");
                const retries = spec(named(plan, "VirtualService", app, cluster)).http[0].retries;
                assert.equal(wouldRetry(retries.retryOn ?? "", answer), false, `${ef.name}: retried under ${retries.retryOn}`);
                assert.equal(countsAs5xx(answer), false, `${ef.name}: counted by outlier detection`);
                checked++;
            }
        }
        assert.ok(checked >= 4, "catalog on staging's clusters and payments (gRPC) on prod's");
    });

    it("edge routes time out and retry as the service's mesh routes do (Istio's translation of both)", () => {
        // Without them Istio gives a gateway route no timeout and its default two retries.
        assert.deepEqual(istioRoutePolicy({}), { timeoutMs: 0, retries: { numRetries: 2, retryOn: "connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes" } });
        let checked = 0;
        for (const plan of [staging, prod]) {
            const services = stackConfig(plan.settings.stack).services as Array<{ name: string; namespace: string; exposed?: boolean; ingressPathPrefix?: string }>;
            for (const edge of kind(plan, "VirtualService").filter((r) => plain(r.inputs).metadata.name === "ingress")) {
                const cluster = edge.name.slice(0, edge.name.indexOf("-mesh-"));
                for (const s of services.filter((x) => x.exposed)) {
                    const route = spec(edge).http.find((h: any) => h.match[0].uri.prefix === (s.ingressPathPrefix ?? "/"));
                    const mesh = spec(named(plan, "VirtualService", s.name, cluster)).http[0];
                    const policy = istioRoutePolicy(route);
                    assert.deepEqual(policy, istioRoutePolicy(mesh), `${edge.name} → ${s.name}`);
                    assert.ok(policy.timeoutMs > 0, "a timeout at the edge");
                    checked++;
                }
            }
        }
        assert.equal(checked, 4, "frontend on staging's and prod's two clusters");
    });

    it("release gates pass on each cluster exactly when Istio has ready endpoints for the live subset there, whatever old pods do", () => {
        type Pod = { labels: Record<string, string>; ready: boolean; terminating?: boolean };
        // Istio: the service's endpoints (pods its Service selects, `app: <name>` by the graph's contract) whose labels
        // include the subset's (istio/istio 1.30.3 pkg/config/labels/instance.go `SubsetOf`, used by
        // pilot/pkg/xds/endpoints/endpoint_builder.go), healthy when the EndpointSlice says ready
        // (pilot/pkg/serviceregistry/kube/controller/endpointslice.go `endpointHealthStatus`); an endpoint is ready when
        // its pod is Ready and not terminating (kubernetes/endpointslice v0.34.0 utils.go `podToEndpoint`).
        const subsetOf = (want: Record<string, string>, have: Record<string, string>) => Object.entries(want).every(([k, v]) => have[k] === v);
        const istioEndpoints = (pods: Pod[], app: string, subset: Record<string, string>) =>
            pods.filter((p) => p.ready && !p.terminating && p.labels.app === app && subsetOf(subset, p.labels));
        // The gate, run as a shell would: kubectl's JSONPath template over the pods an equality selector (an AND of its
        // terms) picks, a missing field printed as nothing (kubectl's default --allow-missing-template-keys), then
        // `grep -cx` counts whole lines, and the gate passes when the count is above zero.
        const jsonpath = (template: string, doc: unknown): string => {
            const path = (expr: string, at: unknown): unknown[] => (expr.match(/\.\w+|\[[^\]]*\]/g) ?? []).reduce<unknown[]>((values, seg) => {
                if (seg === "[*]") return values.flatMap((v) => (Array.isArray(v) ? v : []));
                const filter = /^\[\?\(@\.(\w+)=="([^"]*)"\)\]$/.exec(seg);
                if (filter) return values.flatMap((v) => (Array.isArray(v) ? v.filter((e) => e?.[filter[1]] === filter[2]) : []));
                return values.map((v) => (v as any)?.[seg.slice(1)]).filter((v) => v !== undefined);
            }, [at]);
            const tokens = [...template.matchAll(/\{([^{}]*)\}|([^{}]+)/g)].map((t) => (t[1] !== undefined ? { expr: t[1].trim() } : { text: t[2] }));
            const run = (from: number, at: unknown): [string, number] => {
                let out = "";
                for (let i = from; i < tokens.length; i++) {
                    const t = tokens[i];
                    if ("text" in t) out += t.text;
                    else if (t.expr === "end") return [out, i];
                    else if (t.expr.startsWith("range ")) {
                        for (const item of path(t.expr.slice(6), at)) out += run(i + 1, item)[0];
                        i = run(i + 1, undefined)[1];
                    } else if (t.expr.startsWith('"')) out += JSON.parse(t.expr);
                    else out += path(t.expr, at).join(" ");
                }
                return [out, tokens.length];
            };
            return run(0, doc)[0];
        };
        const gatePasses = (command: string, cluster: string, pods: Pod[]) => {
            const m = /^n=\$\(kubectl --context (\S+) -n \S+ get pods -l (\S+) -o jsonpath='([^']*)' \| grep -cx (\S+)\); echo "[^"]*"; \[ "\$n" -gt 0 \]$/.exec(command);
            assert.ok(m, `a gate of the expected form: ${command}`);
            assert.equal(m[1], cluster, "names the cluster's kube context");
            const terms = Object.fromEntries(m[2].split(",").map((t) => t.split("=")));
            const items = pods.filter((p) => subsetOf(terms, p.labels)).map((p) => ({
                metadata: { labels: p.labels, ...(p.terminating ? { deletionTimestamp: "2026-01-01T00:00:00Z" } : {}) },
                status: { conditions: [{ type: "PodScheduled", status: "True" }, { type: "Ready", status: p.ready ? "True" : "False" }] },
            }));
            return jsonpath(m[3], { items }).split("\n").filter((line) => line === m[4]).length > 0;
        };
        let checked = 0;
        for (const plan of [staging, prod]) {
            const gates = stackOutputs(plan.graph).outputs.releaseGates as Array<{ cluster: string; service: string; subset: string; selector: string; command: string }>;
            const clusters = (stackConfig(plan.settings.stack).clusters as Array<{ name: string }>).map((c) => c.name);
            for (const cluster of clusters) {
                for (const dr of kind(plan, "DestinationRule").filter((r) => r.name.startsWith(cluster) && spec(r).subsets)) {
                    const app = plain(dr.inputs).metadata.name;
                    const http = spec(named(plan, "VirtualService", app, cluster)).http[0];
                    const live = new Set([...http.route.filter((r: any) => r.weight > 0), ...(http.mirrors ?? [])].map((r: any) => r.destination.subset));
                    const here = gates.filter((g) => g.service === app && g.cluster === cluster);
                    assert.deepEqual(here.map((g) => g.subset).sort(), [...live].sort(), `${app} on ${cluster}: a gate per live subset`);
                    for (const subset of spec(dr).subsets.filter((x: any) => live.has(x.name))) {
                        const gate = here.find((g) => g.subset === subset.name)!;
                        const mine = { app, ...subset.labels };
                        for (const pods of [
                            [] as Pod[],
                            [{ labels: mine, ready: false }],
                            [{ labels: { ...subset.labels, app: "someone-else" }, ready: true }],
                            [{ labels: { ...mine, extra: "x" }, ready: true }],
                            [{ labels: { app, version: "elsewhere" }, ready: true }, { labels: mine, ready: true }],
                            [{ labels: mine, ready: true, terminating: true }],
                            [{ labels: mine, ready: true, terminating: true }, { labels: mine, ready: false }, { labels: mine, ready: true }],
                        ]) {
                            assert.equal(gatePasses(gate.command, cluster, pods), istioEndpoints(pods, app, subset.labels).length > 0, `${app}/${subset.name} on ${cluster} with ${JSON.stringify(pods)}`);
                        }
                        checked++;
                    }
                }
            }
        }
        assert.equal(checked, 6, "cart's stable and canary (staging), frontend's blue (prod), on each of two clusters");
    });

    it("every routing resource validates against Istio 1.30's CRDs", () => {
        for (const plan of [staging, prod]) {
            for (const r of [...kind(plan, "VirtualService"), ...kind(plan, "DestinationRule"), ...kind(plan, "EnvoyFilter")]) {
                assert.deepEqual(validateCustomResource(plain(r.inputs)), [], r.name);
            }
        }
    });

    it("a prod stack with fault injection is refused by the plan, naming the VirtualService", async () => {
        const dir = tempDir("prod-faults");
        fs.writeFileSync(path.join(dir, "Pulumi.yaml"), `name: istio-production\nruntime: nodejs\nmain: ${path.join(PROJECT_ROOT, "index.ts")}\nstackConfigDir: stacks\n`);
        fs.mkdirSync(path.join(dir, "stacks"));
        fs.copyFileSync(path.join(PROJECT_ROOT, "stacks", "Pulumi.pki-prod.yaml"), path.join(dir, "stacks", "Pulumi.pki-prod.yaml"));
        const doc = YAML.parse(fs.readFileSync(path.join(PROJECT_ROOT, "stacks", "Pulumi.prod.yaml"), "utf8"));
        const traffic = doc.config["istio-production:traffic"];
        traffic.allowFaultInjection = true;
        traffic.services.cart = { fault: { abort: { percent: 10, httpStatus: 503 } } };
        fs.writeFileSync(path.join(dir, "stacks", "Pulumi.prod.yaml"), YAML.stringify(doc));
        const { code, stdout, stderr } = await runCli(["prod", "--program", dir, "--out", path.join(dir, "out")]);
        assert.equal(code, 1, `${stderr}\n${stdout}`);
        const refusals = stdout.split("\n").filter((l) => /^ {2}MANDATORY mesh-mtls\/no-fault-injection-in-production:/.test(l));
        assert.equal(refusals.length, 2, `one per cluster:\n${stdout}`);
        assert.match(stdout, /spec\.http\[0\] \(default\)\.fault injects abort in production stack prod/);
        assert.match(stdout, /VirtualService::prod-aws-use1-traffic-cart-vs/);
        assert.match(stdout, /VirtualService::prod-gcp-usc1-traffic-cart-vs/);
    });
});
