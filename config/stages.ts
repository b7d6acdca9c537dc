/**
 * The stage matrix: the one place that knows which capability each of the five stages turns on. Stage N includes
 * everything below N. Components never look at the stage number; the composition asks this matrix and passes
 * booleans or omits whole components.
 */
export const STAGES = [1, 2, 3, 4, 5] as const;
export type Stage = (typeof STAGES)[number];

interface CapabilitySpec {
    /** The first stage that turns the capability on. */
    readonly since: Stage;
    readonly summary: string;
}

export const CAPABILITIES = {
    strictMtls: { since: 1, summary: "vanilla Istio with a mesh-wide STRICT PeerAuthentication" },
    ingressCertificates: { since: 1, summary: "cert-manager issues and renews the ingress gateway certificate" },
    istiodCa: { since: 1, summary: "istiod is the mesh CA (self-signed, per cluster)" },
    enterpriseMeshCa: { since: 2, summary: "istio-csr replaces istiod's CA; identities chain to the offline root" },
    issuancePolicy: { since: 2, summary: "approver-policy restricts what the mesh issuer signs" },
    authorization: { since: 3, summary: "default deny; ALLOW by SPIFFE principal from the declared service graph" },
    endUserAuthentication: { since: 3, summary: "JWT authentication of end users at the ingress gateway" },
    multiCluster: { since: 4, summary: "multi-primary, multi-network mesh with east-west gateways and remote secrets" },
    trafficManagement: { since: 4, summary: "canary, blue/green, rate limits, circuit breaking, fault injection" },
    observability: { since: 4, summary: "per-cluster metrics aggregated across clusters, alerts on issuance and expiry" },
    multiCloud: { since: 5, summary: "EKS and GKE in one mesh, one intermediate per cluster under the environment's root" },
    trustDomainPerCloud: { since: 5, summary: "SPIFFE trust domains as boundaries between clouds" },
} as const satisfies Record<string, CapabilitySpec>;

export type Capability = keyof typeof CAPABILITIES;
export type Capabilities = Readonly<Record<Capability, boolean>>;

export function capabilitiesFor(stage: Stage): Capabilities {
    const entries = Object.entries(CAPABILITIES).map(([name, spec]) => {
        // istiod stops being the CA once the enterprise CA takes over: the one capability a later stage removes.
        const on = name === "istiodCa" ? stage < CAPABILITIES.enterpriseMeshCa.since : stage >= spec.since;
        return [name, on];
    });
    return Object.fromEntries(entries) as Record<Capability, boolean>;
}

/** Human-readable list of the capabilities that are on, for plan summaries and stack outputs. */
export function describeCapabilities(on: Capabilities): string[] {
    return (Object.keys(CAPABILITIES) as Capability[]).filter((c) => on[c]).map((c) => `${c}: ${CAPABILITIES[c].summary}`);
}

/** The fewest clusters a stage can run; multi-cluster starts at stage 4. */
export function clusterCountRange(stage: Stage): { min: number; max: number } {
    return stage >= CAPABILITIES.multiCluster.since ? { min: 2, max: Infinity } : { min: 1, max: 1 };
}
