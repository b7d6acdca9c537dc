import { ObservabilityConfig } from "../../config/observability";
import { EASTWEST_GATEWAY, EASTWEST_NAMESPACE, INGRESS_NAMESPACE, ISTIO_NAMESPACE } from "../kubernetes/names";
import { ISTIO_CERTIFICATE_SERVICE, METRICS, MetricKey, TARGET_CLUSTER_LABEL } from "./metrics";

/** The scrape job of istio-csr's metrics Service (the chart serves no Prometheus annotations). */
export const ISTIO_CSR_JOB = "istio-csr";
/** The hub's scrape job that federates one source cluster's Prometheus. */
export const federationJob = (source: string) => `federate-${source}`;

/** What the rules of one cluster's Prometheus cover. */
export interface MeshRulesArgs {
    /** The cluster whose Prometheus evaluates the rules: its scraped series carry `cluster="<clusterName>"`. */
    readonly clusterName: string;
    /** The source clusters this Prometheus federates (the hub's). @default none */
    readonly federatedClusters?: readonly string[];
    /** istio-csr is the mesh CA: issuance rules and istiod's certificate. */
    readonly enterpriseCa: boolean;
    /** When this cluster's intermediate CA expires (Unix seconds); absent without one. */
    readonly intermediateNotAfterSeconds?: number;
    /** cert-manager issues the ingress gateway's certificate. */
    readonly ingressCertificate: boolean;
    /** How many other clusters this cluster's istiod watches (0: none, no multi-cluster rules). */
    readonly remoteClusters: number;
    /** The cluster runs an east-west gateway: rules for its health. */
    readonly eastWestGateway: boolean;
}

export interface Rule {
    readonly record?: string;
    readonly alert?: string;
    readonly expr: string;
    readonly for?: string;
    readonly labels?: Record<string, string>;
    readonly annotations?: Record<string, string>;
}

export interface RuleGroup {
    readonly name: string;
    readonly rules: readonly Rule[];
}

const m = (k: MetricKey) => METRICS[k].name;
const DAY = 86_400;
const CREATE_CERTIFICATE = `grpc_service="${ISTIO_CERTIFICATE_SERVICE}",grpc_method="CreateCertificate"`;
/** The CertificateRequest controller of cert-manager's CA issuer: it signs every workload certificate istio-csr asks for. */
const CA_ISSUER_CONTROLLER = `controller="certificaterequests-issuer-ca"`;
// Certificate names of this project: istio-csr's chart names istiod's `istiod`; IngressGateway's secret is `ingress-tls`.
const ISTIOD_CERTIFICATE = `namespace="${ISTIO_NAMESPACE}",name="istiod"`;
const INGRESS_CERTIFICATE = `namespace="${INGRESS_NAMESPACE}",name="ingress-tls"`;

export const RECORDED = {
    issuanceRate: "mesh:istio_csr_issuance:rate5m",
    issuanceErrorRate: "mesh:istio_csr_issuance_errors:rate5m",
    issuanceLatencyP50: "mesh:istio_csr_issuance_latency_seconds:p50_5m",
    issuanceLatencyP99: "mesh:istio_csr_issuance_latency_seconds:p99_5m",
    caIssuerSyncRate: "mesh:cert_manager_ca_issuer_syncs:rate5m",
} as const;

/**
 * Issuance at scale: rate, errors and latency of workload certificates, as Prometheus rule groups. Each cluster records
 * its own series only (`cluster="<clusterName>"`), by cluster: the hub receives the sources' recordings by federation,
 * and recording theirs again would write a second series of the same name and labels.
 */
export function meshRecordingRules(a: MeshRulesArgs): { groups: RuleGroup[] } {
    if (!a.enterpriseCa) return { groups: [] };
    const own = `cluster="${a.clusterName}"`;
    const latency = (q: number) => `histogram_quantile(${q}, sum by (cluster, le) (rate(${m("istioCsrHandlingSeconds")}_bucket{${own},${CREATE_CERTIFICATE}}[5m])))`;
    return {
        groups: [{
            name: "mesh-issuance",
            rules: [
                { record: RECORDED.issuanceRate, expr: `sum by (cluster) (rate(${m("istioCsrHandled")}{${own},${CREATE_CERTIFICATE}}[5m]))` },
                { record: RECORDED.issuanceErrorRate, expr: `sum by (cluster) (rate(${m("istioCsrHandled")}{${own},${CREATE_CERTIFICATE},grpc_code!="OK"}[5m]))` },
                { record: RECORDED.issuanceLatencyP50, expr: latency(0.5) },
                { record: RECORDED.issuanceLatencyP99, expr: latency(0.99) },
                { record: RECORDED.caIssuerSyncRate, expr: `sum by (cluster) (rate(${m("controllerSyncCalls")}{${own},${CA_ISSUER_CONTROLLER}}[5m]))` },
            ],
        }],
    };
}

