import { ObservabilityConfig, QueryAuth } from "../../config/observability";
import { ISTIO_NAMESPACE } from "../kubernetes/names";

/**
 * Values of Kiali's `kiali-server` chart (2.29.0). The chart ships no values schema, so these keys are checked only
 * by the tests that read them.
 */

/** The chart names its ServiceAccount, roles and Deployment after the instance. */
export const KIALI_INSTANCE = "kiali";

/** The remote-cluster secret of one watched cluster, in Kiali's namespace on the hub. */
export const kialiRemoteSecretName = (cluster: string) => `kiali-remote-cluster-secret-${cluster}`;

/** How users log in, resolved from `observability.kialiAuth`. */
type KialiAuth =
    | { readonly strategy: "openid"; readonly clientId: string; readonly issuerUri: string; readonly allowedDomains?: readonly string[] }
    | { readonly strategy: "anonymous" };

export interface KialiValuesArgs {
    /** The stack's `observability` settings, as the config gate parsed them: Kiali's login and the Prometheus it queries. */
    readonly observability: ObservabilityConfig;
    /** The edge's OpenID issuer (`edgeAuth.issuer`), Kiali's issuer unless `kialiAuth.issuerUri` says otherwise. */
    readonly edgeIssuer?: string;
    /** Where the hub's own Prometheus answers in its cluster: Kiali's unless the settings name a central query endpoint. */
    readonly localPrometheusUrl: string;
    /** The other clusters of the mesh, each read through its remote-cluster secret. */
    readonly remoteClusters: readonly string[];
    readonly highAvailability: boolean;
    /** The only namespaces Kiali reads on its home cluster and shows on every cluster (its own, istio-system, is always one). */
    readonly namespaces: readonly string[];
}

/** Kiali's own namespace and the mesh's, as Kiali reads them with `cluster_wide_access: false`. */
export const kialiNamespaces = (meshNamespaces: readonly string[]) => [...new Set([ISTIO_NAMESPACE, ...meshNamespaces])];

/**
 * What Kiali's service accounts may read, on the hub in each of the mesh's namespaces and on every other cluster
 * cluster-wide: the chart's `kiali-viewer` role (kiali/helm-charts v2.29.0 templates/role-viewer.yaml) less what
 * reaches into workloads: `pods/portforward` (the Envoy admin port of every proxy, /quitquitquit included) and
 * `pods/log`; and less what only OpenShift or a cluster-scoped role can use.
 */
export const KIALI_VIEWER_RULES = [
    { apiGroups: [""], resources: ["configmaps", "namespaces", "pods", "replicationcontrollers", "services"], verbs: ["get", "list", "watch"] },
    { apiGroups: ["apps"], resources: ["daemonsets", "deployments", "replicasets", "statefulsets"], verbs: ["get", "list", "watch"] },
    { apiGroups: ["batch"], resources: ["cronjobs", "jobs"], verbs: ["get", "list", "watch"] },
    { apiGroups: ["networking.istio.io", "security.istio.io", "extensions.istio.io", "telemetry.istio.io", "inference.networking.k8s.io"], resources: ["*"], verbs: ["get", "list", "watch"] },
    { apiGroups: ["gateway.networking.k8s.io"], resources: ["gatewayclasses", "gateways", "grpcroutes", "httproutes", "referencegrants", "tcproutes", "tlsroutes"], verbs: ["get", "list", "watch"] },
];

/**
 * The cluster-wide form, for the clusters Kiali reads remotely: the namespaced rules and the one cluster-scoped read
 * of the chart's role, mutating webhooks, from which Kiali learns the revision tags (kiali/kiali v2.29.0
 * istio/discovery.go `setTags`). Still not the chart's `tokenreviews`: only the `header` login strategy uses them, on
 * the home cluster (handlers/authentication/header_auth_controller.go).
 */
export const KIALI_CLUSTER_VIEWER_RULES = [
    ...KIALI_VIEWER_RULES,
    { apiGroups: ["admissionregistration.k8s.io"], resources: ["mutatingwebhookconfigurations"], verbs: ["list"] },
];

/**
 * The chart's own roles are skipped (`skipResources`): its viewer role always grants `pods/portforward`. This program
 * grants Kiali's access instead.
 */
const CHART_ROLES = ["clusterrole", "clusterrolebinding"];

/** `observability.kialiAuth`, with the issuer defaulted to the edge's (the config gate has checked that one exists). */
export function kialiAuth(o: ObservabilityConfig, edgeIssuer: string | undefined): KialiAuth {
    const auth = o.kialiAuth;
    if (auth?.strategy === "anonymous") return auth;
    const issuerUri = auth?.strategy === "openid" ? auth.issuerUri ?? edgeIssuer : undefined;
    if (auth?.strategy !== "openid" || !issuerUri) throw new Error("observability.kialiAuth: Kiali needs an openid strategy with an issuer, or anonymous");
    return { strategy: "openid", clientId: auth.clientId, issuerUri, allowedDomains: auth.allowedDomains };
}

