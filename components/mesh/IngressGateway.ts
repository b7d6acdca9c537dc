import { Provider as KubernetesProvider } from "@pulumi/kubernetes/provider";
import * as coreV1 from "@pulumi/kubernetes/core/v1";
import * as helmV3 from "@pulumi/kubernetes/helm/v3";
import * as networkingV1 from "@pulumi/kubernetes/networking/v1";
import * as pulumi from "@pulumi/pulumi";
import { IngressConfig } from "../../config";
import { HttpRouteResilience } from "../traffic/virtualService";
import { AcmeDns01 } from "../cloud/MeshCluster";
import { approvalPolicy } from "./approval";
import { customResource, WAIT_READY } from "../kubernetes/customResource";
import { ingressGatewayValues, publicLoadBalancerAnnotations, ISTIO_CHARTS_REPO } from "./values";
import { CERT_MANAGER_NAMESPACE, CERT_MANAGER_SERVICE_ACCOUNT, INGRESS_GATEWAY, INGRESS_NAMESPACE, MESH_ISSUER } from "../kubernetes/names";

export interface IngressGatewayArgs {
    /** The cluster's Kubernetes provider; every resource here uses it. */
    readonly provider: KubernetesProvider;
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
    /**
     * The stack's `ingress` settings, as the config gate parsed them: TLS for their hosts, from their issuer.
     * @default - the gateway is deployed but serves no host
     */
    readonly ingress?: IngressConfig;
    /** Exposed services: requests under `prefix` go to `host:port`. @default - none */
    readonly routes?: readonly IngressRoute[];
    /** cert-manager's DNS-01 identity on this cluster: required with `ingress.acmeChallenge: dns01`. */
    readonly dns01?: AcmeDns01;
    /** When approver-policy decides approvals, the ingress certificate needs a policy of its own. @default - none */
    readonly approverPolicy?: pulumi.Resource;
    /** The cluster's intermediate as a ClusterIssuer, for `ingress.issuer: private`. */
    readonly meshIssuer?: pulumi.Resource;
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
    readonly release: helmV3.Release;
    readonly namespace: coreV1.Namespace;

    constructor(name: string, args: IngressGatewayArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("istio-production:mesh:IngressGateway", name, {}, opts);
        const child = { parent: this, provider: args.provider };
        const namespace = this.namespace = new coreV1.Namespace(`${name}-ns`, { metadata: { name: INGRESS_NAMESPACE, labels: { "istio-injection": "enabled" } } },
            { ...child, dependsOn: [args.istiod] });
        this.release = new helmV3.Release(`${name}-gateway`, {
            name: INGRESS_GATEWAY,
            chart: "gateway",
            version: args.version,
            repositoryOpts: { repo: ISTIO_CHARTS_REPO },
            namespace: INGRESS_NAMESPACE,
            values: ingressGatewayValues({ highAvailability: args.highAvailability, serviceAnnotations: publicLoadBalancerAnnotations(args.cloud) }),
            atomic: true,
        }, { ...child, dependsOn: [args.istiod, namespace] });
        if (args.ingress) this.serveTls(name, args, args.ingress, child);
        this.registerOutputs({ release: this.release.status, namespace: this.namespace });
    }

