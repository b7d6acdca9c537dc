import assert from "node:assert/strict";
import { CapturedResource } from "../engine/graph";
import { Plan, planStack, stackOutputs } from "../engine/plan";
import { isSecretValue, plain } from "../engine/values";
import { ConfigError, parseStackConfig } from "../config";
import { ObservabilityConfig, observabilitySchema } from "../config/observability";
import { METRICS } from "../components/observability/metrics";
import { notAfterSeconds } from "../components/observability/ClusterMonitoring";
import { prometheusValues } from "../components/observability/prometheus";
import { FEDERATION_DOWN_FOR, meshAlertRules, MeshRulesArgs, meshRecordingRules, RECORDED, Rule } from "../components/observability/rules";
import { meshTelemetrySpec } from "../components/observability/telemetry";
import { kialiValues } from "../components/observability/kialiValues";
import { validateChartValues, validateCustomResource } from "../engine/manifests/validate";
import { federated, Labels, scrapedSample, selects, upSeries } from "./support/prometheus";
import { shippedPlan } from "./support/plan";
import { createdBeforeHandoff } from "./support/variants";
import { stackConfig, toRuntime } from "./support/stacks";

const PROMETHEUS_REPO = "https://prometheus-community.github.io/helm-charts";
const EVERYTHING: MeshRulesArgs = {
    clusterName: "c1", federatedClusters: ["c2"], enterpriseCa: true, intermediateNotAfterSeconds: 1_900_000_000, ingressCertificate: true, remoteClusters: 2, eastWestGateway: true,
};
/** The `observability` settings a stack gets by default. */
const OBSERVABILITY: ObservabilityConfig = observabilitySchema.parse({});

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

const allRules = (a: MeshRulesArgs): Rule[] => [...meshAlertRules(a, OBSERVABILITY).groups, ...meshRecordingRules(a).groups].flatMap((g) => g.rules);
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

type Grant = { namespace?: string; rules: Array<{ apiGroups: string[]; resources: string[]; verbs: string[] }> };
/** Kiali's service account, on the hub and, installed by the chart's remote-only release, on every other cluster. */
const KIALI = { kind: "ServiceAccount", name: "kiali", namespace: "istio-system" };
/**
 * What the plan grants Kiali's service account on one cluster, by Kubernetes RBAC (rbac.authorization.k8s.io/v1): a
 * RoleBinding grants its Role's rules in its own namespace, a ClusterRoleBinding grants everywhere.
 */
