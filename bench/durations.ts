/**
 * Typical creation times of the resources `pulumi up` creates for a mesh stack, with where each number comes from.
 * A number without a measured or documented source says "estimate" and why it is plausible; the deployment model
 * (criticalPath.ts) only ever compares chains built from this one table, so an estimate shifts every chain alike.
 */
import type { CreationEstimate, Layer } from "./criticalPath";

interface Entry {
    /** Seconds from the engine starting the create step to the provider reporting it done (readiness included). */
    readonly seconds: number;
    readonly layer: Layer;
    /** The source of the number, or "estimate: <reasoning>". */
    readonly basis: string;
}

const ESTIMATE_API_CALL = "estimate: one synchronous API call, no readiness wait";

/** Exact type tokens first; `prefix*` entries match every type starting with the prefix (longest prefix wins). */
export const CREATION_TIMES: Readonly<Record<string, Entry>> = {
    "aws:eks/cluster:Cluster": {
        seconds: 750, layer: "cluster",
        basis: "AWS EKS API reference, CreateCluster: \"Cluster creation typically takes between 10 and 15 minutes\" " +
            "(https://docs.aws.amazon.com/eks/latest/APIReference/API_CreateCluster.html); 13-16 min measured across 21 regions " +
            "(https://easontechtalk.com/unofficial-eks-cluster-creation-performance-across-aws-regions); aws/containers-roadmap#1227",
    },
    "aws:eks/nodeGroup:NodeGroup": {
        seconds: 180, layer: "nodes",
        basis: "terraform apply logs: 2m50s (umotif-public/terraform-aws-eks-node-group#7), 3m36s for eksctl's node group stack (eksctl-io/eksctl#482)",
    },
    "aws:eks/addon:Addon": { seconds: 60, layer: "cluster", basis: "estimate: the add-on's Deployment/DaemonSet must become ready on the nodes" },
    "aws:eks/accessEntry:AccessEntry": { seconds: 2, layer: "identity", basis: ESTIMATE_API_CALL },
    "aws:eks/accessPolicyAssociation:AccessPolicyAssociation": { seconds: 2, layer: "identity", basis: ESTIMATE_API_CALL },
    "aws:eks/podIdentityAssociation:PodIdentityAssociation": { seconds: 2, layer: "identity", basis: ESTIMATE_API_CALL },
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": {
        seconds: 1, layer: "identity", basis: "terraform apply log: \"Creation complete after 1s\" (DevopsArtFactory/terraform-provisioning#46)",
    },
    "aws:iam*": { seconds: 2, layer: "identity", basis: ESTIMATE_API_CALL },
    "aws:kms*": { seconds: 2, layer: "identity", basis: ESTIMATE_API_CALL },
    "aws:ec2/subnet:Subnet": {
        seconds: 10, layer: "network", basis: "terraform apply log: subnets \"Creation complete after 10s\" (terraform-aws-modules/terraform-aws-eks#2203)",
    },
    "aws:ec2/routeTableAssociation:RouteTableAssociation": {
        seconds: 1, layer: "network", basis: "terraform apply log: \"Creation complete after 1s\" (terraform-aws-modules/terraform-aws-eks#2203)",
    },
    "aws:ec2/securityGroupRule:SecurityGroupRule": {
        seconds: 3, layer: "network", basis: "terraform apply log: 2-3 s per rule (terraform-aws-modules/terraform-aws-eks#2203)",
    },
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": { seconds: 3, layer: "network", basis: "estimate: as aws:ec2/securityGroupRule" },
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": { seconds: 3, layer: "network", basis: "estimate: as aws:ec2/securityGroupRule" },
    "aws:ec2/natGateway:NatGateway": {
        seconds: 120, layer: "network",
        basis: "estimate: pending → available takes minutes; the aws CLI waiter polls every 15 s up to 40 times " +
            "(https://docs.aws.amazon.com/cli/v1/reference/ec2/wait/nat-gateway-available.html), Terraform's create timeout is 10 min",
    },
    "aws:ec2*": { seconds: 3, layer: "network", basis: ESTIMATE_API_CALL },
    "aws:lb*": { seconds: 180, layer: "network", basis: "estimate: an NLB takes minutes to become active" },
    "gcp:container/cluster:Cluster": {
        seconds: 720, layer: "cluster",
        basis: "regional GKE cluster \"typically takes between 9-15m\" (hashicorp/terraform-provider-google#1744); " +
            "a zonal one about 5 min (isovalent/gke-test-cluster-operator#13)",
    },
    "gcp:container/nodePool:NodePool": {
        seconds: 180, layer: "nodes",
        basis: "estimate: VMs boot and register in every zone of the region; a terraform log shows more than 1m30s " +
            "(hashicorp/terraform-provider-google#13178)",
    },
    "gcp:compute/network:Network": {
        seconds: 40, layer: "network",
        basis: "terraform apply logs: 22 s (opea-project/GenAIInfra#977) and 58 s (turbot/steampipe-plugin-gcp#214)",
    },
    "gcp:compute/routerNat:RouterNat": { seconds: 30, layer: "network", basis: "estimate: a regional long-running operation, like a subnetwork" },
    "gcp:compute*": { seconds: 15, layer: "network", basis: "estimate: a long-running Compute operation polled to DONE" },
    "gcp:serviceaccount/account:Account": {
        seconds: 6, layer: "identity", basis: "terraform apply log: \"Creation complete after 6s\" (turbot/steampipe-plugin-gcp#214)",
    },
    "gcp:projects*": { seconds: 10, layer: "identity", basis: "estimate: an IAM policy read-modify-write on the project" },
    "gcp:serviceaccount*": { seconds: 10, layer: "identity", basis: "estimate: an IAM policy read-modify-write on the account" },
    "gcp:kms*": { seconds: 2, layer: "identity", basis: ESTIMATE_API_CALL },
    "kubernetes:helm.sh/v3:Release": {
        seconds: 60, layer: "mesh",
        basis: "estimate for a chart not listed below: the provider waits until the chart's resources are ready (skipAwait: false)",
    },
    "kubernetes:apps/v1:Deployment": {
        seconds: 45, layer: "mesh", basis: "estimate: the provider waits for the Available condition (@pulumi/kubernetes apps/v1 Deployment docs)",
    },
    "kubernetes:apps/v1:DaemonSet": { seconds: 45, layer: "mesh", basis: "estimate: the provider waits for the rollout on every node" },
    "kubernetes:core/v1:Service": {
        seconds: 2, layer: "mesh",
        basis: "estimate: endpoints appear in seconds; a LoadBalancer Service is listed separately (@pulumi/kubernetes core/v1 Service docs)",
    },
    "kubernetes*": { seconds: 2, layer: "mesh", basis: "estimate: an API server write; the provider does not wait on these kinds" },
    "tls*": { seconds: 1, layer: "pki", basis: "measured offline: local key generation and signing, RSA-4096 keys take about 1 s" },
    "pulumi:pulumi:StackReference": { seconds: 1, layer: "pki", basis: "estimate: one read of another stack's outputs from the backend" },
    "pulumi:providers*": { seconds: 0, layer: "cluster", basis: "a provider is configuration: nothing is created in the cloud" },
    "random*": { seconds: 0, layer: "other", basis: "computed locally" },
};

