import * as pulumi from "@pulumi/pulumi";
import { MeshCluster } from "../cloud/MeshCluster";

/**
 * One cluster's mesh as every layer above it takes it (peering, authorization, traffic, observability): the cluster
 * (its provider, network and trust domain), istiod, and the mesh namespaces created on it so far. Handed on as one
 * object, so no layer pairs clusters with control planes by position.
 */
export interface MeshedCluster {
    readonly cluster: MeshCluster;
    /**
     * Istio's validating webhook must serve before Istio objects are created; its chart creates the reader role a
     * peer's token authenticates as.
     */
    readonly istiod: pulumi.Resource;
    /** Mesh namespaces on the cluster, by name, with the resource that creates each: the gateways' and (stage 3) the services'. */
    readonly namespaces: Readonly<Record<string, pulumi.Resource>>;
}
