import { Provider as AwsProvider } from "@pulumi/aws/provider";
import * as ec2 from "@pulumi/aws/ec2";
import * as eks from "@pulumi/aws/eks";
import { getPartitionOutput } from "@pulumi/aws/getPartition";
import * as iam from "@pulumi/aws/iam";
import * as kms from "@pulumi/aws/kms";
import * as vpc from "@pulumi/aws/vpc";
import { Provider as KubernetesProvider } from "@pulumi/kubernetes/provider";
import * as helmV3 from "@pulumi/kubernetes/helm/v3";
import * as pulumi from "@pulumi/pulumi";
import { eksKubeconfig } from "../kubeconfig";
import { AcmeDns01, AcmeDnsZone, AwsRoleBinding, EastWestAddress, ManagedCaRequest, MeshCluster } from "../MeshCluster";
import { PrivateCaSubordinate } from "./PrivateCaSubordinate";
import { Route53ChallengeRole } from "./Route53ChallengeRole";
import { WEBHOOK_PORTS } from "../webhooks";
import { AwsVpc } from "./AwsVpc";
import { loadBalancerControllerPolicy } from "./lbcPolicy";

/** On cert-manager's controller pods: the Pod Identity association they were created under. */
const ACME_DNS_IDENTITY_ANNOTATION = "istio-production/acme-dns-identity";

export interface EksClusterArgs {
    /** The region of the cluster and of `provider`; named in the kubeconfig's `aws eks get-token`. */
    readonly region: string;
    /** The cluster's VPC, subnets and egress addresses. */
    readonly vpc: AwsVpc;
    /** The provider pinned to the cluster's region (and account); every AWS resource uses it. */
    readonly provider: AwsProvider;
    /** The Istio network the cluster's workloads are on (`topology.istio.io/network`). */
    readonly network: string;
    /** The cluster's SPIFFE trust domain, handed on to the mesh. */
    readonly trustDomain: string;
    /** EKS version, e.g. "1.34". */
    readonly kubernetesVersion: string;
    /** Public endpoint limited to `publicAccessCidrs`, or private only. */
    readonly endpointAccess: "public" | "private";
    /** Operators plus the peers' egress addresses. Ignored when the endpoint is private. */
    readonly publicAccessCidrs: readonly pulumi.Input<string>[];
    /** The managed node group in the private subnets: its instance type and scaling (`desiredSize` only at creation). */
    readonly nodes: { instanceType: string; minSize: number; maxSize: number; desiredSize: number };
    /** Two replicas and a PodDisruptionBudget for the load balancer controller. */
    readonly highAvailability: boolean;
    /** `protect` on the cluster and its KMS key. */
    readonly protect: boolean;
    /** Chart version of the AWS Load Balancer Controller (Helm repo https://aws.github.io/eks-charts). */
    readonly loadBalancerControllerVersion: string;
    /** ACME DNS-01 for the ingress hosts in a Route 53 zone, written with cert-manager's Pod Identity. @default - none: no `acmeDns01` */
    readonly acmeDns?: AcmeDnsZone & { readonly zone: { readonly provider: "route53" } };
    /** `caBackend: aws-private-ca`: the cluster's AWS Private CA subordinate. @default - none: no `managedCa` */
    readonly managedCa?: ManagedCaRequest;
    /** Tags on every AWS resource, besides `istio-production/cluster: <name>`. @default - that tag only */
    readonly tags?: Record<string, string>;
}

const assumeBy = (service: string, actions: string[] = ["sts:AssumeRole"]) =>
    JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { Service: service }, Action: actions }] });

/**
 * A hardened EKS cluster: secrets envelope-encrypted with a rotating KMS key, control-plane audit logs, API
 * authentication mode, endpoint limited to an allow-list, managed nodes in private subnets with IMDSv2 only, node
 * security group that admits the control plane on the mesh's webhook ports, NetworkPolicy enforcement, EKS Pod Identity, and the AWS Load
 * Balancer Controller (static, internet-facing NLBs for east-west gateways need it).
 */