/** Helm releases differ by chart: what each chart makes the provider wait for. Keyed by the chart's name. */
export const CHART_TIMES: Readonly<Record<string, { readonly seconds: number; readonly basis: string }>> = {
    "cert-manager": {
        seconds: 60,
        basis: "a whole stack with the cert-manager release: \"Duration: 55s\" (pulumi/pulumi-kubernetes-cert-manager#10)",
    },
    base: { seconds: 15, basis: "estimate: CRDs and a webhook configuration only, nothing to become ready" },
    istiod: { seconds: 60, basis: "estimate: the istiod Deployment (2+ replicas with HA) must become available" },
    gateway: { seconds: 150, basis: "estimate: the gateway Deployment plus its LoadBalancer Service, which waits for an address" },
    "cert-manager-istio-csr": { seconds: 45, basis: "estimate: one Deployment that must get its serving certificate first" },
    "cert-manager-approver-policy": { seconds: 45, basis: "estimate: one Deployment with a webhook" },
    "trust-manager": { seconds: 45, basis: "estimate: one Deployment with a webhook" },
    "aws-load-balancer-controller": { seconds: 60, basis: "estimate: one Deployment (2 replicas) with a webhook" },
};

const LOAD_BALANCER_SERVICE: Entry = {
    seconds: 120, layer: "mesh",
    basis: "estimate: the provider waits until an external address is allocated (@pulumi/kubernetes core/v1 Service docs); an NLB takes minutes",
};

export const DEFAULT_ESTIMATE: Entry = { seconds: 30, layer: "other", basis: "estimate: default for a type not in the table" };

export interface Estimated extends CreationEstimate {
    readonly basis: string;
}

/** How long `pulumi up` takes to create one resource, from its type and, for Helm releases and Services, its inputs. */
export function creationTime(resource: { readonly type: string; readonly inputs?: Readonly<Record<string, unknown>> }): Estimated {
    const entry = CREATION_TIMES[resource.type] ?? longestPrefix(resource.type);
    if (!entry) return { ...DEFAULT_ESTIMATE, known: false };
    if (resource.type === "kubernetes:helm.sh/v3:Release") {
        const chart = chartName(resource.inputs?.chart);
        const known = chart !== undefined ? CHART_TIMES[chart] : undefined;
        if (known) return { ...entry, ...known, known: true };
    }
    if (resource.type === "kubernetes:core/v1:Service" && (resource.inputs?.spec as { type?: unknown } | undefined)?.type === "LoadBalancer") {
        return { ...LOAD_BALANCER_SERVICE, known: true };
    }
    return { ...entry, known: true };
}

function longestPrefix(type: string): Entry | undefined {
    const prefixes = Object.keys(CREATION_TIMES).filter((k) => k.endsWith("*") && type.startsWith(k.slice(0, -1)));
    const best = prefixes.sort((a, b) => b.length - a.length)[0];
    return best === undefined ? undefined : CREATION_TIMES[best];
}

/** `oci://quay.io/jetstack/charts/cert-manager` and `cert-manager` both name the chart `cert-manager`. */
function chartName(chart: unknown): string | undefined {
    return typeof chart === "string" ? chart.split("/").pop() : undefined;
}
