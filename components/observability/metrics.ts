/**
 * Every metric the mesh's alert and recording rules read, checked in the source of the version this project pins.
 * Names are as scraped: Prometheus' client libraries add no `_total` to counters in the text format these components
 * serve (`promhttp.HandlerOpts{}` without OpenMetrics), so a counter is named exactly as it was registered, and
 * istiod's OpenTelemetry exporter runs `WithoutCounterSuffixes`. Rules name metrics only through this table, and a
 * test refuses any other name in an expression.
 */
export const METRICS = {
    /** Labels name, namespace, issuer_name, issuer_kind, issuer_group. */
    certificateExpiration: {
        name: "certmanager_certificate_expiration_timestamp_seconds",
        source: "cert-manager/cert-manager v1.21.1 (99224164fdb4) internal/collectors/certificate_collector.go",
    },
    /** Labels name, namespace, condition (True, False, Unknown), issuer_*. */
    certificateReady: {
        name: "certmanager_certificate_ready_status",
        source: "cert-manager/cert-manager v1.21.1 internal/collectors/certificate_collector.go",
    },
    /** Label controller; the CA issuer's CertificateRequest controller is `certificaterequests-issuer-ca`. */
    controllerSyncCalls: {
        name: "certmanager_controller_sync_call_count",
        source: "cert-manager/cert-manager v1.21.1 pkg/metrics/metrics.go; controller names in pkg/controller/certificaterequests/ca/ca.go",
    },
    controllerSyncErrors: {
        name: "certmanager_controller_sync_error_count",
        source: "cert-manager/cert-manager v1.21.1 pkg/metrics/metrics.go (incremented in pkg/controller/controller.go)",
    },
    /** Labels grpc_type, grpc_service, grpc_method, grpc_code: one sample per CreateCertificate call answered. */
    istioCsrHandled: {
        name: "cert_manager_istio_csr_grpc_server_handled_total",
        source: "cert-manager/istio-csr v0.17.0 (241510c127d6) pkg/server/server.go (namespace cert_manager_istio_csr); grpc-ecosystem/go-grpc-middleware providers/prometheus v1.1.0 server_metrics.go",
    },
    /** Histogram (`_bucket`, `_sum`, `_count`), labels grpc_type, grpc_service, grpc_method. */
    istioCsrHandlingSeconds: {
        name: "cert_manager_istio_csr_grpc_server_handling_seconds",
        source: "cert-manager/istio-csr v0.17.0 pkg/server/server.go (WithServerHandlingTimeHistogram); go-grpc-middleware providers/prometheus v1.1.0 server_metrics.go",
    },
    /** istio-csr's own serving certificate, label success ("1" or "0"); served by controller-runtime v0.24.1's metrics server, text format. */
    istioCsrServingCertificateRequests: {
        name: "cert_manager_istio_csr_tls_provider_certificate_requests",
        source: "cert-manager/istio-csr v0.17.0 pkg/tls/tls.go",
    },
    /** Label cluster (the remote cluster's ID), stored as `exported_cluster`. */
    remoteClusterSyncTimeouts: {
        name: "remote_cluster_sync_timeouts_total",
        source: "istio/istio 1.30.3 (56df41f63e51) pkg/kube/multicluster/secretcontroller.go (incremented in cluster.go)",
    },
    /** Labels cluster (stored as `exported_cluster`), cluster_type="remote", status (synced, syncing, timeout, closed): 1 for the current status. */
    remoteClusterSyncStatus: {
        name: "istiod_remote_cluster_sync_status",
        source: "istio/istio 1.30.3 pkg/kube/multicluster/secretcontroller.go",
    },
    /** Label cluster_type (local, remote). */
    managedClusters: {
        name: "istiod_managed_clusters",
        source: "istio/istio 1.30.3 pkg/kube/multicluster/secretcontroller.go",
    },
    /** Prometheus' own series per scrape target: 1 when the last scrape succeeded. */
    up: { name: "up", source: "Prometheus (every scrape target)" },
} as const;

export type MetricKey = keyof typeof METRICS;

/**
 * Where a target's own `cluster` label is stored: `cluster` names the cluster that scraped the series, and istiod's
 * multi-cluster metrics name the remote cluster with a `cluster` label of their own.
 */
export const TARGET_CLUSTER_LABEL = "exported_cluster";

/** The gRPC service istio-csr implements (istio.io/api security/v1alpha1, as istio-csr's e2e tests call it). */
export const ISTIO_CERTIFICATE_SERVICE = "istio.v1.auth.IstioCertificateService";
