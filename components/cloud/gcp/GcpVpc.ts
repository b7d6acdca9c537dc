import { Provider as GcpProvider } from "@pulumi/gcp/provider";
import * as compute from "@pulumi/gcp/compute";
import * as pulumi from "@pulumi/pulumi";
import { ClusterVpc } from "../MeshCluster";

export interface GcpVpcArgs {
    /** The GKE cluster the VPC is for. */
    readonly clusterName: string;
    /** The provider pinned to the cluster's project; every resource uses it. */
    readonly provider: GcpProvider;
    /** The region of the subnet, the router, Cloud NAT and the addresses (the regional cluster's). */
    readonly region: string;
    /** The nodes' primary range. */
    readonly subnetCidr: string;
    /** The secondary range for pods, named `GcpVpc.PODS_RANGE` (VPC-native cluster). */
    readonly podsCidr: string;
    /** The secondary range for Services, named `GcpVpc.SERVICES_RANGE`. */
    readonly servicesCidr: string;
    /** Reserved static addresses for Cloud NAT: the cluster's egress, stable and known before the cluster exists. */
    readonly natAddressCount: number;
    /** Reserve a static address for the east-west gateway's load balancer. */
    readonly eastWestAddress: boolean;
}

/** The VPC of one GKE cluster: a subnet with secondary ranges for pods and services, and Cloud NAT on static addresses. */
export class GcpVpc extends pulumi.ComponentResource implements ClusterVpc {
    readonly clusterName: string;
    readonly networkId: pulumi.Output<string>;
    readonly subnetworkId: pulumi.Output<string>;
    /** The Cloud NAT addresses: the cluster's egress. */
    readonly egressIps: pulumi.Output<string[]>;
    readonly egressAddresses: readonly pulumi.Output<string>[];
    /** The east-west gateway's reserved address, with `eastWestAddress`. */
    readonly eastWestIp?: pulumi.Output<string>;
    static readonly PODS_RANGE = "pods";
    static readonly SERVICES_RANGE = "services";

    constructor(name: string, args: GcpVpcArgs, opts: pulumi.ComponentResourceOptions = {}) {
        // The type keeps its first name: it is part of the URN of this component and of everything under it.
        super("istio-production:gcp:GcpNetwork", name, {}, opts);
        this.clusterName = args.clusterName;
        const child = { parent: this, provider: args.provider };
        const network = new compute.Network(`${name}-vpc`, { name: `${name}-vpc`, autoCreateSubnetworks: false, routingMode: "REGIONAL" }, child);
        const subnet = new compute.Subnetwork(`${name}-nodes`, {
            name: `${name}-nodes`,
            network: network.id,
            region: args.region,
            ipCidrRange: args.subnetCidr,
            privateIpGoogleAccess: true,
            secondaryIpRanges: [
                { rangeName: GcpVpc.PODS_RANGE, ipCidrRange: args.podsCidr },
                { rangeName: GcpVpc.SERVICES_RANGE, ipCidrRange: args.servicesCidr },
            ],
        }, { ...child, parent: network });
        const router = new compute.Router(`${name}-router`, { name: `${name}-router`, network: network.id, region: args.region }, { ...child, parent: network });
        const addresses = Array.from({ length: args.natAddressCount }, (_, i) =>
            new compute.Address(`${name}-nat-${i}`, { name: `${name}-nat-${i}`, region: args.region, addressType: "EXTERNAL", networkTier: "PREMIUM" }, { ...child, parent: router }));
        new compute.RouterNat(`${name}-nat`, {
            name: `${name}-nat`,
            router: router.name,
            region: args.region,
            natIpAllocateOption: "MANUAL_ONLY",
            natIps: addresses.map((a) => a.selfLink),
            sourceSubnetworkIpRangesToNat: "ALL_SUBNETWORKS_ALL_IP_RANGES",
            logConfig: { enable: true, filter: "ERRORS_ONLY" },
        }, { ...child, parent: router });
        if (args.eastWestAddress) {
            this.eastWestIp = new compute.Address(`${name}-eastwest`, { name: `${name}-eastwest`, region: args.region, addressType: "EXTERNAL", networkTier: "PREMIUM" }, child).address;
        }
        this.networkId = network.id;
        this.subnetworkId = subnet.id;
        this.egressAddresses = addresses.map((a) => a.address);
        this.egressIps = pulumi.all([...this.egressAddresses]);
        this.registerOutputs({
            clusterName: this.clusterName, networkId: this.networkId, subnetworkId: this.subnetworkId, egressIps: this.egressIps,
            egressAddresses: this.egressAddresses, eastWestIp: this.eastWestIp,
        });
    }
}
