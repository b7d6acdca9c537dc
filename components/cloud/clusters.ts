import * as aws from "@pulumi/aws";
import * as gcp from "@pulumi/gcp";
import { ClusterConfig, MeshConfig } from "../../config";
import { peerAllowList } from "./allowList";
import { AwsNetwork } from "./aws/AwsNetwork";
import { EksCluster } from "./aws/EksCluster";
import { GcpNetwork } from "./gcp/GcpNetwork";
import { GkeCluster } from "./gcp/GkeCluster";
import { ClusterNetwork, MeshCluster } from "./MeshCluster";

type CloudSetup =
    | { readonly config: Extract<ClusterConfig, { cloud: "aws" }>; readonly provider: aws.Provider; readonly network: AwsNetwork }
    | { readonly config: Extract<ClusterConfig, { cloud: "gcp" }>; readonly provider: gcp.Provider; readonly network: GcpNetwork };

/**
 * Every cluster of the stack, on either cloud. Networks come first, for all clusters, so that each cluster's API
 * allow-list can name every peer's egress addresses without a cycle; then the clusters. The one place that
 * branches on the cloud.
 */
export function buildClusters(config: MeshConfig, multiCluster: boolean): MeshCluster[] {
    const ha = config.highAvailability;
    const setups: CloudSetup[] = config.clusters.map((c) => {
        if (c.cloud === "aws") {
            // An explicit provider per cluster: region and account never come from the operator's environment.
            const provider = new aws.Provider(`${c.name}-aws`, {
                region: c.region as aws.Region,
                allowedAccountIds: c.accountId ? [c.accountId] : undefined,
                defaultTags: { tags: { "istio-production/environment": config.environment, "istio-production/mesh": config.meshId } },
            });
            const network = new AwsNetwork(`${c.name}-network`, {
                clusterName: c.name, provider, vpcCidr: c.vpcCidr,
                availabilityZoneCount: c.availabilityZones ?? (ha ? 3 : 2),
                natPerZone: ha,
                eastWestAddresses: multiCluster,
            });
            return { config: c, provider, network };
        }
        const provider = new gcp.Provider(`${c.name}-gcp`, {
            project: c.project, region: c.region,
            defaultLabels: { "istio-production-environment": config.environment, "istio-production-mesh": config.meshId },
        });
        const network = new GcpNetwork(`${c.name}-network`, {
            clusterName: c.name, provider, region: c.region, subnetCidr: c.subnetCidr, podsCidr: c.podsCidr,
            servicesCidr: c.servicesCidr, natAddressCount: c.natAddresses ?? (ha ? 2 : 1), eastWestAddress: multiCluster,
        });
        return { config: c, provider, network };
    });

    const networks: ClusterNetwork[] = setups.map((s) => s.network);
    return setups.map((s): MeshCluster => {
        const allowed = peerAllowList(s.config.name, networks, config.operatorCidrs);
        const common = { meshNetwork: s.config.network, trustDomain: s.config.trustDomain, protect: config.protectResources };
        if (s.config.cloud === "aws") {
            return new EksCluster(s.config.name, {
                ...common,
                region: s.config.region, network: s.network as AwsNetwork, provider: s.provider as aws.Provider,
                kubernetesVersion: s.config.kubernetesVersion, endpointAccess: s.config.endpointAccess,
                publicAccessCidrs: allowed, nodes: s.config.nodes, highAvailability: ha,
                loadBalancerControllerVersion: config.charts.awsLoadBalancerController,
            });
        }
        return new GkeCluster(s.config.name, {
            ...common,
            project: s.config.project, region: s.config.region, network: s.network as GcpNetwork, provider: s.provider as gcp.Provider,
            releaseChannel: s.config.releaseChannel, masterCidr: s.config.masterCidr, authorizedCidrs: allowed, nodes: s.config.nodes,
        });
    });
}
