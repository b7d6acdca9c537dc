/**
 * When a changed input makes the provider replace a resource instead of updating it in place.
 *
 * The bridged providers' Node.js SDKs (@pulumi/aws 7.48.0, @pulumi/gcp 9.37.0, @pulumi/tls) carry no ForceNew
 * metadata, so each rule is read off the provider's own source and names it in `source`; a rule without one is a
 * heuristic from the service's immutable fields and is reported as such. A type with no rule is an update. A real
 * `pulumi preview` remains the authority.
 */
export interface ReplaceRule {
    /** Input paths (Pulumi's camelCase) whose change replaces; `*` is every input but those in `except`. */
    readonly paths: readonly string[];
    readonly except?: readonly string[];
    /** Replaces when the input goes from set to unset only (a CustomizeDiff ForceNewIfChange). */
    readonly whenRemoved?: readonly string[];
    /** Where the rule is read from; absent: a heuristic. */
    readonly source?: string;
}

const TLS = "hashicorp/terraform-provider-tls v4.2.1";
const TLS_CERT: Omit<ReplaceRule, "source"> = {
    // Every attribute of the three certificate resources carries RequiresReplace (the PEM inputs
    // requireReplaceIfStateContainsPEMString) except early_renewal_hours, which is updated in place.
    paths: ["*"], except: ["earlyRenewalHours"],
};
// Read at commit 012e0a32 (node_group.go) and 00555dc5 (cluster.go), v6 providers as pulumi-aws 7.x bridges: the
// exact tag @pulumi/aws 7.48.0 bridges was not in reach.
const AWS_EKS = "hashicorp/terraform-provider-aws internal/service/eks";
const GOOGLE = "hashicorp/terraform-provider-google v7.45.0 google/services/container";
// ForceNew in schemaNodeConfig; machine_type, disk_size_gb, image_type, labels, tags are updated in place
// (node_config.go:3934, nodePoolNodeConfigUpdate).
const GKE_NODE_CONFIG = ["metadata", "oauthScopes", "serviceAccount", "shieldedInstanceConfig", "spot"];
// pulumi/pulumi-kubernetes provider/pkg/provider/diff.go (forceNewProperties), read at commit 94977969: the newest
// stored, v4.32.0 and later; the v4.34.2 tag itself was not in reach. The program sets no enableSecretMutable nor
// enableConfigMapMutable on its providers, so a Secret's and a ConfigMap's contents replace.
const KUBERNETES = "pulumi/pulumi-kubernetes provider/pkg/provider/diff.go";
const KUBERNETES_METADATA = ["metadata.name", "metadata.namespace"];
const LABEL_SELECTOR = ["spec.selector"];
const KUBERNETES_KINDS: Readonly<Record<string, readonly string[]>> = {
    Secret: ["type", "data", "stringData"],
    ConfigMap: ["data", "binaryData"],
    Service: ["spec.clusterIP"],
    Deployment: LABEL_SELECTOR,
    DaemonSet: LABEL_SELECTOR,
    StatefulSet: ["spec.podManagementPolicy", "spec.revisionHistoryLimit", "spec.serviceName", "spec.volumeClaimTemplates", ...LABEL_SELECTOR],
    Job: ["spec.completions", "spec.parallelism", "spec.template", ...LABEL_SELECTOR],
    RoleBinding: ["roleRef"],
    ClusterRoleBinding: ["roleRef"],
    PersistentVolumeClaim: ["spec.accessModes", "spec.storageClassName", "spec.volumeName", ...LABEL_SELECTOR],
    StorageClass: ["parameters", "provisioner"],
};