export function kialiValues(a: KialiValuesArgs) {
    const o = a.observability;
    const auth = kialiAuth(o, a.edgeIssuer);
    // With remote write and no query endpoint, Kiali shows the hub's own metrics only; a federating hub holds every cluster's.
    const query = o.aggregation === "remoteWrite" && o.queryUrl ? { url: o.queryUrl, auth: o.queryAuth } : { url: a.localPrometheusUrl };
    return {
        skipResources: CHART_ROLES,
        auth: auth.strategy === "openid" ? {
            strategy: "openid",
            openid: {
                client_id: auth.clientId,
                issuer_uri: auth.issuerUri,
                // With RBAC, Kiali sends the user's token to every cluster's API server, which EKS and GKE reject unless
                // each trusts this issuer; without it, Kiali reads every cluster through its own service account here
                // and the remote-cluster secrets' tokens (kiali/kiali v2.29.0 config/config.go `IsRBACDisabled`,
                // kubernetes/client_factory.go `GetClients`), after validating the user's token itself.
                disable_rbac: true,
                ...(auth.allowedDomains ? { allowed_domains: [...auth.allowedDomains] } : {}),
            },
        } : { strategy: "anonymous" },
        deployment: {
            instance_name: KIALI_INSTANCE,
            // On its home cluster Kiali reads only the namespaces its discovery selectors name, in the one form it
            // accepts without cluster-wide access (kiali/kiali v2.29.0 config/config.go `extractAccessibleNamespaceList`),
            // and caches those namespaces only (cmd/server.go `newManager`).
            cluster_wide_access: false,
            discovery_selectors: { default: [{ matchExpressions: [{ key: "kubernetes.io/metadata.name", operator: "In", values: [...a.namespaces] }] }] },
            // The mesh's configuration is Pulumi's: changes made in Kiali would be drift, undone by the next update.
            view_only_mode: true,
            replicas: a.highAvailability ? 2 : 1,
        },
        // Its role grants no pods/log.
        kiali_feature_flags: { disabled_features: ["logs-tab"] },
        external_services: {
            prometheus: { url: query.url, ...(query.auth ? { auth: prometheusAuth(query.auth) } : {}) },
            istio: {
                root_namespace: ISTIO_NAMESPACE,
                // On by default, the Istio API is istiod's debug and readiness endpoints, reached by port-forward, which
                // Kiali's roles do not grant: every istiod would show Unreachable (kiali/kiali v2.29.0
                // istio/discovery.go `canConnectToIstiodForRevision`), and proxy statuses fail (business/
                // controlplane_monitor.go `getIstiodDebugStatus`). Off, Kiali takes the control plane's status from
                // the health of istio-system's workloads (business/istio_status.go `GetStatus`).
                istio_api_enabled: false,
            },
        },
        clustering: {
            // Discovery by label runs at `helm install` time (a lookup), before Pulumi has created the secrets; list them.
            autodetect_secrets: { enabled: false },
            clusters: a.remoteClusters.map((name) => ({ name, secret_name: kialiRemoteSecretName(name) })),
        },
    };
}

/**
 * Kiali's Prometheus credentials as Secret references (kiali.io_kialis CRD v2.29.0 `external_services.prometheus.auth`:
 * `type` bearer or basic, `token`, `username`, `password` each "may refer to a secret using the pattern
 * `secret:<secretName>:<secretKey>`"): the chart mounts each referenced key under /kiali-override-secrets
 * (kiali/helm-charts v2.29.0 templates/_helpers.tpl `credential-secrets`), and Kiali reads the file on use, so the
 * credentials never enter the values and rotate without a restart (kiali/kiali v2.29.0 config/config.go).
 */
function prometheusAuth(auth: QueryAuth) {
    const ref = (key: string) => `secret:${auth.secretName}:${key}`;
    return auth.type === "bearer"
        ? { type: "bearer", token: ref(auth.key) }
        : { type: "basic", username: ref(auth.usernameKey), password: ref(auth.passwordKey) };
}

/**
 * On a watched cluster: only the service account the hub's Kiali uses there; its role is this program's. Kiali caches
 * a remote cluster's objects from every namespace whatever the hub's `cluster_wide_access` says (see Kiali), so the
 * account reads that cluster as upstream's `kiali-prepare-remote-cluster.sh` sets it up, cluster-wide.
 */
export function kialiRemoteValues() {
    return {
        skipResources: CHART_ROLES,
        deployment: { instance_name: KIALI_INSTANCE, remote_cluster_resources_only: true, view_only_mode: true, cluster_wide_access: true },
    };
}
