import * as pulumi from "@pulumi/pulumi";
import { MeshSettings, MultiClusterConfig } from "../../config";
import { MESH_RSA_KEY_BITS } from "./approval";
import { EASTWEST_GATEWAY, INGRESS_GATEWAY, ISTIO_CSR_ADDRESS, ISTIO_NAMESPACE, MESH_ISSUER, ROOT_BUNDLE_MOUNT, ROOT_BUNDLE_SECRET } from "../kubernetes/names";
/**
 * Chart values, built by pure functions from typed inputs: the keys real installs trip on are tested here without
 * any engine. Key names follow the pinned charts (cert-manager v1.21.1, approver-policy v0.27.0, istio-csr v0.17.0,
 * Istio 1.30.3).
 */

/** The Helm repository of Istio's `base`, `istiod` and `gateway` charts. */
export const ISTIO_CHARTS_REPO = "https://istio-release.storage.googleapis.com/charts";

/** Spread replicas over zones: a zone outage leaves the control plane running. */
function zoneSpread(labels: Record<string, string>) {
    return [{ maxSkew: 1, topologyKey: "topology.kubernetes.io/zone", whenUnsatisfiable: "ScheduleAnyway", labelSelector: { matchLabels: labels } }];
}

export function certManagerValues(a: {
    highAvailability: boolean; disableAutoApproval: boolean;
    // Outputs stay leaves of the values, so that one unknown at preview leaves the rest known.
    serviceAccountAnnotations?: pulumi.Input<Record<string, string>>; podAnnotations?: pulumi.Input<Record<string, string>>;
}) {
    const replicas = a.highAvailability ? 2 : 1;
    const ha = (component: string) => a.highAvailability
        ? { replicaCount: replicas, podDisruptionBudget: { enabled: true, minAvailable: 1 }, topologySpreadConstraints: zoneSpread({ "app.kubernetes.io/instance": "cert-manager", "app.kubernetes.io/component": component }) }
        : { replicaCount: replicas };
    return {
        crds: { enabled: true, keep: true },
        ...ha("controller"),
        webhook: { ...ha("webhook"), securePort: 10250 },
        cainjector: ha("cainjector"),
        // With approver-policy, only its policies approve; the built-in approver would approve everything.
        disableAutoApproval: a.disableAutoApproval,
        prometheus: { enabled: true },
        enableCertificateOwnerRef: true,
        // The controller's cloud identity for ACME DNS-01 (GKE Workload Identity).
        ...(a.serviceAccountAnnotations ? { serviceAccount: { annotations: a.serviceAccountAnnotations } } : {}),
        // The controller's pod template (cert-manager v1.21.1 deploy/charts/cert-manager/templates/deployment.yaml).
        ...(a.podAnnotations ? { podAnnotations: a.podAnnotations } : {}),
    };
}

/**
 * approver-policy v0.27.0 may approve only requests of the signers listed (chart `app.approveSignerNames`, bound
 * in its ClusterRole); a managed CA's external issuer adds its own (`awspcaissuers.awspca.cert-manager.io/*`,
 * `googlecasissuers.cas-issuer.jetstack.io/*`).
 */
export function approverPolicyValues(a: { highAvailability: boolean; extraSignerNames?: readonly string[] }) {
    return {
        replicaCount: a.highAvailability ? 2 : 1,
        podDisruptionBudget: { enabled: a.highAvailability, ...(a.highAvailability ? { minAvailable: 1 } : {}) },
        topologySpreadConstraints: a.highAvailability ? zoneSpread({ "app.kubernetes.io/name": "cert-manager-approver-policy" }) : [],
        app: { approveSignerNames: ["issuers.cert-manager.io/*", "clusterissuers.cert-manager.io/*", ...(a.extraSignerNames ?? [])] },
    };
}

