import * as crypto from "node:crypto";
import { RemoteWriteAuth } from "../../config/observability";
import { CERT_MANAGER_NAMESPACE, EASTWEST_NAMESPACE, ISTIO_NAMESPACE, MONITORING_NAMESPACE } from "../kubernetes/names";
import { KIALI_INSTANCE } from "./kialiValues";
import { TARGET_CLUSTER_LABEL } from "./metrics";
import { federationJob, ISTIO_CSR_JOB, RuleGroup } from "./rules";

/**
 * Values of the Prometheus community chart `prometheus` (29.27.0, app v3.14.0), one release per cluster. The
 * chart's default jobs already scrape what the mesh annotates for Prometheus: sidecars and gateways (merged metrics
 * on 15020), istiod (15014) and cert-manager (9402); istio-csr annotates nothing, so it gets a job of its own.
 */

export const PROMETHEUS_RELEASE = "prometheus";
/** The chart's server Service (port 80) and service account: `<release>-server`. */
export const PROMETHEUS_SERVER = `${PROMETHEUS_RELEASE}-server`;
export const PROMETHEUS_PORT = 9090;
/** Pod labels the chart puts on the server. */
export const PROMETHEUS_SERVER_LABELS = { "app.kubernetes.io/name": "prometheus", "app.kubernetes.io/component": "server", "app.kubernetes.io/instance": PROMETHEUS_RELEASE };

/**
 * The Service that names one cluster's Prometheus across the mesh. Istio merges same-named Services of all clusters,
 * so each cluster's server needs a name of its own for the hub to federate it alone.
 */
export const clusterPrometheusService = (cluster: string) => `prometheus-${cluster}`;
export const clusterPrometheusHost = (cluster: string) => `${clusterPrometheusService(cluster)}.${MONITORING_NAMESPACE}.svc.cluster.local`;

/**
 * The scrape jobs the chart defines (prometheus-community/helm-charts prometheus-29.27.0 values.yaml `scrapeConfigs`);
 * Helm merges this project's keys into each, so they need not be restated.
 */
const CHART_SCRAPE_JOBS = [
    "prometheus", "kubernetes-api-servers", "kubernetes-nodes", "kubernetes-nodes-cadvisor", "kubernetes-service-endpoints",
    "kubernetes-service-endpoints-slow", "prometheus-pushgateway", "kubernetes-services", "kubernetes-pods", "kubernetes-pods-slow",
] as const;

/**
 * Every series scraped on a cluster carries that cluster's name as `cluster`, as stored, not only once federated or
 * written out (external labels are attached only on the way out): rules evaluated where several clusters' series
 * meet, the hub, can then tell them apart. A target's own `cluster` label moves to `exported_cluster`, Prometheus'
 * own name for a displaced label. Metric relabelling runs after target labels are merged, so it wins even with the
 * chart's `honor_labels: true` (prometheus/prometheus v3.14.0 scrape/scrape.go, `mutateSampleLabels`); it does not
 * reach the series Prometheus writes about each scrape (`up`), which rules select with `cluster=""`.
 */
export function clusterLabelling(clusterName: string) {
    return [
        { source_labels: ["cluster"], regex: "(.+)", target_label: TARGET_CLUSTER_LABEL, replacement: "$1" },
        { target_label: "cluster", replacement: clusterName },
    ];
}

/** What the hub federates from each source cluster: the mesh's series and the sources' recorded issuance rules. */
const FEDERATED_SERIES = ['{job=~"kubernetes-pods|istio-csr"}', '{__name__=~"mesh:.+"}'];

/**
 * Federation goes through the mesh: the hub's sidecar carries its requests to a source's Prometheus over mTLS and the
 * east-west gateways. Only that traffic is captured; scrapes of other pods keep going out directly, and the hub's own
 * port stays outside the mesh for local readers such as Kiali.
 */
export type FederationRole = { readonly role: "hub"; readonly sources: readonly string[] } | { readonly role: "source" };

