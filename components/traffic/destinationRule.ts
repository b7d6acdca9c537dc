import { ResolvedResilience } from "../../config";
import { Subset } from "./releases";
import { istioDuration } from "./duration";

export interface DestinationRuleArgs {
    /** The service's FQDN. */
    readonly host: string;
    readonly protocol: "http" | "grpc" | "tcp";
    readonly resilience: ResolvedResilience;
    readonly subsets: readonly Subset[];
    /**
     * Regions of the mesh's clusters, in failover order: each fails over to the next (the last to the first).
     * Absent: no locality-aware load balancing.
     */
    readonly failoverRegions?: readonly string[];
    /** The SPIFFE IDs the service's endpoints present, see {@link istioMutual}. Absent: istiod's own. */
    readonly subjectAltNames?: readonly string[];
}

/**
 * Client TLS to a mesh destination. Without `subjectAltNames`, istiod makes every client expect the destination's
 * service accounts in istiod's own trust domain (plus trustDomainAliases): istio/istio 1.30.3
 * pilot/pkg/serviceregistry/kube/controller/endpoint_builder.go (`SecureNamingSAN(pod, meshWatcher.TrustDomain())`,
 * also for remote clusters' pods), pilot/pkg/model/push_context.go `addServiceAccounts` (`ExpandWithTrustDomains`
 * with the aliases only). A destination that runs in another trust domain then fails the handshake (istio/istio#39204).
 * With `subjectAltNames`, pilot/pkg/networking/core/cluster_tls.go `buildUpstreamTLSSettings` uses them instead, for
 * ISTIO_MUTUAL too: listing the destination's exact identity in every trust domain that runs it keeps the per-cloud
 * boundary that trustDomainAliases would erase.
 */
export function istioMutual(subjectAltNames?: readonly string[]) {
    return { mode: "ISTIO_MUTUAL", ...(subjectAltNames?.length ? { subjectAltNames: [...subjectAltNames] } : {}) };
}

/** `from → to` pairs for Istio's failover: each region to the next distinct one, in a ring. */
export function failoverPairs(regions: readonly string[]): Array<{ from: string; to: string }> {
    const distinct = [...new Set(regions)];
    return distinct.length < 2 ? [] : distinct.map((from, i) => ({ from, to: distinct[(i + 1) % distinct.length] }));
}


/**
 * The DestinationRule of a declared service: mesh mTLS, the connection pool and outlier detection that break the
 * circuit on failing endpoints, a retry budget, locality-aware failover across the clusters' regions, and the subsets
 * a release routes to.
 */
export function destinationRuleSpec(a: DestinationRuleArgs) {
    const { connectionPool: pool, outlierDetection: outlier, retries } = a.resilience;
    const http = a.protocol !== "tcp";
    const failover = a.failoverRegions && failoverPairs(a.failoverRegions);
    return {
        host: a.host,
        trafficPolicy: {
            // Stated rather than left to auto mTLS, which sends plaintext to endpoints without a sidecar.
            tls: istioMutual(a.subjectAltNames),
            connectionPool: {
                tcp: { maxConnections: pool.maxConnections, connectTimeout: istioDuration(pool.connectTimeoutMs) },
                ...(http ? { http: { http1MaxPendingRequests: pool.maxPendingRequests, http2MaxRequests: pool.maxRequests } } : {}),
            },
            outlierDetection: {
                consecutive5xxErrors: outlier.consecutive5xxErrors,
                interval: `${outlier.intervalSeconds}s`,
                baseEjectionTime: `${outlier.baseEjectionSeconds}s`,
                maxEjectionPercent: outlier.maxEjectionPercent,
            },
            ...(failover ? {
                // Failover needs outlier detection (above): it is how Envoy learns that a locality's endpoints are unhealthy.
                loadBalancer: { simple: "LEAST_REQUEST", localityLbSetting: { enabled: true, ...(failover.length ? { failover } : {}) } },
            } : {}),
            ...(http ? { retryBudget: { percent: retries.budgetPercent, minRetryConcurrency: retries.minRetryConcurrency } } : {}),
        },
        ...(a.subsets.length ? { subsets: a.subsets.map((s) => ({ name: s.name, labels: { ...s.labels } })) } : {}),
    };
}
