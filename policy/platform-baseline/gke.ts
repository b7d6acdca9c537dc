import * as container from "@pulumi/gcp/container";
import { Unwrap } from "@pulumi/pulumi";
import { ReportViolation, ResourceValidation, ResourceValidationPolicy } from "@pulumi/policy";
import { peek, peekList, UNKNOWN } from "./preview";
import { EXEMPT_RESOURCES, inProduction, isOpenCidr, PRODUCTION_STACKS, validateOfType } from "./support";

/**
 * GKE clusters and node pools: the GCP policy library's GKE templates plus the extras it lacks (release channel,
 * application-layer secrets encryption, deletion protection). Autopilot manages nodes, Workload Identity, shielded
 * nodes and Dataplane V2 itself, so node-level rules skip Autopilot clusters.
 */

type ClusterProps = Unwrap<container.ClusterArgs>;

const clusterRule = (check: (cluster: ClusterProps, report: ReportViolation, config: Record<string, any>) => void): ResourceValidation =>
    validateOfType(container.Cluster, (cluster, args, report) => check(cluster, report, args.getConfig<Record<string, any>>()));

const managedByAutopilot = (cluster: ClusterProps) => cluster.enableAutopilot === true;

export const gkePrivateNodes: ResourceValidationPolicy = {
    name: "gke-private-nodes",
    description: "GKE nodes have no public IP addresses (privateClusterConfig.enablePrivateNodes; no node pool opts out).",
    enforcementLevel: "mandatory",
    configSchema: { properties: { exemptResources: EXEMPT_RESOURCES } },
    validateResource: [
        clusterRule((cluster, report) => {
            if (cluster.privateClusterConfig?.enablePrivateNodes !== true) report("privateClusterConfig.enablePrivateNodes is not true, so nodes get public IP addresses: set it true and give the nodes egress through Cloud NAT");
        }),
        validateOfType(container.NodePool, (pool, _args, report) => {
            if (pool.networkConfig?.enablePrivateNodes === false) report("networkConfig.enablePrivateNodes is false, so this pool's nodes get public IP addresses: remove it or set it true");
        }),
    ],
};

export const gkeControlPlaneAccess: ResourceValidationPolicy = {
    name: "gke-control-plane-access",
    description: "GKE control planes admit only master authorized networks, never 0.0.0.0/0 nor all of Google Cloud's public addresses; optionally no public endpoint at all.",
    enforcementLevel: "mandatory",
    configSchema: {
        properties: {
            requirePrivateEndpoint: { type: "boolean", default: false, description: "Require privateClusterConfig.enablePrivateEndpoint (peers in other clouds then need private connectivity)." },
            exemptResources: EXEMPT_RESOURCES,
        },
    },
    validateResource: clusterRule((cluster, report, { requirePrivateEndpoint }) => {
        if (requirePrivateEndpoint && cluster.privateClusterConfig?.enablePrivateEndpoint !== true) {
            report("privateClusterConfig.enablePrivateEndpoint is not true, so the control plane keeps a public endpoint: set it true");
        }
        const networks = cluster.masterAuthorizedNetworksConfig;
        if (!networks) {
            report("masterAuthorizedNetworksConfig is unset, so any address may reach the control plane: set masterAuthorizedNetworksConfig.cidrBlocks to the operator and peer CIDRs");
            return;
        }
        // As for EKS: peers' addresses are unknown at a first preview, the literal operator CIDRs are known.
        // (The bridged provider's Check turns a list unknown as a whole into one unknown entry.)
        const blocks = peekList(networks, "cidrBlocks");
        const open = (blocks === UNKNOWN ? [] : blocks ?? []).map((b) => peek(b, "cidrBlock")).filter(isOpenCidr);
        if (open.length > 0) report(`masterAuthorizedNetworksConfig.cidrBlocks contains ${open.join(", ")}, which opens the control plane to the internet: list only the operator and peer CIDRs`);
        if (networks.gcpPublicCidrsAccessEnabled === true) report("masterAuthorizedNetworksConfig.gcpPublicCidrsAccessEnabled is true, so every Google Cloud public address (any customer's VMs) may reach the control plane: set it false and list the CIDRs that need access");
    }),
};

