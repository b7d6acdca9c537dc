import { ReleaseConfig } from "../../config";

/** A DestinationRule subset: the pods of one release, by their `version` label. */
export interface Subset {
    readonly name: string;
    readonly labels: { readonly version: string };
}

/** Where requests go: weights sum to 100 and each names a subset of the same plan. */
export interface ReleaseRouting {
    readonly subsets: readonly Subset[];
    readonly routes: ReadonlyArray<{ readonly subset: string; readonly weight: number }>;
    readonly mirror?: { readonly subset: string; readonly percent: number };
}

/**
 * The subsets and weighted routes of a release strategy. Subsets are named by role (stable/canary, blue/green), not
 * by version, so that a promotion or a switch changes labels and weights in place: every subset a route names exists
 * before and after the change, and no ordering between the DestinationRule and VirtualService updates is needed.
 */
export function releaseRouting(release: ReleaseConfig): ReleaseRouting {
    if (release.strategy === "canary") {
        const subsets = [{ name: "stable", labels: { version: release.stable } }, { name: "canary", labels: { version: release.canary } }];
        const routes = [{ subset: "stable", weight: 100 - release.canaryWeight }, { subset: "canary", weight: release.canaryWeight }].filter((r) => r.weight > 0);
        return { subsets, routes, ...(release.mirrorPercent ? { mirror: { subset: "canary", percent: release.mirrorPercent } } : {}) };
    }
    const idle = release.active === "blue" ? "green" : "blue";
    return {
        subsets: [{ name: "blue", labels: { version: release.blue } }, { name: "green", labels: { version: release.green } }],
        routes: [{ subset: release.active, weight: 100 }],
        ...(release.mirrorPercent ? { mirror: { subset: idle, percent: release.mirrorPercent } } : {}),
    };
}

/** A check to run before a release change takes effect: a subset that will receive traffic has ready pods on a cluster. */
export interface ReleaseGate {
    readonly cluster: string;
    readonly service: string;
    readonly namespace: string;
    readonly subset: string;
    /** Label selector of the subset's pods: the service's `app` label and the subset's labels. */
    readonly selector: string;
    /** A POSIX shell command, run against the kube context named after the cluster: exits non-zero without a ready pod. */
    readonly command: string;
}

/**
 * Prints, per matching pod, its deletion timestamp and Ready status as `<timestamp>/<status>`: a pod that counts is
 * `/True`. kubectl prints a missing field as nothing (`--allow-missing-template-keys`, on by default).
 */
const READINESS = `'{range .items[*]}{.metadata.deletionTimestamp}/{.status.conditions[?(@.type=="Ready")].status}{"\\n"}{end}'`;

/**
 * The gates of a release: per cluster, one per subset that receives requests (by weight or as a mirror). Istio sends a
 * subset the service's ready endpoints whose labels include the subset's (istio/istio 1.30.3
 * pilot/pkg/xds/endpoints/endpoint_builder.go, `SubsetOf`; pilot/pkg/serviceregistry/kube/controller/endpointslice.go
 * `endpointHealthStatus`); a subset that matches none becomes an empty cluster (`buildEmptyClusterLoadAssignment`)
 * and every request routed to it fails. The service's endpoints are its workload's pods, labelled `app: <service>`
 * (the service graph's contract), and an endpoint is ready when its pod is Ready and not terminating (kubernetes/
 * endpointslice v0.34.0 utils.go `podToEndpoint`). So the gate counts exactly those pods, and passes with one or
 * more: unlike `kubectl wait`, which needs every matching pod Ready, an old pod terminating or crash-looping beside
 * ready ones does not fail it.
 */
export function releaseGates(service: { readonly name: string; readonly namespace: string }, routing: ReleaseRouting, clusters: readonly string[]): ReleaseGate[] {
    const live = new Set([...routing.routes.filter((r) => r.weight > 0).map((r) => r.subset), ...(routing.mirror ? [routing.mirror.subset] : [])]);
    return clusters.flatMap((cluster) => routing.subsets.filter((s) => live.has(s.name)).map((s) => {
        const selector = Object.entries({ app: service.name, ...s.labels }).map(([k, v]) => `${k}=${v}`).join(",");
        const pods = `kubectl --context ${cluster} -n ${service.namespace} get pods -l ${selector} -o jsonpath=${READINESS}`;
        return {
            cluster, service: service.name, namespace: service.namespace, subset: s.name, selector,
            command: `n=$(${pods} | grep -cx /True); echo "${cluster} ${service.namespace} ${selector}: $n ready"; [ "$n" -gt 0 ]`,
        };
    }));
}
