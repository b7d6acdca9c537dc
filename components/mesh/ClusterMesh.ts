import * as coreV1 from "@pulumi/kubernetes/core/v1";
import * as helmV3 from "@pulumi/kubernetes/helm/v3";
import * as pulumi from "@pulumi/pulumi";
import { ChartVersions, IngressConfig, MeshSettings, MultiClusterConfig } from "../../config";
import { MeshCluster } from "../cloud/MeshCluster";
import { ClusterPki } from "../pki/ClusterPki";
import { CertManager } from "./CertManager";
import { EastWestGateway } from "./EastWestGateway";
import { IngressGateway, IngressRoute } from "./IngressGateway";
import { IstioControlPlane } from "./IstioControlPlane";
import { MeshCa } from "./MeshCa";
import { MeshedCluster } from "./MeshedCluster";
import { EASTWEST_NAMESPACE, INGRESS_NAMESPACE, ISTIO_NAMESPACE } from "../kubernetes/names";

export interface ClusterMeshArgs {
    /** The cluster to install the mesh on: its provider, network and trust domain. */
    readonly cluster: MeshCluster;
    /** Istio's mesh ID, the same on every cluster of one mesh. */
    readonly meshId: string;
    /** The pinned chart versions of cert-manager, istio-csr, approver-policy and Istio. */
    readonly charts: ChartVersions;
    /** Two or more replicas, zone spread and disruption budgets for every control-plane release. */
    readonly highAvailability: boolean;
    /** Stage 2: the cluster's intermediate under the offline root, served by istio-csr. @default - istiod is the CA */
    readonly pki?: ClusterPki;
    /** The stack's `mesh` settings, handed whole to istiod's and istio-csr's values and the mesh CA's approval policies. */
    readonly mesh: MeshSettings;
    /** The stack's `ingress` settings, handed whole to the ingress gateway: its hosts' certificate and server. @default - no TLS server on the ingress gateway */
    readonly ingress?: IngressConfig;
    /** With `ingress`: the exposed services behind its hosts. @default - none */
    readonly ingressRoutes?: readonly IngressRoute[];
    /** Stage 5, per-cloud trust domains: the other clouds' trust domains this cluster accepts for mTLS. @default - none */
    readonly peerTrustDomains?: readonly string[];
    /** The tracing collector istiod registers as an extension provider. @default - none */
    readonly tracing?: { readonly name: string; readonly service: string; readonly port: number };
    /**
     * Stage 4: the east-west gateway, reachable only from these source ranges (the peers' egress), with the stack's
     * `multiCluster` settings handed whole to its values. @default - no east-west gateway
     */
    readonly eastWest?: { readonly sourceRanges: readonly pulumi.Input<string>[]; readonly multiCluster: MultiClusterConfig };
}

/**
 * The mesh on one cluster, in the order real installs need: namespaces (the network label before istiod starts),
 * cert-manager, then (stage 2) the mesh CA and istio-csr, then Istio base and istiod, then the ingress gateway.
 */
export class ClusterMesh extends pulumi.ComponentResource implements MeshedCluster {
    readonly cluster: MeshCluster;
    readonly istiod: helmV3.Release;
    /** The gateways' namespaces on this cluster, by name. */
    readonly namespaces: Readonly<Record<string, coreV1.Namespace>>;

    constructor(name: string, args: ClusterMeshArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("istio-production:mesh:ClusterMesh", name, {}, opts);
        const { cluster } = args;
        this.cluster = cluster;
        const child = { parent: this };
        // Everything here hangs off these two namespaces, so it all follows the cluster's service controller.
        const afterController = cluster.serviceController ? [cluster.serviceController] : [];
        const istioNamespace = new coreV1.Namespace(`${name}-istio-system`, {
            metadata: { name: ISTIO_NAMESPACE, labels: { "topology.istio.io/network": cluster.network } },
        }, { ...child, provider: cluster.provider, dependsOn: afterController });
        const certManager = new CertManager(`${name}-cert-manager`, {
            provider: cluster.provider, version: args.charts.certManager, highAvailability: args.highAvailability, disableAutoApproval: !!args.pki,
            after: afterController, acmeDns01: cluster.acmeDns01,
        }, child);
        const ca = args.pki && new MeshCa(`${name}-mesh-ca`, {
            provider: cluster.provider, certManager: certManager.release, istioNamespace, pki: args.pki,
            clusterName: cluster.name, trustDomain: cluster.trustDomain, highAvailability: args.highAvailability,
            mesh: args.mesh, istioCsrVersion: args.charts.istioCsr, approverPolicyVersion: args.charts.approverPolicy,
            clusterIssuer: args.ingress?.issuer === "private",
            managedIssuer: args.pki.step === "managed" ? cluster.managedCa?.issuer : undefined,
            awaitingManagedCa: args.pki.step === "awaiting-signature" ? cluster.managedCa?.caName : undefined,
        }, child);
        const controlPlane = new IstioControlPlane(`${name}-istio`, {
            provider: cluster.provider, istioNamespace, version: args.charts.istio, caReady: ca ? [ca.istioCsr] : [],
            meshId: args.meshId, clusterName: cluster.name, network: cluster.network, trustDomain: cluster.trustDomain,
            highAvailability: args.highAvailability, enterpriseCa: !!ca, mesh: args.mesh, tracing: args.tracing,
            peerTrustDomains: args.peerTrustDomains?.length && args.pki ? { trustDomains: args.peerTrustDomains, roots: args.pki.roots } : undefined,
        }, child);
        this.istiod = controlPlane.istiod;
        const ingress = new IngressGateway(`${name}-ingress`, {
            provider: cluster.provider, cloud: cluster.cloud, version: args.charts.istio, highAvailability: args.highAvailability,
            istiod: controlPlane.istiod, certManager: certManager.release, ingress: args.ingress, routes: args.ingressRoutes,
            approverPolicy: ca?.approverPolicy, meshIssuer: ca?.clusterIssuer,
            dns01: cluster.acmeDns01 && { ...cluster.acmeDns01, ready: [...cluster.acmeDns01.ready, ...certManager.acmeDnsAccess] },
        }, child);
        const eastWest = args.eastWest && new EastWestGateway(`${name}-eastwest`, {
            cluster, version: args.charts.istio, highAvailability: args.highAvailability, istiod: controlPlane.istiod, ...args.eastWest,
        }, child);
        this.namespaces = { [INGRESS_NAMESPACE]: ingress.namespace, ...eastWest && { [EASTWEST_NAMESPACE]: eastWest.namespace } };
        this.registerOutputs({ cluster: this.cluster, istiod: this.istiod, namespaces: this.namespaces });
    }
}
