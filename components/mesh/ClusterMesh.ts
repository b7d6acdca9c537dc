import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { ChartVersions } from "../../config";
import { MeshCluster } from "../cloud/MeshCluster";
import { ClusterPki } from "../pki/handoff";
import { CertManager } from "./CertManager";
import { EastWestGateway } from "./EastWestGateway";
import { IngressGateway, IngressGatewayArgs } from "./IngressGateway";
import { IstioControlPlane } from "./IstioControlPlane";
import { MeshCa } from "./MeshCa";
import { EASTWEST_NAMESPACE, INGRESS_NAMESPACE, ISTIO_NAMESPACE, KeyAlgorithm } from "./values";

export interface ClusterMeshArgs {
    readonly cluster: MeshCluster;
    readonly meshId: string;
    readonly charts: ChartVersions;
    readonly highAvailability: boolean;
    /** Stage 2: the cluster's intermediate under the offline root, served by istio-csr. Absent: istiod is the CA. */
    readonly enterpriseCa?: ClusterPki;
    readonly workloadCertificateTtlMinutes: number;
    readonly keyAlgorithm: KeyAlgorithm;
    readonly istioHub: string;
    readonly istioTag: string;
    readonly ingressTls?: Omit<NonNullable<IngressGatewayArgs["tls"]>, "approverPolicy" | "meshIssuer" | "dns01">;
    /** Stage 5, per-cloud trust domains: the other clouds' trust domains this cluster accepts for mTLS. */
    readonly peerTrustDomains?: readonly string[];
    readonly trustDomainAliases?: readonly string[];
    readonly outboundTrafficPolicy?: "REGISTRY_ONLY" | "ALLOW_ANY";
    /** The tracing collector istiod registers as an extension provider. */
    readonly tracing?: { readonly name: string; readonly service: string; readonly port: number };
    /** Stage 4: the east-west gateway, reachable only from these source ranges (the peers' egress). */
    readonly eastWest?: { readonly sourceRanges: readonly pulumi.Input<string>[]; readonly exposeIstiod: boolean };
}

/**
 * The mesh on one cluster, in the order real installs need: namespaces (the network label before istiod starts),
 * cert-manager, then (stage 2) the mesh CA and istio-csr, then Istio base and istiod, then the ingress gateway.
 */
export class ClusterMesh extends pulumi.ComponentResource {
    readonly istiod: k8s.helm.v3.Release;
    /** The gateways' namespaces on this cluster, by name. */
    readonly gatewayNamespaces: Readonly<Record<string, k8s.core.v1.Namespace>>;

    constructor(name: string, args: ClusterMeshArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("istio-production:mesh:ClusterMesh", name, {}, opts);
        const { cluster } = args;
        const child = { parent: this };
        // Everything here hangs off these two namespaces, so it all follows the cluster's service controller.
        const afterController = cluster.serviceController ? [cluster.serviceController] : [];
        const istioNamespace = new k8s.core.v1.Namespace(`${name}-istio-system`, {
            metadata: { name: ISTIO_NAMESPACE, labels: { "topology.istio.io/network": cluster.network } },
        }, { ...child, provider: cluster.provider, dependsOn: afterController });
        const certManager = new CertManager(`${name}-cert-manager`, {
            provider: cluster.provider, version: args.charts.certManager, highAvailability: args.highAvailability, approverPolicy: !!args.enterpriseCa,
            after: afterController, acmeDns01: cluster.acmeDns01,
        }, child);
        const ca = args.enterpriseCa && new MeshCa(`${name}-mesh-ca`, {
            provider: cluster.provider, certManager: certManager.release, istioNamespace, pki: args.enterpriseCa,
            clusterName: cluster.name, trustDomain: cluster.trustDomain, highAvailability: args.highAvailability,
            workloadCertificateTtlMinutes: args.workloadCertificateTtlMinutes, keyAlgorithm: args.keyAlgorithm,
            istioCsrVersion: args.charts.istioCsr, approverPolicyVersion: args.charts.approverPolicy,
            clusterIssuer: args.ingressTls?.issuer === "private",
            managedIssuer: args.enterpriseCa.step === "managed" ? cluster.managedCa?.issuer : undefined,
            awaitingManagedCa: args.enterpriseCa.step === "awaiting-signature" ? cluster.managedCa?.caName : undefined,
        }, child);
        const controlPlane = new IstioControlPlane(`${name}-istio`, {
            provider: cluster.provider, istioNamespace, version: args.charts.istio, caReady: ca ? [ca.istioCsr] : [],
            meshId: args.meshId, clusterName: cluster.name, network: cluster.network, trustDomain: cluster.trustDomain,
            highAvailability: args.highAvailability, enterpriseCa: !!ca, keyAlgorithm: args.keyAlgorithm, hub: args.istioHub, tag: args.istioTag,
            trustDomainAliases: args.trustDomainAliases, tracing: args.tracing, outboundTrafficPolicy: args.outboundTrafficPolicy,
            peerTrustDomains: args.peerTrustDomains?.length && args.enterpriseCa ? { trustDomains: args.peerTrustDomains, roots: args.enterpriseCa.roots } : undefined,
        }, child);
        this.istiod = controlPlane.istiod;
        const ingress = new IngressGateway(`${name}-ingress`, {
            provider: cluster.provider, cloud: cluster.cloud, version: args.charts.istio, highAvailability: args.highAvailability,
            istiod: controlPlane.istiod, certManager: certManager.release,
            tls: args.ingressTls && { ...args.ingressTls, approverPolicy: ca?.approverPolicy, meshIssuer: ca?.clusterIssuer,
                dns01: cluster.acmeDns01 && { ...cluster.acmeDns01, ready: [...cluster.acmeDns01.ready, ...certManager.acmeDnsAccess] } },
        }, child);
        const eastWest = args.eastWest && new EastWestGateway(`${name}-eastwest`, {
            cluster, version: args.charts.istio, highAvailability: args.highAvailability, istiod: controlPlane.istiod, ...args.eastWest,
        }, child);
        this.gatewayNamespaces = { [INGRESS_NAMESPACE]: ingress.namespace, ...eastWest && { [EASTWEST_NAMESPACE]: eastWest.namespace } };
        this.registerOutputs({});
    }
}
