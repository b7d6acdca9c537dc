import * as pulumi from "@pulumi/pulumi";
import { ClusterNetwork } from "./MeshCluster";

/**
 * Who may reach a cluster's API server (and, later, its east-west gateway): the operators, plus every other
 * cluster's egress addresses. Adding a cluster to the stack adds its addresses to every peer's list.
 */
export function peerAllowList(self: string, networks: readonly ClusterNetwork[], operatorCidrs: readonly string[]): pulumi.Output<string[]> {
    const peers = networks.filter((n) => n.clusterName !== self).map((n) => n.egressIps);
    return pulumi.all(peers).apply((lists) => allowList(operatorCidrs, lists.flat()));
}

/** Operator CIDRs first, then peers' addresses as /32s; sorted and without duplicates, so plans are stable. */
export function allowList(operatorCidrs: readonly string[], peerIps: readonly string[]): string[] {
    const peers = [...new Set(peerIps.map((ip) => (ip.includes("/") ? ip : `${ip}/32`)))].sort();
    return [...new Set([...operatorCidrs, ...peers])];
}
