import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { HttpRouteResilience } from "../traffic/virtualService";
import { AcmeDns01 } from "../cloud/MeshCluster";
import { approvalPolicy } from "./approval";
import { customResource, WAIT_READY } from "../kubernetes/customResource";
import { ingressGatewayValues, publicLoadBalancerAnnotations, ISTIO_CHARTS_REPO } from "./values";
import { CERT_MANAGER_NAMESPACE, CERT_MANAGER_SERVICE_ACCOUNT, INGRESS_GATEWAY, INGRESS_NAMESPACE, MESH_ISSUER } from "../kubernetes/names";

export interface IngressGatewayArgs {
    /** The cluster's Kubernetes provider; every resource here uses it. */
    readonly provider: k8s.Provider;
    /** The cluster's cloud: it picks the Service annotations of a public load balancer. */
    readonly cloud: "aws" | "gcp";
    /** Istio `gateway` chart version. */
    readonly version: string;
    /** Autoscaling from two replicas, zone spread and a disruption budget. */
    readonly highAvailability: boolean;
    /** Gateway pods are injected by istiod. */
    readonly istiod: pulumi.Resource;
    /** cert-manager's release: its CRDs must exist before the issuer and the certificate. */
    readonly certManager: pulumi.Resource;
    /** TLS for these names. @default - none: the gateway is deployed but serves no host */
    readonly tls?: {
        /** The names the certificate and the HTTPS server carry. */
        readonly hosts: readonly string[];
        /** A public ACME CA, or the cluster's intermediate (`meshIssuer`). */
        readonly issuer: "acme" | "private";
        /** The ACME account's contact. @default - none: an account without contact */
        readonly acmeEmail?: string;
        /** The ACME CA's directory URL. */
        readonly acmeServer: string;
        /** How the ACME CA validates the hosts: DNS-01 with `dns01` (required then), or HTTP-01 through this gateway. */
        readonly acmeChallenge: "dns01" | "http01";
        /** The cluster's DNS-01 solver and identity, with `acmeChallenge: dns01`. @default - none */
        readonly dns01?: AcmeDns01;
        /** When approver-policy decides approvals, the ingress certificate needs a policy of its own. @default - none: cert-manager approves */
        readonly approverPolicy?: pulumi.Resource;
        /** The cluster's intermediate as a ClusterIssuer, for `issuer: private`. @default - none: nothing to wait for */
        readonly meshIssuer?: pulumi.Resource;
        /** Exposed services: requests under `prefix` go to `host:port`. @default - none: no VirtualService */
        readonly routes?: readonly IngressRoute[];
    };
}

export interface IngressRoute {
    readonly prefix: string;
    /** The service's cluster-local name, `<name>.<namespace>.svc.cluster.local`. */
    readonly host: string;
    readonly port: number;
    /** A release in progress (canary, blue/green): the same weighted subsets the mesh routes use. */
    readonly weights?: ReadonlyArray<{ readonly subset: string; readonly weight: number }>;
    /**
     * The request timeout and retries of the service's mesh routes. Absent: Istio's defaults for a route, no timeout
     * and two retries.
     */
    readonly resilience?: HttpRouteResilience;
}

const ACME_ISSUER = "acme";
/** meshConfig.ingressClass's default, which istiod serves in STRICT mode. */
const ISTIO_INGRESS_CLASS = "istio";
const SERVER_USAGES = ["digital signature", "key encipherment", "server auth"];
const CREDENTIAL = "ingress-tls";

/**
 * The ingress gateway from Istio's `gateway` chart in its own namespace, its certificate issued and renewed by
 * cert-manager (ACME for public names, the cluster's intermediate for internal names) into that namespace, and the
 * Gateway that serves it by `credentialName`, which istiod resolves in the gateway's namespace only (istio/istio 1.30.3
 * pilot/pkg/xds/sds.go `filterAuthorizedResources`).
 */
export class IngressGateway extends pulumi.ComponentResource {
    readonly release: k8s.helm.v3.Release;
    readonly namespace: k8s.core.v1.Namespace;

    constructor(name: string, args: IngressGatewayArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("istio-production:mesh:IngressGateway", name, {}, opts);
        const child = { parent: this, provider: args.provider };
        const namespace = this.namespace = new k8s.core.v1.Namespace(`${name}-ns`, { metadata: { name: INGRESS_NAMESPACE, labels: { "istio-injection": "enabled" } } },
            { ...child, dependsOn: [args.istiod] });
        this.release = new k8s.helm.v3.Release(`${name}-gateway`, {
            name: INGRESS_GATEWAY,
            chart: "gateway",
            version: args.version,
            repositoryOpts: { repo: ISTIO_CHARTS_REPO },
            namespace: INGRESS_NAMESPACE,
            values: ingressGatewayValues({ highAvailability: args.highAvailability, serviceAnnotations: publicLoadBalancerAnnotations(args.cloud) }),
            atomic: true,
        }, { ...child, dependsOn: [args.istiod, namespace] });
        if (args.tls) this.serveTls(name, args, args.tls, child);
        this.registerOutputs({ release: this.release.status, namespace: this.namespace });
    }

