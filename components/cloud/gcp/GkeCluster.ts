import { Provider as AwsProvider } from "@pulumi/aws/provider";
import { Provider as GcpProvider } from "@pulumi/gcp/provider";
import * as compute from "@pulumi/gcp/compute";
import * as container from "@pulumi/gcp/container";
import * as kms from "@pulumi/gcp/kms";
import * as organizations from "@pulumi/gcp/organizations";
import * as projects from "@pulumi/gcp/projects";
import * as serviceaccount from "@pulumi/gcp/serviceaccount";
import { Provider as KubernetesProvider } from "@pulumi/kubernetes/provider";
import * as pulumi from "@pulumi/pulumi";
import { gkeKubeconfig } from "../kubeconfig";
import { AcmeDns01, AcmeDnsZone, EastWestAddress, ManagedCaRequest, MeshCluster } from "../MeshCluster";
import { CasSubordinate } from "./CasSubordinate";
import { Route53ChallengeRole } from "../aws/Route53ChallengeRole";
import { WEBHOOK_PORTS } from "../webhooks";
import { GcpVpc } from "./GcpVpc";
import { acmeDnsServiceAccountId, nodeServiceAccountId } from "./names";

export interface GkeClusterArgs {
    /** The cluster's project: its Workload Identity pool is `<project>.svc.id.goog`. */
    readonly project: string;
    /** The region of the regional cluster, its node pool and KMS key ring. */
    readonly region: string;
    /** The cluster's VPC, subnets and egress addresses. */
    readonly vpc: GcpVpc;
    /** The provider pinned to the cluster's project; every GCP resource uses it. */
    readonly provider: GcpProvider;
    /** The Istio network the cluster's workloads are on (`topology.istio.io/network`). */
    readonly network: string;
    /** The cluster's SPIFFE trust domain, handed on to the mesh. */
    readonly trustDomain: string;
    /** The GKE release channel the control plane and nodes upgrade on. */
    readonly releaseChannel: "RAPID" | "REGULAR" | "STABLE";
    /** The control plane's private /28. */
    readonly masterCidr: string;
    /** Master authorized networks: operators plus the peers' egress addresses. */
    readonly authorizedCidrs: readonly pulumi.Input<string>[];
    /** Per zone of the regional node pool. */
    readonly nodes: { machineType: string; minNodeCount: number; maxNodeCount: number };
    /** `protect` and deletion protection on the cluster, `protect` on its KMS key. */
    readonly protect: boolean;
    /**
     * ACME DNS-01 for the ingress hosts: in Cloud DNS through cert-manager's Workload Identity, or in Route 53 through
     * a role of the zone's AWS account (`aws`: that account's provider and region, required for a Route 53 zone)
     * assumed with a service account token. @default - none: no `acmeDns01`
     */
    readonly acmeDns?: AcmeDnsZone & { readonly aws?: { readonly provider: AwsProvider; readonly region: string } };
    /** `caBackend: google-cas`: the cluster's Certificate Authority Service subordinate. @default - none: no `managedCa` */
    readonly managedCa?: ManagedCaRequest & { readonly highAvailability: boolean };
}

/** The service account whose tokens cert-manager requests to assume an AWS role from GKE. */
const ACME_DNS_TOKEN_ACCOUNT = "cert-manager-acme-dns01";

const NODE_ROLES = ["roles/logging.logWriter", "roles/monitoring.metricWriter", "roles/monitoring.viewer", "roles/stackdriver.resourceMetadata.writer", "roles/artifactregistry.reader"];

/**
 * A hardened regional GKE cluster: private nodes, master authorized networks, Workload Identity, shielded nodes with
 * secure boot, Dataplane V2, application-layer secrets encryption with Cloud KMS, no legacy ABAC, no client
 * certificate; a COS node pool with its own least-privilege service account; and the firewall rule that lets the
 * control plane reach the mesh's webhooks (GKE opens only 443 and 10250 to private nodes).
 */
export class GkeCluster extends pulumi.ComponentResource implements MeshCluster {
    readonly name: string;
    readonly cloud = "gcp" as const;
    readonly region: string;
    readonly network: string;
    readonly trustDomain: string;
    readonly provider: KubernetesProvider;
    readonly endpoint: pulumi.Output<string>;
    readonly caData: pulumi.Output<string>;
    readonly egressIps: pulumi.Output<string[]>;
    readonly egressAddresses: readonly pulumi.Output<string>[];
    readonly eastWest?: EastWestAddress;
    readonly acmeDns01?: AcmeDns01;
    readonly managedCa?: CasSubordinate;

