import * as coreV1 from "@pulumi/kubernetes/core/v1";
import * as pulumi from "@pulumi/pulumi";
import { tokenKubeconfig } from "../kubernetes/tokenKubeconfig";
import { ISTIO_NAMESPACE } from "../kubernetes/names";
import { MeshedCluster } from "./MeshedCluster";

/** Remote secrets are named after the watched cluster, as istioctl names them. */
export const remoteSecretName = (cluster: string) => `istio-remote-secret-${cluster}`;

export interface MeshPeeringArgs {
    /** istiod of each must exist before it is watched (its chart creates the reader role) or watches. */
    readonly clusters: readonly MeshedCluster[];
    /** Bump to rotate every token: new token Secrets, remote secrets repointed, old tokens deleted after the switch. */
    readonly epoch: number;
}

const READER_ACCOUNT = "istio-reader-service-account";

/**
 * Remote secrets for every ordered pair of clusters: each istiod watches every other cluster's API server with a
 * token of that cluster's reader account. Adding a cluster adds its secrets in every peer and every peer's in it.
 *
 * Rotation: the token Secret's name carries the epoch, so a new epoch creates new tokens, updates the remote secrets
 * in place (istiod reloads remote secrets on change, no restart), and Pulumi deletes the old tokens only after
 * everything else is updated.
 */
export class MeshPeering extends pulumi.ComponentResource {
    /** Remote secret names per watching cluster. */
    readonly remoteSecrets: Record<string, string[]> = {};

    constructor(name: string, args: MeshPeeringArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("istio-production:mesh:MeshPeering", name, {}, opts);
        for (const watched of args.clusters) {
            for (const watcher of args.clusters.filter((c) => c !== watched)) {
                this.peer(name, watcher, watched, args.epoch);
            }
        }
        this.registerOutputs({ remoteSecrets: this.remoteSecrets });
    }

    private peer(name: string, watcher: MeshedCluster, watched: MeshedCluster, epoch: number) {
        const r = watched.cluster;
        const w = watcher.cluster;
        const pair = `${name}-${w.name}-watches-${r.name}`;
        // Named after the epoch, not the logical name: a rotation is a new object, created before the old one is deleted.
        const kubeconfig = tokenKubeconfig(`${pair}-token-e${epoch}`, {
            cluster: r, secretName: `istio-reader-token-${w.name}-e${epoch}`, serviceAccount: READER_ACCOUNT, parent: this, dependsOn: [watched.istiod],
        });
        new coreV1.Secret(`${pair}-remote-secret`, {
            metadata: {
                name: remoteSecretName(r.name),
                namespace: ISTIO_NAMESPACE,
                labels: { "istio/multiCluster": "true" },
                annotations: { "networking.istio.io/cluster": r.name },
            },
            stringData: { [r.name]: kubeconfig },
        }, { parent: this, provider: w.provider, dependsOn: [watcher.istiod] });
        (this.remoteSecrets[w.name] ??= []).push(remoteSecretName(r.name));
    }
}