export const gkeWorkloadIdentity: ResourceValidationPolicy = {
    name: "gke-workload-identity",
    description: "GKE clusters enable Workload Identity (workloadIdentityConfig.workloadPool), so pods never use the node's service account.",
    enforcementLevel: "mandatory",
    configSchema: { properties: { exemptResources: EXEMPT_RESOURCES } },
    validateResource: clusterRule((cluster, report) => {
        if (managedByAutopilot(cluster)) return;
        if (!cluster.workloadIdentityConfig?.workloadPool) report("workloadIdentityConfig.workloadPool is unset, so pods act with the node's service account: set it to <project>.svc.id.goog (and GKE_METADATA on node pools)");
    }),
};

export const gkeShieldedNodes: ResourceValidationPolicy = {
    name: "gke-shielded-nodes",
    description: "GKE clusters keep Shielded GKE Nodes on (enableShieldedNodes is not false).",
    enforcementLevel: "mandatory",
    configSchema: { properties: { exemptResources: EXEMPT_RESOURCES } },
    validateResource: clusterRule((cluster, report) => {
        if (cluster.enableShieldedNodes === false) report("enableShieldedNodes is false, so a node's identity is not rooted in a verified boot: remove it (the default is true) or set it true");
    }),
};

export const gkeReleaseChannel: ResourceValidationPolicy = {
    name: "gke-release-channel",
    description: "GKE clusters are enrolled in an allowed release channel, so Google patches control plane and nodes.",
    enforcementLevel: "mandatory",
    configSchema: {
        properties: {
            allowedChannels: { type: "array", minItems: 1, items: { type: "string", enum: ["RAPID", "REGULAR", "STABLE", "EXTENDED"] }, default: ["REGULAR", "STABLE"] },
            exemptResources: EXEMPT_RESOURCES,
        },
    },
    validateResource: clusterRule((cluster, report, { allowedChannels }) => {
        const channel = cluster.releaseChannel?.channel;
        if (!channel || !allowedChannels.includes(channel)) {
            report(`releaseChannel.channel is ${channel ?? "unset"}${!channel || channel === "UNSPECIFIED" ? ", so nobody upgrades the cluster on a schedule" : ", which is not allowed here"}: set releaseChannel.channel to ${allowedChannels.join(" or ")}`);
        }
    }),
};

export const gkeSecretsEncryption: ResourceValidationPolicy = {
    name: "gke-secrets-encryption",
    description: "GKE clusters encrypt Secrets at the application layer with a Cloud KMS key (databaseEncryption ENCRYPTED with a keyName).",
    enforcementLevel: "mandatory",
    configSchema: { properties: { exemptResources: EXEMPT_RESOURCES } },
    validateResource: clusterRule((cluster, report) => {
        const encryption = cluster.databaseEncryption;
        // The id of a key this deployment creates is unknown at a first preview; that one is named is known.
        if (encryption?.state !== "ENCRYPTED" || !peek(encryption, "keyName")) {
            report(`databaseEncryption is ${encryption ? `${encryption.state}${peek(encryption, "keyName") ? "" : " without keyName"}` : "unset"}, so Secrets in etcd are protected only by Google's default encryption: set databaseEncryption { state: "ENCRYPTED", keyName: <gcp.kms.CryptoKey id> }`);
        }
    }),
};

