import "reflect-metadata";
import assert from "node:assert/strict";
import * as x509 from "@peculiar/x509";
import { plain } from "../engine/values";
import { Alone, builtAlone, refusedAlone } from "./support/components";
import { HELM_RELEASE } from "./support/upstream";

// The cloud layer's components built alone (tests/fixtures/components/cloud.ts): each from explicit Args, with only
// providers and the resources a user would already have as stand-ins.

const outputsOf = (alone: Alone, name: string, type: string) => plain(alone.byName(name, type).outputs);
const subjectOf = (csrPem: string) => new x509.Pkcs10CertificateRequest(csrPem).subject;

describe("AwsVpc built alone", () => {
    const built = builtAlone("aws-network");
    const aws = (t: string) => `aws:ec2/${t}`;

    it("spans the zones asked for: a public and a private subnet in each, one NAT gateway unless one per zone", () => {
        assert.deepEqual(built().typesUnder("east-network"), {
            [aws("vpc:Vpc")]: 1, [aws("internetGateway:InternetGateway")]: 1, [aws("routeTable:RouteTable")]: 4, [aws("subnet:Subnet")]: 6,
            [aws("routeTableAssociation:RouteTableAssociation")]: 6, [aws("eip:Eip")]: 4, [aws("natGateway:NatGateway")]: 1,
        });
        const zones = [0, 1, 2].map((i) => built().inputs(`east-network-public-${i}`, aws("subnet:Subnet")).availabilityZone);
        assert.equal(new Set(zones).size, 3, `one public subnet per zone, got ${zones}`);
        for (const i of [0, 1, 2]) assert.equal(built().inputs(`east-network-private-${i}`, aws("subnet:Subnet")).availabilityZone, zones[i]);
    });

    it("tags subnets as the AWS Load Balancer Controller discovers them, and routes only the public ones to the internet gateway", () => {
        // kubernetes-sigs/aws-load-balancer-controller v2.14.0 docs/deploy/subnet_discovery.md: internet-facing load
        // balancers go to subnets tagged kubernetes.io/role/elb, internal ones to kubernetes.io/role/internal-elb; a
        // subnet tagged for other clusters only is filtered out; "a subnet is classified as public if its route table
        // contains a route to an Internet Gateway".
        const igw = built().byName("east-network-igw");
        const nat = built().byName("east-network-nat-0", aws("natGateway:NatGateway"));
        for (const i of [0, 1, 2]) {
            const pub = built().inputs(`east-network-public-${i}`, aws("subnet:Subnet"));
            const priv = built().inputs(`east-network-private-${i}`, aws("subnet:Subnet"));
            assert.equal(pub.tags["kubernetes.io/role/elb"], "1");
            assert.equal(priv.tags["kubernetes.io/role/internal-elb"], "1");
            for (const s of [pub, priv]) {
                assert.equal(s.tags["kubernetes.io/cluster/east"], "shared");
                assert.equal(s.tags.team, "mesh", "the caller's tags reach every resource");
            }
            const privateRoutes = built().inputs(`east-network-private-${i}`, aws("routeTable:RouteTable")).routes;
            assert.deepEqual(privateRoutes.map((r: any) => Object.keys(r).sort()), [["cidrBlock", "natGatewayId"]], "private subnets leave through the NAT gateway");
            assert.ok(built().byName(`east-network-private-${i}`, aws("routeTable:RouteTable")).dependencies.includes(nat.urn), "one NAT gateway for all zones");
        }
        assert.ok(built().byName("east-network-public", aws("routeTable:RouteTable")).dependencies.includes(igw.urn));
    });

    it("nests subnets under the VPC and NAT gateways and addresses under their public subnet", () => {
        const vpc = built().byName("east-network-vpc");
        const pub0 = built().byName("east-network-public-0", aws("subnet:Subnet"));
        assert.equal(built().byName("east-network-public-0", aws("subnet:Subnet")).parent, vpc.urn);
        assert.equal(built().byName("east-network-private-2", aws("subnet:Subnet")).parent, vpc.urn);
        assert.equal(built().byName("east-network-nat-0", aws("natGateway:NatGateway")).parent, pub0.urn);
        assert.equal(built().byName("east-network-eastwest-0").parent, pub0.urn);
    });

    it("registers the subnets in zone order, the NAT address as egress and the east-west addresses in subnet order", () => {
        const out = built().registered("east-network");
        assert.deepEqual(out.publicSubnetIds, [0, 1, 2].map((i) => built().byName(`east-network-public-${i}`, aws("subnet:Subnet")).id));
        assert.deepEqual(out.egressIps, [outputsOf(built(), "east-network-nat-0", aws("eip:Eip")).publicIp]);
        assert.deepEqual(out.egressAddresses, out.egressIps);
        assert.deepEqual(out.eastWestIps, [0, 1, 2].map((i) => outputsOf(built(), `east-network-eastwest-${i}`, aws("eip:Eip")).publicIp));
        assert.deepEqual(out.eastWestAllocationIds, [0, 1, 2].map((i) => outputsOf(built(), `east-network-eastwest-${i}`, aws("eip:Eip")).allocationId));
        assert.equal(out.eastWestEnabled, true);
        assert.equal(out.clusterName, "east");
    });

    it("refuses a VPC too small for its zones, naming the CIDR, before creating anything", async () => {
        const { message, registered } = await refusedAlone("aws-network-too-small", "AwsVpc");
        assert.match(message, /^AwsVpc east-network: vpcCidr 10\.0\.0\.0\/26 is too small for 3 zones/);
        assert.deepEqual(registered.filter((r) => r.type.startsWith("aws:ec2")).map((r) => r.name), []);
    });
});

