import { Provider as AwsProvider } from "@pulumi/aws/provider";
import * as ec2 from "@pulumi/aws/ec2";
import { getAvailabilityZonesOutput } from "@pulumi/aws/getAvailabilityZones";
import * as pulumi from "@pulumi/pulumi";
import { checked } from "../../checked";
import { ClusterVpc } from "../MeshCluster";
import { subnetCidrs } from "./subnets";

export interface AwsVpcArgs {
    /**
     * The EKS cluster the VPC is for: its subnets carry `kubernetes.io/cluster/<clusterName>: shared`, the tag the AWS
     * Load Balancer Controller checks before it places a load balancer in a subnet.
     */
    readonly clusterName: string;
    /** The provider pinned to the cluster's region (and account); every resource and the zone lookup use it. */
    readonly provider: AwsProvider;
    /**
     * The VPC's IPv4 range, split by `subnetCidrs`: the lower half into private subnets (nodes and pods), the upper
     * half into small public ones. At least as large as `longestVpcPrefix(availabilityZoneCount)` allows.
     */
    readonly vpcCidr: string;
    /** How many of the region's available zones to span, the first ones in the region's order: a subnet pair in each. */
    readonly availabilityZoneCount: number;
    /** One NAT gateway per zone (a zone outage keeps egress) or one for all. */
    readonly natPerZone: boolean;
    /** Allocate an Elastic IP per public subnet for the east-west gateway's NLB. */
    readonly eastWestAddresses: boolean;
    /** Tags on every resource, besides `istio-production/cluster: <clusterName>`. @default - that tag only */
    readonly tags?: Record<string, string>;
}

/**
 * The VPC of one EKS cluster: public subnets (load balancers, NAT) and private subnets (nodes) over several zones,
 * NAT gateways with Elastic IPs whose addresses are the cluster's stable egress, known before the cluster exists.
 */
export class AwsVpc extends pulumi.ComponentResource implements ClusterVpc {
    readonly clusterName: string;
    readonly vpcId: pulumi.Output<string>;
    /** In zone order. */
    readonly publicSubnetIds: pulumi.Output<string[]>;
    /** In zone order. */
    readonly privateSubnetIds: pulumi.Output<string[]>;
    /** The NAT gateways' Elastic IPs: the cluster's egress. */
    readonly egressIps: pulumi.Output<string[]>;
    readonly egressAddresses: readonly pulumi.Output<string>[];
    /** `eastWestAddresses` as requested. */
    readonly eastWestEnabled: boolean;
    /** Elastic IPs for the east-west NLB, one per public subnet, in subnet order (empty unless requested). */
    readonly eastWestAllocationIds: pulumi.Output<string[]>;
    /** Their public addresses, in the same order. */
    readonly eastWestIps: pulumi.Output<string[]>;

