import * as pulumi from "@pulumi/pulumi";
import { ObservabilityConfig } from "../../config";
import { checked } from "../checked";
import { MeshedCluster } from "../mesh/MeshedCluster";
import { ClusterMonitoring } from "./ClusterMonitoring";
import { Kiali } from "./Kiali";
import { kialiAuth } from "./kialiValues";
import { FederationRole, PROMETHEUS_SERVER } from "./prometheus";
import { MONITORING_NAMESPACE } from "../kubernetes/names";

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
    readonly enterpriseCa: boolean;
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
        // Kiali's login is refused here, before anything is created, rather than in its values once the hub exists.
        if (o.kiali) checked(this, `MeshObservability ${name}`, () => kialiAuth(o, args.edgeIssuer));
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
                observability: o,
                federation: roleOf(c),
                kiali: o.kiali && c === hub,
                hubPrincipal: `${hub.cluster.trustDomain}/ns/${MONITORING_NAMESPACE}/sa/${PROMETHEUS_SERVER}`,
                sourceIdentities: perCloud && c === hub
                    ? Object.fromEntries(others.map((x) => [x.cluster.name, `spiffe://${x.cluster.trustDomain}/ns/${MONITORING_NAMESPACE}/sa/${PROMETHEUS_SERVER}`]))
                    : undefined,
                rules: {
                    clusterName: c.cluster.name,
                    federatedClusters: federating && c === hub ? others.map((x) => x.cluster.name) : [],
                    enterpriseCa: args.enterpriseCa,
                    ingressCertificate: args.ingressCertificate,
                    remoteClusters: args.multiCluster ? args.clusters.length - 1 : 0,
                    eastWestGateway: args.multiCluster,
                },
                intermediateCertPem: c.intermediateCertPem,
            }, { parent: this });
        }
        if (o.kiali) {
            new Kiali(`${hub.cluster.name}-kiali`, {
                hub,
                remotes: args.multiCluster ? others : [],
                observability: o,
                edgeIssuer: args.edgeIssuer,
                meshNamespaces: args.meshNamespaces,
                version: args.charts.kiali,
                highAvailability: args.highAvailability,
                epoch: args.remoteSecretEpoch,
            }, { parent: this });
        }
        this.registerOutputs({});
    }
}
