import * as coreV1 from "@pulumi/kubernetes/core/v1";
import * as helmV3 from "@pulumi/kubernetes/helm/v3";
import * as pulumi from "@pulumi/pulumi";
import { MultiClusterConfig } from "../../config";
import { MeshCluster } from "../cloud/MeshCluster";
import { customResource } from "../kubernetes/customResource";
import { eastWestGatewayValues, ISTIO_CHARTS_REPO } from "./values";
import { EASTWEST_GATEWAY, EASTWEST_NAMESPACE } from "../kubernetes/names";

export interface EastWestGatewayArgs {
    /** The cluster: its provider, its Istio network, and the static addresses its cloud reserved (`eastWest`, required). */
    readonly cluster: MeshCluster;
    /** Istio `gateway` chart version. */
    readonly version: string;
    /** Autoscaling from two replicas and a disruption budget. */
    readonly highAvailability: boolean;
    /** Gateway pods are injected by istiod, so they wait for it. */
    readonly istiod: pulumi.Resource;
    /** The other clusters' egress addresses (CIDRs). */
    readonly sourceRanges: readonly pulumi.Input<string>[];
    /** The stack's `multiCluster` settings, as the config gate parsed them, handed whole to the gateway's values. */
    readonly multiCluster: MultiClusterConfig;
}

/**
 * The east-west gateway of one cluster on its static public addresses, and the cross-network Gateway that passes
 * mTLS through (AUTO_PASSTHROUGH on `*.local`): peers' sidecars reach this cluster's services through it.
 */
export class EastWestGateway extends pulumi.ComponentResource {
    readonly release: helmV3.Release;
    readonly namespace: coreV1.Namespace;

    constructor(name: string, args: EastWestGatewayArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("istio-production:mesh:EastWestGateway", name, {}, opts);
        const { cluster } = args;
        if (!cluster.eastWest) throw new pulumi.ResourceError(`EastWestGateway ${name}: cluster ${cluster.name} has no east-west addresses: the cloud layer reserves them when multi-cluster is on`, this);
        const child = { parent: this, provider: cluster.provider };
        const ew = cluster.eastWest;
        const namespace = this.namespace = new coreV1.Namespace(`${name}-ns`, {
            metadata: { name: EASTWEST_NAMESPACE, labels: { "istio-injection": "enabled" } },
        }, { ...child, dependsOn: [args.istiod] });
        // Replaced by deleting first: its load balancer holds the cluster's static addresses, which a new load balancer
        // cannot take until the old one lets go of them.
        this.release = new helmV3.Release(`${name}-gateway`, {
            name: EASTWEST_GATEWAY,
            chart: "gateway",
            version: args.version,
            repositoryOpts: { repo: ISTIO_CHARTS_REPO },
            namespace: EASTWEST_NAMESPACE,
            // Computed addresses stay leaves of the values, so a preview (and its policies) sees every other value.
            values: eastWestGatewayValues({
                network: cluster.network, highAvailability: args.highAvailability, serviceAnnotations: ew.serviceAnnotations,
                sourceRanges: args.sourceRanges, loadBalancerIP: ew.loadBalancerIP, multiCluster: args.multiCluster,
            }),
            atomic: true,
        }, { ...child, dependsOn: [args.istiod, namespace], deleteBeforeReplace: true });
        customResource(`${name}-cross-network`, "networking.istio.io/v1", "Gateway", { name: "cross-network-gateway", namespace: EASTWEST_NAMESPACE }, {
            spec: {
                selector: { istio: "eastwestgateway" },
                servers: [{ port: { number: 15443, name: "tls", protocol: "TLS" }, tls: { mode: "AUTO_PASSTHROUGH" }, hosts: ["*.local"] }],
            },
        }, { ...child, dependsOn: [this.release] });
        this.registerOutputs({ release: this.release.status, namespace: this.namespace });
    }
}
