import { ClusterConfig } from "../../config";

/** A month as AWS bills it (730 hours). */
const HOURS_PER_MONTH = 730;
/** Planning figure for mesh pods per node at full scale-out; the stacks declare nodes, not pods. */
export const PODS_PER_NODE = 30;
/** Zones of a regional GKE node pool: its node counts are per zone. */
const GKE_ZONES = 3;
/**
 * Istio renews a workload certificate at half its lifetime (istio/istio 1.30.3 pilot/cmd/pilot-agent/options:
 * SECRET_GRACE_PERIOD_RATIO, default 0.5), so each pod takes two certificates per TTL; cert-manager/
 * aws-privateca-issuer#479 measured ~10× that under throttling, which `stressed` multiplies in.
 */
const RENEWALS_PER_TTL = 2;
const ISSUER_RETRY_AMPLIFICATION = 10;

/**
 * AWS Private CA list prices (https://aws.amazon.com/private-ca/pricing/, and the AWS price list API's
 * AWSCertificateManager offer): a CA is $400/month in general-purpose mode, $50 in short-lived-certificate mode;
 * certificates are $0.75 (first 1,000 a month), $0.35 (to 10,000), $0.001 beyond in general-purpose mode, and
 * $0.058 each in short-lived mode.
 */
function awsPrivateCa(certificates: number): { shortLived: number; generalPurpose: number } {
    const tiered = Math.min(certificates, 1000) * 0.75 + Math.min(Math.max(certificates - 1000, 0), 9000) * 0.35 + Math.max(certificates - 10000, 0) * 0.001;
    return { shortLived: Math.round(50 + certificates * 0.058), generalPurpose: Math.round(400 + tiered) };
}

export interface CaCostEstimate {
    readonly backend: ClusterConfig["caBackend"];
    readonly pods: number;
    readonly certificatesPerMonth: number;
    /** USD per month, direct issuance of every workload certificate by the managed CA; undefined when not modelled. */
    readonly directIssuanceUsd?: { readonly shortLived?: number; readonly generalPurpose?: number; readonly stressed?: number };
    readonly note: string;
}

/** Monthly cost of a cluster's CA backend at the stack's largest size (pods × TTL), for the plan's outputs. */
export function caCostEstimate(cluster: ClusterConfig, workloadCertificateTtlMinutes: number): CaCostEstimate {
    const nodes = cluster.cloud === "aws" ? cluster.nodes.maxSize : cluster.nodes.maxNodeCount * GKE_ZONES;
    const pods = nodes * PODS_PER_NODE;
    const certificatesPerMonth = Math.round(pods * (HOURS_PER_MONTH * 60 / workloadCertificateTtlMinutes) * RENEWALS_PER_TTL);
    if (cluster.caBackend === "secret") return { backend: cluster.caBackend, pods, certificatesPerMonth, note: "cert-manager CA Issuer: no CA charges" };
    if (cluster.caBackend === "aws-private-ca") {
        const cost = awsPrivateCa(certificatesPerMonth);
        return { backend: cluster.caBackend, pods, certificatesPerMonth,
            directIssuanceUsd: { ...cost, stressed: awsPrivateCa(certificatesPerMonth * ISSUER_RETRY_AMPLIFICATION).generalPurpose },
            note: `general-purpose mode (billed: generalPurpose; short-lived mode would be ${cost.shortLived < cost.generalPurpose ? "cheaper" : "dearer"} at this size and cannot be switched to later); see docs/pki/ca-backends.md` };
    }
    return { backend: cluster.caBackend, pods, certificatesPerMonth, note: "DevOps tier; CAS per-certificate prices are not modelled here: see docs/pki/ca-backends.md" };
}
