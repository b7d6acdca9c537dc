/**
 * The upstream chart versions this project is built and tested against. A stack may pin others through
 * `istio-production:charts`; every pin must be an exact version (never a range), so that `pulumi up` is repeatable.
 */
export const DEFAULT_CHART_VERSIONS = {
    /** Istio `base`, `istiod` and `gateway` charts (one version for all three). No `v` prefix upstream. */
    istio: "1.30.3",
    /** cert-manager, OCI chart `oci://quay.io/jetstack/charts/cert-manager`. `v` prefix upstream. */
    certManager: "v1.21.1",
    /** cert-manager istio-csr, OCI chart `oci://quay.io/jetstack/charts/cert-manager-istio-csr`. */
    istioCsr: "v0.17.0",
    /** cert-manager approver-policy, OCI chart `oci://quay.io/jetstack/charts/cert-manager-approver-policy`. */
    approverPolicy: "v0.27.0",
    /** cert-manager aws-privateca-issuer, Helm repo `https://cert-manager.github.io/aws-privateca-issuer`. `v` prefix upstream. */
    awsPrivateCaIssuer: "v1.9.0",
    /** cert-manager google-cas-issuer, OCI chart `oci://quay.io/jetstack/charts/cert-manager-google-cas-issuer`. */
    googleCasIssuer: "v0.12.0",
    /** AWS Load Balancer Controller (app v2.14.0), Helm repo `https://aws.github.io/eks-charts`. No `v` prefix. */
    awsLoadBalancerController: "1.14.0",
    /** Prometheus community chart `prometheus` (app v3.14.0), Helm repo `https://prometheus-community.github.io/helm-charts`. */
    prometheus: "29.27.0",
    /** Kiali `kiali-server` chart (app v2.29.0), Helm repo `https://kiali.org/helm-charts`. */
    kiali: "2.29.0",
} as const;

export type ChartVersions = { -readonly [K in keyof typeof DEFAULT_CHART_VERSIONS]: string };
