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