describe("GcpVpc built alone", () => {
    const built = builtAlone("gcp-network");

    it("gives the subnet the pods' and services' secondary ranges, and NATs every range on the reserved addresses only", () => {
        const subnet = built().inputs("west-network-nodes");
        assert.deepEqual(subnet.secondaryIpRanges, [{ rangeName: "pods", ipCidrRange: "10.20.0.0/14" }, { rangeName: "services", ipCidrRange: "10.30.0.0/20" }]);
        // hashicorp/terraform-provider-google, which @pulumi/gcp 9.37.0 wraps (website/docs/r/compute_router_nat):
        // `nat_ips` are "Self-links of NAT IPs. Only valid if natIpAllocateOption is set to MANUAL_ONLY".
        const nat = built().inputs("west-network-nat");
        assert.equal(nat.natIpAllocateOption, "MANUAL_ONLY");
        assert.deepEqual(nat.natIps, [0, 1].map((i) => outputsOf(built(), `west-network-nat-${i}`, "gcp:compute/address:Address").selfLink));
        assert.equal(nat.sourceSubnetworkIpRangesToNat, "ALL_SUBNETWORKS_ALL_IP_RANGES");
    });

    it("nests the subnet and router under the network, and the NAT and its addresses under the router", () => {
        const network = built().byName("west-network-vpc");
        const router = built().byName("west-network-router");
        assert.equal(built().byName("west-network-nodes").parent, network.urn);
        assert.equal(router.parent, network.urn);
        for (const name of ["west-network-nat", "west-network-nat-0", "west-network-nat-1"]) assert.equal(built().byName(name).parent, router.urn);
    });

    it("registers the NAT addresses as egress and the east-west address", () => {
        const out = built().registered("west-network");
        assert.deepEqual(out.egressIps, [0, 1].map((i) => outputsOf(built(), `west-network-nat-${i}`, "gcp:compute/address:Address").address));
        assert.equal(out.eastWestIp, outputsOf(built(), "west-network-eastwest", "gcp:compute/address:Address").address);
        assert.equal(out.subnetworkId, built().byName("west-network-nodes").id);
    });
});

