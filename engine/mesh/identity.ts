/**
 * A model of mTLS identity checks between Istio sidecars, written from istio/istio at tag 1.30.3, so that tests
 * compare what each side of a call will do rather than what the program means them to do.
 *
 * The client (the caller's sidecar, configured by the istiod of the caller's cluster):
 * - pilot/pkg/model/push_context.go `destinationRule`: the DestinationRule for a host is taken from the proxy's
 *   namespace, else the service's namespace, else the root namespace.
 * - pilot/pkg/networking/core/cluster_tls.go `buildUpstreamTLSSettings`: ISTIO_MUTUAL uses the rule's
 *   `subjectAltNames` when set, else the service accounts of the destination; with no tls block, auto mTLS uses the
 *   service accounts. `buildUpstreamClusterTLSContext`: the SANs are matched exactly (`StringToExactMatch`).
 * - pilot/pkg/serviceregistry/kube/controller/endpoint_builder.go: every endpoint's service account, remote
 *   clusters' included, is written `spiffe://<this istiod's trust domain>/ns/<ns>/sa/<sa>` (`SecureNamingSAN`).
 * - pilot/pkg/model/push_context.go `addServiceAccounts` and pkg/spiffe/spiffe.go `ExpandWithTrustDomains`: the
 *   service accounts are expanded with meshConfig.trustDomainAliases, and nothing else.
 *
 * The server (the callee's sidecar):
 * - its certificate carries `spiffe://<trust domain of the CA that signed it>/ns/<ns>/sa/<sa>`: istio-csr's
 *   app.tls.trustDomain (cert-manager/istio-csr v0.17.0 pkg/server/auth.go checks the CSR against it), or istiod's
 *   meshConfig.trustDomain when istiod is the CA.
 * - pilot/pkg/networking/plugin/authn/util.go `TrustDomainsForValidation`: it accepts a peer whose trust domain is
 *   meshConfig.trustDomain, one of trustDomainAliases, or one of caCertificates[].trustDomains.
 */

export interface IstiodMesh {
    readonly trustDomain: string;
    readonly trustDomainAliases: readonly string[];
    readonly caTrustDomains: readonly string[];
    readonly rootNamespace: string;
}

/** istiod's mesh settings from its chart values (defaults as Istio's: cluster.local, istio-system). */
export function istiodMesh(values: any): IstiodMesh {
    const mesh = values?.meshConfig ?? {};
    return {
        trustDomain: mesh.trustDomain || "cluster.local",
        trustDomainAliases: mesh.trustDomainAliases ?? [],
        caTrustDomains: (mesh.caCertificates ?? []).flatMap((c: any) => c.trustDomains ?? []),
        rootNamespace: mesh.rootNamespace || values?.global?.istioNamespace || "istio-system",
    };
}

export interface DestinationRuleObject {
    readonly namespace: string;
    readonly spec: any;
}

/** The rule a proxy in `proxyNamespace` applies to `host` of a service in `serviceNamespace` (exact hosts only). */
export function destinationRuleFor(rules: readonly DestinationRuleObject[], host: string, proxyNamespace: string, serviceNamespace: string, mesh: IstiodMesh): DestinationRuleObject | undefined {
    const inNamespace = (ns: string) => rules.find((r) => r.namespace === ns && r.spec?.host === host);
    return inNamespace(proxyNamespace) ?? inNamespace(serviceNamespace) ?? inNamespace(mesh.rootNamespace);
}

export interface Workload {
    readonly namespace: string;
    readonly serviceAccount: string;
}

/**
 * The SANs a client's sidecar accepts from `destination`'s endpoints under ISTIO_MUTUAL, given the TLS settings its
 * DestinationRule applies to the port (none: auto mTLS). cluster_tls.go `buildUpstreamTLSSettings` falls back to the
 * service accounts when `SubjectAltNames == nil`; a YAML `subjectAltNames: []` decodes to an empty repeated field,
 * which protobuf-go leaves nil, so an empty list falls back too.
 */
export function expectedSans(client: IstiodMesh, tls: { readonly subjectAltNames?: readonly string[] } | undefined, destination: Workload): string[] {
    if (tls?.subjectAltNames?.length) return [...tls.subjectAltNames];
    const own = `spiffe://${client.trustDomain}/ns/${destination.namespace}/sa/${destination.serviceAccount}`;
    return [own, ...client.trustDomainAliases.map((td) => `spiffe://${td}/ns/${destination.namespace}/sa/${destination.serviceAccount}`)];
}

export function presentedId(caTrustDomain: string, w: Workload): string {
    return `spiffe://${caTrustDomain}/ns/${w.namespace}/sa/${w.serviceAccount}`;
}

export function acceptedTrustDomains(server: IstiodMesh): string[] {
    return [...new Set([server.trustDomain, ...server.trustDomainAliases, ...server.caTrustDomains])];
}