export const gkeNoLegacyAuth: ResourceValidationPolicy = {
    name: "gke-no-legacy-auth",
    description: "GKE clusters use neither legacy ABAC nor client certificates to authenticate to the control plane.",
    enforcementLevel: "mandatory",
    configSchema: { properties: { exemptResources: EXEMPT_RESOURCES } },
    validateResource: clusterRule((cluster, report) => {
        if (cluster.enableLegacyAbac === true) report("enableLegacyAbac is true, so identities get static permissions beyond RBAC: set it false");
        if (cluster.masterAuth?.clientCertificateConfig?.issueClientCertificate === true) {
            report("masterAuth.clientCertificateConfig.issueClientCertificate is true, so a never-expiring admin credential lands in state: set it false and authenticate through IAM");
        }
    }),
};

export const gkeNetworkPolicy: ResourceValidationPolicy = {
    name: "gke-network-policy",
    description: "GKE clusters enforce Kubernetes NetworkPolicy: Dataplane V2 (datapathProvider ADVANCED_DATAPATH) or networkPolicy.enabled.",
    enforcementLevel: "mandatory",
    configSchema: { properties: { exemptResources: EXEMPT_RESOURCES } },
    validateResource: clusterRule((cluster, report) => {
        if (managedByAutopilot(cluster) || cluster.datapathProvider === "ADVANCED_DATAPATH") return;
        if (cluster.networkPolicy?.enabled !== true) {
            report("neither datapathProvider ADVANCED_DATAPATH nor networkPolicy.enabled is set, so NetworkPolicies are stored but not enforced: set datapathProvider \"ADVANCED_DATAPATH\" (Dataplane V2)");
        } else if (cluster.addonsConfig?.networkPolicyConfig?.disabled === true) {
            report("networkPolicy.enabled is set but addonsConfig.networkPolicyConfig.disabled is true, so no enforcer runs: remove the addon override, or use datapathProvider \"ADVANCED_DATAPATH\"");
        }
    }),
};

export const gkeDeletionProtection: ResourceValidationPolicy = {
    name: "gke-deletion-protection-in-production",
    description: "GKE clusters in production stacks keep deletion protection on.",
    enforcementLevel: "mandatory",
    configSchema: { properties: { productionStacks: PRODUCTION_STACKS, exemptResources: EXEMPT_RESOURCES } },
    validateResource: validateOfType(container.Cluster, (cluster, args, report) => {
        if (!inProduction(args)) return;
        // The provider defaults deletionProtection to true; deletionPolicy PREVENT protects on its own.
        if (cluster.deletionProtection === false && cluster.deletionPolicy !== "PREVENT") {
            report("deletionProtection is false in a production stack, so one pulumi up or destroy can delete the cluster and every workload on it: remove it or set it true");
        }
    }),
};

export const gkeBinaryAuthorization: ResourceValidationPolicy = {
    name: "gke-binary-authorization",
    description: "GKE clusters enforce the project's Binary Authorization policy.",
    enforcementLevel: "advisory",
    configSchema: { properties: { exemptResources: EXEMPT_RESOURCES } },
    validateResource: clusterRule((cluster, report) => {
        const mode = cluster.binaryAuthorization?.evaluationMode;
        if (mode !== "PROJECT_SINGLETON_POLICY_ENFORCE" && cluster.binaryAuthorization?.enabled !== true) {
            report(`binaryAuthorization.evaluationMode is ${mode ?? "unset"}, so any image may run: set it to PROJECT_SINGLETON_POLICY_ENFORCE once the project has a Binary Authorization policy`);
        }
    }),
};