export interface IstioCsrValuesArgs {
    /** Must equal istiod's `global.multiCluster.clusterName`: istio-csr refuses CSRs from any other cluster ID. */
    readonly clusterName: string;
    /** Must equal istiod's `meshConfig.trustDomain`. */
    readonly trustDomain: string;
    readonly highAvailability: boolean;
    /** The stack's `mesh` settings, as the config gate parsed them: the workload certificates' key and longest life. */
    readonly mesh: MeshSettings;
    /**
     * The mesh issuer's kind and group: cert-manager's CA Issuer, or a managed CA's external issuer (istio-csr v0.17.0
     * `app.certmanager.issuer` takes any issuer reference). @default cert-manager's Issuer
     */
    readonly issuer?: { readonly kind: string; readonly group: string };
}

export function istioCsrValues(a: IstioCsrValuesArgs) {
    const { keyAlgorithm } = a.mesh;
    const ecdsa = keyAlgorithm === "ECDSA";
    return {
        replicaCount: a.highAvailability ? 2 : 1,
        podDisruptionBudget: { enabled: a.highAvailability, ...(a.highAvailability ? { minAvailable: 1 } : {}) },
        topologySpreadConstraints: a.highAvailability ? zoneSpread({ app: "cert-manager-istio-csr" }) : [],
        app: {
            logFormat: "json",
            certmanager: {
                namespace: ISTIO_NAMESPACE,
                // true would keep every workload's CertificateRequest: etcd and the API server balloon.
                preserveCertificateRequests: false,
                issuer: { enabled: true, name: MESH_ISSUER, kind: a.issuer?.kind ?? "Issuer", group: a.issuer?.group ?? "cert-manager.io" },
            },
            tls: {
                trustDomain: a.trustDomain,
                // Pinned, not discovered from the issuer: rotation stays safe and a hijacked issuer cannot swap roots.
                rootCAFile: `${ROOT_BUNDLE_MOUNT}/ca.pem`,
                certificateDNSNames: [ISTIO_CSR_ADDRESS.split(":")[0]],
                certificateDuration: "1h",
                istiodCertificateEnable: true,
                istiodCertificateDuration: "1h",
                istiodCertificateRenewBefore: "30m",
                istiodPrivateKeyAlgorithm: keyAlgorithm,
                istiodPrivateKeySize: ecdsa ? 256 : MESH_RSA_KEY_BITS,
            },
            server: {
                clusterID: a.clusterName,
                maxCertificateDuration: `${a.mesh.workloadCertificateTtlMinutes}m`,
                serving: { signatureAlgorithm: keyAlgorithm, certificateKeySize: ecdsa ? 256 : MESH_RSA_KEY_BITS },
            },
            istio: { revisions: ["default"], namespace: ISTIO_NAMESPACE },
        },
        volumes: [{ name: "root-ca", secret: { secretName: ROOT_BUNDLE_SECRET } }],
        volumeMounts: [{ name: "root-ca", mountPath: ROOT_BUNDLE_MOUNT, readOnly: true }],
    };
}

export function istioBaseValues() {
    return {
        defaultRevision: "default",
        // Fail from the start: Pulumi re-applies the chart, and the Ignore→Fail flip istiod performs would drift.
        base: { validationFailurePolicy: "Fail" },
    };
}

