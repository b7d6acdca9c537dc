import assert from "node:assert/strict";
import { CapturedResource } from "../engine/graph";
import { Plan, planStack } from "../engine/plan";
import { isSecretValue, plain } from "../engine/values";
import { ConfigError, parseStackConfig } from "../config";
import { METRICS } from "../components/observability/metrics";
import { notAfterSeconds } from "../components/observability/ClusterMonitoring";
import { prometheusValues } from "../components/observability/prometheus";
import { meshAlertRules, MeshRulesArgs, meshRecordingRules, RECORDED, Rule } from "../components/observability/rules";
import { meshTelemetrySpec } from "../components/observability/telemetry";
import { validateChartValues, validateCustomResource } from "./support/manifests";
import { federated, Labels, scrapedSample, selects, upSeries } from "./support/prometheus";
import { shippedPlan } from "./support/plan";
import { stackConfig, toRuntime } from "./support/stacks";

const PROMETHEUS_REPO = "https://prometheus-community.github.io/helm-charts";
const EVERYTHING: MeshRulesArgs = {
    clusterName: "c1", federatedClusters: ["c2"], istioCsr: true, intermediateNotAfterSeconds: 1_900_000_000, intermediateExpiryWarningDays: 30, ingressCertificate: true, remoteClusters: 2, eastWestGateway: true,
};

const PROMQL_KEYWORDS = new Set(["and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring", "group_left", "group_right"]);

/** The metric names a PromQL expression reads: identifiers that are not functions, keywords, labels or durations. */
function metricNames(expr: string): string[] {
    const bare = expr
        .replace(/"(?:[^"\\]|\\.)*"/g, '""')
        .replace(/\{[^}]*\}/g, "")
        .replace(/\[[^\]]*\]/g, "")
        .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, "");
    return [...bare.matchAll(/\b([A-Za-z_:][A-Za-z0-9_:]*)\b(\s*\()?/g)]
        .filter((m) => !m[2] && !PROMQL_KEYWORDS.has(m[1]))
        .map((m) => m[1]);
}

const allRules = (a: MeshRulesArgs): Rule[] => [...meshAlertRules(a).groups, ...meshRecordingRules(a).groups].flatMap((g) => g.rules);
const releaseOf = (plan: Plan, releaseName: string, cluster: string): CapturedResource => {
    const found = plan.graph.resources.filter((r) => r.type === "kubernetes:helm.sh/v3:Release" && plain(r.inputs).name === releaseName
        && plan.graph.resources.find((p) => p.urn === r.provider)!.name === cluster);
    assert.equal(found.length, 1, `one ${releaseName} release on ${cluster}, found ${found.length}`);
    return found[0];
};
const values = (r: CapturedResource) => plain(r.inputs).values;
const onCluster = (plan: Plan, type: string, cluster: string) =>
    plan.graph.resources.filter((r) => r.type === type && !r.read && plan.graph.resources.find((p) => p.urn === r.provider)?.name === cluster);
const alerts = (v: any) => Object.fromEntries(v.serverFiles["alerting_rules.yml"].groups.flatMap((g: any) => g.rules).map((r: Rule) => [r.alert, r]));