const kialiGrants = (plan: Plan, cluster: string): Grant[] => {
    const of = (kind: string) => onCluster(plan, `kubernetes:rbac.authorization.k8s.io/v1:${kind}`, cluster).map((r) => plain(r.inputs));
    const roles = [...of("Role"), ...of("ClusterRole")];
    return [...of("RoleBinding"), ...of("ClusterRoleBinding")]
        .filter((b) => b.subjects.some((s: any) => s.kind === KIALI.kind && s.name === KIALI.name && s.namespace === KIALI.namespace))
        .map((b) => ({ namespace: b.metadata.namespace, rules: roles.find((r) => r.metadata.name === b.roleRef.name && r.metadata.namespace === (b.roleRef.kind === "ClusterRole" ? undefined : b.metadata.namespace))!.rules }));
};
/** RBAC: "*" matches any resource of the group but no subresource; a namespace is read by name within itself. */
const can = (all: Grant[], verb: string, group: string, resource: string, namespace?: string) => all.some((g) => (g.namespace === undefined || g.namespace === namespace)
    && g.rules.some((r) => r.apiGroups.includes(group) && (r.resources.includes(resource) || (r.resources.includes("*") && !resource.includes("/"))) && r.verbs.includes(verb)));

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
        assert.match(byName.IstiodCertificateExpiring.expr, /^certmanager_certificate_expiration_timestamp_seconds\{cluster="c1",namespace="istio-system",name="istiod"\}/);
        assert.match(byName.IstiodRemoteClustersMissing.expr, /< 2$/);
        assert.match(byName[RECORDED.issuanceErrorRate].expr, /grpc_service="istio\.v1\.auth\.IstioCertificateService",grpc_method="CreateCertificate",grpc_code!="OK"/);
        for (const r of allRules(EVERYTHING).filter((x) => x.alert)) assert.ok(["warning", "critical"].includes(r.labels!.severity), r.alert);
    });

    it("groups every alert and recording rule by cluster, and reads the own cluster's series only; the hub alerts on each federation scrape", () => {
        const aggregations = (expr: string) => [...expr.matchAll(/\b(sum|max|min|avg|count)\s*(by\s*\(([^)]*)\))?\s*\(/g)];
        for (const r of allRules(EVERYTHING)) {
            const name = r.alert ?? r.record;
            for (const agg of aggregations(r.expr)) assert.ok(agg[3]?.split(",").map((l) => l.trim()).includes("cluster"), `${name}: ${agg[0]} keeps cluster`);
            // Scraped series carry cluster="c1" (metric relabelling); `up`, target labels only, carries none.
            for (const sel of r.expr.matchAll(/([a-zA-Z_:][\w:]*)\{([^}]*)\}/g)) {
                assert.ok(sel[2].split(",").includes(sel[1] === "up" ? 'cluster=""' : 'cluster="c1"'), `${name}: ${sel[0]} selects the own cluster's series`);
            }
            if (/^(absent|vector)\(/.test(r.expr)) assert.equal(r.labels?.cluster, "c1", `${name}: absent() and vector() keep no label, so the rule names its cluster`);
        }
        const byName = (alert: string) => allRules(EVERYTHING).filter((r) => r.alert === alert).map((r) => [r.labels!.cluster, r.expr, r.for]);
        assert.deepEqual(byName("IstiodDown"), [["c1", 'absent(up{cluster="",namespace="istio-system",app="istiod"} == 1)', "5m"]]);
        assert.deepEqual(byName("MetricsFederationFailing"), [["c2", 'up{cluster="",job="federate-c2"} == 0', FEDERATION_DOWN_FOR]]);
        assert.deepEqual(allRules({ ...EVERYTHING, federatedClusters: [] }).filter((r) => r.alert === "MetricsFederationFailing"), [], "only the hub federates");
    });

    it("a routine restart of a source's Prometheus does not page the hub; a lasting failure does (the chart's Recreate strategy)", () => {
        // prometheus-community/helm-charts prometheus-29.27.0 values.yaml: `server.strategy.type: Recreate`, so the
        // source answers no scrape from the old pod's stop (up to `terminationGracePeriodSeconds: 300`) until the new
        // one, its volume attached, answers; the hub scrapes every `scrape_interval: 1m`. An alert fires once its
        // expression has held at every evaluation for its `for` (prometheus/prometheus v3.14.0 rules/alerting.go).
        const seconds = (d: string) => Number(d.slice(0, -1)) * { s: 1, m: 60, h: 3600 }[d.slice(-1) as "s" | "m" | "h"];
        const fires = (failingForSeconds: number) => failingForSeconds >= seconds(FEDERATION_DOWN_FOR);
        assert.equal(fires(300 + 2 * 60), false, "a graceful restart, the volume's reattachment and a missed scrape");
        assert.equal(fires(30 * 60), true);
        assert.equal(seconds(allRules(EVERYTHING).find((r) => r.alert === "MetricsFederationFailing")!.for!), seconds(FEDERATION_DOWN_FOR));
    });

    it("leaves out what a cluster does not run: no issuance rules without istio-csr, no multi-cluster rules alone", () => {
        const alone = allRules({ clusterName: "c1", enterpriseCa: false, ingressCertificate: false, remoteClusters: 0, eastWestGateway: false });
        assert.deepEqual(alone.map((r) => r.alert ?? r.record), ["CertificateNotReady", "IstiodDown"]);
    });

    it("chart values validate against the prometheus chart's schema in every role", () => {
        const rules = { alerting: meshAlertRules(EVERYTHING, OBSERVABILITY), recording: meshRecordingRules(EVERYTHING) };
        const base = { clusterName: "c1", meshId: "m", observability: OBSERVABILITY, enterpriseCa: true, ...rules };
        const remoteWrite = (url: string, remoteWriteAuth?: ObservabilityConfig["remoteWriteAuth"]) => ({ ...base, observability: { ...OBSERVABILITY, aggregation: "remoteWrite" as const, remoteWriteUrl: url, remoteWriteAuth } });
        for (const v of [
            prometheusValues({ ...base, federation: { role: "hub", sources: ["c2", "c3"] } }),
            prometheusValues({ ...base, federation: { role: "source" } }),
            prometheusValues(remoteWrite("https://metrics.example.com/api/v1/write")),
            prometheusValues(remoteWrite("https://metrics.example.com/api/v1/write", { type: "basic", secretName: "rw", usernameKey: "u", passwordKey: "p" })),
            prometheusValues(remoteWrite("https://aps.example.com/api/v1/remote_write", { type: "sigv4", region: "us-east-1", credentialsSecret: "amp" })),
        ]) {
            assert.deepEqual(validateChartValues("prometheus", "29.27.0", v, { repo: PROMETHEUS_REPO }), []);
        }
        assert.deepEqual(validateChartValues("prometheus", "29.27.0", { server: { retention: 15 } }, { repo: PROMETHEUS_REPO }), ["server.retention: must be string, not 15"]);
    });

    it("Telemetry: access logs through the envoy provider and the sampling percentage, valid against the CRD", () => {
        const spec = meshTelemetrySpec({ ...OBSERVABILITY, accessLogs: true, traceSamplingPercent: 2.5, tracingCollector: { service: "otel-collector.observability.svc.cluster.local", port: 4317 } });
        assert.deepEqual(spec, { accessLogging: [{ providers: [{ name: "envoy" }] }], tracing: [{ randomSamplingPercentage: 2.5, providers: [{ name: "otel-tracing" }] }] });
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

    it("refuses in prod a central query URL without Kiali's credentials, and query credentials without a query URL", () => {
        const prodIssues = (mutate: (o: Record<string, any>) => void) => issues(mutate, "prod");
        assert.deepEqual(prodIssues((o) => delete o.queryAuth), [
            "istio-production:observability.queryAuth: is required with queryUrl in environment prod: without it Kiali queries the central store unauthenticated, which either refuses it or serves every cluster's metrics to anyone (bearer or basic from a Secret in istio-system)"]);
        assert.deepEqual(prodIssues((o) => ((o.queryAuth = { type: "basic", secretName: "metrics-query" }))), []);
        assert.deepEqual(prodIssues((o) => delete o.queryUrl), ["istio-production:observability.queryAuth: is only read with queryUrl (Kiali's credentials for it)"]);
        assert.deepEqual(prodIssues((o) => ((delete o.queryUrl), (delete o.queryAuth))), [], "Kiali then reads the hub's own Prometheus, in the cluster");
        assert.match(prodIssues((o) => (o.queryAuth = { type: "sigv4", region: "us-east-1" })).join("\n"), /queryAuth\.type: type must be "bearer" or "basic"/);
        assert.deepEqual(issues((o) => ((o.aggregation = "remoteWrite"), (o.remoteWriteUrl = "https://m.example.com/w"), (o.queryUrl = "https://m.example.com/q"))), [], "optional outside prod");
        assert.match(issues((o) => (o.queryAuth = { type: "bearer", secretName: "q" })).join("\n"), /observability\.queryAuth: is only read with aggregation: remoteWrite/);
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
        assert.deepEqual(down.map((r: any) => [r.labels.cluster, fires(r.expr)]), [[hubName, true]]);
        assert.equal(fires('absent(up{namespace="istio-system",app="istiod"} == 1)'), false, "without a cluster matcher the source's istiod masks the hub's");
    });

    it("each alert is raised once, by the cluster it is about; a failed federation scrape raises one alert on the hub, not one per component (Prometheus' model)", () => {
        const [hubName, sourceName] = ["staging-aws-euw1", "staging-aws-euc1"];
        const hub = values(releaseOf(staging, "prometheus", hubName));
        const source = values(releaseOf(staging, "prometheus", sourceName));
        const rules = (v: any): Rule[] => v.serverFiles["alerting_rules.yml"].groups.flatMap((g: any) => g.rules);
        type Stored = Labels & { value: string };
        // What a rule can see: an alert fires only from series its selectors match (prometheus/prometheus v3.14.0
        // promql). `absent(S == 1)` fires when no stored series matches S with the value 1, `S == 0` for each that
        // matches with 0, each with the rule's labels over the series' own.
        const selectors = (expr: string) => [...expr.matchAll(/[a-zA-Z_:][\w:]*\{[^}]*\}/g)].map((x) => x[0]);
        const firing = (v: any, stored: Stored[]) => rules(v).flatMap((r) => {
            const absent = /^absent\((.*?)\s*==\s*1\)$/.exec(r.expr);
            if (absent) return stored.some((s) => s.value === "1" && selects(absent[1], s)) ? [] : [`${r.alert}{${r.labels!.cluster}}`];
            const zero = /^(\S+\{[^}]*\})\s*==\s*0$/.exec(r.expr);
            if (zero) return stored.filter((s) => s.value === "0" && selects(zero[1], s)).map((s) => `${r.alert}{${r.labels?.cluster ?? s.cluster}}`);
            // Any other rule needs series of its own selectors; these scenarios store only `up`.
            assert.ok(selectors(r.expr).every((sel) => !stored.some((s) => selects(sel, s))), `${r.alert}: evaluated in the scenario`);
            return [];
        });
        // Each cluster's targets as its own Prometheus stores their `up` (target labels, no cluster label).
        const targets: Labels[] = [
            { job: "kubernetes-pods", namespace: "istio-system", app: "istiod", pod: "istiod-0" },
            { job: "istio-csr", namespace: "cert-manager", pod: "istio-csr-0" },
            // The east-west gateway runs in its own namespace (issue 15), its Service and pods labelled by the chart.
            { job: "kubernetes-pods", namespace: "istio-eastwest", app: "istio-eastwestgateway", pod: "eastwest-0" },
        ];
        const ups = (down: string[] = []): Stored[] => targets.map((t) => ({ ...upSeries(t), value: down.includes(t.pod) ? "0" : "1" }));
        const federation = (value: string): Stored => ({ ...upSeries({ job: `federate-${sourceName}`, instance: `prometheus-${sourceName}.monitoring.svc.cluster.local:9090` }), value });
        const viaFederation = (series: Stored[]) => series.filter((s) => selects('{job=~"kubernetes-pods|istio-csr"}', s)).map((s) => federated(s, source.server.global.external_labels) as Stored);
        assert.deepEqual(hub.scrapeConfigs[`federate-${sourceName}`].params["match[]"][0], '{job=~"kubernetes-pods|istio-csr"}', "what the hub federates");
        // The source's istiod is down: the source raises it, the hub (which holds the source's series) does not again.
        const sourceStored = ups(["istiod-0"]);
        assert.deepEqual(firing(source, sourceStored), [`IstiodDown{${sourceName}}`]);
        assert.deepEqual(firing(hub, [...ups(), federation("1"), ...viaFederation(sourceStored)]), []);
        // The hub cannot federate the source (its Prometheus restarting, or down): once the federated series have
        // gone stale, only the scrape's own alert fires, about the source.
        assert.deepEqual(firing(hub, [...ups(), federation("0")]), [`MetricsFederationFailing{${sourceName}}`]);
        // The hub's own components are still watched.
        assert.deepEqual(firing(hub, [...ups(["istio-csr-0"]), federation("1"), ...viaFederation(ups())]), [`IstioCsrDown{${hubName}}`]);
    });

    it("alerts on each cluster's own intermediate, at the expiry of the certificate it was handed", () => {
        for (const cluster of ["prod-aws-use1", "prod-gcp-usc1"]) {
            // The certificate the pki stack signed for the cluster, whichever backend holds its key.
            const intermediate = (stackOutputs(prod.referencedGraphs.get("pki-prod")!).outputs as any).intermediates[cluster].certPem;
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

    it("Kiali queries the central store with the credentials of queryAuth, read from its Secret where Kiali reads them (Kiali 2.29's model)", () => {
        // kiali/helm-charts v2.29.0 templates/_helpers.tpl (`extract-secret`, `process-auth-secrets`): each of
        // external_services.prometheus.auth's username, password and token matching `^secret:.+:.+` is the Secret key
        // mounted at /kiali-override-secrets/prometheus-<field>/value.txt; kiali/kiali v2.29.0 config/config.go reads
        // the credential there, and sends `bearer` as a bearer token, `basic` as user and password; `none` by default.
        const sent = (v: any) => {
            const auth = v.external_services.prometheus.auth ?? { type: "none" };
            const mounted = (field: string) => {
                const value = auth[field];
                if (typeof value !== "string" || !/^secret:.+:.+/.test(value)) return undefined;
                const [, secret, ...key] = value.split(":");
                return { file: `/kiali-override-secrets/prometheus-${field}/value.txt`, secret, key: key.join(":") };
            };
            if (auth.type === "bearer") return { scheme: "Bearer", credentials: [mounted("token")] };
            if (auth.type === "basic") return { scheme: "Basic", credentials: [mounted("username"), mounted("password")] };
            return { scheme: auth.type };
        };
        const kiali = values(releaseOf(prod, "kiali", "prod-aws-use1"));
        assert.equal(kiali.external_services.prometheus.url, stackConfig("prod").observability.queryUrl);
        assert.deepEqual(sent(kiali), { scheme: "Bearer", credentials: [{ file: "/kiali-override-secrets/prometheus-token/value.txt", secret: "metrics-query", key: "token" }] });
        const basic = kialiValues({
            observability: {
                ...OBSERVABILITY, aggregation: "remoteWrite", remoteWriteUrl: "https://w.example.com", kialiAuth: { strategy: "anonymous" },
                queryUrl: "https://q.example.com", queryAuth: { type: "basic", secretName: "q", usernameKey: "user", passwordKey: "pass" },
            },
            localPrometheusUrl: "http://prometheus-server.monitoring.svc:80", remoteClusters: [], highAvailability: false, namespaces: ["istio-system"],
        });
        assert.equal(basic.external_services.prometheus.url, "https://q.example.com");
        assert.deepEqual(sent(basic), { scheme: "Basic", credentials: [
            { file: "/kiali-override-secrets/prometheus-username/value.txt", secret: "q", key: "user" },
            { file: "/kiali-override-secrets/prometheus-password/value.txt", secret: "q", key: "pass" },
        ] });
        assert.deepEqual(sent(values(releaseOf(staging, "kiali", "staging-aws-euw1"))), { scheme: "none" }, "the hub's own Prometheus, inside the cluster");
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
        const sigv4 = await createdBeforeHandoff({ stack: "prod", config: toRuntime(config) });
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

    it("Kiali reads its home cluster's mesh namespaces and every other cluster whole, read-only: no port-forward, no logs, no secrets (Kiali 2.29's and RBAC's model)", () => {
        // kiali/kiali v2.29.0 cmd/server.go: the kinds Kiali caches (`makeWatchErrorHandler`'s informers; GatewayClass,
        // cluster-scoped, is listed only with cluster_wide_access, cache/cache.go `GatewayAPIClasses`), as RBAC names them.
        const CACHED: Array<[string, string]> = [
            ...["pods", "services", "configmaps"].map((r): [string, string] => ["", r]),
            ...["statefulsets", "daemonsets", "deployments", "replicasets"].map((r): [string, string] => ["apps", r]),
            ...["cronjobs", "jobs"].map((r): [string, string] => ["batch", r]),
            ...["gateways", "destinationrules", "sidecars", "serviceentries", "virtualservices", "workloadentries", "workloadgroups", "envoyfilters"].map((r): [string, string] => ["networking.istio.io", r]),
            ...["trafficextensions", "wasmplugins"].map((r): [string, string] => ["extensions.istio.io", r]),
            ...["authorizationpolicies", "peerauthentications", "requestauthentications"].map((r): [string, string] => ["security.istio.io", r]),
            ["telemetry.istio.io", "telemetries"],
            ...["gateways", "httproutes", "grpcroutes", "referencegrants", "tlsroutes", "tcproutes"].map((r): [string, string] => ["gateway.networking.k8s.io", r]),
            ["inference.networking.k8s.io", "inferencepools"],
        ];
        // `newManager`: the home cluster's cache watches the accessible namespaces (all of them with cluster-wide
        // access), every remote cluster's cache (`cluster.New`) watches all namespaces; a Forbidden list or watch
        // shuts that cluster's cache down. Namespaces are then read one by one by name (business/namespaces.go
        // `getNamespacesByCluster`, without cluster-wide access), on the remote clusters too.
        const cacheScopes = (v: any, home: boolean, accessible: string[]): Array<string | undefined> => (home && v.deployment.cluster_wide_access === false ? accessible : [undefined]);
        // kiali/helm-charts v2.29.0: the chart renders its viewer role, with pods/portforward, unless skipResources
        // names "clusterrole" (templates/role-viewer.yaml, _helpers.tpl `isSkippedResource`).
        const chartGrants = (v: any): Grant[] => (v.skipResources ?? []).includes("clusterrole") ? [] :
            [{ rules: [{ apiGroups: [""], resources: ["pods", "namespaces"], verbs: ["get", "list", "watch"] }, { apiGroups: [""], resources: ["pods/portforward"], verbs: ["create"] }] }];
        const anywhere = (all: Grant[], verb: string, resource: string, namespaces: string[]) => [undefined, ...namespaces, "kube-system"].some((ns) => can(all, verb, "", resource, ns));
        for (const [plan, hub, remote] of [[staging, "staging-aws-euw1", "staging-aws-euc1"], [prod, "prod-aws-use1", "prod-gcp-usc1"]] as const) {
            const meshNamespaces = [...new Set((stackConfig(plan.settings.stack).services as Array<{ namespace: string }>).map((s) => s.namespace))];
            const hubValues = values(releaseOf(plan, "kiali", hub));
            // Kiali without cluster-wide access reads the namespaces its selectors name (config/config.go `extractAccessibleNamespaceList`).
            const accessible = hubValues.deployment.discovery_selectors.default.flatMap((sel: any) => sel.matchExpressions
                .filter((e: any) => e.key === "kubernetes.io/metadata.name" && e.operator === "In").flatMap((e: any) => e.values));
            // The gateways are Istio workloads Kiali draws (the edge, the hops between clusters) only from a namespace it reads.
            const gatewayNamespaces = plan.graph.resources.filter((r) => r.type === "kubernetes:helm.sh/v3:Release" && plain(r.inputs).chart === "gateway").map((r) => plain(r.inputs).namespace);
            assert.deepEqual(accessible.sort(), [...new Set(["istio-system", ...gatewayNamespaces, ...meshNamespaces])].sort());
            for (const [cluster, home] of [[hub, true], [remote, false]] as const) {
                const all = [...kialiGrants(plan, cluster), ...chartGrants(values(releaseOf(plan, "kiali", cluster)))];
                for (const scope of cacheScopes(hubValues, home, accessible)) {
                    for (const [group, resource] of CACHED) {
                        assert.ok(can(all, "list", group, resource, scope) && can(all, "watch", group, resource, scope), `${cluster}: Kiali's cache lists and watches ${group}/${resource} in ${scope ?? "all namespaces"}`);
                    }
                }
                for (const ns of accessible) assert.ok(can(all, "get", "", "namespaces", ns), `${cluster}: reads namespace ${ns}`);
                assert.ok(!anywhere(all, "create", "pods/portforward", accessible), `${cluster}: no port-forward`);
                assert.ok(!anywhere(all, "get", "pods/log", accessible), `${cluster}: no logs`);
                assert.ok(!anywhere(all, "get", "secrets", accessible) && !anywhere(all, "list", "secrets", accessible), `${cluster}: no secrets`);
                assert.ok(can([...kialiGrants(plan, cluster), ...chartGrants({})], "create", "", "pods/portforward", "shop"), "the chart's own role would grant port-forward");
            }
            assert.ok(!can(kialiGrants(plan, hub), "list", "", "pods", undefined) && !can(kialiGrants(plan, hub), "list", "", "pods", "kube-system"), "the home cluster: the mesh's namespaces only");
            // The remote grant belongs to the account whose token the hub holds, the one the chart installed there.
            const token = onCluster(plan, "kubernetes:core/v1:Secret", remote).find((r) => plain(r.inputs).type === "kubernetes.io/service-account-token" && /^kiali-remote-token-/.test(plain(r.inputs).metadata.name))!;
            assert.equal(plain(token.inputs).metadata.annotations["kubernetes.io/service-account.name"], KIALI.name);
            assert.equal(plain(token.inputs).metadata.namespace, KIALI.namespace);
            assert.deepEqual(hubValues.kiali_feature_flags.disabled_features, ["logs-tab"]);
        }
    });

    it("Kiali takes each istiod's status from its workloads' health, not from a port-forward its roles refuse (Kiali 2.29's model)", () => {
        // kiali/kiali v2.29.0: istio_api_enabled is on by default (config/config.go `NewConfig`). With it, a control
        // plane's status is istiod's /ready fetched through a port-forward (istio/discovery.go
        // `canConnectToIstiodForRevision`, kubernetes/kubernetes.go `ForwardGetRequest`), Unreachable when that fails;
        // without it, the health of the istiod namespace's workloads (business/istio_status.go `GetStatus`).
        const controlPlaneStatus = (v: any, portForward: boolean, workloadsHealthy: boolean) => (v.external_services.istio.istio_api_enabled ?? true)
            ? (portForward ? "Healthy" : "Unreachable")
            : (workloadsHealthy ? "Healthy" : "Unhealthy");
        for (const [plan, hub, remote] of [[staging, "staging-aws-euw1", "staging-aws-euc1"], [prod, "prod-aws-use1", "prod-gcp-usc1"]] as const) {
            const v = values(releaseOf(plan, "kiali", hub));
            for (const cluster of [hub, remote]) {
                const portForward = can(kialiGrants(plan, cluster), "create", "", "pods/portforward", "istio-system");
                assert.deepEqual([controlPlaneStatus(v, portForward, true), controlPlaneStatus(v, portForward, false)], ["Healthy", "Unhealthy"], cluster);
                const { istio_api_enabled: _, ...chartDefault } = v.external_services.istio;
                assert.equal(controlPlaneStatus({ external_services: { istio: chartDefault } }, portForward, true), "Unreachable", `${cluster}: with the default, a healthy istiod shows Unreachable`);
            }
        }
    });

    it("Kiali's roles are the chart's viewer role less port-forward, logs, and what EKS and GKE do not serve or Kiali does not use here", () => {
        // kiali/helm-charts v2.29.0 templates/role-viewer.yaml, as rendered with the logs tab enabled.
        const CHART_VIEWER = [
            { apiGroups: [""], resources: ["configmaps", "pods/log"], verbs: ["get", "list", "watch"] },
            { apiGroups: [""], resources: ["namespaces", "pods", "replicationcontrollers", "services"], verbs: ["get", "list", "watch"] },
            { apiGroups: [""], resources: ["pods/portforward"], verbs: ["create"] },
            { apiGroups: ["apps"], resources: ["daemonsets", "deployments", "replicasets", "statefulsets"], verbs: ["get", "list", "watch"] },
            { apiGroups: ["batch"], resources: ["cronjobs", "jobs"], verbs: ["get", "list", "watch"] },
            { apiGroups: ["networking.istio.io", "security.istio.io", "extensions.istio.io", "telemetry.istio.io", "inference.networking.k8s.io"], resources: ["*"], verbs: ["get", "list", "watch"] },
            { apiGroups: ["gateway.networking.k8s.io"], resources: ["gatewayclasses", "gateways", "grpcroutes", "httproutes", "referencegrants", "tcproutes", "tlsroutes"], verbs: ["get", "list", "watch"] },
            { apiGroups: ["apps.openshift.io"], resources: ["deploymentconfigs"], verbs: ["get", "list", "watch"] },
            { apiGroups: ["route.openshift.io"], resources: ["routes"], verbs: ["get"] },
            { apiGroups: ["authentication.k8s.io"], resources: ["tokenreviews"], verbs: ["create"] },
            { apiGroups: ["oauth.openshift.io"], resources: ["oauthclients"], verbs: ["get"] },
            { apiGroups: ["admissionregistration.k8s.io"], resources: ["mutatingwebhookconfigurations"], verbs: ["list"] },
        ];
        // Into workloads: every proxy's Envoy admin port, and logs. OpenShift's groups exist on neither cloud;
        // tokenreviews serve only the `header` login (kiali/kiali v2.29.0 handlers/authentication/header_auth_controller.go).
        const DROPPED = new Set(["/pods/log", "/pods/portforward", "authentication.k8s.io/tokenreviews"]);
        const permissions = (rules: Array<{ apiGroups: string[]; resources: string[]; verbs: string[] }>) => new Set(rules.flatMap((r) => r.apiGroups.flatMap((g) => r.resources.flatMap((res) => r.verbs.map((v) => `${g}/${res}:${v}`)))));
        const expected = [...permissions(CHART_VIEWER)].filter((p) => !DROPPED.has(p.split(":")[0]) && !p.includes("openshift.io/")).sort();
        const role = (plan: Plan, cluster: string, kind: string) => plain(onCluster(plan, `kubernetes:rbac.authorization.k8s.io/v1:${kind}`, cluster).find((r) => plain(r.inputs).metadata.name === "kiali-viewer")!.inputs).rules;
        assert.deepEqual([...permissions(role(prod, "prod-gcp-usc1", "ClusterRole"))].sort(), expected);
        // A Role can grant no cluster-scoped resource: the hub's holds the rest.
        assert.deepEqual([...permissions(role(prod, "prod-aws-use1", "Role"))].sort(), expected.filter((p) => !p.startsWith("admissionregistration.k8s.io/")));
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
        const plan = await planStack({ stack: "staging", config: toRuntime(config), mode: "created" });
        for (const istiod of plan.graph.resources.filter((r) => r.type === "kubernetes:helm.sh/v3:Release" && plain(r.inputs).name === "istiod")) {
            assert.deepEqual(plain(istiod.inputs).values.meshConfig.extensionProviders,
                [{ name: "otel-tracing", opentelemetry: { service: "otel-collector.observability.svc.cluster.local", port: 4317 } }]);
        }
        const telemetry = plan.graph.resources.filter((r) => r.type === "kubernetes:telemetry.istio.io/v1:Telemetry").map((r) => plain(r.inputs).spec);
        assert.ok(telemetry.length > 0);
        for (const t of telemetry) assert.deepEqual(t.tracing[0].providers, [{ name: "otel-tracing" }]);
    });
});