    private serveTls(name: string, args: IngressGatewayArgs, ingress: IngressConfig, child: { parent: pulumi.Resource; provider: KubernetesProvider }) {
        const waits: pulumi.Resource[] = [args.certManager];
        const issuerRef = ingress.issuer === "acme"
            ? { name: ACME_ISSUER, kind: "ClusterIssuer" as const, group: "cert-manager.io" as const }
            : { name: MESH_ISSUER, kind: "ClusterIssuer" as const, group: "cert-manager.io" as const };
        if (ingress.issuer === "acme") {
            const solver = this.acmeSolver(name, ingress.acmeChallenge, args.dns01, child);
            waits.push(...solver.ready, customResource(`${name}-acme`, "cert-manager.io/v1", "ClusterIssuer", { name: ACME_ISSUER, annotations: WAIT_READY }, {
                spec: {
                    acme: { email: ingress.acmeEmail, server: ingress.acmeServer, privateKeySecretRef: { name: `${ACME_ISSUER}-account-key` }, solvers: [solver.spec] },
                },
            }, { ...child, dependsOn: [args.certManager] }));
        } else if (args.meshIssuer) {
            waits.push(args.meshIssuer);
        }
        // From the mesh CA, certificates live as briefly as mesh identities; from a public ACME CA, as that CA issues them.
        const lifetime = ingress.issuer === "private" ? { duration: "1h", renewBefore: "20m" } : { duration: "2160h", renewBefore: "720h" };
        if (args.approverPolicy) {
            waits.push(...approvalPolicy(name, {
                policyName: "ingress-certificates", issuerRef, approverPolicy: args.approverPolicy,
                requester: { namespace: CERT_MANAGER_NAMESPACE, name: CERT_MANAGER_SERVICE_ACCOUNT },
                // cert-manager requests every namespace's Certificates: only the gateway's may name the ingress hosts.
                namespaces: [INGRESS_NAMESPACE],
                // Server certificates only: a client certificate chaining to the mesh root would be a mesh credential.
                allowed: { dnsNames: { values: [...ingress.hosts], required: true }, usages: SERVER_USAGES, isCA: false },
                constraints: { maxDuration: lifetime.duration, privateKey: { algorithm: "ECDSA", minSize: 256, maxSize: 384 } },
            }, child));
        }
        const certificate = customResource(`${name}-certificate`, "cert-manager.io/v1", "Certificate", { name: CREDENTIAL, namespace: INGRESS_NAMESPACE }, {
            spec: {
                secretName: CREDENTIAL,
                dnsNames: [...ingress.hosts],
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
                    hosts: [...ingress.hosts],
                    tls: { mode: "SIMPLE", credentialName: CREDENTIAL, minProtocolVersion: "TLSV1_2" },
                }],
            },
        }, { ...child, dependsOn: [this.release, certificate] });
        if (args.routes?.length) this.route(name, ingress.hosts, args.routes, gateway, child);
    }

    /**
     * The ACME solver. DNS-01: the cluster's cloud identity writes the challenge to the hosts' zone, so every cluster
     * that serves the hosts can renew on its own. HTTP-01 (one cluster, the config gate checks): cert-manager creates
     * an Ingress of class `istio`, which istiod turns into routes on this gateway only if that IngressClass names
     * Istio's controller (istio/istio 1.30.3 pilot/pkg/config/kube/ingress/virtualservices.go
     * `shouldProcessIngressWithClass`: under the default ingressControllerMode STRICT an Ingress of an unknown class is
     * ignored); its selector `istio: ingressgateway` is meshConfig.ingressSelector's default.
     */
    private acmeSolver(name: string, challenge: IngressConfig["acmeChallenge"], dns01: AcmeDns01 | undefined, child: { parent: pulumi.Resource; provider: KubernetesProvider }): { spec: Record<string, unknown>; ready: pulumi.Resource[] } {
        if (challenge === "dns01") {
            if (!dns01) throw new pulumi.ResourceError(`IngressGateway ${name}: acmeChallenge dns01 without a DNS-01 identity on this cluster: the cloud layer provides one when ingress.dnsZone is set`, this);
            return { spec: { dns01: dns01.solver }, ready: [...dns01.ready] };
        }
        const ingressClass = new networkingV1.IngressClass(`${name}-ingress-class`, {
            metadata: { name: ISTIO_INGRESS_CLASS }, spec: { controller: "istio.io/ingress-controller" },
        }, child);
        return { spec: { http01: { ingress: { ingressClassName: ISTIO_INGRESS_CLASS } } }, ready: [ingressClass] };
    }

    private route(name: string, hosts: readonly string[], exposed: readonly IngressRoute[], gateway: pulumi.Resource, child: { parent: pulumi.Resource; provider: KubernetesProvider }) {
        // Longest prefix first: Istio takes the first matching route.
        const routes = [...exposed].sort((a, b) => b.prefix.length - a.prefix.length);
        customResource(`${name}-routes`, "networking.istio.io/v1", "VirtualService", { name: "ingress", namespace: INGRESS_NAMESPACE }, {
            spec: {
                hosts: [...hosts],
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