describe("observability: rules (pure)", () => {
    it("reads only metric names verified in upstream source (components/observability/metrics.ts) or recorded here", () => {
        const verified = new Set<string>(Object.values(METRICS).map((m) => m.name));
        const recorded = new Set<string>(Object.values(RECORDED));
        const unknown = allRules(EVERYTHING).flatMap((r) => metricNames(r.expr)
            .map((n) => n.replace(/_(bucket|sum|count)$/, (s) => (verified.has(n.slice(0, -s.length)) ? "" : s)))
            .filter((n) => !verified.has(n) && !recorded.has(n))
            .map((n) => `${r.alert ?? r.record}: ${n}`));
        assert.deepEqual(unknown, []);
        for (const m of Object.values(METRICS)) assert.ok(m.source.length > 0, m.name);
    });

    it("the metric-name reader sees through matchers, ranges, grouping and functions", () => {
        assert.deepEqual(metricNames('histogram_quantile(0.99, sum by (le) (rate(a_bucket{x="y{z}"}[5m]))) / b > bool 1 and on (c) d'), ["a_bucket", "b", "d"]);
    });

    it("alerts on each certificate the mesh depends on, on istio-csr errors, on east-west gateways and on remote-cluster sync", () => {
        const names = allRules(EVERYTHING).map((r) => r.alert).filter(Boolean);
        for (const a of ["MeshIntermediateCaExpiring", "IstiodCertificateExpiring", "IngressCertificateExpiring", "CertificateNotReady", "IstioCsrDown",
            "IstioCsrIssuanceErrors", "IstioCsrIssuanceSlow", "MeshIssuerSyncErrors", "EastWestGatewayDown", "IstiodRemoteClusterSyncTimeout",
            "IstiodRemoteClusterNotSynced", "IstiodRemoteClustersMissing", "IstiodDown"]) {
            assert.ok(names.includes(a), a);
        }
        const byName = Object.fromEntries(allRules(EVERYTHING).map((r) => [r.alert ?? r.record, r]));
        assert.equal(byName.MeshIntermediateCaExpiring.expr, "vector(1900000000) - time() < 2592000");
        assert.match(byName.IstiodCertificateExpiring.expr, /^certmanager_certificate_expiration_timestamp_seconds\{namespace="istio-system",name="istiod"\}/);
        assert.match(byName.IstiodRemoteClustersMissing.expr, /< 2$/);
        assert.match(byName[RECORDED.issuanceErrorRate].expr, /grpc_service="istio\.v1\.auth\.IstioCertificateService",grpc_method="CreateCertificate",grpc_code!="OK"/);
        for (const r of allRules(EVERYTHING).filter((x) => x.alert)) assert.ok(["warning", "critical"].includes(r.labels!.severity), r.alert);
    });

    it("groups every alert and recording rule by cluster; recordings read the own cluster's series only", () => {
        const aggregations = (expr: string) => [...expr.matchAll(/\b(sum|max|min|avg|count)\s*(by\s*\(([^)]*)\))?\s*\(/g)];
        for (const r of allRules(EVERYTHING)) {
            const name = r.alert ?? r.record;
            for (const agg of aggregations(r.expr)) assert.ok(agg[3]?.split(",").map((l) => l.trim()).includes("cluster"), `${name}: ${agg[0]} keeps cluster`);
            for (const absent of r.expr.matchAll(/absent\(([^)]*?)\s*==/g)) {
                assert.match(absent[1], /cluster="[^"]*"/, `${name}: absent() of one cluster`);
                assert.ok(r.labels?.cluster, `${name}: labelled with that cluster`);
            }
            if (r.record) assert.ok([...r.expr.matchAll(/\{([^}]*)\}/g)].every((m) => m[1].includes('cluster="c1"')), `${name}: own series only`);
            if (/^vector\(/.test(r.expr)) assert.equal(r.labels?.cluster, "c1", name);
        }
        const down = allRules(EVERYTHING).filter((r) => r.alert === "IstiodDown");
        assert.deepEqual(down.map((r) => [r.labels!.cluster, r.expr]), [
            ["c1", 'absent(up{cluster="",namespace="istio-system",app="istiod"} == 1)'],
            ["c2", 'absent(up{cluster="c2",namespace="istio-system",app="istiod"} == 1)'],
        ]);
    });

    it("leaves out what a cluster does not run: no issuance rules without istio-csr, no multi-cluster rules alone", () => {
        const alone = allRules({ clusterName: "c1", istioCsr: false, intermediateExpiryWarningDays: 30, ingressCertificate: false, remoteClusters: 0, eastWestGateway: false });
        assert.deepEqual(alone.map((r) => r.alert ?? r.record), ["CertificateNotReady", "IstiodDown"]);
    });

    it("chart values validate against the prometheus chart's schema in every role", () => {
        const rules = { alerting: meshAlertRules(EVERYTHING), recording: meshRecordingRules(EVERYTHING) };
        const base = { clusterName: "c1", meshId: "m", retentionDays: 15, istioCsr: true, ...rules };
        for (const v of [
            prometheusValues({ ...base, federation: { role: "hub", sources: ["c2", "c3"] } }),
            prometheusValues({ ...base, federation: { role: "source" } }),
            prometheusValues({ ...base, remoteWrite: { url: "https://metrics.example.com/api/v1/write", roleBound: false } }),
            prometheusValues({ ...base, remoteWrite: { url: "https://metrics.example.com/api/v1/write", roleBound: false, auth: { type: "basic", secretName: "rw", usernameKey: "u", passwordKey: "p" } } }),
            prometheusValues({ ...base, remoteWrite: { url: "https://aps.example.com/api/v1/remote_write", roleBound: false, auth: { type: "sigv4", region: "us-east-1", credentialsSecret: "amp" } } }),
        ]) {
            assert.deepEqual(validateChartValues("prometheus", "29.27.0", v, { repo: PROMETHEUS_REPO }), []);
        }
        assert.deepEqual(validateChartValues("prometheus", "29.27.0", { server: { retention: 15 } }, { repo: PROMETHEUS_REPO }), ["server.retention: must be string, not 15"]);
    });

    it("Telemetry: access logs through the envoy provider and the sampling percentage, valid against the CRD", () => {
        const spec = meshTelemetrySpec({ accessLogs: true, traceSamplingPercent: 2.5, tracingProvider: "otel" });
        assert.deepEqual(spec, { accessLogging: [{ providers: [{ name: "envoy" }] }], tracing: [{ randomSamplingPercentage: 2.5, providers: [{ name: "otel" }] }] });
        assert.deepEqual(validateCustomResource({ apiVersion: "telemetry.istio.io/v1", kind: "Telemetry", metadata: { name: "mesh-default", namespace: "istio-system" }, spec }), []);
    });
});