export interface IstiodValuesArgs {
    /** `global.meshID`: the same on every cluster of one mesh. */
    readonly meshId: string;
    /** `global.multiCluster.clusterName`: the cluster's ID, which istio-csr and remote secrets must agree on. */
    readonly clusterName: string;
    /** `global.network`: the Istio network of the cluster's workloads. */
    readonly network: string;
    /** `meshConfig.trustDomain`. */
    readonly trustDomain: string;
    /** Autoscaling from two replicas and zone spread. */
    readonly highAvailability: boolean;
    /** istio-csr is the CA: istiod's own CA server is off and proxies send CSRs to istio-csr. */
    readonly enterpriseCa: boolean;
    /** The Istio chart version (base and istiod alike); also the image tag unless `mesh.istioTag` sets one. */
    readonly version: string;
    /** The stack's `mesh` settings, as the config gate parsed them. */
    readonly mesh: MeshSettings;
    /**
     * Per-cloud trust domains: the other clouds' trust domains, accepted for mTLS without aliasing them into this one,
     * so authorization can still tell `aws/ns/x/sa/y` from `gcp/ns/x/sa/y`. The shared roots anchor them.
     * @default - none: one trust domain
     */
    readonly peerTrustDomains?: { readonly trustDomains: readonly string[]; readonly rootsPem: string };
    /** Where spans go: an OTLP/gRPC collector, known to Telemetry resources by `name`. @default - none: no extension provider */
    readonly tracing?: { readonly name: string; readonly service: string; readonly port: number };
}

export function istiodValues(a: IstiodValuesArgs) {
    const peers = a.peerTrustDomains && a.peerTrustDomains.trustDomains.length > 0 ? a.peerTrustDomains : undefined;
    const proxyMetadata = {
        // The agent generates each proxy's key (istio/istio 1.30.3 pilot/cmd/pilot-agent/options/options.go:
        // ECC_SIGNATURE_ALGORITHM, ECC_CURVE; WORKLOAD_RSA_KEY_SIZE defaults to 2048, which the mesh CA's policy
        // refuses: components/mesh/approval.ts asks RSA keys of MESH_RSA_KEY_BITS or more).
        ...(a.mesh.keyAlgorithm === "ECDSA" ? { ECC_SIGNATURE_ALGORITHM: "ECDSA", ECC_CURVE: "P256" } : { WORKLOAD_RSA_KEY_SIZE: String(MESH_RSA_KEY_BITS) }),
        // Proxies receive meshConfig.caCertificates over xDS only with the agent's proxy-config channel on.
        ...(peers ? { PROXY_CONFIG_XDS_AGENT: "true" } : {}),
    };
    return {
        global: {
            hub: a.mesh.istioHub,
            tag: a.mesh.istioTag ?? a.version,
            meshID: a.meshId,
            multiCluster: { clusterName: a.clusterName },
            network: a.network,
            ...(a.enterpriseCa ? { caAddress: ISTIO_CSR_ADDRESS } : {}),
        },
        // Top-level `env`: the Helm chart renders .Values.env; `pilot.env` is IstioOperator syntax and is ignored here.
        env: {
            ...(a.enterpriseCa ? { ENABLE_CA_SERVER: "false" } : {}),
            // Delivers caCertificates (with their trust domains) to proxies; off by default in Istio.
            ...(peers ? { ISTIO_MULTIROOT_MESH: "true" } : {}),
        },
        meshConfig: {
            trustDomain: a.trustDomain,
            // Aliases during a trust-domain migration only: they make the listed trust domains the same principal.
            ...(a.mesh.trustDomainAliases.length ? { trustDomainAliases: [...a.mesh.trustDomainAliases] } : {}),
            ...(peers ? { caCertificates: [{ pem: peers.rootsPem, trustDomains: [...peers.trustDomains] }] } : {}),
            ...(a.tracing ? { extensionProviders: [{ name: a.tracing.name, opentelemetry: { service: a.tracing.service, port: a.tracing.port } }] } : {}),
            defaultConfig: { proxyMetadata },
            outboundTrafficPolicy: { mode: a.mesh.outboundTrafficPolicy },
        },
        base: { validationFailurePolicy: "Fail" },
        autoscaleEnabled: a.highAvailability,
        autoscaleMin: a.highAvailability ? 2 : 1,
        replicaCount: a.highAvailability ? 2 : 1,
        pdb: { minAvailable: 1 },
        topologySpreadConstraints: a.highAvailability ? zoneSpread({ app: "istiod" }) : [],
    };
}

