import { Provider as AwsProvider } from "@pulumi/aws/provider";
import { Region } from "@pulumi/aws/types/enums";
import { Provider as GcpProvider } from "@pulumi/gcp/provider";
import { ClusterConfig, MeshConfig } from "../config";
import { peerAllowList } from "../components/cloud/allowList";
import { AwsVpc } from "../components/cloud/aws/AwsVpc";
import { EksCluster } from "../components/cloud/aws/EksCluster";
import { GcpVpc } from "../components/cloud/gcp/GcpVpc";
import { GkeCluster } from "../components/cloud/gcp/GkeCluster";
import { CERT_MANAGER_NAMESPACE, CERT_MANAGER_SERVICE_ACCOUNT } from "../components/kubernetes/names";
import { AcmeDnsZone, ClusterVpc, MeshCluster } from "../components/cloud/MeshCluster";
import { SignedSubordinate } from "../components/pki/managedCa";

type CloudSetup =
    | { readonly config: Extract<ClusterConfig, { cloud: "aws" }>; readonly provider: AwsProvider; readonly vpc: AwsVpc }
    | { readonly config: Extract<ClusterConfig, { cloud: "gcp" }>; readonly provider: GcpProvider; readonly vpc: GcpVpc };

/**
 * Every cluster of the stack, on either cloud. VPCs come first, for all clusters, so that each cluster's API
 * allow-list can name every peer's egress addresses without a cycle; then the clusters. The one place that
 * branches on the cloud.
 */
export function buildClusters(config: MeshConfig, multiCluster: boolean, signed: ReadonlyMap<string, SignedSubordinate | undefined> = new Map()): MeshCluster[] {
    const ha = config.highAvailability;
    const setups: CloudSetup[] = config.clusters.map((c) => {
        if (c.cloud === "aws") {
            // An explicit provider per cluster: region and account never come from the operator's environment.
            const provider = new AwsProvider(`${c.name}-aws`, {
                region: c.region as Region,
                allowedAccountIds: c.accountId ? [c.accountId] : undefined,
                defaultTags: { tags: { "istio-production/environment": config.environment, "istio-production/mesh": config.meshId } },
            });
            // `-network`, as before the class was named for the VPC: the name is part of the URNs of the VPC and its children.
            const vpc = new AwsVpc(`${c.name}-network`, {
                clusterName: c.name, provider, vpcCidr: c.vpcCidr,
                availabilityZoneCount: c.availabilityZones ?? (ha ? 3 : 2),
                natPerZone: ha,
                eastWestAddresses: multiCluster,
            });
            return { config: c, provider, vpc };
        }
        const provider = new GcpProvider(`${c.name}-gcp`, {
            project: c.project, region: c.region,
            defaultLabels: { "istio-production-environment": config.environment, "istio-production-mesh": config.meshId },
        });
        const vpc = new GcpVpc(`${c.name}-network`, {
            clusterName: c.name, provider, region: c.region, subnetCidr: c.subnetCidr, podsCidr: c.podsCidr,
            servicesCidr: c.servicesCidr, natAddressCount: c.natAddresses ?? (ha ? 2 : 1), eastWestAddress: multiCluster,
        });
        return { config: c, provider, vpc };
    });

    const vpcs: ClusterVpc[] = setups.map((s) => s.vpc);
    const acmeDns = acmeDnsZone(config);
    // Route 53 challenges from GKE: the role lives in the account of the stack's first EKS cluster (the config gate
    // refuses a Route 53 zone without one).
    const zoneAccount = setups.find((s) => s.config.cloud === "aws");
    return setups.map((s): MeshCluster => {
        const allowed = peerAllowList(s.config.name, vpcs, config.operatorCidrs);
        const common = { network: s.config.network, trustDomain: s.config.trustDomain, protect: config.protectResources };
        const managedCa = s.config.caBackend === "secret" ? undefined : {
            environment: config.environment, signed: signed.get(s.config.name), highAvailability: ha,
            issuerChartVersion: s.config.caBackend === "aws-private-ca" ? config.charts.awsPrivateCaIssuer : config.charts.googleCasIssuer,
        };
        if (s.config.cloud === "aws") {
            return new EksCluster(s.config.name, {
                ...common,
                region: s.config.region, vpc: s.vpc as AwsVpc, provider: s.provider as AwsProvider,
                kubernetesVersion: s.config.kubernetesVersion, endpointAccess: s.config.endpointAccess,
                publicAccessCidrs: allowed, nodes: s.config.nodes, highAvailability: ha,
                loadBalancerControllerVersion: config.charts.awsLoadBalancerController,
                acmeDns: acmeDns?.zone.provider === "route53" ? { ...acmeDns, zone: acmeDns.zone } : undefined,
                managedCa,
            });
        }
        return new GkeCluster(s.config.name, {
            ...common,
            project: s.config.project, region: s.config.region, vpc: s.vpc as GcpVpc, provider: s.provider as GcpProvider,
            releaseChannel: s.config.releaseChannel, masterCidr: s.config.masterCidr, authorizedCidrs: allowed, nodes: s.config.nodes,
            acmeDns: acmeDns && {
                ...acmeDns,
                aws: zoneAccount && { provider: zoneAccount.provider as AwsProvider, region: zoneAccount.config.region },
            },
            managedCa,
        });
    });
}

/** The zone of the ingress hosts' ACME DNS-01 challenges, when the stack issues them that way. */
function acmeDnsZone(config: MeshConfig): AcmeDnsZone | undefined {
    const ingress = config.ingress;
    if (ingress?.issuer !== "acme" || ingress.acmeChallenge !== "dns01" || !ingress.dnsZone) return undefined;
    return { zone: ingress.dnsZone, certManager: { namespace: CERT_MANAGER_NAMESPACE, serviceAccount: CERT_MANAGER_SERVICE_ACCOUNT } };
}