export const gkeLoggingMonitoring: ResourceValidationPolicy = {
    name: "gke-logging-monitoring",
    description: "GKE clusters keep Cloud Logging and Cloud Monitoring on, with system components included.",
    enforcementLevel: "advisory",
    configSchema: { properties: { exemptResources: EXEMPT_RESOURCES } },
    validateResource: clusterRule((cluster, report) => {
        if (cluster.loggingService === "none") report("loggingService is none, so control-plane and node logs are lost: remove it (default logging.googleapis.com/kubernetes)");
        if (cluster.monitoringService === "none") report("monitoringService is none, so the cluster has no metrics: remove it (default monitoring.googleapis.com/kubernetes)");
        const logging = cluster.loggingConfig?.enableComponents;
        if (logging && !logging.includes("SYSTEM_COMPONENTS")) report("loggingConfig.enableComponents lacks SYSTEM_COMPONENTS: add it");
        const monitoring = cluster.monitoringConfig?.enableComponents;
        if (monitoring && !monitoring.includes("SYSTEM_COMPONENTS")) report("monitoringConfig.enableComponents lacks SYSTEM_COMPONENTS: add it");
    }),
};

export const gkeVpcNative: ResourceValidationPolicy = {
    name: "gke-vpc-native",
    description: "GKE clusters are VPC-native (alias IP ranges), not routes-based.",
    enforcementLevel: "advisory",
    configSchema: { properties: { exemptResources: EXEMPT_RESOURCES } },
    validateResource: clusterRule((cluster, report) => {
        if (cluster.networkingMode === "ROUTES") report("networkingMode is ROUTES, so pod addresses are invisible to VPC firewalls and private clusters are unavailable: set networkingMode VPC_NATIVE with an ipAllocationPolicy");
    }),
};

export const gkeLocationAndVersion: ResourceValidationPolicy = {
    name: "gke-location-and-version",
    description: "GKE clusters run in allowed locations and, where a minimum master version is pinned, on an allowed version (empty lists allow any).",
    enforcementLevel: "advisory",
    configSchema: {
        properties: {
            allowedLocations: { type: "array", items: { type: "string" }, default: [] },
            allowedVersionPrefixes: { type: "array", items: { type: "string" }, default: [], description: "e.g. 1.34, 1.35" },
            exemptResources: EXEMPT_RESOURCES,
        },
    },
    validateResource: clusterRule((cluster, report, { allowedLocations, allowedVersionPrefixes }) => {
        if (allowedLocations.length > 0 && !allowedLocations.includes(cluster.location ?? "")) {
            report(`location ${cluster.location ?? "unset"} is not one of ${allowedLocations.join(", ")}: move the cluster or extend allowedLocations`);
        }
        const version = cluster.minMasterVersion;
        if (version && allowedVersionPrefixes.length > 0 && !allowedVersionPrefixes.some((p: string) => version === p || version.startsWith(`${p}.`))) {
            report(`minMasterVersion ${version} is not in ${allowedVersionPrefixes.join(", ")}: pin an allowed version or extend allowedVersionPrefixes`);
        }
    }),
};

export const gkeRemoveDefaultNodePool: ResourceValidationPolicy = {
    name: "gke-remove-default-node-pool",
    description: "GKE clusters remove the default node pool and run separately managed gcp.container.NodePools.",
    enforcementLevel: "advisory",
    configSchema: { properties: { exemptResources: EXEMPT_RESOURCES } },
    validateResource: clusterRule((cluster, report) => {
        if (managedByAutopilot(cluster) || cluster.removeDefaultNodePool === true) return;
        report("removeDefaultNodePool is not true, so the default pool lives on with settings that change only by replacing the cluster: set removeDefaultNodePool true and run gcp.container.NodePool resources");
    }),
};

// ---------------------------------------------------------------------------------------------------------------
// Nodes: separate node pools, node pools inlined in the cluster, and the default pool while it exists.

interface NodeSettings {
    /** The path a user edits, up to the node config (`nodeConfig`, `nodePools[0].nodeConfig`). */
    readonly where: string;
    readonly nodeConfig?: any;
    readonly management?: { autoRepair?: boolean; autoUpgrade?: boolean };
    readonly managementPath: string;
}

