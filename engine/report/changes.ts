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
 * A heuristic, not the provider's schema: the bridged providers' ForceNew flags are not in the Node.js SDKs
 * (@pulumi/aws 7.48.0, @pulumi/gcp 9.37.0 ship no such metadata), so this lists the create-only properties their
 * API references name: EKS CreateCluster's `name` and `vpcConfig.subnetIds` are not in UpdateClusterConfig; a GKE
 * cluster's `name`, `location` and `network` are immutable (container.v1 projects.locations.clusters); a subnet's
 * and a VPC's CIDR and zone; a Kubernetes object's name and namespace (pulumi-kubernetes replaces on either);
 * everything a tls private key is generated from (terraform-provider-tls 4.3 marks every attribute RequiresReplace).
 * A type not listed is reported as an update; a real preview may still say replace.
 */
const REPLACE_ON: Readonly<Record<string, readonly string[]>> = {
    "aws:eks/cluster:Cluster": ["name", "vpcConfig.subnetIds", "kubernetesNetworkConfig.serviceIpv4Cidr"],
    "aws:eks/nodeGroup:NodeGroup": ["clusterName", "nodeGroupName", "subnetIds", "capacityType"],
    "aws:ec2/vpc:Vpc": ["cidrBlock"],
    "aws:ec2/subnet:Subnet": ["cidrBlock", "vpcId", "availabilityZone"],
    "gcp:container/cluster:Cluster": ["name", "location", "network", "subnetwork", "ipAllocationPolicy"],
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
