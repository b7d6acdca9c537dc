/**
 * The names the mesh's Kubernetes objects share across components, charts, policies and the plan's mesh proof:
 * namespaces, service accounts, issuers and gateways. One home, so that a component and the chart values that must
 * agree with it read the same constant.
 */

export const ISTIO_NAMESPACE = "istio-system";
export const CERT_MANAGER_NAMESPACE = "cert-manager";
/** The istio-csr Service: chart name in the cert-manager namespace, port 443 (→ 6443). */
export const ISTIO_CSR_ADDRESS = "cert-manager-istio-csr.cert-manager.svc:443";
export const ISTIO_CSR_SERVICE_ACCOUNT = "cert-manager-istio-csr";
/**
 * istiod's serving name, the CN and only DNS name of the certificate istio-csr requests for it with
 * `app.istio.revisions: ["default"]` (the chart writes the default revision without a suffix:
 * cert-manager/istio-csr v0.17.0 deploy/charts/istio-csr/templates/certificate.yaml). Proxies reach istiod at the
 * mesh's default discovery address and the API server its webhooks at the `istiod` Service, both this name; istiod
 * serves the file certificate as it is (istio/istio 1.30.3 pilot/pkg/bootstrap/server.go initIstiodCerts).
 */
export const ISTIOD_SERVING_NAME = `istiod.${ISTIO_NAMESPACE}.svc`;

/**
 * Every DNS name the mesh issuer signs besides ingress hosts: istiod's, and istio-csr's gRPC serving name
 * (`app.tls.certificateDNSNames`, its only SAN: cert-manager/istio-csr v0.17.0 pkg/tls/tls.go fetchCertificate).
 * A cluster's intermediate is name-constrained to these.
 */
export function meshIssuerServingNames(): string[] {
    return [ISTIOD_SERVING_NAME, ISTIO_CSR_ADDRESS.split(":")[0]];
}
export const CERT_MANAGER_SERVICE_ACCOUNT = "cert-manager";
/** The mesh CA Issuer istio-csr signs with (namespaced, as the istio-csr docs recommend). */
export const MESH_ISSUER = "istio-ca";
export const ROOT_BUNDLE_SECRET = "istio-root-ca";
export const ROOT_BUNDLE_MOUNT = "/var/run/secrets/istio-csr";
export const INGRESS_GATEWAY = "istio-ingressgateway";
/**
 * Gateways run in namespaces of their own (istio.io "Installing Gateways"): the `gateway` chart grants a gateway's
 * service account read on every Secret of its namespace (istio/istio 1.30.3 manifests/charts/gateway/templates/role.yaml,
 * `rbac.enabled` default true), and istiod serves a gateway any same-namespace Secret its account may list
 * (pilot/pkg/xds/sds.go `filterAuthorizedResources`, pilot/pkg/credentials/kube/secrets.go `Authorize`). Beside
 * istiod, that would be the mesh CA key, istiod's serving key and the remote-secret tokens.
 */
export const INGRESS_NAMESPACE = "istio-ingress";
export const EASTWEST_NAMESPACE = "istio-eastwest";
export const EASTWEST_GATEWAY = "istio-eastwestgateway";
/** Prometheus and its federation run here, outside the mesh (pods opt in one by one). */
export const MONITORING_NAMESPACE = "monitoring";