export interface PrometheusValuesArgs {
    readonly clusterName: string;
    readonly meshId: string;
    readonly retentionDays: number;
    readonly istioCsr: boolean;
    /** Remote-write aggregation: where every sample goes too. */
    readonly remoteWrite?: RemoteWriteArgs;
    readonly federation?: FederationRole;
    readonly alerting: { groups: readonly RuleGroup[] };
    readonly recording: { groups: readonly RuleGroup[] };
}

export interface RemoteWriteArgs {
    readonly url: string;
    readonly auth?: RemoteWriteAuth;
    /** The server's service account acts as `auth.roleArn` (EKS Pod Identity): no keys needed. */
    readonly roleBound: boolean;
}

/** Where the remote-write Secret is mounted in the server container. */
export const REMOTE_WRITE_CREDENTIALS = "/etc/prometheus/remote-write";
/** The keys the AWS SDK reads from the environment (Prometheus' sigv4: "If blank, the environment variables ... are used"). */
const AWS_KEYS = ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"];

/**
 * The chart values that send every sample to the central store, authenticated (prometheus/prometheus v3.14.0
 * docs/configuration/configuration.md `<remote_write>`: `authorization.credentials_file`, `basic_auth.username_file`
 * and `password_file`, `sigv4`; at most one of them): files from the Secret mounted with the chart's
 * `server.extraSecretMounts`, or AWS credentials from Pod Identity or from the Secret as environment variables.
 */
function remoteWriteValues(rw: RemoteWriteArgs) {
    const auth = rw.auth;
    const file = (key: string) => `${REMOTE_WRITE_CREDENTIALS}/${key}`;
    const mounted = (secretName: string) => ({ extraSecretMounts: [{ name: "remote-write-credentials", mountPath: REMOTE_WRITE_CREDENTIALS, subPath: "", secretName, readOnly: true }] });
    switch (auth?.type) {
        case undefined:
            return { remoteWrite: [{ url: rw.url }] };
        case "bearer":
            return { remoteWrite: [{ url: rw.url, authorization: { type: "Bearer", credentials_file: file(auth.key) } }], ...mounted(auth.secretName) };
        case "basic":
            return { remoteWrite: [{ url: rw.url, basic_auth: { username_file: file(auth.usernameKey), password_file: file(auth.passwordKey) } }], ...mounted(auth.secretName) };
        case "sigv4": {
            const keys = rw.roleBound ? undefined : auth.credentialsSecret;
            return {
                remoteWrite: [{ url: rw.url, sigv4: { region: auth.region, ...(keys && auth.roleArn ? { role_arn: auth.roleArn } : {}) } }],
                ...(keys ? { env: AWS_KEYS.map((name) => ({ name, valueFrom: { secretKeyRef: { name: keys, key: name } } })) } : {}),
            };
        }
    }
}

const SIDECAR_ONLY_FOR = {
    hub: {
        "traffic.sidecar.istio.io/includeInboundPorts": "",
        "traffic.sidecar.istio.io/includeOutboundIPRanges": "",
        "traffic.sidecar.istio.io/includeOutboundPorts": String(PROMETHEUS_PORT),
    },
    source: {
        "traffic.sidecar.istio.io/includeInboundPorts": String(PROMETHEUS_PORT),
        "traffic.sidecar.istio.io/includeOutboundIPRanges": "",
    },
} as const;

