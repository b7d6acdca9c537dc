import assert from "node:assert/strict";
import { CapturedResource } from "../engine/graph";
import { Plan } from "../engine/plan";
import { plain } from "../engine/values";
import { shippedPlan } from "./support/plan";
import { threeClusterProd } from "./support/variants";

const of = (plan: Plan, type: string) => plan.graph.resources.filter((r) => r.type === type);
const one = (plan: Plan, type: string, name?: string): CapturedResource => {
    const found = of(plan, type).filter((r) => name === undefined || r.name === name);
    assert.equal(found.length, 1, `expected one ${type} ${name ?? ""}, found ${found.map((r) => r.name).join(", ")}`);
    return found[0];
};
const inputs = (r: CapturedResource) => plain(r.inputs);
const outputs = (r: CapturedResource) => plain(r.outputs);
/** The NAT (egress) addresses of a cluster; its east-west addresses are for ingress and are not egress. */
const egressOf = (plan: Plan, cluster: string) => [
    ...of(plan, "aws:ec2/eip:Eip").filter((r) => r.name.startsWith(`${cluster}-network-nat-`)).map((r) => `${outputs(r).publicIp}/32`),
    ...of(plan, "gcp:compute/address:Address").filter((r) => r.name.startsWith(`${cluster}-network-nat-`)).map((r) => `${outputs(r).address}/32`),
];