/** `forDuration` undefined: fire on the first evaluation (for counters whose increase is already the evidence). */
const alert = (name: string, expr: string, forDuration: string | undefined, severity: "warning" | "critical", summary: string, description: string, labels: Record<string, string> = {}): Rule =>
    ({ alert: name, expr, ...(forDuration ? { for: forDuration } : {}), labels: { severity, ...labels }, annotations: { summary, description } });

/**
 * How long the hub tolerates a failing federation scrape. Every change of rules or scrape configuration restarts each
 * Prometheus (`checksum/config`), and the chart replaces the server with the Recreate strategy: the old pod may take
 * its whole termination grace period (300 s) to stop before the new one attaches the ReadWriteOnce volume and replays
 * its write-ahead log (prometheus-community/helm-charts prometheus-29.27.0 values.yaml `server.strategy`,
 * `server.terminationGracePeriodSeconds`, `server.persistentVolume`). A routine update must not page.
 */
export const FEDERATION_DOWN_FOR = "15m";
/**
 * Alerts on certificate expiry, issuance, the control plane and the multi-cluster links, each about the cluster whose
 * Prometheus evaluates them: they read its own series only (`cluster="<clusterName>"`; for `up`, which carries target
 * labels only, `cluster=""`), so that a source's alerts are not raised a second time by the hub that federates its
 * series, and each cluster alerts on itself whether or not the hub can reach it. Every alert names that cluster in
 * `cluster` and aggregates by it. A remote cluster named by istiod's metrics is `exported_cluster` (see
 * `clusterLabelling`). The hub alone adds one alert per source: its federation scrape failing, which is also how a
 * source's Prometheus being down (and so its alerts silent) becomes visible. How early the intermediate's expiry is
 * raised is the stack's `observability` settings' to say.
 */