describe("EksCluster built alone", () => {
    const built = builtAlone("eks-cluster");

    it("creates the cluster in API authentication mode, secrets encrypted with its own key, on the network's subnets", () => {
        const cluster = built().inputs("east", "aws:eks/cluster:Cluster");
        const network = built().registered("east-network");
        assert.equal(cluster.accessConfig.authenticationMode, "API");
        // The EKS API encrypts only "secrets" (EncryptionConfig.resources).
        assert.deepEqual(cluster.encryptionConfig, { provider: { keyArn: outputsOf(built(), "east-secrets", "aws:kms/key:Key").arn }, resources: ["secrets"] });
        assert.deepEqual(cluster.vpcConfig.subnetIds, [...network.privateSubnetIds, ...network.publicSubnetIds]);
        assert.deepEqual(cluster.vpcConfig.publicAccessCidrs, ["192.0.2.0/24"]);
        assert.deepEqual(built().inputs("east-nodes", "aws:eks/nodeGroup:NodeGroup").subnetIds, network.privateSubnetIds, "nodes only in private subnets");
    });

    it("reaches the cluster through a Kubernetes provider whose kubeconfig runs aws eks get-token, after the nodes exist", () => {
        const provider = built().byName("east", "pulumi:providers:kubernetes");
        const user = JSON.parse(plain(provider.inputs).kubeconfig).users[0].user.exec;
        assert.equal(user.command, "aws");
        assert.deepEqual(user.args.slice(0, 6), ["--region", "eu-west-1", "eks", "get-token", "--cluster-name", "east"]);
        assert.ok(provider.dependencies.includes(built().byName("east-nodes", "aws:eks/nodeGroup:NodeGroup").urn));
        assert.equal(provider.parent, built().component("east").urn);
    });

    it("installs the AWS Load Balancer Controller under the Pod Identity its service account is bound to", () => {
        const release = built().byName("east-aws-load-balancer-controller", HELM_RELEASE);
        const inputs = plain(release.inputs);
        const association = built().inputs("east-lbc", "aws:eks/podIdentityAssociation:PodIdentityAssociation");
        assert.equal(inputs.repositoryOpts.repo, "https://aws.github.io/eks-charts");
        // kubernetes-sigs/aws-load-balancer-controller v2.14.0 helm/aws-load-balancer-controller/values.yaml:
        // clusterName, region and vpcId, and the service account the chart creates.
        assert.deepEqual({ clusterName: inputs.values.clusterName, region: inputs.values.region, vpcId: inputs.values.vpcId },
            { clusterName: "east", region: "eu-west-1", vpcId: built().registered("east-network").vpcId });
        assert.deepEqual({ namespace: inputs.namespace, serviceAccount: inputs.values.serviceAccount.name }, { namespace: association.namespace, serviceAccount: association.serviceAccount });
        assert.equal(release.provider.split("::").pop(), "east", "applied with the cluster's own provider");
    });

    it("hands on east-west annotations binding one Elastic IP per subnet of an internet-facing NLB", () => {
        // aws-load-balancer-controller v2.14.0 docs/guide/service/annotations.md: eip-allocations is for internet-facing
        // NLBs only and needs as many allocations as load balancer subnets.
        const { eastWest } = built().registered("east");
        const annotations = eastWest.serviceAnnotations;
        const eips = annotations["service.beta.kubernetes.io/aws-load-balancer-eip-allocations"].split(",");
        assert.equal(annotations["service.beta.kubernetes.io/aws-load-balancer-scheme"], "internet-facing");
        assert.equal(annotations["service.beta.kubernetes.io/aws-load-balancer-subnets"].split(",").length, eips.length);
        assert.deepEqual(eips, built().registered("east-network").eastWestAllocationIds);
        assert.deepEqual(eastWest.ips, built().registered("east-network").eastWestIps);
    });

    it("binds cert-manager to a Route 53 role by Pod Identity, and builds its managed CA as children", () => {
        const role = built().byName("east-acme-dns", "istio-production:aws:Route53ChallengeRole");
        const ca = built().byName("east-ca", "istio-production:aws:PrivateCaSubordinate");
        for (const child of [role, ca]) assert.equal(child.parent, built().component("east").urn);
        const association = built().inputs("east-acme-dns", "aws:eks/podIdentityAssociation:PodIdentityAssociation");
        assert.deepEqual({ namespace: association.namespace, serviceAccount: association.serviceAccount }, { namespace: "cert-manager", serviceAccount: "cert-manager" });
        assert.equal(association.roleArn, outputsOf(built(), "east-acme-dns", "aws:iam/role:Role").arn);
        const out = built().registered("east");
        assert.deepEqual(out.acmeDns01.solver, { route53: { region: "eu-west-1", hostedZoneID: "Z0123456789EXAMPLE" } });
        assert.equal(out.managedCa, ca.urn);
        assert.equal(out.provider, built().byName("east", "pulumi:providers:kubernetes").urn);
        assert.equal(out.serviceController, built().byName("east-aws-load-balancer-controller", HELM_RELEASE).urn);
    });
});