describe("clusters on two clouds (prod)", () => {
    let prod: Plan;
    before(async () => {
        prod = await shippedPlan("prod");
    });

    it("builds a hardened EKS cluster whose endpoint admits only the operators and the GKE cluster's NAT addresses", () => {
        const eks = one(prod, "aws:eks/cluster:Cluster");
        const i = inputs(eks);
        assert.equal(i.version, "1.34");
        assert.deepEqual(i.enabledClusterLogTypes, ["api", "audit", "authenticator"]);
        assert.equal(i.accessConfig.authenticationMode, "API");
        assert.deepEqual(i.encryptionConfig.resources, ["secrets"]);
        assert.equal(i.encryptionConfig.provider.keyArn, outputs(one(prod, "aws:kms/key:Key")).arn);
        assert.equal(inputs(one(prod, "aws:kms/key:Key")).enableKeyRotation, true);
        assert.equal(i.vpcConfig.endpointPublicAccess, true);
        const gkeNat = egressOf(prod, "prod-gcp-usc1");
        assert.equal(gkeNat.length, 2, "HA: two reserved NAT addresses");
        assert.deepEqual(i.vpcConfig.publicAccessCidrs, ["198.51.100.0/24", ...gkeNat.sort()]);
        assert.equal(eks.protect, true);
        assert.equal(one(prod, "aws:kms/key:Key").protect, true);
    });

    it("spreads the EKS network over three zones with a NAT gateway and Elastic IP per zone, nodes in private subnets with IMDSv2", () => {
        const subnets = of(prod, "aws:ec2/subnet:Subnet").map(inputs);
        assert.equal(new Set(subnets.map((s) => s.availabilityZone)).size, 3);
        assert.equal(of(prod, "aws:ec2/natGateway:NatGateway").length, 3);
        const ng = inputs(one(prod, "aws:eks/nodeGroup:NodeGroup"));
        const privateIds = of(prod, "aws:ec2/subnet:Subnet").filter((s) => s.name.includes("-private-")).map((s) => outputs(s).id);
        assert.deepEqual(ng.subnetIds, privateIds);
        assert.deepEqual(ng.scalingConfig, { minSize: 3, maxSize: 12, desiredSize: 6 });
        const lt = inputs(one(prod, "aws:ec2/launchTemplate:LaunchTemplate"));
        assert.equal(lt.metadataOptions.httpTokens, "required");
        assert.equal(lt.metadataOptions.httpPutResponseHopLimit, 1);
    });

    it("lets the EKS control plane reach the mesh's webhook ports on nodes", () => {
        const clusterSg = outputs(one(prod, "aws:eks/cluster:Cluster")).vpcConfig.clusterSecurityGroupId;
        const ports = of(prod, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule").map(inputs)
            .filter((r) => r.referencedSecurityGroupId === clusterSg).map((r) => r.fromPort).sort();
        assert.deepEqual(ports, [10250, 15017, 9443].sort());
    });

    it("installs the AWS Load Balancer Controller with Pod Identity, two replicas in HA", () => {
        const lbc = one(prod, "kubernetes:helm.sh/v3:Release", "prod-aws-use1-aws-load-balancer-controller");
        const v = inputs(lbc).values;
        assert.equal(inputs(lbc).version, "1.14.0");
        assert.equal(v.clusterName, "prod-aws-use1");
        assert.equal(v.vpcId, outputs(one(prod, "aws:ec2/vpc:Vpc")).id);
        assert.equal(v.replicaCount, 2);
        assert.equal(inputs(one(prod, "aws:eks/podIdentityAssociation:PodIdentityAssociation", "prod-aws-use1-lbc")).serviceAccount, v.serviceAccount.name);
        const policy = JSON.parse(inputs(one(prod, "aws:iam/rolePolicy:RolePolicy", "prod-aws-use1-lbc")).policy);
        assert.ok(policy.Statement.some((s: any) => [s.Action].flat().includes("elasticloadbalancing:CreateLoadBalancer")));
    });

    it("builds a hardened GKE cluster whose authorized networks are the operators and the EKS cluster's Elastic IPs", () => {
        const gke = one(prod, "gcp:container/cluster:Cluster");
        const i = inputs(gke);
        assert.equal(i.privateClusterConfig.enablePrivateNodes, true);
        assert.equal(i.privateClusterConfig.masterIpv4CidrBlock, "172.16.0.0/28");
        assert.deepEqual(i.masterAuthorizedNetworksConfig.cidrBlocks.map((b: any) => b.cidrBlock), ["198.51.100.0/24", ...egressOf(prod, "prod-aws-use1")]);
        assert.equal(i.workloadIdentityConfig.workloadPool, "acme-mesh-prod.svc.id.goog");
        assert.equal(i.enableShieldedNodes, true);
        assert.equal(i.datapathProvider, "ADVANCED_DATAPATH");
        assert.deepEqual(i.databaseEncryption, { state: "ENCRYPTED", keyName: outputs(one(prod, "gcp:kms/cryptoKey:CryptoKey")).id });
        assert.equal(i.enableLegacyAbac, false);
        assert.equal(i.masterAuth.clientCertificateConfig.issueClientCertificate, false);
        assert.equal(i.releaseChannel.channel, "REGULAR");
        assert.equal(i.deletionProtection, true);
        assert.equal(gke.protect, true);
        const pool = inputs(one(prod, "gcp:container/nodePool:NodePool"));
        assert.equal(pool.nodeConfig.imageType, "COS_CONTAINERD");
        assert.deepEqual(pool.management, { autoRepair: true, autoUpgrade: true });
        assert.equal(pool.nodeConfig.shieldedInstanceConfig.enableSecureBoot, true);
        assert.equal(pool.nodeConfig.serviceAccount, outputs(one(prod, "gcp:serviceaccount/account:Account", "prod-gcp-usc1-nodes")).email);
        const fw = inputs(one(prod, "gcp:compute/firewall:Firewall"));
        assert.deepEqual(fw.sourceRanges, ["172.16.0.0/28"]);
        assert.ok(fw.allows[0].ports.includes("15017"));
        assert.deepEqual(fw.targetTags, pool.nodeConfig.tags);
    });

    it("gives every cloud resource an explicit provider and every cluster a Kubernetes provider from an exec kubeconfig", () => {
        for (const r of prod.graph.resources.filter((x) => x.custom && !x.read && /^(aws|gcp|kubernetes):/.test(x.type))) {
            assert.ok(!r.provider.endsWith("::default"), `${r.type} ${r.name} uses a default provider`);
        }
        const eksKubeconfig = JSON.parse(inputs(one(prod, "pulumi:providers:kubernetes", "prod-aws-use1")).kubeconfig);
        assert.deepEqual(eksKubeconfig.users[0].user.exec.args.slice(0, 5), ["--region", "us-east-1", "eks", "get-token", "--cluster-name"]);
        assert.equal(eksKubeconfig.clusters[0].cluster.server, outputs(one(prod, "aws:eks/cluster:Cluster")).endpoint);
        const gkeKubeconfig = JSON.parse(inputs(one(prod, "pulumi:providers:kubernetes", "prod-gcp-usc1")).kubeconfig);
        assert.equal(gkeKubeconfig.users[0].user.exec.command, "gke-gcloud-auth-plugin");
        assert.ok(Buffer.from(gkeKubeconfig.clusters[0].cluster["certificate-authority-data"], "base64").toString().startsWith("-----BEGIN CERTIFICATE-----"));
        // Providers receive non-string settings as JSON text, as the SDK sends them.
        assert.deepEqual(JSON.parse(inputs(one(prod, "pulumi:providers:aws", "prod-aws-use1-aws")).allowedAccountIds), ["210987654321"]);
        assert.match(outputs(one(prod, "aws:eks/cluster:Cluster")).arn, /^arn:aws:eks:us-east-1:210987654321:cluster\//);
    });

    it("adding a third cluster adds its egress addresses to every peer's allow-list", async () => {
        const three = await threeClusterProd();
        const [use1, euw1, gcp] = [egressOf(three, "prod-aws-use1"), egressOf(three, "prod-aws-euw1"), egressOf(three, "prod-gcp-usc1")];
        const eksAllow = (name: string) => inputs(one(three, "aws:eks/cluster:Cluster", name)).vpcConfig.publicAccessCidrs;
        // Operators first, then each peer's addresses in cluster order (the order of istio-production:clusters).
        assert.deepEqual(eksAllow("prod-aws-use1"), ["198.51.100.0/24", ...gcp, ...euw1]);
        assert.deepEqual(eksAllow("prod-aws-euw1"), ["198.51.100.0/24", ...use1, ...gcp]);
        const gkeAllow = inputs(one(three, "gcp:container/cluster:Cluster")).masterAuthorizedNetworksConfig.cidrBlocks.map((b: any) => b.cidrBlock);
        assert.deepEqual(gkeAllow, ["198.51.100.0/24", ...use1, ...euw1]);
    });

    it("keeps dev small: two zones, one NAT gateway, no protection", async () => {
        const dev = await shippedPlan("dev");
        assert.equal(of(dev, "aws:ec2/natGateway:NatGateway").length, 1);
        assert.equal(new Set(of(dev, "aws:ec2/subnet:Subnet").map((s) => inputs(s).availabilityZone)).size, 2);
        assert.equal(one(dev, "aws:eks/cluster:Cluster").protect, false);
        assert.deepEqual(inputs(one(dev, "aws:eks/cluster:Cluster")).vpcConfig.publicAccessCidrs, ["203.0.113.0/24"]);
    });
});
