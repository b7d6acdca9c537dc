import * as pulumi from "@pulumi/pulumi";
import { ObservabilityConfig } from "../../config";
import { checked } from "../checked";
import { MeshedCluster } from "../mesh/MeshedCluster";
import { ClusterMonitoring } from "./ClusterMonitoring";
import { Kiali } from "./Kiali";
import { KialiAuth } from "./kialiValues";
import { FederationRole, PROMETHEUS_SERVER } from "./prometheus";
import { MONITORING_NAMESPACE } from "../kubernetes/names";
import { TRACING_PROVIDER } from "../../config/observability";

export interface ObservedCluster extends MeshedCluster {
    /** The cluster's intermediate CA, when the mesh CA is the offline root's (istio-csr). @default - none: no expiry alert */
    readonly intermediateCertPem?: pulumi.Input<string>;
}

export interface MeshObservabilityArgs {
    /** Every cluster of the mesh; `observability.hubCluster` must name one of them. */
    readonly clusters: readonly ObservedCluster[];
    /** The mesh ID, an external label of every series. */
    readonly meshId: string;
    /** The `prometheus` and `kiali-server` chart versions. */
    readonly charts: { readonly prometheus: string; readonly kiali: string };
    /** The stack's `observability` settings: aggregation, hub, retention, Kiali and its login, telemetry. */
    readonly observability: ObservabilityConfig;
    /** Two Kiali replicas. */
    readonly highAvailability: boolean;
    /** istio-csr is the mesh CA on every cluster. */
    readonly istioCsr: boolean;
    /** cert-manager issues the ingress gateway's certificate. */
    readonly ingressCertificate: boolean;
    /** The clusters form one multi-cluster mesh (east-west gateways, remote secrets). */
    readonly multiCluster: boolean;
    /** The mesh's remote-secret epoch, for Kiali's tokens. */
    readonly remoteSecretEpoch: number;
    /** The namespaces Kiali reads besides istio-system: the gateways' and the declared services'. */
    readonly meshNamespaces: readonly string[];
    /**
     * The edge's OpenID issuer (`edgeAuth.issuer`), Kiali's issuer unless `kialiAuth.issuerUri` says otherwise.
     * @default - none: an openid `kialiAuth` must name its `issuerUri`
     */
    readonly edgeIssuer?: string;
}

/** Where the hub's Prometheus answers inside its cluster (the chart's server Service, port 80). */
const LOCAL_PROMETHEUS_URL = `http://${PROMETHEUS_SERVER}.${MONITORING_NAMESPACE}.svc:80`;

/**
 * Observability of the whole mesh: monitoring on every cluster, their metrics aggregated (the hub federates the
 * others, or every cluster writes to one store), and Kiali on the hub reading every cluster.
 */
export class MeshObservability extends pulumi.ComponentResource {
    constructor(name: string, args: MeshObservabilityArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("istio-production:observability:MeshObservability", name, {}, opts);
        const o = args.observability;
        const hub = args.clusters.find((c) => c.cluster.name === (o.hubCluster ?? args.clusters[0].cluster.name));
        if (!hub) throw new pulumi.ResourceError(`MeshObservability ${name}: observability.hubCluster ${o.hubCluster} is not a cluster of this stack`, this);
        const auth = o.kiali ? checked(this, `MeshObservability ${name}`, () => kialiAuth(o, args.edgeIssuer)) : undefined;
        const others = args.clusters.filter((c) => c !== hub);
        const federating = o.aggregation === "federation" && others.length > 0;
        const perCloud = new Set(args.clusters.map((c) => c.cluster.trustDomain)).size > 1;
        const roleOf = (c: ObservedCluster): FederationRole | undefined =>
            !federating ? undefined : c === hub ? { role: "hub", sources: others.map((x) => x.cluster.name) } : { role: "source" };
        for (const c of args.clusters) {
            new ClusterMonitoring(`${c.cluster.name}-monitoring`, {
                cluster: c.cluster,
                istiod: c.istiod,
                version: args.charts.prometheus,
                meshId: args.meshId,
                retentionDays: o.retentionDays,
                remoteWrite: o.aggregation === "remoteWrite" && o.remoteWriteUrl ? { url: o.remoteWriteUrl, auth: o.remoteWriteAuth } : undefined,
                federation: roleOf(c),
                kiali: o.kiali && c === hub,
                hubPrincipal: `${hub.cluster.trustDomain}/ns/${MONITORING_NAMESPACE}/sa/${PROMETHEUS_SERVER}`,
                sourceIdentities: perCloud && c === hub
                    ? Object.fromEntries(others.map((x) => [x.cluster.name, `spiffe://${x.cluster.trustDomain}/ns/${MONITORING_NAMESPACE}/sa/${PROMETHEUS_SERVER}`]))
                    : undefined,
                rules: {
                    clusterName: c.cluster.name,
                    federatedClusters: federating && c === hub ? others.map((x) => x.cluster.name) : [],
                    istioCsr: args.istioCsr,
                    intermediateExpiryWarningDays: o.intermediateExpiryWarningDays,
                    ingressCertificate: args.ingressCertificate,
                    remoteClusters: args.multiCluster ? args.clusters.length - 1 : 0,
                    eastWestGateway: args.multiCluster,
                },
                intermediateCertPem: c.intermediateCertPem,
                telemetry: { accessLogs: o.accessLogs, traceSamplingPercent: o.traceSamplingPercent, tracingProvider: o.tracingCollector && TRACING_PROVIDER },
            }, { parent: this });
        }
        if (auth) {
            new Kiali(`${hub.cluster.name}-kiali`, {
                hub,
                remotes: args.multiCluster ? others : [],
                auth,
                meshNamespaces: args.meshNamespaces,
                version: args.charts.kiali,
                // With remote write and no query endpoint, Kiali shows the hub's own metrics only.
                prometheusUrl: (o.aggregation === "remoteWrite" ? o.queryUrl : undefined) ?? LOCAL_PROMETHEUS_URL,
                prometheusAuth: o.aggregation === "remoteWrite" && o.queryUrl ? o.queryAuth : undefined,
                highAvailability: args.highAvailability,
                epoch: args.remoteSecretEpoch,
            }, { parent: this });
        }
        this.registerOutputs({});
    }
}

/** `observability.kialiAuth`, with the issuer defaulted to the edge's (the config gate has checked that one exists). */
function kialiAuth(o: ObservabilityConfig, edgeIssuer: string | undefined): KialiAuth {
    const auth = o.kialiAuth;
    if (auth?.strategy === "anonymous") return auth;
    const issuerUri = auth?.strategy === "openid" ? auth.issuerUri ?? edgeIssuer : undefined;
    if (auth?.strategy !== "openid" || !issuerUri) throw new Error("observability.kialiAuth: Kiali needs an openid strategy with an issuer, or anonymous");
    return { strategy: "openid", clientId: auth.clientId, issuerUri, allowedDomains: auth.allowedDomains };
}