export function prometheusValues(a: PrometheusValuesArgs) {
    const sources = a.federation?.role === "hub" ? a.federation.sources : [];
    const config = {
        serverFiles: { "alerting_rules.yml": a.alerting, "recording_rules.yml": a.recording },
        scrapeConfigs: {
            ...Object.fromEntries(CHART_SCRAPE_JOBS.map((job) => [job, { metric_relabel_configs: clusterLabelling(a.clusterName) }])),
            ...(a.istioCsr ? {
                [ISTIO_CSR_JOB]: {
                    metric_relabel_configs: clusterLabelling(a.clusterName),
                    kubernetes_sd_configs: [{ role: "endpointslice", namespaces: { names: [CERT_MANAGER_NAMESPACE] } }],
                    relabel_configs: [
                        { source_labels: ["__meta_kubernetes_service_name", "__meta_kubernetes_endpointslice_port_name"], regex: "cert-manager-istio-csr-metrics;metrics", action: "keep" },
                        { source_labels: ["__meta_kubernetes_pod_name"], target_label: "pod" },
                    ],
                },
            } : {}),
            ...Object.fromEntries(sources.map((source) => [federationJob(source), {
                honor_labels: true,
                metrics_path: "/federate",
                params: { "match[]": FEDERATED_SERIES },
                static_configs: [{ targets: [`${clusterPrometheusHost(source)}:${PROMETHEUS_PORT}`] }],
            }])),
        },
    };
    const server = {
        // Every series says which cluster and mesh it came from once aggregated (federation keeps them, honor_labels).
        global: { external_labels: { cluster: a.clusterName, mesh_id: a.meshId } },
        retention: `${a.retentionDays}d`,
        ...(a.remoteWrite ? remoteWriteValues(a.remoteWrite) : {}),
    };
    return {
        ...config,
        server: {
            ...server,
            // The chart's only default flag is --web.enable-lifecycle (values.yaml `server.extraFlags`), with which any
            // pod that reaches port 9090 can POST /-/quit (prometheus/prometheus v3.14.0 web/web.go).
            extraFlags: [],
            ...(a.federation ? { podLabels: { "sidecar.istio.io/inject": "true" } } : {}),
            podAnnotations: {
                ...(a.federation ? SIDECAR_ONLY_FOR[a.federation.role] : {}),
                // Without the lifecycle API the chart's reloader cannot reload (its POST to /-/reload is answered 403),
                // so a change of configuration or rules restarts the server instead.
                "checksum/config": crypto.createHash("sha256").update(JSON.stringify({ ...config, server })).digest("hex"),
            },
        },
        configmapReload: { prometheus: { enabled: false } },
        "prometheus-pushgateway": { enabled: false },
    };
}

/** Pod labels the `kiali-server` chart gives Kiali (kiali/helm-charts v2.29.0 templates/_helpers.tpl `selectorLabels`). */
const KIALI_POD_LABELS = { "app.kubernetes.io/name": "kiali", "app.kubernetes.io/instance": KIALI_INSTANCE };
/** Pod labels of the east-west gateway (eastWestGatewayValues). */
const EAST_WEST_POD_LABELS = { istio: "eastwestgateway" };

export interface PrometheusNetworkPolicyArgs {
    /** Kiali runs on this cluster and reads this Prometheus. */
    readonly kiali: boolean;
    /** A federation source: the hub's requests arrive through this cluster's east-west gateway. */
    readonly federationSource: boolean;
}

/**
 * Who may open a connection to the Prometheus server: Kiali on its cluster, and on a federation source the east-west
 * gateway that carries the hub's mTLS requests (its sidecar and AuthorizationPolicy then admit the hub alone). Nobody
 * else: with no rule, a NetworkPolicy that selects the server denies every other ingress.
 */
export function prometheusNetworkPolicySpec(a: PrometheusNetworkPolicyArgs) {
    const from = (namespace: string, podLabels: Record<string, string>) => ({
        namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": namespace } },
        podSelector: { matchLabels: { ...podLabels } },
    });
    const peers = [
        ...(a.kiali ? [from(ISTIO_NAMESPACE, KIALI_POD_LABELS)] : []),
        ...(a.federationSource ? [from(EASTWEST_NAMESPACE, EAST_WEST_POD_LABELS)] : []),
    ];
    return {
        podSelector: { matchLabels: { ...PROMETHEUS_SERVER_LABELS } },
        policyTypes: ["Ingress"],
        ingress: peers.length ? [{ from: peers, ports: [{ protocol: "TCP", port: PROMETHEUS_PORT }] }] : [],
    };
}