function nodeSettingsOfCluster(cluster: ClusterProps): NodeSettings[] {
    if (managedByAutopilot(cluster)) return [];
    const found: NodeSettings[] = [];
    if (cluster.removeDefaultNodePool !== true) found.push({ where: "nodeConfig", nodeConfig: cluster.nodeConfig, managementPath: "the default pool's management" });
    (cluster.nodePools ?? []).forEach((pool, i) => found.push({
        where: `nodePools[${i}]${pool.name ? ` (${pool.name})` : ""}.nodeConfig`, nodeConfig: pool.nodeConfig, management: pool.management, managementPath: `nodePools[${i}].management`,
    }));
    return found;
}

/** One check over every node configuration of clusters and node pools. */
function nodeRules(check: (nodes: NodeSettings, report: ReportViolation, config: Record<string, any>) => void): ResourceValidation[] {
    return [
        validateOfType(container.Cluster, (cluster, args, report) => {
            for (const nodes of nodeSettingsOfCluster(cluster)) check(nodes, report, args.getConfig<Record<string, any>>());
        }),
        validateOfType(container.NodePool, (pool, args, report) => {
            check({ where: "nodeConfig", nodeConfig: pool.nodeConfig, management: pool.management, managementPath: "management" }, report, args.getConfig<Record<string, any>>());
        }),
    ];
}

export const gkeNodeImage: ResourceValidationPolicy = {
    name: "gke-node-image-cos",
    description: "GKE nodes run Container-Optimized OS with containerd (imageType COS_CONTAINERD, GKE's default).",
    enforcementLevel: "mandatory",
    configSchema: {
        properties: {
            allowedImageTypes: { type: "array", minItems: 1, items: { type: "string" }, default: ["COS_CONTAINERD"] },
            exemptResources: EXEMPT_RESOURCES,
        },
    },
    validateResource: nodeRules((nodes, report, { allowedImageTypes }) => {
        const image: string | undefined = nodes.nodeConfig?.imageType;
        if (image !== undefined && !allowedImageTypes.includes(image.toUpperCase())) {
            report(`${nodes.where}.imageType is ${image}: a general-purpose OS widens the node's attack surface and is patched outside GKE's node upgrades; set imageType ${allowedImageTypes.join(" or ")}`);
        }
    }),
};

export const gkeNodeAutoUpgradeRepair: ResourceValidationPolicy = {
    name: "gke-node-auto-upgrade-repair",
    description: "GKE node pools keep auto-upgrade and auto-repair on.",
    enforcementLevel: "mandatory",
    configSchema: { properties: { exemptResources: EXEMPT_RESOURCES } },
    validateResource: nodeRules((nodes, report) => {
        if (nodes.management?.autoUpgrade === false) report(`${nodes.managementPath}.autoUpgrade is false, so nodes miss security patches: set it true`);
        if (nodes.management?.autoRepair === false) report(`${nodes.managementPath}.autoRepair is false, so failed nodes stay in the pool: set it true`);
    }),
};

const DEFAULT_COMPUTE_SA = /-compute@developer\.gserviceaccount\.com$/;

export const gkeNodeServiceAccount: ResourceValidationPolicy = {
    name: "gke-node-service-account",
    description: "GKE nodes run as a dedicated least-privilege service account, never the Compute Engine default (Editor on the project).",
    enforcementLevel: "mandatory",
    configSchema: {
        properties: {
            allowedServiceAccounts: { type: "array", items: { type: "string" }, default: [], description: "Emails node pools may use; empty allows any but the default." },
            exemptResources: EXEMPT_RESOURCES,
        },
    },
    validateResource: nodeRules((nodes, report, { allowedServiceAccounts }) => {
        const account: string | undefined | typeof UNKNOWN = peek(nodes.nodeConfig, "serviceAccount");
        // Unknown at preview: the email of an account this deployment creates, so neither unset nor the default
        // (which exists before any deployment and is known); an allow-list is checked once it is known.
        if (account === UNKNOWN) return;
        if (!account || account === "default" || DEFAULT_COMPUTE_SA.test(account)) {
            report(`${nodes.where}.serviceAccount is ${account ?? "unset"}${account ? "" : " (the Compute Engine default, Editor on the project)"}: create a gcp.serviceaccount.Account with only the logging, monitoring and registry roles nodes need, and set its email`);
        } else if (allowedServiceAccounts.length > 0 && !allowedServiceAccounts.includes(account)) {
            report(`${nodes.where}.serviceAccount ${account} is not one of ${allowedServiceAccounts.join(", ")}: use an allowed account or extend allowedServiceAccounts`);
        }
    }),
};

