/**
 * A model of how long `pulumi up` takes to create a stack from nothing, computed from the dependency graph the plan
 * captured and a table of creation times. Pure: it works on any graph, so it is tested on small hand-made ones.
 *
 * The engine starts a resource once every resource it waits for is done, with unbounded parallelism (the default of
 * `pulumi up --parallel`). A resource waits for its dependencies (`dependsOn` and output-inferred), its parent and its
 * explicit provider. Components are registered, not created: they take no time but pass their waits on to their
 * children.
 */

/** The phases a phased deployment runs one after another, in this order (certificates first, as phased peers do). */
export const LAYERS = ["pki", "identity", "network", "cluster", "nodes", "mesh", "other"] as const;
export type Layer = (typeof LAYERS)[number];

/** What the model reads of a resource; the engine's CapturedResource has all of it. */
export interface ModelResource {
    readonly urn: string;
    readonly type: string;
    readonly name: string;
    /** Parent URN, or "" at the root. */
    readonly parent: string;
    /** False for components, which are registered but not created. */
    readonly custom: boolean;
    readonly dependencies: readonly string[];
    /** URN of the provider the resource uses, or "". */
    readonly provider: string;
}

export interface CreationEstimate {
    readonly seconds: number;
    readonly layer: Layer;
    /** False when the type is not in the table and a default was used. */
    readonly known: boolean;
}

export interface ModelOptions<R extends ModelResource> {
    /** Cluster names, in config order (the order a sequential deployment takes them in). */
    readonly clusters: readonly string[];
    /** Creation time of a custom resource; components take none. */
    readonly estimate: (resource: R) => CreationEstimate;
}

export interface PathStep {
    readonly urn: string;
    readonly type: string;
    readonly name: string;
    readonly cluster?: string;
    /** False for components: they appear on a path only because they pass a wait on to their children. */
    readonly created: boolean;
    readonly seconds: number;
    readonly start: number;
    readonly finish: number;
}

export interface Chain {
    readonly seconds: number;
    /** The chain's resources in creation order, without the leading ones that wait for nothing and take no time. */
    readonly steps: readonly PathStep[];
}

export interface CrossClusterEdge {
    /** The resource waited for, and its cluster. */
    readonly from: string;
    readonly fromCluster: string;
    /** The resource that waits, and its cluster. */
    readonly to: string;
    readonly toCluster: string;
    readonly onCriticalPath: boolean;
}

export interface DeploymentModel {
    /** The longest chain of waits: how long `pulumi up` takes. */
    readonly criticalPath: Chain;
    /**
     * The unavoidable part: per cluster the longest chain among that cluster's resources (clusters run in parallel),
     * then the longest chain among resources of no single cluster (the cross-cluster step).
     */
    readonly ideal: {
        readonly seconds: number;
        readonly perCluster: ReadonlyArray<{ readonly cluster: string; readonly chain: Chain }>;
        readonly crossCluster: Chain;
    };
    /**
     * A phased deployment: one phase per layer and cluster (shared resources first in each layer), run one after
     * another, each phase as parallel as its own graph allows. A resource that waits for a later phase moves there.
     */
    readonly sequential: {
        readonly seconds: number;
        readonly phases: ReadonlyArray<{ readonly layer: Layer; readonly cluster?: string; readonly seconds: number }>;
    };
    /** Waits from one cluster's resource on another cluster's: each one makes clusters wait for each other. */
    readonly crossClusterEdges: readonly CrossClusterEdge[];
    /** Types that got the default estimate. */
    readonly unknownTypes: readonly string[];
    /** The cluster each resource is attributed to (undefined: shared or cross-cluster). */
    readonly clusterOf: ReadonlyMap<string, string | undefined>;
}

interface Node<R extends ModelResource> {
    readonly resource: R;
    readonly preds: readonly string[];
    readonly seconds: number;
    readonly layer?: Layer;
}

export function modelDeployment<R extends ModelResource>(resources: readonly R[], opts: ModelOptions<R>): DeploymentModel {
    const byUrn = new Map(resources.map((r) => [r.urn, r]));
    const unknownTypes = new Set<string>();
    const nodes = new Map<string, Node<R>>(resources.map((r) => {
        const preds = [...new Set([...r.dependencies, r.parent, r.provider])].filter((u) => u !== r.urn && byUrn.has(u));
        if (!r.custom) return [r.urn, { resource: r, preds, seconds: 0 }];
        const estimate = opts.estimate(r);
        if (!estimate.known) unknownTypes.add(r.type);
        return [r.urn, { resource: r, preds, seconds: estimate.seconds, layer: estimate.layer }];
    }));
    const order = topologicalOrder(nodes);
    const clusterOf = attributeClusters(resources, opts.clusters);

    const criticalPath = longestChain(order, nodes, clusterOf, () => true);
    const perCluster = opts.clusters.map((cluster) => ({ cluster, chain: longestChain(order, nodes, clusterOf, (u) => clusterOf.get(u) === cluster) }));
    const crossCluster = longestChain(order, nodes, clusterOf, (u) => clusterOf.get(u) === undefined);
    const slowestCluster = Math.max(0, ...perCluster.map((c) => c.chain.seconds));

    const onPath = new Set(criticalPath.steps.slice(1).map((s, i) => `${criticalPath.steps[i].urn} ${s.urn}`));
    const crossClusterEdges: CrossClusterEdge[] = [];
    for (const urn of order) {
        const toCluster = clusterOf.get(urn);
        for (const from of nodes.get(urn)!.preds) {
            const fromCluster = clusterOf.get(from);
            if (toCluster && fromCluster && toCluster !== fromCluster) {
                crossClusterEdges.push({ from, fromCluster, to: urn, toCluster, onCriticalPath: onPath.has(`${from} ${urn}`) });
            }
        }
    }

    return {
        criticalPath,
        ideal: { seconds: slowestCluster + crossCluster.seconds, perCluster, crossCluster },
        sequential: phased(order, nodes, clusterOf, opts.clusters),
        crossClusterEdges,
        unknownTypes: [...unknownTypes].sort(),
        clusterOf,
    };
}

