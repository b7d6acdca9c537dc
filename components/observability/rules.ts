import { EASTWEST_GATEWAY, EASTWEST_NAMESPACE, INGRESS_NAMESPACE, ISTIO_NAMESPACE } from "../mesh/values";
import { ISTIO_CERTIFICATE_SERVICE, METRICS, MetricKey } from "./metrics";

/** The scrape job of istio-csr's metrics Service (the chart serves no Prometheus annotations). */
export const ISTIO_CSR_JOB = "istio-csr";

/** What the rules of one cluster's Prometheus cover. */
export interface MeshRulesArgs {
    /** istio-csr is the mesh CA: issuance rules and istiod's certificate. */
    readonly istioCsr: boolean;
    /** When this cluster's intermediate CA expires (Unix seconds); absent without one. */
    readonly intermediateNotAfterSeconds?: number;
    readonly intermediateExpiryWarningDays: number;
    /** cert-manager issues the ingress gateway's certificate. */
    readonly ingressCertificate: boolean;
    /** How many other clusters this cluster's istiod watches (0: none, no multi-cluster rules). */
    readonly remoteClusters: number;
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

/** Issuance at scale: rate, errors and latency of workload certificates, as Prometheus rule groups. */
export function meshRecordingRules(a: MeshRulesArgs): { groups: RuleGroup[] } {
    if (!a.istioCsr) return { groups: [] };
    const latency = (q: number) => `histogram_quantile(${q}, sum by (le) (rate(${m("istioCsrHandlingSeconds")}_bucket{${CREATE_CERTIFICATE}}[5m])))`;
    return {
        groups: [{
            name: "mesh-issuance",
            rules: [
                { record: RECORDED.issuanceRate, expr: `sum(rate(${m("istioCsrHandled")}{${CREATE_CERTIFICATE}}[5m]))` },
                { record: RECORDED.issuanceErrorRate, expr: `sum(rate(${m("istioCsrHandled")}{${CREATE_CERTIFICATE},grpc_code!="OK"}[5m]))` },
                { record: RECORDED.issuanceLatencyP50, expr: latency(0.5) },
                { record: RECORDED.issuanceLatencyP99, expr: latency(0.99) },
                { record: RECORDED.caIssuerSyncRate, expr: `sum(rate(${m("controllerSyncCalls")}{${CA_ISSUER_CONTROLLER}}[5m]))` },
            ],
        }],
    };
}

/** `forDuration` undefined: fire on the first evaluation (for counters whose increase is already the evidence). */
const alert = (name: string, expr: string, forDuration: string | undefined, severity: "warning" | "critical", summary: string, description: string): Rule =>
    ({ alert: name, expr, ...(forDuration ? { for: forDuration } : {}), labels: { severity }, annotations: { summary, description } });

/** Alerts on certificate expiry, issuance, the control plane and the multi-cluster links of one cluster. */
export function meshAlertRules(a: MeshRulesArgs): { groups: RuleGroup[] } {
    const certificates: Rule[] = [
        ...(a.intermediateNotAfterSeconds !== undefined ? [alert("MeshIntermediateCaExpiring",
            // The intermediate is a CA Issuer's secret, not a cert-manager Certificate, so no exporter reports its
            // expiry: the program knows it, and the rule changes whenever the intermediate is rotated.
            `vector(${a.intermediateNotAfterSeconds}) - time() < ${a.intermediateExpiryWarningDays * DAY}`, "1h", "warning",
            "The cluster's intermediate CA expires soon",
            `It expires in {{ $value | humanizeDuration }}: rotate it (docs/pki/rotation.md) before workload certificates stop being issued.`)] : []),
        ...(a.istioCsr ? [alert("IstiodCertificateExpiring",
            `${m("certificateExpiration")}{${ISTIOD_CERTIFICATE}} - time() < 900`, "5m", "critical",
            "istiod's serving certificate is not being renewed",
            "istio-csr renews it with 30 minutes left; {{ $value | humanizeDuration }} remain. Check istio-csr and the istio-ca Issuer.")] : []),
        ...(a.ingressCertificate ? [alert("IngressCertificateExpiring",
            `${m("certificateExpiration")}{${INGRESS_CERTIFICATE}} - time() < ${14 * DAY}`, "1h", "warning",
            "The ingress gateway's certificate is not being renewed",
            "cert-manager renews it 30 days before expiry; {{ $value | humanizeDuration }} remain. Check the Certificate's events and the issuer.")] : []),
        alert("CertificateNotReady", `max by (namespace, name) (${m("certificateReady")}{condition="False"}) == 1`, "15m", "warning",
            "A cert-manager Certificate is not Ready",
            "Certificate {{ $labels.namespace }}/{{ $labels.name }} has not been Ready for 15 minutes."),
    ];
    const issuance: Rule[] = a.istioCsr ? [
        alert("IstioCsrDown", `absent(${m("up")}{job="${ISTIO_CSR_JOB}"} == 1)`, "5m", "critical",
            "istio-csr is not serving", "No istio-csr replica answers scrapes: workloads cannot renew their certificates (1 hour TTL)."),
        alert("IstioCsrIssuanceErrors", `${RECORDED.issuanceErrorRate} / ${RECORDED.issuanceRate} > 0.05`, "10m", "critical",
            "istio-csr refuses or fails workload certificate requests",
            "{{ $value | humanizePercentage }} of CreateCertificate calls fail (Unauthenticated: identity or cluster ID mismatch; Internal: signing)."),
        alert("IstioCsrIssuanceSlow", `${RECORDED.issuanceLatencyP99} > 1`, "15m", "warning",
            "Workload certificate issuance is slow", "The 99th percentile of CreateCertificate takes {{ $value | humanizeDuration }}."),
        alert("IstioCsrServingCertificateFailing", `increase(${m("istioCsrServingCertificateRequests")}{success="0"}[30m]) > 0`, undefined, "warning",
            "istio-csr cannot renew its own serving certificate", "istio-csr's requests for its gRPC serving certificate fail; proxies will refuse it once it expires."),
        alert("MeshIssuerSyncErrors", `increase(${m("controllerSyncErrors")}{${CA_ISSUER_CONTROLLER}}[15m]) > 0`, "15m", "warning",
            "cert-manager's CA issuer fails to sign CertificateRequests", "The controller that signs workload certificates with the intermediate keeps failing."),
    ] : [];
    const controlPlane: Rule[] = [
        alert("IstiodDown", `absent(${m("up")}{namespace="${ISTIO_NAMESPACE}",app="istiod"} == 1)`, "5m", "critical",
            "No istiod replica is up", "Proxies keep their last configuration but receive no updates; new pods start without configuration."),
    ];
    const multiCluster: Rule[] = a.remoteClusters > 0 ? [
        alert("IstiodRemoteClusterSyncTimeout", `increase(${m("remoteClusterSyncTimeouts")}[30m]) > 0`, undefined, "warning",
            "istiod started without a remote cluster's endpoints",
            "Cluster {{ $labels.cluster }} took too long to sync, so istiod served configuration without its services for a while."),
        alert("IstiodRemoteClusterNotSynced", `max by (cluster) (${m("remoteClusterSyncStatus")}{status=~"timeout|closed"}) == 1`, "10m", "critical",
            "istiod does not see a remote cluster", "Remote cluster {{ $labels.cluster }} is {{ $labels.status }}: check its remote secret (token) and the API server allow-list."),
        alert("IstiodRemoteClustersMissing", `max(${m("managedClusters")}{cluster_type="remote"}) < ${a.remoteClusters}`, "10m", "critical",
            "istiod watches fewer remote clusters than the mesh has",
            `istiod manages {{ $value }} remote clusters, not ${a.remoteClusters}: a remote secret is missing or unreadable.`),
    ] : [];
    const eastWest: Rule[] = a.eastWestGateway ? [
        alert("EastWestGatewayDown", `absent(${m("up")}{namespace="${EASTWEST_NAMESPACE}",app="${EASTWEST_GATEWAY}"} == 1)`, "5m", "critical",
            "No east-west gateway replica is up", "Other clusters cannot reach this cluster's services, and locality failover to it fails."),
    ] : [];
    return {
        groups: [
            { name: "mesh-certificates", rules: certificates },
            ...(issuance.length ? [{ name: "mesh-issuance-alerts", rules: issuance }] : []),
            { name: "mesh-control-plane", rules: controlPlane },
            ...(multiCluster.length || eastWest.length ? [{ name: "mesh-multicluster", rules: [...multiCluster, ...eastWest] }] : []),
        ],
    };
}
