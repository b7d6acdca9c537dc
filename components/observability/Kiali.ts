import * as coreV1 from "@pulumi/kubernetes/core/v1";
import * as helmV3 from "@pulumi/kubernetes/helm/v3";
import * as rbacV1 from "@pulumi/kubernetes/rbac/v1";
import * as pulumi from "@pulumi/pulumi";
import { ObservabilityConfig } from "../../config/observability";
import { MeshedCluster } from "../mesh/MeshedCluster";
import { tokenKubeconfig } from "../kubernetes/tokenKubeconfig";
import { ISTIO_NAMESPACE, MONITORING_NAMESPACE } from "../kubernetes/names";
import { KIALI_CLUSTER_VIEWER_RULES, KIALI_INSTANCE, KIALI_VIEWER_RULES, kialiNamespaces, kialiRemoteSecretName, kialiRemoteValues, kialiValues } from "./kialiValues";
import { PROMETHEUS_SERVER } from "./prometheus";

export interface KialiArgs {
    /** Where Kiali runs; its roles live in the hub's mesh namespaces. */
    readonly hub: MeshedCluster;
    /** The other clusters of the mesh, which Kiali reads through remote-cluster secrets. */
    readonly remotes: readonly MeshedCluster[];
    /** The stack's `observability` settings, as the config gate parsed them, handed whole to Kiali's values. */
    readonly observability: ObservabilityConfig;
    /** The edge's OpenID issuer (`edgeAuth.issuer`), Kiali's issuer unless `kialiAuth.issuerUri` says otherwise. */
    readonly edgeIssuer?: string;
    /** The gateways' and the services' namespaces: with istio-system, the only ones Kiali reads, on every cluster. */
    readonly meshNamespaces: readonly string[];
    /** The `kiali-server` chart version. */
    readonly version: string;
    /** Two Kiali replicas. */
    readonly highAvailability: boolean;
    /** The mesh's remote-secret epoch (`multiCluster.remoteSecretEpoch`): bumping it rotates Kiali's tokens too. */
    readonly epoch: number;
}

const REPO = "https://kiali.org/helm-charts";
/** Where the hub's Prometheus answers inside its cluster (the chart's server Service, port 80). */
const LOCAL_PROMETHEUS_URL = `http://${PROMETHEUS_SERVER}.${MONITORING_NAMESPACE}.svc:80`;

/**
 * Kiali for the whole mesh, on the hub cluster, reading the mesh's namespaces there. What upstream's
 * `kiali-prepare-remote-cluster.sh` does by hand is done here for every other cluster: the chart's remote-only service
 * account, a read-only cluster role for it, a token for that account, and on the hub a remote-cluster secret holding a
 * kubeconfig with that token. Tokens rotate with the mesh's remote-secret epoch, as istiod's do: new token Secrets,
 * the remote-cluster secrets updated in place, the old tokens deleted last.
 *
 * A remote cluster is read cluster-wide because that is how Kiali reads it: Kiali 2.29 limits the cache of its home
 * cluster to the accessible namespaces, but builds each remote cluster's cache with no namespace limit (kiali/kiali
 * v2.29.0 cmd/server.go `newManager`: `cluster.New` with no `DefaultNamespaces`), and a Forbidden list or watch shuts
 * down that cluster's cache (`makeWatchErrorHandler`). Namespaced roles there would leave the cluster blank in Kiali.
 */
export class Kiali extends pulumi.ComponentResource {
    constructor(name: string, args: KialiArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("istio-production:observability:Kiali", name, {}, opts);
        const hub = args.hub.cluster;
        const namespaces = kialiNamespaces(args.meshNamespaces);
        const values = kialiValues({
            observability: args.observability, edgeIssuer: args.edgeIssuer, localPrometheusUrl: LOCAL_PROMETHEUS_URL,
            remoteClusters: args.remotes.map((r) => r.cluster.name), highAvailability: args.highAvailability, namespaces,
        });
        const secrets = args.remotes.map((remote) => this.remoteAccess(name, args, remote));
        // The chart resolves its discovery selectors to the namespaces that exist at install time (a lookup).
        const roles = this.viewerRoles(`${name}-${hub.name}`, args.hub, namespaces);
        new helmV3.Release(`${name}-${hub.name}`, {
            name: KIALI_INSTANCE,
            chart: "kiali-server",
            version: args.version,
            repositoryOpts: { repo: REPO },
            namespace: ISTIO_NAMESPACE,
            values,
            atomic: true,
        }, { parent: this, provider: hub.provider, dependsOn: [args.hub.istiod, ...roles, ...secrets] });
        this.registerOutputs({});
    }

    /** The viewer Role and its binding to Kiali's service account in each namespace Kiali reads on the hub. */
    private viewerRoles(prefix: string, on: MeshedCluster, namespaces: readonly string[]): pulumi.Resource[] {
        const child = { parent: this, provider: on.cluster.provider };
        return namespaces.flatMap((namespace) => {
            const dependsOn = [on.istiod, ...(on.namespaces[namespace] ? [on.namespaces[namespace]] : [])];
            const metadata = { name: `${KIALI_INSTANCE}-viewer`, namespace };
            const role = new rbacV1.Role(`${prefix}-viewer-${namespace}`, { metadata, rules: KIALI_VIEWER_RULES }, { ...child, dependsOn });
            return [role, new rbacV1.RoleBinding(`${prefix}-viewer-${namespace}`, {
                metadata,
                roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: metadata.name },
                subjects: [{ kind: "ServiceAccount", name: KIALI_INSTANCE, namespace: ISTIO_NAMESPACE }],
            }, { ...child, dependsOn: [role] })];
        });
    }

    private remoteAccess(name: string, args: KialiArgs, remote: MeshedCluster): coreV1.Secret {
        const r = remote.cluster;
        const on = { parent: this, provider: r.provider };
        const account = new helmV3.Release(`${name}-${r.name}-remote`, {
            name: KIALI_INSTANCE,
            chart: "kiali-server",
            version: args.version,
            repositoryOpts: { repo: REPO },
            namespace: ISTIO_NAMESPACE,
            values: kialiRemoteValues(),
            atomic: true,
        }, { ...on, dependsOn: [remote.istiod] });
        const metadata = { name: `${KIALI_INSTANCE}-viewer` };
        const role = new rbacV1.ClusterRole(`${name}-${r.name}-viewer`, { metadata, rules: KIALI_CLUSTER_VIEWER_RULES }, on);
        const binding = new rbacV1.ClusterRoleBinding(`${name}-${r.name}-viewer`, {
            metadata,
            roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: metadata.name },
            subjects: [{ kind: "ServiceAccount", name: KIALI_INSTANCE, namespace: ISTIO_NAMESPACE }],
        }, { ...on, dependsOn: [role, account] });
        const kubeconfig = tokenKubeconfig(`${name}-${r.name}-token-e${args.epoch}`, {
            cluster: r, secretName: `kiali-remote-token-${args.hub.cluster.name}-e${args.epoch}`, serviceAccount: KIALI_INSTANCE, parent: this, dependsOn: [account, binding],
        });
        return new coreV1.Secret(`${name}-${r.name}-remote-secret`, {
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