    constructor(name: string, args: GkeClusterArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("istio-production:gcp:GkeCluster", name, {}, opts);
        if (args.acmeDns?.zone.provider === "route53" && !args.acmeDns.aws) {
            throw new pulumi.ResourceError(`GkeCluster ${name}: acmeDns writes ACME challenges to Route 53 without an AWS account to hold its role (acmeDns.aws)`, this);
        }
        this.name = name;
        this.region = args.region;
        this.network = args.network;
        this.trustDomain = args.trustDomain;
        const child = { parent: this, provider: args.provider };

        const projectNumber = organizations.getProjectOutput({ projectId: args.project }, child).number;
        const keyRing = new kms.KeyRing(`${name}-secrets`, { name: `${name}-secrets`, location: args.region }, child);
        const key = new kms.CryptoKey(`${name}-secrets`, {
            name: `${name}-secrets`, keyRing: keyRing.id, purpose: "ENCRYPT_DECRYPT", rotationPeriod: "7776000s",
        }, { ...child, parent: keyRing, protect: args.protect });
        const keyGrant = new kms.CryptoKeyIAMMember(`${name}-secrets-gke`, {
            cryptoKeyId: key.id, role: "roles/cloudkms.cryptoKeyEncrypterDecrypter",
            member: pulumi.interpolate`serviceAccount:service-${projectNumber}@container-engine-robot.iam.gserviceaccount.com`,
        }, { ...child, parent: key });

        const nodeSa = new serviceaccount.Account(`${name}-nodes`, {
            accountId: nodeServiceAccountId(name), displayName: `GKE nodes of ${name}`,
        }, child);
        const grants = NODE_ROLES.map((role) => new projects.IAMMember(`${name}-nodes-${role.split("/")[1]}`, {
            project: args.project, role, member: pulumi.interpolate`serviceAccount:${nodeSa.email}`,
        }, { ...child, parent: nodeSa }));

        const nodeTag = `${name}-node`;
        const cluster = new container.Cluster(name, {
            name,
            location: args.region,
            network: args.vpc.networkId,
            subnetwork: args.vpc.subnetworkId,
            removeDefaultNodePool: true,
            initialNodeCount: 1,
            ipAllocationPolicy: { clusterSecondaryRangeName: GcpVpc.PODS_RANGE, servicesSecondaryRangeName: GcpVpc.SERVICES_RANGE },
            privateClusterConfig: { enablePrivateNodes: true, enablePrivateEndpoint: false, masterIpv4CidrBlock: args.masterCidr },
            masterAuthorizedNetworksConfig: {
                cidrBlocks: args.authorizedCidrs.map((cidrBlock) => ({ cidrBlock, displayName: cidrBlock })),
            },
            releaseChannel: { channel: args.releaseChannel },
            workloadIdentityConfig: { workloadPool: `${args.project}.svc.id.goog` },
            databaseEncryption: { state: "ENCRYPTED", keyName: key.id },
            datapathProvider: "ADVANCED_DATAPATH",
            enableShieldedNodes: true,
            enableLegacyAbac: false,
            masterAuth: { clientCertificateConfig: { issueClientCertificate: false } },
            deletionProtection: args.protect,
            // The default pool is removed at once, but it is created first: it gets the same hardening.
            nodeConfig: {
                serviceAccount: nodeSa.email,
                shieldedInstanceConfig: { enableSecureBoot: true, enableIntegrityMonitoring: true },
                workloadMetadataConfig: { mode: "GKE_METADATA" },
            },
        }, { ...child, dependsOn: [keyGrant], protect: args.protect });

        const pool = new container.NodePool(`${name}-nodes`, {
            cluster: cluster.id,
            location: args.region,
            autoscaling: { minNodeCount: args.nodes.minNodeCount, maxNodeCount: args.nodes.maxNodeCount },
            management: { autoRepair: true, autoUpgrade: true },
            upgradeSettings: { maxSurge: 1, maxUnavailable: 0 },
            nodeConfig: {
                machineType: args.nodes.machineType,
                imageType: "COS_CONTAINERD",
                serviceAccount: nodeSa.email,
                oauthScopes: ["https://www.googleapis.com/auth/cloud-platform"],
                shieldedInstanceConfig: { enableSecureBoot: true, enableIntegrityMonitoring: true },
                workloadMetadataConfig: { mode: "GKE_METADATA" },
                metadata: { "disable-legacy-endpoints": "true" },
                tags: [nodeTag],
            },
        }, { ...child, parent: cluster, dependsOn: grants });

        new compute.Firewall(`${name}-webhooks`, {
            name: `${name}-webhooks`,
            network: args.vpc.networkId,
            direction: "INGRESS",
            sourceRanges: [args.masterCidr],
            targetTags: [nodeTag],
            allows: [{ protocol: "tcp", ports: WEBHOOK_PORTS.map((w) => String(w.port)) }],
            description: `control plane to webhooks: ${WEBHOOK_PORTS.map((w) => `${w.port} ${w.why}`).join("; ")}`,
        }, { ...child, parent: cluster });

        if (args.acmeDns) this.acmeDns01 = this.acmeDnsIdentity(name, args, args.acmeDns, cluster, child);

        if (args.managedCa) {
            this.managedCa = new CasSubordinate(`${name}-ca`, {
                ...args.managedCa, cluster: name, project: args.project, region: args.region, provider: args.provider, gkeCluster: cluster, protect: args.protect,
            }, { parent: this });
        }
        this.endpoint = pulumi.interpolate`https://${cluster.endpoint}`;
        this.caData = cluster.masterAuth.clusterCaCertificate.apply((ca) => ca ?? "");
        this.egressIps = args.vpc.egressIps;
        this.egressAddresses = args.vpc.egressAddresses;
        const ip = args.vpc.eastWestIp;
        // Backend-service-based external passthrough load balancer, on the reserved address.
        this.eastWest = ip && { ips: ip.apply((a) => [a]), loadBalancerIP: ip, serviceAnnotations: pulumi.output<Record<string, string>>({ "cloud.google.com/l4-rbs": "enabled" }) };
        this.provider = new KubernetesProvider(name, {
            kubeconfig: pulumi.all([cluster.endpoint, this.caData]).apply(([endpoint, ca]) => gkeKubeconfig(name, endpoint, ca)),
            enableServerSideApply: true,
        }, { parent: this, dependsOn: [pool] });
        this.registerOutputs({
            name: this.name, cloud: this.cloud, region: this.region, network: this.network, trustDomain: this.trustDomain, provider: this.provider,
            endpoint: this.endpoint, caData: this.caData, egressIps: this.egressIps, egressAddresses: this.egressAddresses, eastWest: this.eastWest,
            acmeDns01: this.acmeDns01, managedCa: this.managedCa,
        });
    }

