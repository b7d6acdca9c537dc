import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { PeerCluster } from "../mesh/MeshPeering";
import { tokenKubeconfig } from "../mesh/remoteKubeconfig";
import { ISTIO_NAMESPACE } from "../mesh/values";
import { KIALI_INSTANCE, kialiRemoteSecretName, kialiRemoteValues, kialiValues } from "./kialiValues";

export interface KialiArgs {
    /** Where Kiali runs. */
    readonly hub: PeerCluster;
    /** The other clusters of the mesh, which Kiali reads through remote-cluster secrets. */
    readonly remotes: readonly PeerCluster[];
    /** The `kiali-server` chart version. */
    readonly version: string;
    /** A Prometheus with every cluster's metrics. */
    readonly prometheusUrl: pulumi.Input<string>;
    readonly highAvailability: boolean;
    /** The mesh's remote-secret epoch (`multiCluster.remoteSecretEpoch`): bumping it rotates Kiali's tokens too. */
    readonly epoch: number;
}

const REPO = "https://kiali.org/helm-charts";

/**
 * Kiali for the whole mesh, on the hub cluster. What `kiali-prepare-remote-cluster.sh` does by hand is done here for
 * every other cluster: the chart's remote-only resources (a service account with read-only roles), a token for that
 * account, and on the hub a remote-cluster secret holding a kubeconfig with that token. Tokens rotate with the
 * mesh's remote-secret epoch, as istiod's do: new token Secrets, the remote-cluster secrets updated in place, the old
 * tokens deleted last.
 */
export class Kiali extends pulumi.ComponentResource {
    constructor(name: string, args: KialiArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("istio-production:observability:Kiali", name, {}, opts);
        const hub = args.hub.cluster;
        const secrets = args.remotes.map((remote) => this.remoteAccess(name, args, remote));
        new k8s.helm.v3.Release(`${name}-${hub.name}`, {
            name: KIALI_INSTANCE,
            chart: "kiali-server",
            version: args.version,
            repositoryOpts: { repo: REPO },
            namespace: ISTIO_NAMESPACE,
            values: pulumi.output(args.prometheusUrl).apply((prometheusUrl) => kialiValues({
                prometheusUrl, remoteClusters: args.remotes.map((r) => r.cluster.name), highAvailability: args.highAvailability,
            })),
            atomic: true,
        }, { parent: this, provider: hub.provider, dependsOn: [args.hub.istiod, ...secrets] });
        this.registerOutputs({});
    }

    private remoteAccess(name: string, args: KialiArgs, remote: PeerCluster): k8s.core.v1.Secret {
        const r = remote.cluster;
        const on = { parent: this, provider: r.provider };
        const rbac = new k8s.helm.v3.Release(`${name}-${r.name}-remote`, {
            name: KIALI_INSTANCE,
            chart: "kiali-server",
            version: args.version,
            repositoryOpts: { repo: REPO },
            namespace: ISTIO_NAMESPACE,
            values: kialiRemoteValues(),
            atomic: true,
        }, { ...on, dependsOn: [remote.istiod] });
        const kubeconfig = tokenKubeconfig(`${name}-${r.name}-token-e${args.epoch}`, {
            cluster: r, secretName: `kiali-remote-token-${args.hub.cluster.name}-e${args.epoch}`, serviceAccount: KIALI_INSTANCE, parent: this, dependsOn: [rbac],
        });
        return new k8s.core.v1.Secret(`${name}-${r.name}-remote-secret`, {
            metadata: {
                name: kialiRemoteSecretName(r.name),
                namespace: ISTIO_NAMESPACE,
                labels: { "kiali.io/multiCluster": "true" },
                annotations: { "kiali.io/cluster": r.name },
            },
            stringData: { [r.name]: kubeconfig },
        }, { parent: this, provider: args.hub.cluster.provider, dependsOn: [args.hub.istiod] });
    }
}