    private serveTls(name: string, args: IngressGatewayArgs, tls: NonNullable<IngressGatewayArgs["tls"]>, child: { parent: pulumi.Resource; provider: k8s.Provider }) {
        const waits: pulumi.Resource[] = [args.certManager];
        const issuerRef = tls.issuer === "acme"
            ? { name: ACME_ISSUER, kind: "ClusterIssuer" as const, group: "cert-manager.io" as const }
            : { name: MESH_ISSUER, kind: "ClusterIssuer" as const, group: "cert-manager.io" as const };
        if (tls.issuer === "acme") {
            const solver = this.acmeSolver(name, tls, child);
            waits.push(...solver.ready, customResource(`${name}-acme`, "cert-manager.io/v1", "ClusterIssuer", { name: ACME_ISSUER, annotations: WAIT_READY }, {
                spec: {
                    acme: { email: tls.acmeEmail, server: tls.acmeServer, privateKeySecretRef: { name: `${ACME_ISSUER}-account-key` }, solvers: [solver.spec] },
                },
            }, { ...child, dependsOn: [args.certManager] }));
        } else if (tls.meshIssuer) {
            waits.push(tls.meshIssuer);
        }
        // From the mesh CA, certificates live as briefly as mesh identities; from a public ACME CA, as that CA issues them.
        const lifetime = tls.issuer === "private" ? { duration: "1h", renewBefore: "20m" } : { duration: "2160h", renewBefore: "720h" };
        if (tls.approverPolicy) {
            waits.push(...approvalPolicy(name, {
                policyName: "ingress-certificates", issuerRef, approverPolicy: tls.approverPolicy,
                requester: { namespace: CERT_MANAGER_NAMESPACE, name: CERT_MANAGER_SERVICE_ACCOUNT },
                // cert-manager requests every namespace's Certificates: only the gateway's may name the ingress hosts.
                namespaces: [INGRESS_NAMESPACE],
                // Server certificates only: a client certificate chaining to the mesh root would be a mesh credential.
                allowed: { dnsNames: { values: [...tls.hosts], required: true }, usages: SERVER_USAGES, isCA: false },
                constraints: { maxDuration: lifetime.duration, privateKey: { algorithm: "ECDSA", minSize: 256, maxSize: 384 } },
            }, child));
        }
        const certificate = customResource(`${name}-certificate`, "cert-manager.io/v1", "Certificate", { name: CREDENTIAL, namespace: INGRESS_NAMESPACE }, {
            spec: {
                secretName: CREDENTIAL,
                dnsNames: [...tls.hosts],
                issuerRef,
                ...lifetime,
                privateKey: { algorithm: "ECDSA", size: 256, rotationPolicy: "Always" },
                usages: SERVER_USAGES,
            },
        }, { ...child, dependsOn: [...waits, this.release] });
        const gateway = customResource(`${name}-gateway-https`, "networking.istio.io/v1", "Gateway", { name: "ingress", namespace: INGRESS_NAMESPACE }, {
            spec: {
                selector: { istio: "ingressgateway" },
                servers: [{
                    port: { number: 443, name: "https", protocol: "HTTPS" },
                    hosts: [...tls.hosts],
                    tls: { mode: "SIMPLE", credentialName: CREDENTIAL, minProtocolVersion: "TLSV1_2" },
                }],
            },
        }, { ...child, dependsOn: [this.release, certificate] });
        if (tls.routes?.length) this.route(name, tls, gateway, child);
    }

    /**
     * The ACME solver. DNS-01: the cluster's cloud identity writes the challenge to the hosts' zone, so every cluster
     * that serves the hosts can renew on its own. HTTP-01 (one cluster, the config gate checks): cert-manager creates
     * an Ingress of class `istio`, which istiod turns into routes on this gateway only if that IngressClass names
     * Istio's controller (istio/istio 1.30.3 pilot/pkg/config/kube/ingress/virtualservices.go
     * `shouldProcessIngressWithClass`: under the default ingressControllerMode STRICT an Ingress of an unknown class is
     * ignored); its selector `istio: ingressgateway` is meshConfig.ingressSelector's default.
     */
    private acmeSolver(name: string, tls: NonNullable<IngressGatewayArgs["tls"]>, child: { parent: pulumi.Resource; provider: k8s.Provider }): { spec: Record<string, unknown>; ready: pulumi.Resource[] } {
        if (tls.acmeChallenge === "dns01") {
            if (!tls.dns01) throw new pulumi.ResourceError(`IngressGateway ${name}: acmeChallenge dns01 without a DNS-01 identity on this cluster: the cloud layer provides one when ingress.dnsZone is set`, this);
            return { spec: { dns01: tls.dns01.solver }, ready: [...tls.dns01.ready] };
        }
        const ingressClass = new k8s.networking.v1.IngressClass(`${name}-ingress-class`, {
            metadata: { name: ISTIO_INGRESS_CLASS }, spec: { controller: "istio.io/ingress-controller" },
        }, child);
        return { spec: { http01: { ingress: { ingressClassName: ISTIO_INGRESS_CLASS } } }, ready: [ingressClass] };
    }

    private route(name: string, tls: NonNullable<IngressGatewayArgs["tls"]>, gateway: pulumi.Resource, child: { parent: pulumi.Resource; provider: k8s.Provider }) {
        // Longest prefix first: Istio takes the first matching route.
        const routes = [...tls.routes ?? []].sort((a, b) => b.prefix.length - a.prefix.length);
        customResource(`${name}-routes`, "networking.istio.io/v1", "VirtualService", { name: "ingress", namespace: INGRESS_NAMESPACE }, {
            spec: {
                hosts: [...tls.hosts],
                gateways: [`${INGRESS_NAMESPACE}/ingress`],
                http: routes.map((r) => ({
                    match: [{ uri: { prefix: r.prefix } }],
                    route: r.weights
                        ? r.weights.map((w) => ({ destination: { host: r.host, port: { number: r.port }, subset: w.subset }, weight: w.weight }))
                        : [{ destination: { host: r.host, port: { number: r.port } } }],
                    ...(r.resilience ? { timeout: r.resilience.timeout, retries: { ...r.resilience.retries } } : {}),
                })),
            },
        }, { ...child, dependsOn: [gateway] });
    }
}