/** Every resource after everything it waits for; a cycle is a bug in the graph, reported with its members. */
function topologicalOrder<R extends ModelResource>(nodes: ReadonlyMap<string, Node<R>>): string[] {
    const order: string[] = [];
    const state = new Map<string, "visiting" | "done">();
    const visit = (urn: string, trail: string[]) => {
        const s = state.get(urn);
        if (s === "done") return;
        if (s === "visiting") throw new Error(`dependency cycle: ${[...trail.slice(trail.indexOf(urn)), urn].join(" → ")}`);
        state.set(urn, "visiting");
        for (const p of nodes.get(urn)!.preds) visit(p, [...trail, urn]);
        state.set(urn, "done");
        order.push(urn);
    };
    for (const urn of nodes.keys()) visit(urn, []);
    return order;
}

/** The longest chain among the resources `member` admits, counting only waits between members. */
function longestChain<R extends ModelResource>(
    order: readonly string[], nodes: ReadonlyMap<string, Node<R>>, clusterOf: ReadonlyMap<string, string | undefined>,
    member: (urn: string) => boolean,
): Chain {
    const finish = new Map<string, number>();
    const via = new Map<string, string>();
    let last: string | undefined;
    for (const urn of order) {
        if (!member(urn)) continue;
        const node = nodes.get(urn)!;
        let start = 0;
        for (const p of node.preds) {
            const f = finish.get(p);
            if (f !== undefined && (f > start || (f === start && !via.has(urn)))) {
                start = f;
                via.set(urn, p);
            }
        }
        finish.set(urn, start + node.seconds);
        if (last === undefined || finish.get(urn)! > finish.get(last)!) last = urn;
    }
    const steps: PathStep[] = [];
    for (let urn = last; urn !== undefined; urn = via.get(urn)) {
        const { resource, seconds } = nodes.get(urn)!;
        const end = finish.get(urn)!;
        steps.unshift({ urn, type: resource.type, name: resource.name, cluster: clusterOf.get(urn), created: resource.custom, seconds, start: end - seconds, finish: end });
    }
    const firstThatCounts = steps.findIndex((s) => s.finish > 0);
    return { seconds: last === undefined ? 0 : finish.get(last)!, steps: firstThatCounts < 0 ? [] : steps.slice(firstThatCounts) };
}

function phased<R extends ModelResource>(
    order: readonly string[], nodes: ReadonlyMap<string, Node<R>>, clusterOf: ReadonlyMap<string, string | undefined>, clusters: readonly string[],
): DeploymentModel["sequential"] {
    const groups: Array<string | undefined> = [undefined, ...clusters];
    const phaseOf = new Map<string, number>();
    for (const urn of order) {
        const node = nodes.get(urn)!;
        // What takes no time (components, providers) is no phase of its own: it goes where its waits put it, and
        // never pulls the resources that wait for it into a later phase.
        const own = node.layer === undefined || node.seconds === 0 ? 0 : LAYERS.indexOf(node.layer) * groups.length + groups.indexOf(clusterOf.get(urn));
        phaseOf.set(urn, Math.max(own, ...node.preds.map((p) => phaseOf.get(p)!)));
    }
    const phases = [...new Set(phaseOf.values())].sort((a, b) => a - b).map((phase) => ({
        layer: LAYERS[Math.floor(phase / groups.length)],
        cluster: groups[phase % groups.length],
        seconds: longestChain(order, nodes, clusterOf, (u) => phaseOf.get(u) === phase).seconds,
    })).filter((p) => p.seconds > 0);
    return { seconds: phases.reduce((sum, p) => sum + p.seconds, 0), phases };
}

/**
 * A resource belongs to the cluster of the explicit provider it uses; failing that, to the cluster whose name appears
 * (as a whole token, so `prod-aws-1` never claims `prod-aws-10`) in its own name or its nearest ancestor's.
 */
export function attributeClusters(resources: readonly ModelResource[], clusters: readonly string[]): Map<string, string | undefined> {
    const byUrn = new Map(resources.map((r) => [r.urn, r]));
    const longestFirst = [...clusters].sort((a, b) => b.length - a.length);
    const patterns = longestFirst.map((c) => [c, new RegExp(`(^|[^a-z0-9])${c.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}($|[^a-z0-9])`)] as const);
    const named = (name: string) => patterns.find(([, re]) => re.test(name))?.[0];
    const memo = new Map<string, string | undefined>();
    const clusterOf = (urn: string, seen: ReadonlySet<string>): string | undefined => {
        if (memo.has(urn)) return memo.get(urn);
        const r = byUrn.get(urn)!;
        let found = r.provider && byUrn.has(r.provider) && !seen.has(r.provider) ? clusterOf(r.provider, new Set([...seen, urn])) : undefined;
        for (let a: ModelResource | undefined = r; !found && a; a = byUrn.get(a.parent)) found = named(a.name);
        memo.set(urn, found);
        return found;
    };
    return new Map(resources.map((r) => [r.urn, clusterOf(r.urn, new Set())]));
}