describe("observability: config gate", () => {
    const issues = (mutate: (o: Record<string, any>) => void, stack = "staging") => {
        const c = stackConfig(stack);
        mutate(c.observability);
        try {
            parseStackConfig(toRuntime(c));
            return [];
        } catch (e) {
            return (e as ConfigError).issues.map((i) => `${i.key}: ${i.message}`);
        }
    };

    it("needs a Kiali login that works across clusters: token is refused, anonymous too in prod, openid needs an issuer", () => {
        assert.deepEqual(issues((o) => delete o.kialiAuth), ["istio-production:observability.kialiAuth: is required with kiali (the default): set {strategy: openid, clientId: <Kiali's client at the issuer>}, or kiali: false"]);
        assert.deepEqual(issues((o) => ((o.kiali = false), delete o.kialiAuth)), []);
        assert.match(issues((o) => (o.kialiAuth = { strategy: "token" })).join("\n"), /observability\.kialiAuth\.strategy: shows the home cluster only/);
        assert.deepEqual(issues((o) => (o.kialiAuth = { strategy: "anonymous" })), [], "outside prod");
        const prod = stackConfig("prod");
        prod.observability.kialiAuth = { strategy: "anonymous" };
        assert.throws(() => parseStackConfig(toRuntime(prod)), (e: ConfigError) => e.issues.some((i) => i.key === "istio-production:observability.kialiAuth.strategy"
            && /refused in environment prod/.test(i.message) && i.value === '"anonymous"'));
        const noEdge = stackConfig("staging");
        delete noEdge.edgeAuth;
        assert.throws(() => parseStackConfig(toRuntime(noEdge)), (e: ConfigError) => e.issues.some((i) => i.key === "istio-production:observability.kialiAuth.issuerUri" && /required without edgeAuth/.test(i.message)));
        assert.match(issues((o) => (o.kialiAuth = { strategy: "openid", clientId: "kiali", issuerUri: "http://idp.example.com" })).join("\n"), /kialiAuth\.issuerUri: must be an https URL/);
    });

    it("refuses remote write without credentials in prod, and SigV4 without an AWS identity for every cluster", () => {
        const prodIssues = (mutate: (o: Record<string, any>) => void) => issues(mutate, "prod");
        assert.deepEqual(prodIssues((o) => delete o.remoteWriteAuth), [
            "istio-production:observability.remoteWriteAuth: is required in environment prod: without it every cluster sends its samples to remoteWriteUrl unauthenticated (bearer or basic from a Secret, or sigv4)"]);
        assert.deepEqual(prodIssues((o) => (o.remoteWriteAuth = { type: "sigv4", region: "us-east-1", roleArn: "arn:aws:iam::210987654321:role/amp-writer" })), [
            "istio-production:observability.remoteWriteAuth.credentialsSecret: is required with sigv4 on GKE clusters (prod-gcp-usc1): they have no AWS role of their own"]);
        assert.deepEqual(prodIssues((o) => (o.remoteWriteAuth = { type: "sigv4", region: "us-east-1", roleArn: "arn:aws:iam::210987654321:role/amp-writer", credentialsSecret: "amp-writer" })), []);
        assert.match(prodIssues((o) => (o.remoteWriteAuth = { type: "oauth" })).join("\n"), /remoteWriteAuth\.type: type must be "bearer", "basic" or "sigv4"/);
        assert.match(issues((o) => (o.remoteWriteAuth = { type: "bearer", secretName: "rw" })).join("\n"), /observability\.remoteWriteAuth: is only read with aggregation: remoteWrite/);
        assert.match(issues((o) => ((o.aggregation = "remoteWrite"), (o.remoteWriteUrl = "https://m.example.com/w"), (o.remoteWriteAuth = { type: "sigv4", region: "eu-west-1" }))).join("\n"),
            /remoteWriteAuth\.roleArn: is required with sigv4 \(or credentialsSecret\)/);
        assert.deepEqual(issues((o) => ((o.aggregation = "remoteWrite"), (o.remoteWriteUrl = "https://m.example.com/w"))), [], "credentials are optional outside prod");
    });

    it("needs remoteWriteUrl with remote write, reads queryUrl only with it, and a hub among the clusters", () => {
        assert.deepEqual(issues((o) => (o.aggregation = "remoteWrite")), ["istio-production:observability.remoteWriteUrl: is required with aggregation: remoteWrite (where every cluster's Prometheus sends its samples)"]);
        assert.match(issues((o) => (o.queryUrl = "https://q.example.com"))[0], /observability\.queryUrl: is only read with aggregation: remoteWrite/);
        assert.match(issues((o) => (o.hubCluster = "nowhere"))[0], /observability\.hubCluster: names no cluster of this stack/);
        assert.match(issues((o) => ((o.aggregation = "remoteWrite"), (o.remoteWriteUrl = "http://plain.example.com")))[0], /remoteWriteUrl: must be an https URL/);
    });
});

