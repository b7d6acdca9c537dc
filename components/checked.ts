import * as pulumi from "@pulumi/pulumi";

/**
 * Runs a pure function on a component's Args (a CIDR split, a certificate check) and turns what it refuses into the
 * component's own error, `<Component> <name>: <reason>`: the pure function stays testable without an engine, and a
 * library user learns which component refused which Args.
 */
export function checked<T>(component: pulumi.ComponentResource, label: string, compute: () => T): T {
    try {
        return compute();
    } catch (e) {
        if (e instanceof pulumi.ResourceError) throw e;
        throw new pulumi.ResourceError(`${label}: ${e instanceof Error ? e.message : String(e)}`, component);
    }
}
