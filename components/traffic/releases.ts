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

/** A check to run before a release change takes effect: the pods of a subset that will receive traffic are Ready. */
export interface ReleaseGate {
    readonly service: string;
    readonly namespace: string;
    readonly subset: string;
    /** Label selector of the subset's pods: the service's `app` label and the subset's labels. */
    readonly selector: string;
    /** Exits non-zero when no pod matches, or one is not Ready in time. */
    readonly command: string;
}

/**
 * The gates of a release: one per subset that receives requests (by weight or as a mirror). Istio sends a subset the
 * service's endpoints whose labels include the subset's (istio/istio 1.30.3 pilot/pkg/xds/endpoints/endpoint_builder.go,
 * `SubsetOf`); a subset that matches none becomes an empty cluster (`buildEmptyClusterLoadAssignment`) and every
 * request routed to it fails. The service's endpoints are its workload's pods, labelled `app: <service>` (the service
 * graph's contract), so the gate selects `app` and the subset's labels.
 */
export function releaseGates(service: { readonly name: string; readonly namespace: string }, routing: ReleaseRouting): ReleaseGate[] {
    const live = new Set([...routing.routes.filter((r) => r.weight > 0).map((r) => r.subset), ...(routing.mirror ? [routing.mirror.subset] : [])]);
    return routing.subsets.filter((s) => live.has(s.name)).map((s) => {
        const selector = Object.entries({ app: service.name, ...s.labels }).map(([k, v]) => `${k}=${v}`).join(",");
        return {
            service: service.name, namespace: service.namespace, subset: s.name, selector,
            command: `kubectl -n ${service.namespace} wait pod -l ${selector} --for=condition=Ready --timeout=120s`,
        };
    });
}