describe("GkeCluster built alone", () => {
    const built = builtAlone("gke-cluster");

    it("creates a private, Workload Identity cluster on the network's secondary ranges, with protection as asked", () => {
        const cluster = built().byName("west", "gcp:container/cluster:Cluster");
        const inputs = plain(cluster.inputs);
        const ranges = built().inputs("west-network-nodes").secondaryIpRanges.map((r: any) => r.rangeName);
        // terraform-provider-google container_cluster: ip_allocation_policy names secondary ranges of the subnetwork.
        assert.deepEqual([inputs.ipAllocationPolicy.clusterSecondaryRangeName, inputs.ipAllocationPolicy.servicesSecondaryRangeName], ranges);
        assert.equal(inputs.workloadIdentityConfig.workloadPool, "mesh-project.svc.id.goog");
        assert.deepEqual(inputs.privateClusterConfig, { enablePrivateNodes: true, enablePrivateEndpoint: false, masterIpv4CidrBlock: "172.16.0.0/28" });
        assert.equal(inputs.databaseEncryption.keyName, built().byName("west-secrets", "gcp:kms/cryptoKey:CryptoKey").id);
        assert.ok(cluster.protect && inputs.deletionProtection && built().byName("west-secrets", "gcp:kms/cryptoKey:CryptoKey").protect);
        // GKE application-layer secrets encryption: the project's GKE service agent must be allowed to use the key.
        assert.match(built().inputs("west-secrets-gke").member, /^serviceAccount:service-\d+@container-engine-robot\.iam\.gserviceaccount\.com$/);
    });

    it("opens the mesh's webhook ports from the control plane's range to the node pool's tag", () => {
        const firewall = built().inputs("west-webhooks");
        assert.deepEqual(firewall.sourceRanges, ["172.16.0.0/28"]);
        assert.deepEqual(firewall.targetTags, built().inputs("west-nodes", "gcp:container/nodePool:NodePool").nodeConfig.tags);
    });

    it("reaches the cluster through a Kubernetes provider that runs gke-gcloud-auth-plugin", () => {
        const exec = JSON.parse(built().inputs("west", "pulumi:providers:kubernetes").kubeconfig).users[0].user.exec;
        assert.deepEqual({ command: exec.command, provideClusterInfo: exec.provideClusterInfo }, { command: "gke-gcloud-auth-plugin", provideClusterInfo: true });
    });

    it("lets cert-manager assume a Route 53 role with a token the cluster's issuer signs", () => {
        const role = built().byName("west-acme-dns", "istio-production:aws:Route53ChallengeRole");
        assert.equal(role.parent, built().component("west").urn);
        const issuer = "https://container.googleapis.com/v1/projects/mesh-project/locations/us-central1/clusters/west";
        assert.equal(built().inputs("west-acme-dns-issuer").url, issuer);
        assert.ok(built().byName("west-acme-dns-issuer").provider.includes("given-aws-eu-west-1"), "in the zone's AWS account");
        // cert-manager v1.21.1 ACMEIssuerDNS01ProviderRoute53: `role`, and `auth.kubernetes.serviceAccountRef` whose token it requests.
        const { acmeDns01 } = built().registered("west");
        assert.deepEqual(acmeDns01.solver.route53, {
            region: "eu-west-1", hostedZoneID: "Z0123456789EXAMPLE", role: outputsOf(built(), "west-acme-dns", "aws:iam/role:Role").arn,
            auth: { kubernetes: { serviceAccountRef: { name: acmeDns01.tokenServiceAccount } } },
        });
        assert.equal(built().registered("west").managedCa, built().byName("west-ca", "istio-production:gcp:CasSubordinate").urn);
    });

    it("refuses Route 53 challenges without an AWS account to hold the role, before creating anything", async () => {
        const { message, registered } = await refusedAlone("gke-cluster-route53-without-account", "GkeCluster");
        assert.match(message, /^GkeCluster west: acmeDns writes ACME challenges to Route 53 without an AWS account/);
        assert.deepEqual(registered.filter((r) => r.type.startsWith("gcp:container") || r.type.startsWith("gcp:kms")).map((r) => r.name), []);
    });
});