describe("observability in the plan (stage 4 and 5)", () => {
    let staging: Plan;
    let prod: Plan;
    before(async () => {
        [staging, prod] = [await shippedPlan("staging"), await shippedPlan("prod")];
    });

    it("runs a pinned Prometheus on every cluster, labelled with its cluster and mesh, with the mesh's rules", () => {
        for (const [plan, clusters] of [[staging, ["staging-aws-euw1", "staging-aws-euc1"]], [prod, ["prod-aws-use1", "prod-gcp-usc1"]]] as const) {
            for (const cluster of clusters) {
                const r = releaseOf(plan, "prometheus", cluster);
                const { chart, version, namespace, repositoryOpts } = plain(r.inputs);
                assert.deepEqual([chart, version, namespace, repositoryOpts.repo], ["prometheus", "29.27.0", "monitoring", PROMETHEUS_REPO]);
                const v = values(r);
                assert.deepEqual(v.server.global.external_labels, { cluster, mesh_id: stackConfig(plan.settings.stack).meshId });
                assert.ok(alerts(v).IstioCsrIssuanceErrors && alerts(v).EastWestGatewayDown && alerts(v).IstiodRemoteClusterNotSynced, cluster);
                assert.ok(v.scrapeConfigs["istio-csr"], "istio-csr has a scrape job of its own");
            }
        }
    });

    it("federated series keep one unambiguous cluster label, istiod's remote cluster beside it, and the hub's own alerts fire (Prometheus' model)", () => {
        const [hubName, sourceName] = ["staging-aws-euw1", "staging-aws-euc1"];
        const hub = values(releaseOf(staging, "prometheus", hubName));
        const source = values(releaseOf(staging, "prometheus", sourceName));
        // kubernetes-pods keeps the chart's honor_labels: true (prometheus-29.27.0 values.yaml); the rest is ours.
        const podsJob = (v: any) => ({ honorLabels: true, metricRelabelConfigs: v.scrapeConfigs["kubernetes-pods"].metric_relabel_configs });
        const istiodTarget = { job: "kubernetes-pods", namespace: "istio-system", app: "istiod", pod: "istiod-0" };
        // What each cluster's istiod exposes: its view of the other cluster, labelled with that cluster's ID.
        const exposed = (remote: string): Labels => ({ __name__: "istiod_remote_cluster_sync_status", cluster: remote, cluster_type: "remote", status: "synced" });
        // The hub's istiod is down: its target answers no scrape (up 0), the source's is up.
        const hubLocal = [{ ...upSeries(istiodTarget), value: "0" }];
        const sourceLocal = [{ ...upSeries(istiodTarget), value: "1" }, { ...scrapedSample(istiodTarget, exposed(hubName), podsJob(source)), value: "1" }];
        assert.equal(hub.scrapeConfigs[`federate-${sourceName}`].honor_labels, true);
        assert.equal(hub.scrapeConfigs[`federate-${sourceName}`].metric_relabel_configs, undefined, "federated series are stored as the source labelled them");
        const fromSource = sourceLocal.map((s) => federated(s, source.server.global.external_labels));
        const stored = [...hubLocal, ...fromSource];
        for (const s of fromSource) assert.equal(s.cluster, sourceName, JSON.stringify(s));
        const status = fromSource.find((s) => s.__name__ === "istiod_remote_cluster_sync_status")!;
        assert.deepEqual([status.cluster, status.exported_cluster], [sourceName, hubName], "the source's istiod, watching the hub");
        assert.equal(scrapedSample(istiodTarget, exposed(sourceName), podsJob(hub)).cluster, hubName, "the hub's own series say hub");
        assert.equal(scrapedSample(istiodTarget, { __name__: "pilot_xds_pushes" }, podsJob(hub)).cluster, hubName, "also those without a cluster label of their own");
        // absent(sel == 1) fires when no stored series matches sel with the value 1.
        const fires = (expr: string) => {
            const selector = /absent\((.*?)\s*==\s*1\)/.exec(expr)![1];
            return !stored.some((s) => s.value === "1" && selects(selector, s));
        };
        const down = Object.values(hub.serverFiles["alerting_rules.yml"].groups).flatMap((g: any) => g.rules).filter((r: any) => r.alert === "IstiodDown");
        assert.deepEqual(down.map((r: any) => [r.labels.cluster, fires(r.expr)]), [[hubName, true], [sourceName, false]]);
        assert.equal(fires('absent(up{namespace="istio-system",app="istiod"} == 1)'), false, "without a cluster matcher the source's istiod masks the hub's");
    });

    it("alerts on each cluster's own intermediate, at the expiry of the certificate it was handed", () => {
        for (const cluster of ["prod-aws-use1", "prod-gcp-usc1"]) {
            const secret = onCluster(prod, "kubernetes:core/v1:Secret", cluster).find((r) => plain(r.inputs).metadata.name === "istio-ca")!;
            const intermediate = plain(secret.inputs).stringData["tls.crt"].match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/)[0];
            const expr = alerts(values(releaseOf(prod, "prometheus", cluster))).MeshIntermediateCaExpiring.expr;
            assert.equal(expr, `vector(${notAfterSeconds(intermediate)}) - time() < ${30 * 86400}`);
        }
    });

    it("staging federates through the mesh: the hub pulls the source by its own name, the source admits only the hub", () => {
        const hub = values(releaseOf(staging, "prometheus", "staging-aws-euw1"));
        assert.deepEqual(hub.scrapeConfigs["federate-staging-aws-euc1"].static_configs, [{ targets: ["prometheus-staging-aws-euc1.monitoring.svc.cluster.local:9090"] }]);
        assert.equal(hub.server.podAnnotations["traffic.sidecar.istio.io/includeOutboundPorts"], "9090");
        const stub = onCluster(staging, "kubernetes:core/v1:Service", "staging-aws-euw1").find((r) => plain(r.inputs).metadata.name === "prometheus-staging-aws-euc1")!;
        assert.equal(plain(stub.inputs).spec.selector, undefined, "the hub's stub has no local endpoints");
        const source = values(releaseOf(staging, "prometheus", "staging-aws-euc1"));
        assert.equal(source.scrapeConfigs["federate-staging-aws-euw1"], undefined);
        assert.equal(source.server.podAnnotations["traffic.sidecar.istio.io/includeInboundPorts"], "9090");
        const named = onCluster(staging, "kubernetes:core/v1:Service", "staging-aws-euc1").find((r) => plain(r.inputs).metadata.name === "prometheus-staging-aws-euc1")!;
        assert.equal(plain(named.inputs).spec.selector["app.kubernetes.io/component"], "server");
        const allow = onCluster(staging, "kubernetes:security.istio.io/v1:AuthorizationPolicy", "staging-aws-euc1").find((r) => plain(r.inputs).metadata.name === "prometheus-federation")!;
        assert.deepEqual(plain(allow.inputs).spec.rules[0].from, [{ source: { principals: ["staging.mesh.acme.example/ns/monitoring/sa/prometheus-server"] } }]);
        assert.deepEqual(plain(allow.inputs).spec.rules[0].to, [{ operation: { methods: ["GET"], paths: ["/federate"], ports: ["9090"] } }]);
    });

    it("prod writes every cluster's samples to the central store and federates nothing", () => {
        for (const cluster of ["prod-aws-use1", "prod-gcp-usc1"]) {
            const v = values(releaseOf(prod, "prometheus", cluster));
            assert.deepEqual(v.server.remoteWrite, [{ url: "https://metrics.acme.example/api/v1/write", authorization: { type: "Bearer", credentials_file: "/etc/prometheus/remote-write/token" } }]);
            assert.deepEqual(Object.keys(v.scrapeConfigs).filter((job) => job.startsWith("federate-")), []);
            assert.equal(v.server.podLabels, undefined, "no sidecar without federation");
        }
    });

    it("Kiali on the hub reads every other cluster through a token it was handed, and the aggregated metrics", () => {
        for (const [plan, hub, remote, prometheusUrl] of [
            [staging, "staging-aws-euw1", "staging-aws-euc1", "http://prometheus-server.monitoring.svc:80"],
            [prod, "prod-aws-use1", "prod-gcp-usc1", "https://metrics.acme.example/prometheus"],
        ] as const) {
            const kiali = values(releaseOf(plan, "kiali", hub));
            assert.equal(plain(releaseOf(plan, "kiali", hub).inputs).version, "2.29.0");
            assert.equal(kiali.external_services.prometheus.url, prometheusUrl);
            assert.deepEqual(kiali.clustering.clusters, [{ name: remote, secret_name: `kiali-remote-cluster-secret-${remote}` }]);
            assert.equal(kiali.deployment.view_only_mode, true);
            assert.equal(values(releaseOf(plan, "kiali", remote)).deployment.remote_cluster_resources_only, true);
            const secret = onCluster(plan, "kubernetes:core/v1:Secret", hub).find((r) => plain(r.inputs).metadata.name === `kiali-remote-cluster-secret-${remote}`)!;
            assert.ok(isSecretValue(secret.inputs.stringData), "the kubeconfig holds a token: it must be a Pulumi secret");
            const kubeconfig = JSON.parse(plain(secret.inputs).stringData[remote]);
            assert.deepEqual(Object.keys(kubeconfig.users[0].user), ["token"]);
            assert.equal(plain(secret.inputs).metadata.labels["kiali.io/multiCluster"], "true");
            const token = onCluster(plan, "kubernetes:core/v1:Secret", remote).find((r) => plain(r.inputs).type === "kubernetes.io/service-account-token" && plain(r.inputs).metadata.annotations["kubernetes.io/service-account.name"] === "kiali")!;
            assert.ok(token.dependencies.includes(releaseOf(plan, "kiali", remote).urn), "the account exists before its token");
        }
    });

    it("no pod can reach Prometheus' lifecycle API: the flag is off and the chart's reloader, which needs it, too", () => {
        // prometheus-community/helm-charts prometheus-29.27.0: values.yaml defaults, and templates/deploy.yaml renders
        // `--<flag>` per server.extraFlags and the reloader container when configmapReload.prometheus.enabled.
        const chartDefaults = { server: { extraFlags: ["web.enable-lifecycle"] }, configmapReload: { prometheus: { enabled: true } } };
        // Helm merges maps key by key; any other value (lists included) replaces the default.
        const merge = (base: any, over: any): any => (typeof base === "object" && !Array.isArray(base) && typeof over === "object" && over !== null && !Array.isArray(over)
            ? Object.fromEntries([...new Set([...Object.keys(base), ...Object.keys(over)])].map((k) => [k, k in over ? merge(base[k], over[k]) : base[k]]))
            : over);
        const rendered = (v: any) => {
            const m = merge(chartDefaults, v);
            return { flags: (m.server.extraFlags as string[]).map((f) => `--${f}`), reloader: m.configmapReload.prometheus.enabled === true };
        };
        assert.deepEqual(rendered({}), { flags: ["--web.enable-lifecycle"], reloader: true }, "the chart alone");
        for (const [plan, clusters] of [[staging, ["staging-aws-euw1", "staging-aws-euc1"]], [prod, ["prod-aws-use1", "prod-gcp-usc1"]]] as const) {
            for (const cluster of clusters) {
                // The reloader POSTs /-/reload, which Prometheus answers 403 without the flag (prometheus v3.14.0 web/web.go).
                assert.deepEqual(rendered(values(releaseOf(plan, "prometheus", cluster))), { flags: [], reloader: false }, cluster);
                assert.match(values(releaseOf(plan, "prometheus", cluster)).server.podAnnotations["checksum/config"], /^[0-9a-f]{64}$/, "a change of rules restarts the server");
            }
        }
    });

    it("a NetworkPolicy admits only Kiali on its cluster and, on a federation source, the east-west gateway carrying the hub's requests", () => {
        type Pod = { namespace: string; labels: Record<string, string> };
        const matches = (sel: { matchLabels?: Record<string, string> } | undefined, labels: Record<string, string>) =>
            Object.entries(sel?.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
        // Kubernetes networking/v1: a selected pod admits a connection only if some ingress rule's `from` peer matches
        // (namespaceSelector and podSelector in one peer both apply) on one of its ports; no rule admits nothing.
        const admits = (np: any, caller: Pod, port: number) => np.ingress.some((rule: any) =>
            (rule.ports ?? [{ port }]).some((p: any) => p.port === port)
            && (rule.from ?? [{}]).some((peer: any) => matches(peer.namespaceSelector, { "kubernetes.io/metadata.name": caller.namespace }) && matches(peer.podSelector, caller.labels)));
        const policy = (plan: Plan, cluster: string) => {
            const found = onCluster(plan, "kubernetes:networking.k8s.io/v1:NetworkPolicy", cluster).filter((r) => plain(r.inputs).metadata.namespace === "monitoring");
            assert.equal(found.length, 1, cluster);
            const spec = plain(found[0].inputs).spec;
            assert.deepEqual(spec.policyTypes, ["Ingress"]);
            assert.ok(matches(spec.podSelector, { "app.kubernetes.io/name": "prometheus", "app.kubernetes.io/component": "server", "app.kubernetes.io/instance": "prometheus" }), "selects the server");
            return spec;
        };
        // Kiali's pods (kiali/helm-charts v2.29.0 `selectorLabels`); the east-west gateway's, as the plan installs it.
        const kiali: Pod = { namespace: "istio-system", labels: { "app.kubernetes.io/name": "kiali", "app.kubernetes.io/instance": "kiali" } };
        const eastWest = (plan: Plan, cluster: string): Pod => {
            const release = releaseOf(plan, "istio-eastwestgateway", cluster);
            return { namespace: plain(release.inputs).namespace, labels: values(release).labels };
        };
        const anyPod: Pod = { namespace: "shop", labels: { app: "frontend" } };
        const istiod: Pod = { namespace: "istio-system", labels: { app: "istiod" } };
        const hub = policy(staging, "staging-aws-euw1");
        const source = policy(staging, "staging-aws-euc1");
        assert.deepEqual([admits(hub, kiali, 9090), admits(hub, eastWest(staging, "staging-aws-euw1"), 9090), admits(hub, anyPod, 9090), admits(hub, istiod, 9090)], [true, false, false, false]);
        assert.deepEqual([admits(source, kiali, 9090), admits(source, eastWest(staging, "staging-aws-euc1"), 9090), admits(source, anyPod, 9090)], [false, true, false]);
        assert.equal(admits(source, { ...eastWest(staging, "staging-aws-euc1"), namespace: "istio-system" }, 9090), false, "the gateway's labels alone, from another namespace");
        const prodSource = policy(prod, "prod-gcp-usc1");
        assert.deepEqual(prodSource.ingress, [], "remote write: nothing reads a non-hub Prometheus");
        assert.equal(admits(policy(prod, "prod-aws-use1"), kiali, 9090), true);
    });

    it("EKS enforces NetworkPolicies (the VPC CNI's network policy agent); GKE runs Dataplane V2", () => {
        for (const plan of [staging, prod]) {
            const eks = plan.graph.resources.filter((r) => r.type === "aws:eks/cluster:Cluster");
            const cni = plan.graph.resources.filter((r) => r.type === "aws:eks/addon:Addon" && plain(r.inputs).addonName === "vpc-cni");
            assert.equal(cni.length, eks.length);
            for (const addon of cni) assert.deepEqual(JSON.parse(plain(addon.inputs).configurationValues), { enableNetworkPolicy: "true" });
        }
        for (const gke of prod.graph.resources.filter((r) => r.type === "gcp:container/cluster:Cluster")) assert.equal(plain(gke.inputs).datapathProvider, "ADVANCED_DATAPATH");
    });

    it("remote write authenticates on every cluster: one method, its files from the mounted Secret or AWS identity without keys on EKS", async () => {
        // prometheus/prometheus v3.14.0 config/config.go `validateAuthConfigs`: at most one method per remote_write;
        // docs/configuration/configuration.md: google_iam is "NOT SUPPORTED by Google Cloud", sigv4 without keys reads
        // AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY or the SDK's default chain (EKS Pod Identity).
        const METHODS = ["basic_auth", "authorization", "oauth2", "sigv4", "azuread", "google_iam"];
        // prometheus-29.27.0 templates/deploy.yaml: each server.extraSecretMounts entry is the Secret `secretName`
        // mounted at `mountPath`, so `<mountPath>/<key>` is that Secret's key.
        const fileSource = (v: any, path: string) => (v.server.extraSecretMounts ?? []).map((m: any) => path.startsWith(`${m.mountPath}/`) && { secret: m.secretName, key: path.slice(m.mountPath.length + 1) }).find(Boolean);
        const check = (v: any) => {
            const [rw] = v.server.remoteWrite;
            const methods = METHODS.filter((k) => rw[k] !== undefined);
            assert.equal(methods.length, 1, `one method, not ${methods.join(", ")}`);
            const files = [rw.authorization?.credentials_file, rw.basic_auth?.username_file, rw.basic_auth?.password_file].filter(Boolean);
            return { method: methods[0], files: files.map((f: string) => fileSource(v, f)), env: (v.server.env ?? []).map((e: any) => [e.name, e.valueFrom.secretKeyRef.name, e.valueFrom.secretKeyRef.key]) };
        };
        for (const cluster of ["prod-aws-use1", "prod-gcp-usc1"]) {
            assert.deepEqual(check(values(releaseOf(prod, "prometheus", cluster))), { method: "authorization", files: [{ secret: "remote-write", key: "token" }], env: [] });
        }
        const config = stackConfig("prod");
        config.observability.remoteWriteAuth = { type: "sigv4", region: "us-east-1", roleArn: "arn:aws:iam::210987654321:role/amp-writer", credentialsSecret: "amp-writer" };
        const sigv4 = await planStack({ stack: "prod", config: toRuntime(config) });
        const eks = values(releaseOf(sigv4, "prometheus", "prod-aws-use1"));
        assert.deepEqual(check(eks), { method: "sigv4", files: [], env: [] });
        assert.deepEqual(eks.server.remoteWrite[0].sigv4, { region: "us-east-1" }, "Pod Identity's credentials are the role's: nothing to assume");
        const associations = sigv4.graph.resources.filter((r) => r.type === "aws:eks/podIdentityAssociation:PodIdentityAssociation" && plain(r.inputs).namespace === "monitoring");
        assert.deepEqual(associations.map((r) => [plain(r.inputs).serviceAccount, plain(r.inputs).roleArn]), [["prometheus-server", "arn:aws:iam::210987654321:role/amp-writer"]]);
        assert.ok(releaseOf(sigv4, "prometheus", "prod-aws-use1").dependencies.includes(associations[0].urn), "the role is bound before Prometheus starts");
        const gke = values(releaseOf(sigv4, "prometheus", "prod-gcp-usc1"));
        assert.deepEqual(check(gke), { method: "sigv4", files: [], env: [["AWS_ACCESS_KEY_ID", "amp-writer", "AWS_ACCESS_KEY_ID"], ["AWS_SECRET_ACCESS_KEY", "amp-writer", "AWS_SECRET_ACCESS_KEY"]] });
        assert.deepEqual(gke.server.remoteWrite[0].sigv4, { region: "us-east-1", role_arn: "arn:aws:iam::210987654321:role/amp-writer" });
        for (const cluster of ["prod-aws-use1", "prod-gcp-usc1"]) assert.deepEqual(validateChartValues("prometheus", "29.27.0", values(releaseOf(sigv4, "prometheus", cluster)), { repo: PROMETHEUS_REPO }), []);
    });

    it("Kiali reads every cluster after an OpenID login with the edge's issuer (Kiali 2.29's model)", () => {
        // kiali/kiali v2.29.0: token sessions hold the user's token for the home cluster only
        // (handlers/authentication/token_auth_controller.go); with RBAC disabled (anonymous, or openid with disable_rbac,
        // config/config.go `IsRBACDisabled`) every cluster is read with Kiali's service-account clients, the remote ones
        // from the remote-cluster secrets (kubernetes/client_factory.go `GetClients`); with openid and RBAC, the user's
        // token goes to every API server, which here trusts no OpenID issuer.
        const readable = (v: any, home: string): string[] => {
            const remotes = v.clustering.clusters.map((c: any) => c.name);
            if (v.auth.strategy === "token") return [home];
            if (v.auth.strategy === "anonymous" || (v.auth.strategy === "openid" && v.auth.openid.disable_rbac === true)) return [home, ...remotes];
            return [];
        };
        for (const [plan, hub, remote] of [[staging, "staging-aws-euw1", "staging-aws-euc1"], [prod, "prod-aws-use1", "prod-gcp-usc1"]] as const) {
            const v = values(releaseOf(plan, "kiali", hub));
            assert.deepEqual(readable(v, hub), [hub, remote]);
            assert.deepEqual(readable({ ...v, auth: { strategy: "token" } }, hub), [hub], "the strategy this replaces");
            assert.equal(v.auth.openid.issuer_uri, stackConfig(plan.settings.stack).edgeAuth.issuer);
            assert.equal(v.auth.openid.client_id, "kiali");
        }
        assert.deepEqual(values(releaseOf(prod, "kiali", "prod-aws-use1")).auth.openid.allowed_domains, ["acme.example"]);
    });

    it("Kiali's tokens read the mesh's namespaces only: no port-forward, no logs, no secrets, nothing cluster-wide (RBAC's model)", () => {
        type Rule = { apiGroups: string[]; resources: string[]; verbs: string[] };
        type Grant = { namespace?: string; rules: Rule[] };
        const KIALI = { kind: "ServiceAccount", name: "kiali", namespace: "istio-system" };
        // kiali/helm-charts v2.29.0: the chart renders its viewer role, with pods/portforward, unless skipResources
        // names "clusterrole" (templates/role-viewer.yaml, _helpers.tpl `isSkippedResource`).
        const chartGrants = (v: any): Grant[] => (v.skipResources ?? []).includes("clusterrole") ? [] :
            [{ rules: [{ apiGroups: [""], resources: ["pods", "namespaces"], verbs: ["get", "list", "watch"] }, { apiGroups: [""], resources: ["pods/portforward"], verbs: ["create"] }] }];
        // Kubernetes RBAC (rbac.authorization.k8s.io/v1): a RoleBinding grants its Role's rules in its own namespace,
        // a ClusterRoleBinding grants everywhere; "*" matches any resource of the group.
        const grants = (plan: Plan, cluster: string): Grant[] => {
            const of = (kind: string) => onCluster(plan, `kubernetes:rbac.authorization.k8s.io/v1:${kind}`, cluster).map((r) => plain(r.inputs));
            const roles = [...of("Role"), ...of("ClusterRole")];
            return [...of("RoleBinding"), ...of("ClusterRoleBinding")]
                .filter((b) => b.subjects.some((s: any) => s.kind === KIALI.kind && s.name === KIALI.name && s.namespace === KIALI.namespace))
                .map((b) => ({ namespace: b.metadata.namespace, rules: roles.find((r) => r.metadata.name === b.roleRef.name && (b.roleRef.kind === "ClusterRole" || r.metadata.namespace === b.metadata.namespace))!.rules }));
        };
        const can = (all: Grant[], verb: string, group: string, resource: string, namespace?: string) => all.some((g) => (g.namespace === undefined || g.namespace === namespace)
            && g.rules.some((r) => r.apiGroups.includes(group) && (r.resources.includes(resource) || (r.resources.includes("*") && !resource.includes("/"))) && r.verbs.includes(verb)));
        for (const [plan, hub, remote] of [[staging, "staging-aws-euw1", "staging-aws-euc1"], [prod, "prod-aws-use1", "prod-gcp-usc1"]] as const) {
            const meshNamespaces = [...new Set((stackConfig(plan.settings.stack).services as Array<{ namespace: string }>).map((s) => s.namespace))];
            const hubValues = values(releaseOf(plan, "kiali", hub));
            // Kiali without cluster-wide access reads the namespaces its selectors name (config/config.go `extractAccessibleNamespaceList`).
            assert.equal(hubValues.deployment.cluster_wide_access, false);
            const selected = hubValues.deployment.discovery_selectors.default.flatMap((sel: any) => sel.matchExpressions
                .filter((e: any) => e.key === "kubernetes.io/metadata.name" && e.operator === "In").flatMap((e: any) => e.values));
            // The gateways are Istio workloads Kiali draws (the edge, the hops between clusters) only from a namespace it reads.
            const gatewayNamespaces = plan.graph.resources.filter((r) => r.type === "kubernetes:helm.sh/v3:Release" && plain(r.inputs).chart === "gateway").map((r) => plain(r.inputs).namespace);
            assert.deepEqual(selected.sort(), [...new Set(["istio-system", ...gatewayNamespaces, ...meshNamespaces])].sort());
            for (const [cluster, chartValues] of [[hub, hubValues], [remote, values(releaseOf(plan, "kiali", remote))]] as const) {
                const all = [...grants(plan, cluster), ...chartGrants(chartValues)];
                for (const ns of selected) {
                    assert.ok(can(all, "list", "", "pods", ns) && can(all, "watch", "networking.istio.io", "virtualservices", ns) && can(all, "get", "", "namespaces", ns), `${cluster}: reads ${ns}`);
                    assert.ok(!can(all, "create", "", "pods/portforward", ns), `${cluster}: no port-forward in ${ns}`);
                    assert.ok(!can(all, "get", "", "pods/log", ns), `${cluster}: no logs in ${ns}`);
                    assert.ok(!can(all, "get", "", "secrets", ns), `${cluster}: no secrets in ${ns}`);
                }
                assert.ok(!can(all, "list", "", "pods", "kube-system") && !can(all, "list", "", "pods", undefined), `${cluster}: nothing else, nothing cluster-wide`);
                assert.ok(can([...grants(plan, cluster), ...chartGrants({})], "create", "", "pods/portforward", "shop"), "the chart's own role would grant port-forward");
            }
            assert.deepEqual(hubValues.kiali_feature_flags.disabled_features, ["logs-tab"]);
        }
    });

    it("sets access logs and trace sampling mesh-wide on every cluster", () => {
        const telemetry = staging.graph.resources.filter((r) => r.type === "kubernetes:telemetry.istio.io/v1:Telemetry");
        assert.equal(telemetry.length, 2);
        for (const t of telemetry) {
            assert.deepEqual(plain(t.inputs).metadata, { name: "mesh-default", namespace: "istio-system" });
            assert.deepEqual(plain(t.inputs).spec.tracing, [{ randomSamplingPercentage: 10 }]);
            assert.deepEqual(validateCustomResource(plain(t.inputs)), []);
        }
    });

    it("stage 2 has no observability stack", async () => {
        const dev = await shippedPlan("dev");
        assert.equal(dev.graph.resources.filter((r) => r.type.startsWith("istio-production:observability:") || r.type.startsWith("istio-production:traffic:")).length, 0);
    });
});

describe("tracing backend", () => {
    it("registers the OTLP collector with istiod and points the mesh's Telemetry at it", async () => {
        const config = stackConfig("staging");
        config.observability = { ...config.observability, tracingCollector: { service: "otel-collector.observability.svc.cluster.local" } };
        const plan = await planStack({ stack: "staging", config: toRuntime(config) });
        for (const istiod of plan.graph.resources.filter((r) => r.type === "kubernetes:helm.sh/v3:Release" && plain(r.inputs).name === "istiod")) {
            assert.deepEqual(plain(istiod.inputs).values.meshConfig.extensionProviders,
                [{ name: "otel-tracing", opentelemetry: { service: "otel-collector.observability.svc.cluster.local", port: 4317 } }]);
        }
        const telemetry = plan.graph.resources.filter((r) => r.type === "kubernetes:telemetry.istio.io/v1:Telemetry").map((r) => plain(r.inputs).spec);
        assert.ok(telemetry.length > 0);
        for (const t of telemetry) assert.deepEqual(t.tracing[0].providers, [{ name: "otel-tracing" }]);
    });
});