export function meshAlertRules(a: MeshRulesArgs, observability: ObservabilityConfig): { groups: RuleGroup[] } {
    const own = `cluster="${a.clusterName}"`;
    const series = (k: MetricKey, matchers?: string) => `${m(k)}{${own}${matchers ? `,${matchers}` : ""}}`;
    const recorded = (name: string) => `${name}{${own}}`;
    const down = (name: string, selector: string, summary: string, description: string) =>
        alert(name, `absent(${m("up")}{cluster="",${selector}} == 1)`, "5m", "critical", summary, description, { cluster: a.clusterName });
    const certificates: Rule[] = [
        ...(a.intermediateNotAfterSeconds !== undefined ? [alert("MeshIntermediateCaExpiring",
            // The intermediate is a CA Issuer's secret, not a cert-manager Certificate, so no exporter reports its
            // expiry: the program knows it, and the rule changes whenever the intermediate is rotated.
            `vector(${a.intermediateNotAfterSeconds}) - time() < ${observability.intermediateExpiryWarningDays * DAY}`, "1h", "warning",
            "The cluster's intermediate CA expires soon",
            `The intermediate of cluster {{ $labels.cluster }} expires in {{ $value | humanizeDuration }}: rotate it (docs/pki/rotation.md) before workload certificates stop being issued.`,
            { cluster: a.clusterName })] : []),
        ...(a.enterpriseCa ? [alert("IstiodCertificateExpiring",
            `${series("certificateExpiration", ISTIOD_CERTIFICATE)} - time() < 900`, "5m", "critical",
            "istiod's serving certificate is not being renewed",
            "istio-csr renews it with 30 minutes left; {{ $value | humanizeDuration }} remain on cluster {{ $labels.cluster }}. Check istio-csr and the istio-ca Issuer.")] : []),
        ...(a.ingressCertificate ? [alert("IngressCertificateExpiring",
            `${series("certificateExpiration", INGRESS_CERTIFICATE)} - time() < ${14 * DAY}`, "1h", "warning",
            "The ingress gateway's certificate is not being renewed",
            "cert-manager renews it 30 days before expiry; {{ $value | humanizeDuration }} remain on cluster {{ $labels.cluster }}. Check the Certificate's events and the issuer.")] : []),
        alert("CertificateNotReady", `max by (cluster, namespace, name) (${series("certificateReady", `condition="False"`)}) == 1`, "15m", "warning",
            "A cert-manager Certificate is not Ready",
            "Certificate {{ $labels.namespace }}/{{ $labels.name }} on cluster {{ $labels.cluster }} has not been Ready for 15 minutes."),
    ];
    const issuance: Rule[] = a.enterpriseCa ? [
        down("IstioCsrDown", `job="${ISTIO_CSR_JOB}"`, "istio-csr is not serving",
            `No istio-csr replica of cluster ${a.clusterName} answers scrapes: its workloads cannot renew their certificates (1 hour TTL).`),
        alert("IstioCsrIssuanceErrors", `${recorded(RECORDED.issuanceErrorRate)} / ${recorded(RECORDED.issuanceRate)} > 0.05`, "10m", "critical",
            "istio-csr refuses or fails workload certificate requests",
            "{{ $value | humanizePercentage }} of CreateCertificate calls fail on cluster {{ $labels.cluster }} (Unauthenticated: identity or cluster ID mismatch; Internal: signing)."),
        alert("IstioCsrIssuanceSlow", `${recorded(RECORDED.issuanceLatencyP99)} > 1`, "15m", "warning",
            "Workload certificate issuance is slow", "The 99th percentile of CreateCertificate on cluster {{ $labels.cluster }} takes {{ $value | humanizeDuration }}."),
        alert("IstioCsrServingCertificateFailing", `max by (cluster) (increase(${series("istioCsrServingCertificateRequests", `success="0"`)}[30m])) > 0`, undefined, "warning",
            "istio-csr cannot renew its own serving certificate", "istio-csr's requests for its gRPC serving certificate fail on cluster {{ $labels.cluster }}; proxies will refuse it once it expires."),
        alert("MeshIssuerSyncErrors", `sum by (cluster) (increase(${series("controllerSyncErrors", CA_ISSUER_CONTROLLER)}[15m])) > 0`, "15m", "warning",
            "cert-manager's CA issuer fails to sign CertificateRequests", "The controller that signs workload certificates with the intermediate of cluster {{ $labels.cluster }} keeps failing."),
    ] : [];
    const controlPlane: Rule[] = [down("IstiodDown", `namespace="${ISTIO_NAMESPACE}",app="istiod"`, "No istiod replica is up",
        `No istiod of cluster ${a.clusterName} is up: its proxies keep their last configuration but receive no updates; new pods start without configuration.`)];
    const multiCluster: Rule[] = a.remoteClusters > 0 ? [
        alert("IstiodRemoteClusterSyncTimeout", `sum by (cluster, ${TARGET_CLUSTER_LABEL}) (increase(${series("remoteClusterSyncTimeouts")}[30m])) > 0`, undefined, "warning",
            "istiod started without a remote cluster's endpoints",
            `Remote cluster {{ $labels.${TARGET_CLUSTER_LABEL} }} took too long to sync, so istiod on {{ $labels.cluster }} served configuration without its services for a while.`),
        alert("IstiodRemoteClusterNotSynced", `max by (cluster, ${TARGET_CLUSTER_LABEL}, status) (${series("remoteClusterSyncStatus", `status=~"timeout|closed"`)}) == 1`, "10m", "critical",
            "istiod does not see a remote cluster",
            `istiod on {{ $labels.cluster }} sees remote cluster {{ $labels.${TARGET_CLUSTER_LABEL} }} {{ $labels.status }}: check its remote secret (token) and the API server allow-list.`),
        alert("IstiodRemoteClustersMissing", `max by (cluster) (${series("managedClusters", `cluster_type="remote"`)}) < ${a.remoteClusters}`, "10m", "critical",
            "istiod watches fewer remote clusters than the mesh has",
            `istiod on {{ $labels.cluster }} manages {{ $value }} remote clusters, not ${a.remoteClusters}: a remote secret is missing or unreadable.`),
    ] : [];
    const eastWest: Rule[] = a.eastWestGateway ? [down("EastWestGatewayDown", `namespace="${EASTWEST_NAMESPACE}",app="${EASTWEST_GATEWAY}"`, "No east-west gateway replica is up",
        `No east-west gateway of cluster ${a.clusterName} is up: other clusters cannot reach its services, and locality failover to it fails.`)] : [];
    const federation: Rule[] = (a.federatedClusters ?? []).map((source) => alert("MetricsFederationFailing",
        `${m("up")}{cluster="",job="${federationJob(source)}"} == 0`, FEDERATION_DOWN_FOR, "critical",
        "The hub cannot federate a cluster's metrics",
        `The hub ${a.clusterName} has not reached the Prometheus of cluster ${source} for ${FEDERATION_DOWN_FOR}: that Prometheus is down (and ${source} raises no alert) or the link through the east-west gateways is broken. Kiali shows none of ${source}'s recent traffic.`,
        { cluster: source }));
    return {
        groups: [
            { name: "mesh-certificates", rules: certificates },
            ...(issuance.length ? [{ name: "mesh-issuance-alerts", rules: issuance }] : []),
            { name: "mesh-control-plane", rules: controlPlane },
            ...(multiCluster.length || eastWest.length ? [{ name: "mesh-multicluster", rules: [...multiCluster, ...eastWest] }] : []),
            ...(federation.length ? [{ name: "mesh-federation", rules: federation }] : []),
        ],
    };
}