export function ingressGatewayValues(a: { highAvailability: boolean; serviceAnnotations: Record<string, string> }) {
    return {
        name: INGRESS_GATEWAY,
        labels: { istio: "ingressgateway" },
        autoscaling: { enabled: a.highAvailability, minReplicas: a.highAvailability ? 2 : 1, maxReplicas: a.highAvailability ? 6 : 1 },
        replicaCount: a.highAvailability ? 2 : 1,
        podDisruptionBudget: a.highAvailability ? { minAvailable: 1 } : {},
        topologySpreadConstraints: a.highAvailability ? zoneSpread({ istio: "ingressgateway" }) : [],
        service: { type: "LoadBalancer", annotations: a.serviceAnnotations },
    };
}

/** The one place the mesh differs by cloud: how a LoadBalancer Service gets a public, static-friendly load balancer. */
export function publicLoadBalancerAnnotations(cloud: "aws" | "gcp"): Record<string, string> {
    return cloud === "aws"
        ? {
            // The AWS Load Balancer Controller's NLB; it creates internal NLBs unless told otherwise.
            "service.beta.kubernetes.io/aws-load-balancer-type": "external",
            "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type": "ip",
            "service.beta.kubernetes.io/aws-load-balancer-scheme": "internet-facing",
        }
        : { "cloud.google.com/l4-rbs": "enabled" };
}

/** Addresses the cloud allocates are inputs: they stay leaves of the values, unknown until allocated. */
export interface EastWestValuesArgs {
    readonly network: string;
    readonly highAvailability: boolean;
    readonly serviceAnnotations: pulumi.Input<Record<string, string>>;
    /** Only the peers' egress addresses may reach the gateway. */
    readonly sourceRanges: readonly pulumi.Input<string>[];
    readonly loadBalancerIP?: pulumi.Input<string>;
    /** The stack's `multiCluster` settings: `exposeIstiod` adds istiod's 15012 and 15017 (primary-remote only; multi-primary needs neither). */
    readonly multiCluster: MultiClusterConfig;
}

/**
 * The east-west gateway without the chart's `networkGateway` switch, which would also publish istiod's ports: the
 * network label (copied to the Service, where istiod finds network gateways) and the requested network view are
 * set by hand, and only the status and mTLS passthrough ports are exposed.
 */
export function eastWestGatewayValues(a: EastWestValuesArgs) {
    const ports = [
        { name: "status-port", port: 15021, targetPort: 15021, protocol: "TCP" },
        { name: "tls", port: 15443, targetPort: 15443, protocol: "TCP" },
        ...(a.multiCluster.exposeIstiod
            ? [{ name: "tls-istiod", port: 15012, targetPort: 15012, protocol: "TCP" }, { name: "tls-webhook", port: 15017, targetPort: 15017, protocol: "TCP" }]
            : []),
    ];
    return {
        name: EASTWEST_GATEWAY,
        labels: { istio: "eastwestgateway", app: EASTWEST_GATEWAY, "topology.istio.io/network": a.network },
        // AUTO_PASSTHROUGH serves no credential: the gateway reads no Secret at all.
        rbac: { enabled: false },
        env: { ISTIO_META_REQUESTED_NETWORK_VIEW: a.network },
        autoscaling: { enabled: a.highAvailability, minReplicas: a.highAvailability ? 2 : 1, maxReplicas: a.highAvailability ? 5 : 1 },
        replicaCount: a.highAvailability ? 2 : 1,
        podDisruptionBudget: a.highAvailability ? { minAvailable: 1 } : {},
        service: {
            type: "LoadBalancer",
            annotations: a.serviceAnnotations,
            loadBalancerSourceRanges: [...a.sourceRanges],
            ...(a.loadBalancerIP ? { loadBalancerIP: a.loadBalancerIP } : {}),
            // Source ranges are enforced on the real client address only if the load balancer keeps it.
            externalTrafficPolicy: "Local",
            ports,
        },
    };
}
