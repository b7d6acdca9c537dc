/**
 * The kubeconfig istiod uses to watch a remote cluster, as `istioctl create-remote-secret` writes it: the remote API
 * server and CA, and a service-account bearer token. Token auth, because istiod refuses exec plugins
 * (`aws eks get-token`, `gke-gcloud-auth-plugin`) in remote kubeconfigs and has no such binaries anyway.
 */
export function remoteKubeconfig(cluster: string, server: string, caData: string, token: string): string {
    if (!server.startsWith("https://")) throw new Error(`remote cluster ${cluster}: the API server URL must start with https:// (got ${server})`);
    return JSON.stringify({
        apiVersion: "v1",
        kind: "Config",
        clusters: [{ name: cluster, cluster: { server, "certificate-authority-data": caData } }],
        contexts: [{ name: cluster, context: { cluster, user: cluster } }],
        "current-context": cluster,
        users: [{ name: cluster, user: { token } }],
        preferences: {},
    });
}

/** Remote secrets are named after the watched cluster, as istioctl names them. */
export const remoteSecretName = (cluster: string) => `istio-remote-secret-${cluster}`;