    private acmeDnsIdentity(name: string, args: GkeClusterArgs, dns: NonNullable<GkeClusterArgs["acmeDns"]>, cluster: container.Cluster,
        child: { parent: pulumi.Resource; provider: GcpProvider }): AcmeDns01 {
        const { zone, certManager } = dns;
        if (zone.provider === "cloudDns") {
            // Workload Identity: cert-manager's ServiceAccount acts as a Google service account that may edit the zone's
            // records (cert-manager docs, "Cloud DNS": roles/dns.admin), through ambient credentials
            // (cert-manager v1.21.1 pkg/issuer/acme/dns/clouddns/clouddns.go `NewDNSProviderCredentials`).
            const account = new serviceaccount.Account(`${name}-acme-dns`, {
                accountId: acmeDnsServiceAccountId(name), displayName: `cert-manager ACME DNS-01 of ${name}`,
            }, child);
            const grant = new projects.IAMMember(`${name}-acme-dns`, {
                project: zone.project, role: "roles/dns.admin", member: pulumi.interpolate`serviceAccount:${account.email}`,
            }, { ...child, parent: account });
            // The workload pool exists once a cluster with Workload Identity does.
            const binding = new serviceaccount.IAMMember(`${name}-acme-dns-wi`, {
                serviceAccountId: account.name, role: "roles/iam.workloadIdentityUser",
                member: `serviceAccount:${args.project}.svc.id.goog[${certManager.namespace}/${certManager.serviceAccount}]`,
            }, { ...child, parent: account, dependsOn: [cluster] });
            return {
                solver: pulumi.output({ cloudDNS: { project: zone.project, hostedZoneName: zone.managedZone } }),
                serviceAccountAnnotations: account.email.apply((email): Record<string, string> => ({ "iam.gke.io/gcp-service-account": email })),
                ready: [account, grant, binding],
            };
        }
        // Checked before anything was created.
        const zoneAccount = dns.aws!;
        // A GKE cluster's service account tokens are issued by its selfLink URL, whose OIDC discovery Google serves.
        const issuerUrl = `https://container.googleapis.com/v1/projects/${args.project}/locations/${args.region}/clusters/${name}`;
        const role = new Route53ChallengeRole(`${name}-acme-dns`, {
            hostedZoneId: zone.hostedZoneId,
            trust: { webIdentity: { issuerUrl, namespace: certManager.namespace, serviceAccount: ACME_DNS_TOKEN_ACCOUNT } },
        }, { parent: this, provider: zoneAccount.provider, dependsOn: [cluster] });
        return {
            solver: role.role.arn.apply((arn) => ({
                route53: { region: zoneAccount.region, hostedZoneID: zone.hostedZoneId, role: arn, auth: { kubernetes: { serviceAccountRef: { name: ACME_DNS_TOKEN_ACCOUNT } } } },
            })),
            tokenServiceAccount: ACME_DNS_TOKEN_ACCOUNT,
            ready: role.ready,
        };
    }
}