const RULES: Readonly<Record<string, ReplaceRule>> = {
    "tls:index/privateKey:PrivateKey": { paths: ["algorithm", "rsaBits", "ecdsaCurve"], source: `${TLS} internal/provider/resource_private_key.go` },
    "tls:index/selfSignedCert:SelfSignedCert": { ...TLS_CERT, source: `${TLS} internal/provider/resource_self_signed_cert.go` },
    "tls:index/certRequest:CertRequest": { ...TLS_CERT, source: `${TLS} internal/provider/resource_cert_request.go` },
    "tls:index/locallySignedCert:LocallySignedCert": { ...TLS_CERT, source: `${TLS} internal/provider/resource_locally_signed_cert.go` },
    "aws:eks/cluster:Cluster": {
        paths: ["name", "roleArn", "bootstrapSelfManagedAddons", "accessConfig.bootstrapClusterCreatorAdminPermissions", "kubernetesNetworkConfig.serviceIpv4Cidr",
            "kubernetesNetworkConfig.ipFamily", "remoteNetworkConfig", "outpostConfig.controlPlaneInstanceType"],
        // "You cannot disable envelope encryption after enabling it": customdiff.ForceNewIfChange("encryption_config").
        whenRemoved: ["encryptionConfig"],
        source: `${AWS_EKS}/cluster.go`,
    },
    "aws:eks/nodeGroup:NodeGroup": {
        paths: ["amiType", "capacityType", "clusterName", "diskSize", "instanceTypes", "launchTemplate.id", "launchTemplate.name", "nodeGroupName",
            "nodeGroupNamePrefix", "nodeRoleArn", "remoteAccess", "subnetIds"],
        source: `${AWS_EKS}/node_group.go`,
    },
    "gcp:container/cluster:Cluster": {
        paths: ["name", "location", "project", "network", "subnetwork", "initialNodeCount", "ipAllocationPolicy", "privateClusterConfig.masterIpv4CidrBlock",
            "privateClusterConfig.privateEndpointSubnetwork", "datapathProvider", "clusterIpv4Cidr", "description", "enableKubernetesAlpha", "enableTpu",
            "enableAutopilot", "networkingMode", "defaultMaxPodsPerNode", ...GKE_NODE_CONFIG.map((k) => `nodeConfig.${k}`)],
        source: `${GOOGLE}/resource_container_cluster.go`,
    },
    "gcp:container/nodePool:NodePool": {
        paths: ["name", "namePrefix", "location", "project", "cluster", "initialNodeCount", "maxPodsPerNode", "placementPolicy", "networkConfig.createPodRange",
            "networkConfig.podRange", "networkConfig.podIpv4CidrBlock", ...GKE_NODE_CONFIG.map((k) => `nodeConfig.${k}`)],
        source: `${GOOGLE}/resource_container_node_pool.go, node_config.go`,
    },
    // Heuristics: the networks' identity and addressing.
    "aws:ec2/vpc:Vpc": { paths: ["cidrBlock"] },
    "aws:ec2/subnet:Subnet": { paths: ["cidrBlock", "vpcId", "availabilityZone"] },
    "gcp:compute/subnetwork:Subnetwork": { paths: ["name", "region", "network"] },
    "gcp:compute/network:Network": { paths: ["name"] },
};

/**
 * The rules for a resource: its type's (Kubernetes objects by their kind, `kubernetes:<group>/<version>:<Kind>`), and
 * the paths of its own `replaceOnChanges` option, on which the engine replaces whatever the provider's diff says
 * (pulumi/pulumi v3.248.0 pkg/resource/deploy/step_generator.go `applyReplaceOnChanges`: a changed key that a
 * listed path contains). The program's own dynamic resources declare their replacing inputs that way.
 */
export function replaceRulesOf(type: string, replaceOnChanges: readonly string[] = []): ReplaceRule[] {
    const rule = typeRule(type);
    return [...(rule ? [rule] : []), ...(replaceOnChanges.length ? [{ paths: replaceOnChanges, source: "the resource's replaceOnChanges option" }] : [])];
}

/** The changed paths that replace the resource under any of `rules`, and where the rules that say so are read from. */
export function replacement(rules: readonly ReplaceRule[], paths: readonly string[], old: Record<string, unknown>, now: Record<string, unknown>): { paths: string[]; source: string } {
    const applying = rules.map((rule) => ({ rule, paths: replacingPaths(rule, paths, old, now) })).filter((r) => r.paths.length > 0);
    return {
        paths: [...new Set(applying.flatMap((r) => r.paths))],
        source: [...new Set(applying.map((r) => r.rule.source ?? "heuristic"))].join("; "),
    };
}

function typeRule(type: string): ReplaceRule | undefined {
    if (RULES[type]) return RULES[type];
    const k8s = /^kubernetes:([^:]+):(\w+)$/.exec(type);
    if (!k8s) return undefined;
    // A Helm release's own diff (helm_release.go) is not the objects': its name and namespace, as a heuristic.
    if (k8s[1] === "helm.sh/v3") return { paths: ["name", "namespace"] };
    return { paths: [...KUBERNETES_METADATA, ...(KUBERNETES_KINDS[k8s[2]] ?? [])], source: KUBERNETES };
}

export const under = (p: string, k: string): boolean => p === k || p.startsWith(`${k}.`) || p.startsWith(`${k}[`);

/** The changed paths among `paths` that replace the resource under `rule`. */
function replacingPaths(rule: ReplaceRule | undefined, paths: readonly string[], old: Record<string, unknown>, now: Record<string, unknown>): string[] {
    if (!rule) return [];
    const forced = paths.filter((p) => rule.paths.includes("*") ? !(rule.except ?? []).some((k) => under(p, k)) : rule.paths.some((k) => under(p, k)));
    const removed = (rule.whenRemoved ?? []).filter((k) => old[k] !== undefined && now[k] === undefined && paths.some((p) => under(p, k)));
    return [...new Set([...forced, ...removed])];
}
