/**
 * Kubeconfigs with exec credentials: nothing long-lived is stored, the CLI of each cloud mints a short token per use.
 * (Token-authenticated kubeconfigs for istiod's remote secrets are another matter: istiod refuses exec plugins.)
 */

export interface ExecKubeconfigArgs {
    readonly name: string;
    readonly server: string;
    /** Base64-encoded PEM of the API server's CA. */
    readonly caData: string;
    readonly command: string;
    readonly args: readonly string[];
    readonly env?: ReadonlyArray<{ name: string; value: string }>;
    readonly installHint: string;
    readonly provideClusterInfo?: boolean;
}

export function execKubeconfig(a: ExecKubeconfigArgs): string {
    return JSON.stringify({
        apiVersion: "v1",
        kind: "Config",
        clusters: [{ name: a.name, cluster: { server: a.server, "certificate-authority-data": a.caData } }],
        contexts: [{ name: a.name, context: { cluster: a.name, user: a.name } }],
        "current-context": a.name,
        users: [{
            name: a.name,
            user: {
                exec: {
                    apiVersion: "client.authentication.k8s.io/v1beta1",
                    command: a.command,
                    args: [...a.args],
                    env: a.env ? [...a.env] : null,
                    interactiveMode: "Never",
                    installHint: a.installHint,
                    provideClusterInfo: a.provideClusterInfo ?? false,
                },
            },
        }],
    });
}

/** `aws eks get-token`, as @pulumi/eks builds it; the region is explicit so ambient AWS config cannot redirect it. */
export function eksKubeconfig(name: string, region: string, server: string, caData: string, roleArn?: string): string {
    return execKubeconfig({
        name, server, caData,
        command: "aws",
        args: ["--region", region, "eks", "get-token", "--cluster-name", name, "--output", "json", ...(roleArn ? ["--role-arn", roleArn] : [])],
        env: [{ name: "KUBERNETES_EXEC_INFO", value: '{"apiVersion": "client.authentication.k8s.io/v1beta1"}' }],
        installHint: "Install the AWS CLI v2 and sign in (aws sso login or credentials for the deploying role).",
    });
}

/** `gke-gcloud-auth-plugin`, the only supported way to authenticate to GKE since Kubernetes 1.26. */
export function gkeKubeconfig(name: string, endpoint: string, caData: string): string {
    return execKubeconfig({
        name, caData,
        server: `https://${endpoint}`,
        command: "gke-gcloud-auth-plugin",
        args: [],
        provideClusterInfo: true,
        installHint: "Install gke-gcloud-auth-plugin (gcloud components install gke-gcloud-auth-plugin) and run gcloud auth login.",
    });
}