export const gkeNodeSecureBoot: ResourceValidationPolicy = {
    name: "gke-node-secure-boot",
    description: "GKE nodes are Shielded VMs with secure boot and integrity monitoring.",
    enforcementLevel: "mandatory",
    configSchema: { properties: { exemptResources: EXEMPT_RESOURCES } },
    validateResource: nodeRules((nodes, report) => {
        const shielded = nodes.nodeConfig?.shieldedInstanceConfig;
        if (shielded?.enableSecureBoot !== true) report(`${nodes.where}.shieldedInstanceConfig.enableSecureBoot is ${shielded?.enableSecureBoot ?? "unset (default false)"}, so unsigned boot components can run: set it true`);
        if (shielded?.enableIntegrityMonitoring === false) report(`${nodes.where}.shieldedInstanceConfig.enableIntegrityMonitoring is false: remove it (the default is true) or set it true`);
    }),
};

export const gkeNodeMetadataServer: ResourceValidationPolicy = {
    name: "gke-node-metadata-server",
    description: "GKE nodes serve pods the GKE metadata server (workloadMetadataConfig.mode GKE_METADATA) and keep legacy metadata endpoints disabled.",
    enforcementLevel: "mandatory",
    configSchema: { properties: { exemptResources: EXEMPT_RESOURCES } },
    validateResource: nodeRules((nodes, report) => {
        const mode = nodes.nodeConfig?.workloadMetadataConfig?.mode;
        if (mode !== "GKE_METADATA") report(`${nodes.where}.workloadMetadataConfig.mode is ${mode ?? "unset"}, so pods may read the node's credentials from the metadata server: set it to GKE_METADATA`);
        if (String(nodes.nodeConfig?.metadata?.["disable-legacy-endpoints"]) === "false") report(`${nodes.where}.metadata["disable-legacy-endpoints"] is "false", which serves metadata without the Metadata-Flavor header: remove it or set it "true"`);
    }),
};

export const gkeRegionalInProduction: ResourceValidationPolicy = {
    name: "gke-regional-in-production",
    description: "GKE clusters in production stacks are regional, so the control plane survives a zone outage.",
    enforcementLevel: "mandatory",
    configSchema: { properties: { productionStacks: PRODUCTION_STACKS, exemptResources: EXEMPT_RESOURCES } },
    validateResource: validateOfType(container.Cluster, (cluster, args, report) => {
        if (!inProduction(args)) return;
        // Zones are regions with a letter suffix: us-central1-a.
        if (/-[a-z]$/.test(cluster.location ?? "")) report(`location ${cluster.location} is a zone, so the control plane has one replica: set location to the region (${cluster.location!.replace(/-[a-z]$/, "")})`);
    }),
};

export const gkePolicies = [
    gkePrivateNodes, gkeControlPlaneAccess, gkeWorkloadIdentity, gkeShieldedNodes, gkeReleaseChannel, gkeSecretsEncryption,
    gkeNoLegacyAuth, gkeNetworkPolicy, gkeDeletionProtection, gkeBinaryAuthorization, gkeLoggingMonitoring, gkeVpcNative,
    gkeLocationAndVersion, gkeRemoveDefaultNodePool, gkeNodeImage, gkeNodeAutoUpgradeRepair, gkeNodeServiceAccount,
    gkeNodeSecureBoot, gkeNodeMetadataServer, gkeRegionalInProduction,
];
