import { SECRET_MARKER } from "../values";

/** One resource of a plan.json as the comparison reads it. */
interface PlannedResource {
    readonly urn: string;
    readonly type: string;
    readonly custom?: boolean;
    readonly read?: boolean;
    readonly inputs?: Record<string, unknown>;
    readonly ignoreChanges?: readonly string[];
}

export interface Change {
    readonly urn: string;
    readonly type: string;
    readonly action: "create" | "delete" | "update" | "replace";
    /** Input paths that differ (`vpcConfig.subnetIds[1]`); a secret one is listed, its value never. */
    readonly paths: readonly string[];
    /** The paths among `paths` that make the provider replace the resource. */
    readonly replaceBecause: readonly string[];
}

export interface Changes {
    readonly baseline: string;
    readonly counts: Readonly<Record<Change["action"], number>>;
    readonly changes: readonly Change[];
}

/**
 * Properties whose change makes the provider replace the resource instead of updating it in place.
 *
 * The bridged providers' Node.js SDKs (@pulumi/aws 7.48.0, @pulumi/gcp 9.37.0) carry no ForceNew metadata, so this is
 * read off the upstream Terraform schemas where we could, and is a heuristic elsewhere:
 * - aws_eks_cluster: hashicorp/terraform-provider-aws internal/service/eks/cluster.go (read at commit 00555dc5, a
 *   v6 provider as pulumi-aws 7.x bridges, not at the exact bridged tag): `name`, `role_arn`,
 *   `bootstrap_self_managed_addons`, `kubernetes_network_config.{service_ipv4_cidr,ip_family}` and
 *   `remote_network_config` are ForceNew; `vpc_config.subnet_ids` is not (EKS updates a cluster's subnets in place).
 * - the rest is heuristic, from the services' immutable fields: a GKE cluster's or node pool's name, location and
 *   network; a VPC's and subnet's CIDR and zone; an EKS node group's name, subnets and capacity type; everything a
 *   tls private key is generated from; a Kubernetes object's name and namespace (pulumi-kubernetes replaces on either).
 * A type not listed is reported as an update; a real `pulumi preview` remains the authority.
 */
const REPLACE_ON: Readonly<Record<string, readonly string[]>> = {
    "aws:eks/cluster:Cluster": ["name", "roleArn", "bootstrapSelfManagedAddons", "kubernetesNetworkConfig.serviceIpv4Cidr", "kubernetesNetworkConfig.ipFamily", "remoteNetworkConfig"],
    "aws:eks/nodeGroup:NodeGroup": ["clusterName", "nodeGroupName", "subnetIds", "capacityType"],
    "aws:ec2/vpc:Vpc": ["cidrBlock"],
    "aws:ec2/subnet:Subnet": ["cidrBlock", "vpcId", "availabilityZone"],
    "gcp:container/cluster:Cluster": ["name", "location", "network", "subnetwork"],
    "gcp:container/nodePool:NodePool": ["name", "location", "cluster", "nodeConfig.machineType"],
    "gcp:compute/subnetwork:Subnetwork": ["name", "region", "network"],
    "tls:index/privateKey:PrivateKey": ["algorithm", "rsaBits", "ecdsaCurve"],
};
const KUBERNETES_REPLACE_ON = ["metadata.name", "metadata.namespace", "name", "namespace"];

function replaceKeysOf(type: string): readonly string[] {
    return REPLACE_ON[type] ?? (type.startsWith("kubernetes:") ? KUBERNETES_REPLACE_ON : []);
}

/** Compare two plan.json documents of one stack: what the newer plan creates, deletes, updates and replaces. */
export function comparePlans(baseline: { resources?: readonly PlannedResource[] }, current: { resources: readonly PlannedResource[] }, baselineName: string): Changes {
    const managed = (rs: readonly PlannedResource[] | undefined) =>
        new Map((rs ?? []).filter((r) => r.custom !== false && !r.read && r.type !== "pulumi:pulumi:Stack").map((r) => [r.urn, r]));
    const before = managed(baseline.resources);
    const after = managed(current.resources);
    const changes: Change[] = [];
    for (const [urn, r] of after) {
        const old = before.get(urn);
        if (!old) {
            changes.push({ urn, type: r.type, action: "create", paths: [], replaceBecause: [] });
            continue;
        }
        // As the engine does: a path under the resource's ignoreChanges keeps its old value, so it is no change.
        const under = (p: string, k: string) => p === k || p.startsWith(`${k}.`) || p.startsWith(`${k}[`);
        const paths = diffPaths(old.inputs ?? {}, r.inputs ?? {}, "").filter((p) => !(r.ignoreChanges ?? []).some((k) => under(p, k)));
        if (!paths.length) continue;
        const keys = replaceKeysOf(r.type);
        const replaceBecause = paths.filter((p) => keys.some((k) => under(p, k)));
        changes.push({ urn, type: r.type, action: replaceBecause.length ? "replace" : "update", paths, replaceBecause });
    }
    for (const [urn, r] of before) if (!after.has(urn)) changes.push({ urn, type: r.type, action: "delete", paths: [], replaceBecause: [] });
    changes.sort((a, b) => a.urn.localeCompare(b.urn));
    const counts = { create: 0, delete: 0, update: 0, replace: 0 };
    for (const c of changes) counts[c.action]++;
    return { baseline: baselineName, counts, changes };
}

/**
 * Paths whose values differ. plan.json holds no secret value (each is the marker), so a secret path shows only as
 * changed when it turns secret or plain, appears or disappears: its bytes are never compared nor shown.
 */
function diffPaths(a: unknown, b: unknown, at: string): string[] {
    if (a === b) return [];
    if (a === SECRET_MARKER || b === SECRET_MARKER || typeof a !== "object" || typeof b !== "object" || a === null || b === null || Array.isArray(a) !== Array.isArray(b)) {
        return [at || "(value)"];
    }
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    return keys.flatMap((k) => diffPaths((a as any)[k], (b as any)[k], Array.isArray(a) ? `${at}[${k}]` : at ? `${at}.${k}` : k));
}

/** The changes as lines for the terminal and the Markdown summary. */
export function describeChanges(c: Changes): string[] {
    const lines = [`Changes against ${c.baseline}: ${c.counts.create} to create, ${c.counts.update} to update, ${c.counts.replace} to replace, ${c.counts.delete} to delete`];
    for (const x of c.changes) {
        const why = x.action === "replace" ? ` (replaced because ${x.replaceBecause.join(", ")} changed)` : x.paths.length ? ` (${x.paths.join(", ")})` : "";
        lines.push(`  ${x.action.padEnd(7)} ${x.urn}${why}`);
    }
    return lines;
}
