import { ISTIO_NAMESPACE } from "../mesh/values";

/**
 * Values of Kiali's `kiali-server` chart (2.29.0). The chart ships no values schema, so these keys are checked only
 * by the tests that read them.
 */

/** The chart names its ServiceAccount, roles and Deployment after the instance. */
export const KIALI_INSTANCE = "kiali";

/** The remote-cluster secret of one watched cluster, in Kiali's namespace on the hub. */
export const kialiRemoteSecretName = (cluster: string) => `kiali-remote-cluster-secret-${cluster}`;

export interface KialiValuesArgs {
    readonly prometheusUrl: string;
    /** The other clusters of the mesh, each read through its remote-cluster secret. */
    readonly remoteClusters: readonly string[];
    readonly highAvailability: boolean;
}

export function kialiValues(a: KialiValuesArgs) {
    return {
        auth: { strategy: "token" },
        deployment: {
            instance_name: KIALI_INSTANCE,
            cluster_wide_access: true,
            // The mesh's configuration is Pulumi's: changes made in Kiali would be drift, undone by the next update.
            view_only_mode: true,
            replicas: a.highAvailability ? 2 : 1,
        },
        external_services: {
            prometheus: { url: a.prometheusUrl },
            istio: { root_namespace: ISTIO_NAMESPACE },
        },
        clustering: {
            // Discovery by label runs at `helm install` time (a lookup), before Pulumi has created the secrets; list them.
            autodetect_secrets: { enabled: false },
            clusters: a.remoteClusters.map((name) => ({ name, secret_name: kialiRemoteSecretName(name) })),
        },
    };
}

/** On a watched cluster: only the service account and read-only roles the hub's Kiali uses there. */
export function kialiRemoteValues() {
    return { deployment: { instance_name: KIALI_INSTANCE, remote_cluster_resources_only: true, view_only_mode: true } };
}
