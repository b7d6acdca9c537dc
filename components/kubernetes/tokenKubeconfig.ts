import * as coreV1 from "@pulumi/kubernetes/core/v1";
import * as pulumi from "@pulumi/pulumi";
import { MeshCluster } from "../cloud/MeshCluster";
import { ISTIO_NAMESPACE } from "./names";

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

export interface TokenKubeconfigArgs {
    readonly cluster: MeshCluster;
    /** The token Secret's name in istio-system; carry the rotation epoch in it. */
    readonly secretName: string;
    /** The service account the token authenticates as. */
    readonly serviceAccount: string;
    /** Parent of the token Secret. */
    readonly parent: pulumi.Resource;
    /** What must exist before the token can be minted (the account, its RBAC). */
    readonly dependsOn: readonly pulumi.Resource[];
}

/**
 * A token-authenticated kubeconfig for a cluster: a service-account token Secret, read back once the token
 * controller has filled it in, and a kubeconfig with the cluster's endpoint and CA. Secret throughout.
 * `resourceName` names the token Secret; the read is `<resourceName>-read`.
 */
export function tokenKubeconfig(resourceName: string, a: TokenKubeconfigArgs): pulumi.Output<string> {
    const c = a.cluster;
    const tokenSecret = new coreV1.Secret(resourceName, {
        metadata: { name: a.secretName, namespace: ISTIO_NAMESPACE, annotations: { "kubernetes.io/service-account.name": a.serviceAccount } },
        type: "kubernetes.io/service-account-token",
    }, { parent: a.parent, provider: c.provider, dependsOn: [...a.dependsOn] });
    // The token controller fills in the token after creation: read the Secret back. By the created Secret's id
    // (`<namespace>/<name>`), which a preview does not know until the Secret exists: a read of a known id runs during
    // the preview itself and fails on a Secret not yet created (pulumi/pulumi v3.248.0 `pkg/resource/deploy/step.go`,
    // ReadStep), which is what an update adding a peer would hit.
    const filled = coreV1.Secret.get(`${resourceName}-read`, tokenSecret.id, { parent: tokenSecret, provider: c.provider, dependsOn: [tokenSecret] });
    return pulumi.secret(pulumi.all([c.endpoint, c.caData, filled.data]).apply(([server, ca, data]) => {
        if (!data?.token) throw new pulumi.ResourceError(`cluster ${c.name}: the token Secret ${a.secretName} has no token yet`, a.parent);
        return remoteKubeconfig(c.name, server, ca, Buffer.from(data.token, "base64").toString("utf8"));
    }));
}
