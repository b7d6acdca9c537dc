import * as pulumi from "@pulumi/pulumi";
import { ClusterVpc } from "./MeshCluster";

/**
 * Who may reach a cluster's API server (and, later, its east-west gateway): the operators, plus every other
 * cluster's egress addresses. Adding a cluster to the stack adds its addresses to every peer's list.
 *
 * A list of entries, not one computed list: peers' addresses are unknown until allocated, and a list computed as a
 * whole would hide the literal operator CIDRs from `pulumi preview` and its policies too. Operator CIDRs come first,
 * without duplicates; then each peer's addresses as /32s, in cluster order (distinct by construction: each is an
 * address allocated for one cluster).
 */
export function peerAllowList(self: string, vpcs: readonly ClusterVpc[], operatorCidrs: readonly string[]): pulumi.Input<string>[] {
    const peers = vpcs.filter((v) => v.clusterName !== self).flatMap((v) => v.egressAddresses.map((ip) => ip.apply(hostCidr)));
    return [...new Set(operatorCidrs), ...peers];
}

/** An address as a one-address CIDR; a CIDR as it is. */
export function hostCidr(ip: string): string {
    return ip.includes("/") ? ip : `${ip}/32`;
}