describe("Route53ChallengeRole built alone", () => {
    const built = builtAlone("route53-challenge-role");

    it("trusts another cluster's cert-manager token through an OIDC provider for its issuer", () => {
        const issuer = built().inputs("west-acme-dns-issuer", "aws:iam/openIdConnectProvider:OpenIdConnectProvider");
        assert.deepEqual(issuer.clientIdLists, ["sts.amazonaws.com"]);
        // AWS IAM: a web identity role's conditions key on `<issuer host and path>:sub` and `:aud`.
        const host = "container.googleapis.com/v1/projects/mesh-project/locations/us-central1/clusters/west";
        const statement = JSON.parse(built().inputs("west-acme-dns", "aws:iam/role:Role").assumeRolePolicy).Statement[0];
        assert.equal(statement.Action, "sts:AssumeRoleWithWebIdentity");
        assert.equal(statement.Principal.Federated, outputsOf(built(), "west-acme-dns-issuer", "aws:iam/openIdConnectProvider:OpenIdConnectProvider").arn);
        assert.deepEqual(statement.Condition.StringEquals, { [`${host}:sub`]: "system:serviceaccount:cert-manager:cert-manager-acme-dns01", [`${host}:aud`]: "sts.amazonaws.com" });
    });

    it("trusts EKS Pod Identity: AssumeRole and TagSession by pods.eks.amazonaws.com", () => {
        const statement = JSON.parse(built().inputs("east-acme-dns", "aws:iam/role:Role").assumeRolePolicy).Statement[0];
        assert.deepEqual(statement.Principal, { Service: "pods.eks.amazonaws.com" });
        assert.deepEqual(statement.Action, ["sts:AssumeRole", "sts:TagSession"]);
        assert.deepEqual(built().typesUnder("east-acme-dns"), { "aws:iam/role:Role": 1, "aws:iam/rolePolicy:RolePolicy": 1 });
    });

    it("lets the role change records of the one zone only, and registers the role and what a challenge waits for", () => {
        for (const name of ["west-acme-dns", "east-acme-dns"]) {
            const policy = built().byName(name, "aws:iam/rolePolicy:RolePolicy");
            assert.equal(policy.parent, built().byName(name, "aws:iam/role:Role").urn);
            const statements = JSON.parse(plain(policy.inputs).policy).Statement;
            assert.deepEqual(statements.map((s: any) => s.Resource), ["arn:aws:route53:::change/*", "arn:aws:route53:::hostedzone/Z0123456789EXAMPLE"]);
            const out = built().registered(name);
            assert.equal(out.roleArn, outputsOf(built(), name, "aws:iam/role:Role").arn);
            assert.equal(out.role, built().byName(name, "aws:iam/role:Role").urn);
            assert.ok(out.ready.includes(policy.urn));
        }
    });
});

describe("PrivateCaSubordinate built alone, awaiting its certificate", () => {
    const built = builtAlone("private-ca-subordinate");

    it("creates an HSM-backed subordinate for the cluster and nothing that needs its certificate yet", () => {
        const ca = built().byName("east-ca", "aws:acmpca/certificateAuthority:CertificateAuthority");
        const inputs = plain(ca.inputs);
        assert.deepEqual({ type: inputs.type, usageMode: inputs.usageMode, keyStorage: inputs.keyStorageSecurityStandard },
            { type: "SUBORDINATE", usageMode: "GENERAL_PURPOSE", keyStorage: "FIPS_140_2_LEVEL_3_OR_HIGHER" });
        assert.ok(ca.protect);
        assert.deepEqual(built().typesUnder("east-ca"), { "aws:acmpca/certificateAuthority:CertificateAuthority": 1 });
    });

    it("registers the CSR the service exports, with the subject the pki stack copies", () => {
        const out = built().registered("east-ca");
        assert.equal(out.csrPem, outputsOf(built(), "east-ca", "aws:acmpca/certificateAuthority:CertificateAuthority").certificateSigningRequest);
        assert.equal(subjectOf(out.csrPem), "O=test, CN=east Intermediate CA");
        assert.equal(out.issuer, undefined);
    });
});

describe("CasSubordinate built alone, awaiting activation", () => {
    const built = builtAlone("cas-subordinate");

    it("creates a DevOps-tier pool and a subordinate that may sign no sub-CA", () => {
        assert.deepEqual(built().inputs("west-ca", "gcp:certificateauthority/caPool:CaPool").tier, "DEVOPS");
        const ca = built().inputs("west-ca", "gcp:certificateauthority/authority:Authority");
        assert.equal(ca.type, "SUBORDINATE");
        // Certificate Authority Service: zero_max_issuer_path_length makes the CA's certificates pathlen:0.
        assert.deepEqual(ca.config.x509Config.caOptions, { isCa: true, zeroMaxIssuerPathLength: true });
        assert.equal(ca.pemCaCertificate, undefined, "nothing to activate with yet");
    });

    it("registers the CSR read back from the CA awaiting activation", () => {
        const out = built().registered("west-ca");
        assert.equal(subjectOf(out.csrPem), "O=test, CN=west Intermediate CA");
        assert.equal(out.backend, "google-cas");
    });
});