export class EksCluster extends pulumi.ComponentResource implements MeshCluster {
    readonly name: string;
    readonly cloud = "aws" as const;
    readonly region: string;
    readonly network: string;
    readonly trustDomain: string;
    readonly provider: KubernetesProvider;
    readonly endpoint: pulumi.Output<string>;
    readonly caData: pulumi.Output<string>;
    readonly egressIps: pulumi.Output<string[]>;
    readonly egressAddresses: readonly pulumi.Output<string>[];
    readonly eastWest?: EastWestAddress;
    /** The AWS Load Balancer Controller's release. */
    readonly serviceController: helmV3.Release;
    readonly acmeDns01?: AcmeDns01;
    /** The security group EKS creates for the control plane's network interfaces; the nodes' group admits it on the webhook ports. */
    readonly clusterSecurityGroupId: pulumi.Output<string>;
    readonly bindAwsRole: (name: string, binding: AwsRoleBinding, opts: { parent: pulumi.Resource }) => pulumi.Resource;
    readonly managedCa?: PrivateCaSubordinate;

    constructor(name: string, args: EksClusterArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("istio-production:aws:EksCluster", name, {}, opts);
        this.name = name;
        this.region = args.region;
        this.network = args.network;
        this.trustDomain = args.trustDomain;
        const child = { parent: this, provider: args.provider };
        const tags = { ...args.tags, "istio-production/cluster": name };
        const partition = getPartitionOutput({}, child).partition;

        const key = new kms.Key(`${name}-secrets`, {
            description: `EKS secrets envelope encryption for ${name}`,
            enableKeyRotation: true,
            deletionWindowInDays: 30,
            tags,
        }, { ...child, protect: args.protect });
        new kms.Alias(`${name}-secrets`, { name: `alias/eks/${name}/secrets`, targetKeyId: key.keyId }, { ...child, parent: key });

        const managed = (policy: string) => pulumi.interpolate`arn:${partition}:iam::aws:policy/${policy}`;
        const clusterRole = new iam.Role(`${name}-cluster`, { assumeRolePolicy: assumeBy("eks.amazonaws.com", ["sts:AssumeRole", "sts:TagSession"]), tags }, child);
        const clusterPolicy = new iam.RolePolicyAttachment(`${name}-cluster`, { role: clusterRole.name, policyArn: managed("AmazonEKSClusterPolicy") }, { ...child, parent: clusterRole });

        const cluster = new eks.Cluster(name, {
            name,
            version: args.kubernetesVersion,
            roleArn: clusterRole.arn,
            vpcConfig: {
                subnetIds: pulumi.all([args.vpc.privateSubnetIds, args.vpc.publicSubnetIds]).apply(([a, b]) => [...a, ...b]),
                endpointPrivateAccess: true,
                endpointPublicAccess: args.endpointAccess === "public",
                publicAccessCidrs: args.endpointAccess === "public" ? [...args.publicAccessCidrs] : undefined,
            },
            encryptionConfig: { provider: { keyArn: key.arn }, resources: ["secrets"] },
            enabledClusterLogTypes: ["api", "audit", "authenticator"],
            // API mode: access only through EKS access entries, never the aws-auth ConfigMap. The identity running
            // `pulumi up` gets cluster-admin through the bootstrap entry; grant others with aws.eks.AccessEntry.
            accessConfig: { authenticationMode: "API", bootstrapClusterCreatorAdminPermissions: true },
            tags,
        }, { ...child, dependsOn: [clusterPolicy], protect: args.protect });
        const clusterSg = cluster.vpcConfig.clusterSecurityGroupId;

        const nodeSg = new ec2.SecurityGroup(`${name}-nodes`, {
            vpcId: args.vpc.vpcId, description: `${name} managed nodes`, tags: { ...tags, Name: `${name}-nodes` },
        }, { ...child, parent: cluster });
        const sgChild = { ...child, parent: nodeSg };
        new vpc.SecurityGroupEgressRule(`${name}-nodes-egress`, { securityGroupId: nodeSg.id, ipProtocol: "-1", cidrIpv4: "0.0.0.0/0", description: "nodes reach registries, AWS APIs and peers through NAT" }, sgChild);
        new vpc.SecurityGroupIngressRule(`${name}-nodes-self`, { securityGroupId: nodeSg.id, ipProtocol: "-1", referencedSecurityGroupId: nodeSg.id, description: "node to node, pod to pod" }, sgChild);
        for (const { port, why } of WEBHOOK_PORTS) {
            new vpc.SecurityGroupIngressRule(`${name}-webhook-${port}`, {
                securityGroupId: nodeSg.id, ipProtocol: "tcp", fromPort: port, toPort: port, referencedSecurityGroupId: clusterSg, description: `control plane to ${why}`,
            }, sgChild);
        }
        new vpc.SecurityGroupIngressRule(`${name}-api-from-nodes`, {
            securityGroupId: clusterSg, ipProtocol: "tcp", fromPort: 443, toPort: 443, referencedSecurityGroupId: nodeSg.id, description: "nodes to the API server",
        }, sgChild);

        const nodeRole = new iam.Role(`${name}-nodes`, { assumeRolePolicy: assumeBy("ec2.amazonaws.com"), tags }, child);
        const nodePolicies = ["AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy", "AmazonEC2ContainerRegistryReadOnly"].map((p) =>
            new iam.RolePolicyAttachment(`${name}-nodes-${p}`, { role: nodeRole.name, policyArn: managed(p) }, { ...child, parent: nodeRole }));
        const template = new ec2.LaunchTemplate(`${name}-nodes`, {
            // IMDSv2 only, and a hop limit of 1 so pods cannot borrow the node's role; add-ons use Pod Identity.
            metadataOptions: { httpEndpoint: "enabled", httpTokens: "required", httpPutResponseHopLimit: 1 },
            vpcSecurityGroupIds: [nodeSg.id],
            blockDeviceMappings: [{ deviceName: "/dev/xvda", ebs: { volumeSize: 50, volumeType: "gp3", encrypted: "true" } }],
            tagSpecifications: [{ resourceType: "instance", tags }],
            tags,
        }, { ...child, parent: cluster });
        const nodeGroup = new eks.NodeGroup(`${name}-nodes`, {
            clusterName: cluster.name,
            nodeRoleArn: nodeRole.arn,
            subnetIds: args.vpc.privateSubnetIds,
            instanceTypes: [args.nodes.instanceType],
            amiType: "AL2023_x86_64_STANDARD",
            scalingConfig: { minSize: args.nodes.minSize, maxSize: args.nodes.maxSize, desiredSize: args.nodes.desiredSize },
            updateConfig: { maxUnavailable: 1 },
            launchTemplate: { id: template.id, version: pulumi.interpolate`${template.latestVersion}` },
            tags,
        }, { ...child, parent: cluster, dependsOn: nodePolicies, ignoreChanges: ["scalingConfig.desiredSize"] });

        // EKS stores NetworkPolicies but enforces none until the VPC CNI runs its network policy agent; the managed
        // add-on takes over the CNI the cluster was created with.
        new eks.Addon(`${name}-vpc-cni`, {
            clusterName: cluster.name, addonName: "vpc-cni", configurationValues: JSON.stringify({ enableNetworkPolicy: "true" }),
            resolveConflictsOnCreate: "OVERWRITE", resolveConflictsOnUpdate: "OVERWRITE", tags,
        }, { ...child, parent: cluster });
        const podIdentity = new eks.Addon(`${name}-pod-identity`, { clusterName: cluster.name, addonName: "eks-pod-identity-agent", tags }, { ...child, parent: cluster, dependsOn: [nodeGroup] });
        const lbcRole = new iam.Role(`${name}-lbc`, { assumeRolePolicy: assumeBy("pods.eks.amazonaws.com", ["sts:AssumeRole", "sts:TagSession"]), tags }, child);
        const lbcPolicy = new iam.RolePolicy(`${name}-lbc`, { role: lbcRole.id, policy: partition.apply(loadBalancerControllerPolicy) }, { ...child, parent: lbcRole });
        const lbcServiceAccount = "aws-load-balancer-controller";
        const lbcIdentity = new eks.PodIdentityAssociation(`${name}-lbc`, {
            clusterName: cluster.name, namespace: "kube-system", serviceAccount: lbcServiceAccount, roleArn: lbcRole.arn, tags,
        }, { ...child, parent: lbcRole, dependsOn: [podIdentity] });

        this.bindAwsRole = (bindingName, binding, opts) => new eks.PodIdentityAssociation(bindingName, {
            clusterName: cluster.name, namespace: binding.namespace, serviceAccount: binding.serviceAccount, roleArn: binding.roleArn, tags,
        }, { parent: opts.parent, provider: args.provider, dependsOn: [podIdentity] });
        if (args.acmeDns) {
            const { zone, certManager } = args.acmeDns;
            const dns = new Route53ChallengeRole(`${name}-acme-dns`, { hostedZoneId: zone.hostedZoneId, trust: { podIdentity: true }, tags }, child);
            const association = new eks.PodIdentityAssociation(`${name}-acme-dns`, {
                clusterName: cluster.name, namespace: certManager.namespace, serviceAccount: certManager.serviceAccount, roleArn: dns.role.arn, tags,
            }, { ...child, parent: dns, dependsOn: [podIdentity] });
            // Ambient credentials (a ClusterIssuer's default): cert-manager v1.21.1 pkg/issuer/acme/dns/route53/route53.go
            // leaves the AWS SDK's default chain in place, which finds Pod Identity through the variables EKS injects
            // when a pod is created; a running controller has none and falls back to IMDS, out of reach at hop limit 1.
            // So its pods are recreated when the association is (re)made.
            this.acmeDns01 = {
                solver: pulumi.output({ route53: { region: args.region, hostedZoneID: zone.hostedZoneId } }),
                podAnnotations: association.id.apply((id): Record<string, string> => ({ [ACME_DNS_IDENTITY_ANNOTATION]: id })),
                ready: [...dns.ready, association],
            };
        }

        if (args.managedCa) {
            this.managedCa = new PrivateCaSubordinate(`${name}-ca`, {
                ...args.managedCa, cluster: name, region: args.region, provider: args.provider, bindAwsRole: this.bindAwsRole,
                highAvailability: args.highAvailability, protect: args.protect,
            }, { parent: this });
        }

        this.endpoint = cluster.endpoint;
        this.caData = cluster.certificateAuthority.data;
        this.egressIps = args.vpc.egressIps;
        this.egressAddresses = args.vpc.egressAddresses;
        this.clusterSecurityGroupId = clusterSg;
        const net = args.vpc;
        this.eastWest = !net.eastWestEnabled ? undefined : {
            ips: net.eastWestIps,
            serviceAnnotations: pulumi.all([net.eastWestAllocationIds, net.publicSubnetIds]).apply(([eips, subnets]): Record<string, string> => ({
                "service.beta.kubernetes.io/aws-load-balancer-type": "external",
                "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type": "ip",
                // Internal is the controller's default; the other cloud must reach this NLB.
                "service.beta.kubernetes.io/aws-load-balancer-scheme": "internet-facing",
                "service.beta.kubernetes.io/aws-load-balancer-eip-allocations": eips.join(","),
                "service.beta.kubernetes.io/aws-load-balancer-subnets": subnets.slice(0, eips.length).join(","),
            })),
        };
        // Kubernetes resources wait for nodes: the provider depends on the node group.
        this.provider = new KubernetesProvider(name, {
            kubeconfig: pulumi.all([cluster.endpoint, cluster.certificateAuthority.data]).apply(([server, ca]) => eksKubeconfig(name, args.region, server, ca)),
            enableServerSideApply: true,
        }, { parent: this, dependsOn: [nodeGroup] });

        // Its mservice.elbv2.k8s.aws webhook has failurePolicy Fail on every Service (kubernetes-sigs/aws-load-balancer-controller
        // v2.14.0 helm/aws-load-balancer-controller/templates/webhook.yaml, values.yaml serviceMutatorWebhookConfig), and
        // it alone removes its finalizer service.k8s.aws/resources from LoadBalancer Services after deleting their NLB
        // (controllers/service/service_controller.go `cleanupLoadBalancerResources`): the mesh is created after it and
        // deleted before it, and a Helm uninstall waits for its Services to go (pulumi/pulumi-kubernetes
        // provider/pkg/provider/helm_release.go `Delete`: uninstall.Wait unless skipAwait).
        this.serviceController = new helmV3.Release(`${name}-aws-load-balancer-controller`, {
            name: "aws-load-balancer-controller",
            chart: "aws-load-balancer-controller",
            version: args.loadBalancerControllerVersion,
            repositoryOpts: { repo: "https://aws.github.io/eks-charts" },
            namespace: "kube-system",
            values: {
                clusterName: name,
                region: args.region,
                // Explicit, because IMDS is closed to pods (hop limit 1).
                vpcId: args.vpc.vpcId,
                serviceAccount: { create: true, name: lbcServiceAccount },
                replicaCount: args.highAvailability ? 2 : 1,
                podDisruptionBudget: args.highAvailability ? { maxUnavailable: 1 } : {},
                // Services that ask for no class get the controller's NLBs rather than the legacy in-tree CLB.
                enableServiceMutatorWebhook: true,
            },
        }, { parent: this, provider: this.provider, dependsOn: [lbcIdentity, lbcPolicy] });

        this.registerOutputs({
            name: this.name, cloud: this.cloud, region: this.region, network: this.network, trustDomain: this.trustDomain, provider: this.provider,
            endpoint: this.endpoint, caData: this.caData, egressIps: this.egressIps, egressAddresses: this.egressAddresses, eastWest: this.eastWest,
            serviceController: this.serviceController, acmeDns01: this.acmeDns01, clusterSecurityGroupId: clusterSg, managedCa: this.managedCa,
        });
    }
}