    constructor(name: string, args: AwsVpcArgs, opts: pulumi.ComponentResourceOptions = {}) {
        // The type keeps its first name: it is part of the URN of this component and of everything under it.
        super("istio-production:aws:AwsNetwork", name, {}, opts);
        // Before anything is created: a VPC too small for its zones is refused with nothing half-built.
        const subnets = checked(this, `AwsVpc ${name}`, () => subnetCidrs(args.vpcCidr, args.availabilityZoneCount));
        this.clusterName = args.clusterName;
        const child = { parent: this, provider: args.provider };
        const tags = { ...args.tags, "istio-production/cluster": args.clusterName };
        const clusterTag = `kubernetes.io/cluster/${args.clusterName}`;

        const zones = getAvailabilityZonesOutput({ state: "available" }, child).names.apply((names) => {
            if (names.length < args.availabilityZoneCount) throw new pulumi.ResourceError(`AwsVpc ${name}: cluster ${args.clusterName}: the region has ${names.length} availability zones, ${args.availabilityZoneCount} requested`, this);
            return names.slice(0, args.availabilityZoneCount);
        });
        const vpc = new ec2.Vpc(`${name}-vpc`, { cidrBlock: args.vpcCidr, enableDnsHostnames: true, enableDnsSupport: true, tags: { ...tags, Name: name } }, child);
        const igw = new ec2.InternetGateway(`${name}-igw`, { vpcId: vpc.id, tags }, { ...child, parent: vpc });
        const publicRt = new ec2.RouteTable(`${name}-public`, { vpcId: vpc.id, routes: [{ cidrBlock: "0.0.0.0/0", gatewayId: igw.id }], tags }, { ...child, parent: vpc });

        const publicSubnets: ec2.Subnet[] = [];
        const privateSubnets: ec2.Subnet[] = [];
        const eips: ec2.Eip[] = [];
        // Names carry the zone index, not the zone name: the zone list comes from an invoke and names must be stable.
        for (let i = 0; i < args.availabilityZoneCount; i++) {
            const az = zones.apply((z) => z[i]);
            const pub = new ec2.Subnet(`${name}-public-${i}`, {
                vpcId: vpc.id, cidrBlock: subnets.public[i], availabilityZone: az, mapPublicIpOnLaunch: false,
                tags: { ...tags, [clusterTag]: "shared", "kubernetes.io/role/elb": "1" },
            }, { ...child, parent: vpc });
            new ec2.RouteTableAssociation(`${name}-public-${i}`, { subnetId: pub.id, routeTableId: publicRt.id }, { ...child, parent: pub });
            publicSubnets.push(pub);
            if (args.natPerZone || i === 0) {
                eips.push(new ec2.Eip(`${name}-nat-${i}`, { domain: "vpc", tags }, { ...child, parent: pub }));
            }
            const priv = new ec2.Subnet(`${name}-private-${i}`, {
                vpcId: vpc.id, cidrBlock: subnets.private[i], availabilityZone: az,
                tags: { ...tags, [clusterTag]: "shared", "kubernetes.io/role/internal-elb": "1" },
            }, { ...child, parent: vpc });
            privateSubnets.push(priv);
        }
        const nats = eips.map((eip, i) => new ec2.NatGateway(`${name}-nat-${i}`, {
            allocationId: eip.allocationId, subnetId: publicSubnets[i].id, connectivityType: "public", tags,
        }, { ...child, parent: publicSubnets[i], dependsOn: [igw] }));
        privateSubnets.forEach((priv, i) => {
            const nat = nats[args.natPerZone ? i : 0];
            const rt = new ec2.RouteTable(`${name}-private-${i}`, { vpcId: vpc.id, routes: [{ cidrBlock: "0.0.0.0/0", natGatewayId: nat.id }], tags }, { ...child, parent: priv });
            new ec2.RouteTableAssociation(`${name}-private-${i}`, { subnetId: priv.id, routeTableId: rt.id }, { ...child, parent: priv });
        });

        // An NLB takes one Elastic IP per subnet; pre-allocated, its addresses are known before the NLB exists, so peers
        // can allow-list them and they survive the Service being recreated.
        const eastWest = args.eastWestAddresses
            ? publicSubnets.map((pub, i) => new ec2.Eip(`${name}-eastwest-${i}`, { domain: "vpc", tags: { ...tags, "istio-production/role": "eastwest" } }, { ...child, parent: pub }))
            : [];
        this.eastWestEnabled = args.eastWestAddresses;
        this.eastWestAllocationIds = pulumi.all(eastWest.map((e) => e.allocationId));
        this.eastWestIps = pulumi.all(eastWest.map((e) => e.publicIp));
        this.vpcId = vpc.id;
        this.publicSubnetIds = pulumi.all(publicSubnets.map((s) => s.id));
        this.privateSubnetIds = pulumi.all(privateSubnets.map((s) => s.id));
        this.egressAddresses = eips.map((e) => e.publicIp);
        this.egressIps = pulumi.all([...this.egressAddresses]);
        this.registerOutputs({
            clusterName: this.clusterName, vpcId: this.vpcId, publicSubnetIds: this.publicSubnetIds, privateSubnetIds: this.privateSubnetIds,
            egressIps: this.egressIps, egressAddresses: this.egressAddresses, eastWestEnabled: this.eastWestEnabled,
            eastWestAllocationIds: this.eastWestAllocationIds, eastWestIps: this.eastWestIps,
        });
    }
}
