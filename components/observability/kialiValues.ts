import { ISTIO_NAMESPACE } from "../mesh/values";

/**
 * Values of Kiali's `kiali-server` chart (2.29.0). The chart ships no values schema, so these keys are checked only
 * by the tests that read them.
 */

/** The chart names its ServiceAccount, roles and Deployment after the instance. */
export const KIALI_INSTANCE = "kiali";

/** The remote-cluster secret of one watched cluster, in Kiali's namespace on the hub. */
export const kialiRemoteSecretName = (cluster: string) => `kiali-remote-cluster-secret-${cluster}`;

/** How users log in, resolved from `observability.kialiAuth`. */
export type KialiAuth =
    | { readonly strategy: "openid"; readonly clientId: string; readonly issuerUri: string; readonly allowedDomains?: readonly string[] }
    | { readonly strategy: "anonymous" };

export interface KialiValuesArgs {
    readonly prometheusUrl: string;
    /** The other clusters of the mesh, each read through its remote-cluster secret. */
    readonly remoteClusters: readonly string[];
    readonly highAvailability: boolean;
    readonly auth: KialiAuth;
    /** The only namespaces Kiali reads, on every cluster (its own, istio-system, is always one). */
    readonly namespaces: readonly string[];
}

/** Kiali's own namespace and the mesh's, as Kiali reads them with `cluster_wide_access: false`. */
export const kialiNamespaces = (meshNamespaces: readonly string[]) => [...new Set([ISTIO_NAMESPACE, ...meshNamespaces])];

/**
 * The namespace-scoped access Kiali gets, shared by the hub and the remote clusters: the chart's `kiali-viewer` role
 * (kiali/helm-charts v2.29.0 templates/role-viewer.yaml) less what reaches into workloads: `pods/portforward` (the
 * Envoy admin port of every proxy, /quitquitquit included) and `pods/log`; and less what only OpenShift or a
 * cluster-scoped role can use.
 */
export const KIALI_VIEWER_RULES = [
    { apiGroups: [""], resources: ["configmaps", "namespaces", "pods", "replicationcontrollers", "services"], verbs: ["get", "list", "watch"] },
    { apiGroups: ["apps"], resources: ["daemonsets", "deployments", "replicasets", "statefulsets"], verbs: ["get", "list", "watch"] },
    { apiGroups: ["batch"], resources: ["cronjobs", "jobs"], verbs: ["get", "list", "watch"] },
    { apiGroups: ["networking.istio.io", "security.istio.io", "extensions.istio.io", "telemetry.istio.io"], resources: ["*"], verbs: ["get", "list", "watch"] },
    { apiGroups: ["gateway.networking.k8s.io"], resources: ["gatewayclasses", "gateways", "grpcroutes", "httproutes", "referencegrants", "tcproutes", "tlsroutes"], verbs: ["get", "list", "watch"] },
];

/**
 * Namespaced access, granted by this program: the chart's own roles are skipped (`skipResources`), since its viewer
 * role always grants `pods/portforward`; and Kiali reads only the namespaces its discovery selectors name, in the one
 * form Kiali accepts without cluster-wide access (kiali/kiali v2.29.0 config/config.go, `extractAccessibleNamespaceList`).
 */
function namespacedAccess(namespaces: readonly string[]) {
    return {
        skipResources: ["clusterrole", "clusterrolebinding"],
        cluster_wide_access: false,
        discovery_selectors: { default: [{ matchExpressions: [{ key: "kubernetes.io/metadata.name", operator: "In", values: [...namespaces] }] }] },
    };
}

export function kialiValues(a: KialiValuesArgs) {
    const { skipResources, ...access } = namespacedAccess(a.namespaces);
    return {
        skipResources,
        auth: a.auth.strategy === "openid" ? {
            strategy: "openid",
            openid: {
                client_id: a.auth.clientId,
                issuer_uri: a.auth.issuerUri,
                // With RBAC, Kiali sends the user's token to every cluster's API server, which EKS and GKE reject unless
                // each trusts this issuer; without it, Kiali reads every cluster through its own service account here
                // and the remote-cluster secrets' tokens (kiali/kiali v2.29.0 config/config.go `IsRBACDisabled`,
                // kubernetes/client_factory.go `GetClients`), after validating the user's token itself.
                disable_rbac: true,
                ...(a.auth.allowedDomains ? { allowed_domains: [...a.auth.allowedDomains] } : {}),
            },
        } : { strategy: "anonymous" },
        deployment: {
            instance_name: KIALI_INSTANCE,
            ...access,
            // The mesh's configuration is Pulumi's: changes made in Kiali would be drift, undone by the next update.
            view_only_mode: true,
            replicas: a.highAvailability ? 2 : 1,
        },
        // Its role grants no pods/log.
        kiali_feature_flags: { disabled_features: ["logs-tab"] },
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

/** On a watched cluster: only the service account the hub's Kiali uses there; its roles are this program's. */
export function kialiRemoteValues(namespaces: readonly string[]) {
    const { skipResources, ...access } = namespacedAccess(namespaces);
    return { skipResources, deployment: { instance_name: KIALI_INSTANCE, remote_cluster_resources_only: true, view_only_mode: true, ...access } };
}
