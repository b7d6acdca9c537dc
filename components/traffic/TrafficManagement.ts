import * as pulumi from "@pulumi/pulumi";
import { resolveResilience, ServiceConfig, TrafficConfig } from "../../config";
import { customResource } from "../kubernetes/customResource";
import { MeshedCluster } from "../mesh/MeshedCluster";
import { ISTIO_NAMESPACE } from "../kubernetes/names";
import { destinationRuleSpec } from "./destinationRule";
import { localRateLimitSpec } from "./localRateLimit";
import { releaseRouting } from "./releases";
import { virtualServiceSpec } from "./virtualService";

export interface TrafficManagementArgs {
    /**
     * The cluster's mesh: routing is created through its provider once its istiod's webhook serves. A service's
     * routing lives in its namespace when the mesh's namespaces list it (and waits for it), otherwise in the root
     * namespace, where Istio applies it to the service's FQDN from every namespace.
     */
    readonly mesh: MeshedCluster;
    /** The declared services, each routed by host, port and release. */
    readonly services: readonly ServiceConfig[];
    /** Per-service resilience, releases, rate limits and faults, with the mesh-wide defaults. */
    readonly traffic: TrafficConfig;
    /** Regions of the mesh's clusters, in failover order (the same list on every cluster). */
    readonly regions: readonly string[];
    /**
     * Per-cloud trust domains: the SPIFFE IDs a service's endpoints present, one per trust domain that runs it,
     * which every client verifies. @default - istiod's own trust domain
     */
    readonly identitiesOf?: (service: ServiceConfig) => readonly string[];
}

/** Pod labels of the ingress gateway (IngressGateway's chart values). */
const INGRESS_GATEWAY_LABELS = { istio: "ingressgateway" };

/** The FQDN Istio knows a declared service by, the same in every cluster (namespace sameness). */
const serviceHost = (s: Pick<ServiceConfig, "name" | "namespace">) => `${s.name}.${s.namespace}.svc.cluster.local`;

/**
 * Traffic management on one cluster, identical on every cluster of the mesh: per declared service a DestinationRule
 * (mTLS, circuit breaking, retry budget, locality failover, release subsets) and a VirtualService (weighted release
 * routes, timeout, retries, mirroring, faults), a local rate limit where configured, and one at the ingress gateway.
 */
export class TrafficManagement extends pulumi.ComponentResource {
    constructor(name: string, args: TrafficManagementArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("istio-production:traffic:TrafficManagement", name, {}, opts);
        const child = { parent: this, provider: args.mesh.cluster.provider };
        const failoverRegions = args.traffic.localityFailover ? args.regions : undefined;
        for (const service of args.services) {
            const own = args.traffic.services[service.name] ?? {};
            const owner = args.mesh.namespaces[service.namespace];
            const namespace = owner ? service.namespace : ISTIO_NAMESPACE;
            const deps = { ...child, dependsOn: [args.mesh.istiod, ...(owner ? [owner] : [])] };
            const host = serviceHost(service);
            const resilience = resolveResilience(args.traffic.resilience, own.resilience);
            const routing = own.release && releaseRouting(own.release);
            const meta = (suffix: string) => ({ name: `${service.name}${suffix}`, namespace });
            const dr = customResource(`${name}-${service.name}-dr`, "networking.istio.io/v1", "DestinationRule", meta(""), {
                spec: destinationRuleSpec({ host, protocol: service.protocol, resilience, subsets: routing?.subsets ?? [], failoverRegions, subjectAltNames: args.identitiesOf?.(service) }),
            }, deps);
            // Subsets exist before routes name them.
            customResource(`${name}-${service.name}-vs`, "networking.istio.io/v1", "VirtualService", meta(""), {
                spec: virtualServiceSpec({ host, port: service.port, protocol: service.protocol, resilience, routing, fault: own.fault }),
            }, { ...deps, dependsOn: [...deps.dependsOn, dr] });
            if (own.rateLimit) {
                customResource(`${name}-${service.name}-ratelimit`, "networking.istio.io/v1alpha3", "EnvoyFilter", meta("-local-ratelimit"), {
                    spec: localRateLimitSpec({ context: "SIDECAR_INBOUND", workloadLabels: { app: service.name }, limit: own.rateLimit }),
                }, deps);
            }
        }
        if (args.traffic.ingressRateLimit) {
            customResource(`${name}-ingress-ratelimit`, "networking.istio.io/v1alpha3", "EnvoyFilter", { name: "ingress-local-ratelimit", namespace: ISTIO_NAMESPACE }, {
                spec: localRateLimitSpec({ context: "GATEWAY", workloadLabels: INGRESS_GATEWAY_LABELS, limit: args.traffic.ingressRateLimit }),
            }, { ...child, dependsOn: [args.mesh.istiod] });
        }
        this.registerOutputs({});
    }
}
