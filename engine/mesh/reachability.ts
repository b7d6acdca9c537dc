import { CapturedResource, ProgramGraph } from "../graph";
import { plain } from "../values";
import { applicablePolicies, authorize, AuthzVerdict, PolicyObject } from "./authorization";
import { acceptedTrustDomains, destinationRuleFor, DestinationRuleObject, expectedSans, IstiodMesh, istiodMesh, presentedId } from "./identity";
import { effectiveMtlsMode, PeerAuthenticationObject } from "./peerAuthentication";

/**
 * The mesh proof: for every caller identity, every declared service port and every pair of clusters (where the caller
 * runs, where the callee's endpoints run), what Istio 1.30.3 does with a call, step by step as the proxies do, and
 * whether that is what the declared service graph says. Computed from the plan's graph (what the program registers)
 * and the stack's `services`; nothing here reads a cluster.
 *
 * The workload contract the proof relies on (the program generates it in components/identity/policies.ts; the engine
 * reads plans of any program, so it restates it here rather than importing it): a declared service's pods carry the
 * label `app: <name>`, run as service account `serviceAccount ?? name` in `namespace`, have a sidecar, and serve the
 * declared `port` (taken as the target port too: AuthorizationPolicy `ports` and PeerAuthentication `portLevelMtls`
 * name the pod's port, pilot/pkg/security/authz/model/generator.go `destPortGenerator` and
 * pilot/pkg/security/authn/policy_applier.go, so a Service mapping port 80 to 8080 is outside this model).
 *
 * Where a step depends on what a plan cannot know (an external authorizer, a `when` on a header, an IP block), the
 * cell is "unprovable", which differs from the graph whatever the call is: a declared call is not proven to work, an
 * undeclared one not proven refused.
 */

export type Step = "discovery" | "routing" | "outbound TLS" | "trust domain" | "peer authentication" | "authorization";

export interface DeclaredCaller {
    readonly service: string;
    readonly methods?: readonly string[];
    readonly paths?: readonly string[];
}

export interface DeclaredService {
    readonly name: string;
    readonly namespace: string;
    readonly serviceAccount?: string;
    readonly port: number;
    readonly protocol?: "http" | "grpc" | "tcp";
    readonly clouds?: readonly string[];
    readonly callers?: readonly DeclaredCaller[];
    readonly exposed?: boolean;
}

export interface Cell {
    readonly caller: string;
    readonly callee: string;
    readonly port: number;
    readonly from: string;
    readonly to: string;
    readonly declared: boolean;
    readonly verdict: "allowed" | "refused" | "unprovable";
    /** The first step that refuses, or for a declared call allowed beyond what was declared, "authorization". */
    readonly step?: Step;
    readonly reason?: string;
    /** A declared call refused, an undeclared one allowed, a declared one allowed beyond its methods and paths, or an unprovable cell. */
    readonly mismatch?: string;
}

export interface MeshProof {
    /** The graph is enforced from stage 3 (authorization generated): before, every call is allowed by design. */
    readonly enforced: boolean;
    readonly cells: readonly Cell[];
    readonly mismatches: readonly Cell[];
}

const RELEASE = "kubernetes:helm.sh/v3:Release";
/** istio/istio 1.30.3 pilot/pkg/serviceregistry/kube/controller/network.go `DefaultNetworkGatewayPort`. */
const DEFAULT_NETWORK_GATEWAY_PORT = 15443;
export const INGRESS_CALLER = "ingress-gateway";
/**
 * Callers the proof must see refused everywhere (each label is a prefix: a stray workload is placed in every declared
 * namespace and in one no service uses, a foreign mesh's workload impersonates every declared caller).
 */
export const UNKNOWN_CALLERS = {
    undeclared: "unknown: no declared edges",
    foreign: "unknown: foreign trust domain",
    plaintext: "unknown: plain text",
} as const;
const FOREIGN_TRUST_DOMAIN = "foreign.example";
const STRAY_NAMESPACE = "stray";

export interface Workload {
    readonly namespace: string;
    readonly serviceAccount: string;
    readonly labels: Readonly<Record<string, string>>;
}

interface Gateway {
    readonly namespace: string;
    readonly labels: Record<string, string>;
    /** The network it is the gateway of (the Service's `topology.istio.io/network` label), if any. */
    readonly network?: string;
    /** The port istiod sends cross-network mTLS to (label `networking.istio.io/gatewayPort`, default 15443). */
    readonly gatewayPort: number;
    readonly ports: number[];
    /** ISTIO_META_REQUESTED_NETWORK_VIEW: the networks whose endpoints the gateway's proxy sees (empty: all). */
    readonly networkView: readonly string[];
}

export interface MeshCluster {
    readonly name: string;
    readonly cloud: string;
    readonly network: string;
    readonly mesh: IstiodMesh;
    /** meshConfig.enableAutoMtls (default true). */
    readonly autoMtls: boolean;
    /** The sidecars' ISTIO_META_REQUESTED_NETWORK_VIEW (meshConfig.defaultConfig.proxyMetadata; empty: all). */
    readonly sidecarNetworkView: readonly string[];
    /** The trust domain of the CA that signs this cluster's workload certificates. */
    readonly caTrustDomain: string;
    /** Clusters whose endpoints this cluster's istiod discovers (itself and its remote secrets). */
    readonly discovers: readonly string[];
    readonly destinationRules: readonly DestinationRuleObject[];
    readonly peerAuthentications: readonly PeerAuthenticationObject[];
    readonly authorizationPolicies: readonly PolicyObject[];
    readonly gatewayObjects: ReadonlyArray<{ namespace: string; name: string; spec: any }>;
    readonly gateways: readonly Gateway[];
    readonly ingressGateway?: Workload;
}

const objects = (on: readonly CapturedResource[], kind: string) => on
    .filter((r) => r.custom && r.type.startsWith("kubernetes:") && r.type.endsWith(`:${kind}`))
    .map((r) => {
        const i = plain(r.inputs);
        return { namespace: i.metadata?.namespace ?? "default", name: i.metadata?.name ?? r.name, spec: i.spec ?? {}, metadata: i.metadata ?? {}, annotations: i.metadata?.annotations ?? {}, data: { ...i.data, ...i.stringData } };
    });

/** pilot/pkg/model/context.go: the proxy metadata's RequestedNetworkView is a comma-separated list. */
const networkView = (v: unknown) => (typeof v === "string" ? v.split(",").map((n) => n.trim()).filter(Boolean) : []);

/**
 * A gateway chart release as Kubernetes will run it (istio/istio 1.30.3 manifests/charts/gateway/templates/
 * {service,deployment}.yaml, _helpers.tpl `gateway.labels`): `networkGateway` labels the Service with the network,
 * sets the proxy's requested network view and replaces `service.ports` with `networkGatewayPorts`; `labels` go on
 * the Service and pods; `env` adds proxy environment (the view set by hand).
 */
function gatewayOf(g: any) {
    const values = g.values ?? {};
    const labels: Record<string, string> = { ...(values.labels ?? {}) };
    if (values.networkGateway) labels["topology.istio.io/network"] = values.networkGateway;
    const ports: number[] = values.networkGateway
        ? Object.values({ "status-port": { port: 15021 }, tls: { port: 15443 }, "tls-istiod": { port: 15012 }, "tls-webhook": { port: 15017 }, ...(values.networkGatewayPorts ?? {}) }).map((p: any) => Number(p.port))
        : (values.service?.ports ?? []).map((p: any) => Number(p.port));
    // pilot/pkg/serviceregistry/kube/controller/network.go `getGatewayDetails`: the port from the label, default 15443.
    const gatewayPort = Number(labels["networking.istio.io/gatewayPort"] ?? DEFAULT_NETWORK_GATEWAY_PORT) || DEFAULT_NETWORK_GATEWAY_PORT;
    return {
        namespace: g.namespace, labels, name: values.name ?? g.name, ports, gatewayPort, network: labels["topology.istio.io/network"],
        networkView: networkView(values.env?.ISTIO_META_REQUESTED_NETWORK_VIEW ?? values.networkGateway),
    };
}

/** Each cluster of the plan (a Kubernetes provider carrying an istiod release), as its proxies will be configured. */
export function meshClusters(graph: ProgramGraph, clouds: ReadonlyMap<string, string>): MeshCluster[] {
    const providers = graph.resources.filter((r) => r.type === "pulumi:providers:kubernetes");
    return providers.flatMap((provider) => {
        const on = graph.resources.filter((r) => r.provider === provider.urn);
        const releases = on.filter((r) => r.type === RELEASE).map((r) => plain(r.inputs));
        const chart = (name: string) => releases.filter((r) => String(r.chart).split("/").pop() === name);
        const istiod = chart("istiod")[0];
        if (!istiod) return [];
        const values = istiod.values ?? {};
        const mesh = istiodMesh(values);
        const csr = chart("cert-manager-istio-csr")[0];
        const gateways = chart("gateway").map(gatewayOf);
        const ingress = gateways.find((g) => g.labels.istio === "ingressgateway");
        // pkg/kube/multicluster/secretcontroller.go: istiod watches Secrets labelled istio/multiCluster=true in its
        // own namespace (`namespace` of the controller: the system namespace, global.istioNamespace), and each data
        // key of such a Secret names a cluster (`addSecret` ranges over `s.Data`).
        const system = values.global?.istioNamespace || "istio-system";
        const remote = objects(on, "Secret").filter((s) => s.metadata.labels?.["istio/multiCluster"] === "true" && s.namespace === system)
            .flatMap((s) => Object.keys(s.data ?? {}));
        const name = values.global?.multiCluster?.clusterName || provider.name;
        return [{
            name, cloud: clouds.get(name) ?? clouds.get(provider.name) ?? "", network: values.global?.network ?? "",
            mesh, autoMtls: values.meshConfig?.enableAutoMtls !== false,
            sidecarNetworkView: networkView(values.meshConfig?.defaultConfig?.proxyMetadata?.ISTIO_META_REQUESTED_NETWORK_VIEW),
            caTrustDomain: csr?.values?.app?.tls?.trustDomain ?? mesh.trustDomain, discovers: [name, ...remote],
            destinationRules: objects(on, "DestinationRule"), peerAuthentications: objects(on, "PeerAuthentication"),
            authorizationPolicies: objects(on, "AuthorizationPolicy"), gatewayObjects: objects(on, "Gateway"), gateways,
            ingressGateway: ingress && { namespace: ingress.namespace, serviceAccount: ingress.name, labels: ingress.labels },
        }];
    });
}

interface Caller {
    readonly label: string;
    /** The workload in a cluster; undefined where it does not run. */
    readonly at: (c: MeshCluster) => (Workload & { readonly identity?: string; readonly sidecar: boolean }) | undefined;
}

interface Callee extends Workload {
    readonly name: string;
    readonly host: string;
    readonly port: number;
    readonly protocol: "http" | "grpc" | "tcp";
    readonly runsIn: (c: MeshCluster) => boolean;
}

const serviceAccountOf = (s: DeclaredService) => s.serviceAccount ?? s.name;
const runsOn = (s: DeclaredService) => (c: MeshCluster) => !s.clouds || s.clouds.includes(c.cloud);

/** One request a caller sends: an HTTP service gets a method, a path and a host, a TCP one a connection. */
interface Probe { readonly method?: string; readonly path?: string; readonly host?: string; readonly requestPrincipal?: string }

/** A concrete value an Istio string pattern matches: `GET*` is probed with `GETprobe`, `*` with `probe`. */
const sample = (pattern: string, star = "probe") =>
    pattern === "*" ? star : pattern.endsWith("*") ? `${pattern.slice(0, -1)}${star}` : pattern.startsWith("*") ? `${star}${pattern.slice(1)}` : pattern;
/** A concrete path: `/cart/*` is probed with `/cart/probe`, `*.json` with `/probe.json`, `/a/{*}/b` with `/a/probe/b`. */
const samplePath = (pattern: string) => (/\{\*\*?\}/.test(pattern) ? pattern.replace(/\{\*\*?\}/g, "probe") : sample(pattern, pattern.startsWith("*") ? "/probe" : pattern === "*" ? "/probe" : "probe"));
/** A concrete `<iss>/<sub>` (generator.go `requestPrincipalGenerator` splits at the last `/`): `*` stands for both halves where the pattern has no `/`. */
const sampleRequestPrincipal = (pattern: string) => sample(pattern, pattern.includes("/") ? "probe" : "probe/probe");
const defaultMethod = (c: Callee) => (c.protocol === "grpc" ? "POST" : "GET");
const METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

function declaredProbes(callee: Callee, edge: DeclaredCaller | undefined): Probe[] {
    if (callee.protocol === "tcp") return [{}];
    const methods = edge?.methods ?? [defaultMethod(callee)];
    const paths = (edge?.paths ?? ["/"]).map(samplePath);
    return methods.flatMap((method) => paths.map((path) => ({ method, path, host: callee.host })));
}

/** Requests outside a declared edge's methods and paths: each must be refused, or the edge is wider than declared. */
function beyondProbes(callee: Callee, edge: DeclaredCaller): Probe[] {
    if (callee.protocol === "tcp") return [];
    const probes: Probe[] = [];
    const path = samplePath(edge.paths?.[0] ?? "/");
    if (edge.methods) probes.push({ method: METHODS.find((m) => !edge.methods!.includes(m)), path, host: callee.host });
    if (edge.paths) probes.push({ method: edge.methods?.[0] ?? defaultMethod(callee), path: "/undeclared/probe", host: callee.host });
    return probes;
}

/**
 * An undeclared caller is probed with every method, path, host and end-user token the callee's policies name (and
 * what their `not*` forms leave out), so that no rule can let it in unseen. Probes use the declared port only: the
 * matrix is per declared port, and a rule naming another port cannot match it.
 */
function anyProbes(callee: Callee, policies: readonly PolicyObject[]): Probe[] {
    if (callee.protocol === "tcp") return [{}];
    const rules = policies.flatMap((p) => p.spec?.rules ?? []);
    const ops = rules.flatMap((r: any) => (r.to ?? []).map((t: any) => t.operation ?? {}));
    const sources = rules.flatMap((r: any) => (r.from ?? []).map((f: any) => f.source ?? {}));
    const whens = rules.flatMap((r: any) => r.when ?? []);
    const listed = (blocks: any[], key: string) => blocks.flatMap((b) => [...(b[key] ?? []), ...(b[`not${key[0].toUpperCase()}${key.slice(1)}`] ?? [])]);
    const methods = [...new Set([defaultMethod(callee), ...listed(ops, "methods").map((m: string) => sample(m, "PROBE")), ...(ops.some((o: any) => o.notMethods) ? METHODS : [])])];
    const paths = [...new Set(["/", "/undeclared/probe", "/unlisted.probe", ...listed(ops, "paths").map(samplePath)])];
    // pilot/pkg/networking/core/httproute.go `generateVirtualHostDomains`: a sidecar routes the service by its short
    // names and with the port, so the Host header of an in-mesh call can be any of them.
    const short = callee.host.split(".");
    const hosts = ops.some((o: any) => o.hosts || o.notHosts)
        ? [...new Set([callee.host, short[0], short.slice(0, 2).join("."), short.slice(0, 3).join("."), `${callee.host}:${callee.port}`, ...listed(ops, "hosts").map((h: string) => sample(h))])]
        : [callee.host];
    const tokens = [undefined, ...new Set([
        ...listed(sources, "requestPrincipals"),
        ...whens.filter((w: any) => w.key === "request.auth.principal").flatMap((w: any) => [...(w.values ?? []), ...(w.notValues ?? [])]),
    ].map(sampleRequestPrincipal))];
    return methods.flatMap((method) => paths.flatMap((path) => hosts.flatMap((host) => tokens.map((requestPrincipal) => ({ method, path, host, requestPrincipal })))));
}

interface Refusal { readonly step: Step; readonly reason: string; readonly unprovable?: true }

/** trafficPolicy.tls, a portLevelSettings[] entry for the port taking over (istio/istio 1.30.3
 * pilot/pkg/xds/endpoints/mtls_checker.go `trafficPolicyTLSModeForPort`, the same merge the cluster builder does). */
function tlsSettingsFor(trafficPolicy: any, port: number): any {
    const level = (trafficPolicy?.portLevelSettings ?? []).find((p: any) => Number(p.port?.number) === port && p.tls);
    return level?.tls ?? trafficPolicy?.tls;
}

interface ClientTls {
    /** What the caller's sidecar sends: PLAINTEXT when it has none or mTLS is off. */
    readonly mode: "ISTIO_MUTUAL" | "MUTUAL" | "SIMPLE" | "DISABLE" | "PLAINTEXT";
    readonly rule?: DestinationRuleObject;
    readonly tls?: any;
    /** mtls_checker.go `checkMtlsEnabled`: the endpoint is marked for Istio mTLS (cross-network routing needs it). */
    readonly endpointMtls: boolean;
}

/**
 * The caller's outbound TLS, as its istiod configures it (istio/istio 1.30.3 pilot/pkg/networking/core/cluster_tls.go
 * `buildUpstreamTLSSettings`): a DestinationRule TLS block is used as written (its mode defaults to DISABLE); without
 * one auto mTLS sends Istio mTLS unless it is off (meshConfig.enableAutoMtls) or the destination's PeerAuthentication,
 * as the caller's istiod sees it (its own cluster's policies), is DISABLE. The endpoint's mTLS mark follows
 * mtls_checker.go `checkMtlsEnabled`: the rule's mode when it has one, ISTIO_MUTUAL only; else not DISABLE. Subsets
 * are not modeled: the proof follows the default route, which uses the rule's top-level traffic policy.
 */
function clientTls(caller: NonNullable<ReturnType<Caller["at"]>>, client: MeshCluster, callee: Callee): ClientTls {
    if (!caller.sidecar) return { mode: "PLAINTEXT", endpointMtls: false };
    const rule = destinationRuleFor(client.destinationRules, callee.host, caller.namespace, callee.namespace, client.mesh);
    const tls = tlsSettingsFor(rule?.spec?.trafficPolicy, callee.port);
    if (tls) {
        const mode = tls.mode ?? "DISABLE";
        return { mode, rule, tls, endpointMtls: mode === "ISTIO_MUTUAL" };
    }
    const serviceMode = effectiveMtlsMode(client.peerAuthentications, callee, callee.port, client.mesh.rootNamespace);
    return { mode: client.autoMtls && serviceMode !== "DISABLE" ? "ISTIO_MUTUAL" : "PLAINTEXT", rule, endpointMtls: serviceMode !== "DISABLE" };
}

/**
 * The connection from `caller` in `client` to `callee`'s endpoints in `server`, up to the server's authorization:
 * what the server sees of the peer, or the step that refuses.
 */
function connect(caller: NonNullable<ReturnType<Caller["at"]>>, client: MeshCluster, callee: Callee, server: MeshCluster): Refusal | { principal?: string } {
    // pilot/pkg/serviceregistry/aggregate/controller.go: a proxy only gets endpoints of clusters its istiod watches
    // (its own, and those of remote secrets: pilot/pkg/serviceregistry/kube/controller/multicluster.go).
    if (caller.sidecar && !client.discovers.includes(server.name)) {
        return { step: "discovery", reason: `istiod of ${client.name} has no remote secret for ${server.name}: its endpoints are unknown to the caller` };
    }
    // Without a sidecar the Service's cluster IP is all there is, and kube-proxy only knows its own cluster's endpoints.
    if (!caller.sidecar && client.name !== server.name) {
        return { step: "routing", reason: `without a sidecar the caller in ${client.name} reaches only its own cluster's endpoints (kube-proxy)` };
    }
    const tls = clientTls(caller, client, callee);
    if (client.network !== server.network) {
        const refused = crossNetwork(client, callee, server, tls);
        if (refused) return refused;
    }
    const mode = tls.mode;
    if (mode === "SIMPLE" || mode === "MUTUAL") {
        return { step: "outbound TLS", unprovable: true, reason: `DestinationRule ${tls.rule!.namespace} sets TLS mode ${mode}: what the server's sidecar makes of that certificate is not an Istio identity the plan can know` };
    }
    // Outbound TLS: the SANs the caller accepts vs the identity the destination presents (see ./identity.ts).
    if (mode === "ISTIO_MUTUAL" && caller.identity?.startsWith(`spiffe://${client.caTrustDomain}/`)) {
        const presented = presentedId(server.caTrustDomain, callee);
        const sans = expectedSans(client.mesh, tls.tls, callee);
        if (!sans.includes(presented)) {
            return { step: "outbound TLS", reason: `the caller's sidecar in ${client.name} expects ${sans.join(" or ")}, ${callee.name} in ${server.name} presents ${presented}${tls.rule ? ` (DestinationRule ${tls.rule.namespace})` : ""}` };
        }
    }
    const port = effectiveMtlsMode(server.peerAuthentications, callee, callee.port, server.mesh.rootNamespace);
    if (mode !== "ISTIO_MUTUAL") {
        if (port === "STRICT") return { step: "peer authentication", reason: `${callee.namespace}/${callee.name} in ${server.name} is STRICT, the caller sends ${mode === "PLAINTEXT" ? "plain text" : `TLS mode ${mode}`}` };
        return {};
    }
    if (port === "DISABLE") return { step: "peer authentication", reason: `${callee.namespace}/${callee.name} in ${server.name} has mTLS DISABLE: it does not terminate the caller's mTLS` };
    // pilot/pkg/networking/plugin/authn/util.go `TrustDomainsForValidation`: the server's sidecar accepts a peer
    // certificate only from its mesh's trust domain, aliases and caCertificates[].trustDomains.
    const td = caller.identity!.slice("spiffe://".length).split("/")[0];
    const accepted = acceptedTrustDomains(server.mesh);
    if (!accepted.includes(td)) return { step: "trust domain", reason: `${server.name} accepts peers of ${accepted.join(", ")}, not ${td}` };
    return { principal: caller.identity!.slice("spiffe://".length) };
}

/**
 * Routing to another network, istio/istio 1.30.3 pilot/pkg/xds/endpoints/ep_filters.go `EndpointsByNetworkFilter`:
 * - an endpoint on a network the caller's proxy does not view (ISTIO_META_REQUESTED_NETWORK_VIEW,
 *   pilot/pkg/model/proxy_view.go) is left out;
 * - with no gateway for the endpoint's network (a Service labelled topology.istio.io/network listening on the
 *   `networking.istio.io/gatewayPort` port, default 15443: serviceregistry/kube/controller/network.go
 *   `getGatewayDetails`) the endpoint's pod IP is sent as is, which another network (another VPC, another cloud)
 *   cannot reach;
 * - a sidecar's endpoint on another network is dropped unless marked for Istio mTLS (`isMtlsEnabled`): the gateway
 *   routes by the mTLS SNI.
 * The gateway then passes the connection through by SNI: a Gateway server on that port in AUTO_PASSTHROUGH whose
 * hosts cover the service (pilot/pkg/networking/core/gateway.go; `*.local` in the multi-network docs). Its filter
 * chains carry no authorization (gateway.go `builtAutoPassthroughFilterChains`: "We do not want any authz here"),
 * so no AuthorizationPolicy of the gateway applies. It forwards to the endpoints its own proxy views: its requested
 * network view must include the endpoint's network.
 */
function crossNetwork(client: MeshCluster, callee: Callee, server: MeshCluster, tls: ClientTls): Refusal | undefined {
    if (client.sidecarNetworkView.length && !client.sidecarNetworkView.includes(server.network)) {
        return { step: "routing", reason: `the sidecars of ${client.name} view only network(s) ${client.sidecarNetworkView.join(", ")}, not ${server.network}` };
    }
    const gw = server.gateways.find((g) => g.network === server.network && g.ports.includes(g.gatewayPort));
    if (!gw) return { step: "routing", reason: `no gateway of network ${server.network} in ${server.name}: the caller is sent the pod IP, which network ${client.network} cannot reach` };
    if (!tls.endpointMtls || tls.mode !== "ISTIO_MUTUAL") {
        return { step: "routing", reason: `a call across networks must be Istio mTLS (SNI routing at the gateway); the caller's sidecar sends ${tls.mode}${tls.rule ? ` (DestinationRule ${tls.rule.namespace})` : ""}` };
    }
    const passthrough = server.gatewayObjects.some((g) => Object.entries(g.spec?.selector ?? {}).every(([k, v]) => gw.labels[k] === v) &&
        (g.spec?.servers ?? []).some((s: any) => Number(s.port?.number) === gw.gatewayPort && s.tls?.mode === "AUTO_PASSTHROUGH" &&
            (s.hosts ?? []).some((h: string) => hostMatches(h, callee.host))));
    if (!passthrough) return { step: "routing", reason: `no Gateway in ${server.name} passes ${callee.host} through on port ${gw.gatewayPort} (AUTO_PASSTHROUGH)` };
    if (gw.networkView.length && !gw.networkView.includes(server.network)) {
        return { step: "routing", reason: `the east-west gateway of ${server.name} views only network(s) ${gw.networkView.join(", ")}: it has no endpoint of ${callee.name} on ${server.network}` };
    }
    return undefined;
}

/** Gateway host matching: `*.local` covers every name ending in `.local`, `*` everything. */
const hostMatches = (pattern: string, host: string) => {
    const h = pattern.includes("/") ? pattern.split("/")[1] : pattern;
    return h === "*" || h === host || (h.startsWith("*.") && host.endsWith(h.slice(1)));
};

export interface ProofInput {
    readonly graph: ProgramGraph;
    readonly services: readonly DeclaredService[];
    /** Cluster name → cloud. */
    readonly clouds: ReadonlyMap<string, string>;
    readonly enforced: boolean;
}

/**
 * Callers with no declared edge: a stray workload in every declared namespace and in one no service uses (a policy
 * naming a namespace must not let its strays in), another mesh's workload impersonating every declared service (only
 * its trust domain differs), and a pod without a sidecar.
 */
function unknownCallers(services: readonly DeclaredService[], workloadOf: (s: DeclaredService) => Workload): Caller[] {
    const namespaces = [...new Set([...services.map((s) => s.namespace), STRAY_NAMESPACE])];
    const stray = (namespace: string): Workload => ({ namespace, serviceAccount: "stray", labels: { app: "stray" } });
    return [
        ...namespaces.map((ns) => ({ label: `${UNKNOWN_CALLERS.undeclared} (${ns})`, at: (c: MeshCluster) => ({ ...stray(ns), identity: presentedId(c.caTrustDomain, stray(ns)), sidecar: true }) })),
        ...services.map((s) => ({ label: `${UNKNOWN_CALLERS.foreign} (as ${s.name})`, at: () => ({ ...workloadOf(s), identity: presentedId(FOREIGN_TRUST_DOMAIN, workloadOf(s)), sidecar: true }) })),
        { label: UNKNOWN_CALLERS.plaintext, at: () => ({ ...stray(namespaces[0]), sidecar: false }) },
    ];
}

export function proveMesh(input: ProofInput): MeshProof {
    const clusters = meshClusters(input.graph, input.clouds);
    const services = input.services;
    const workloadOf = (s: DeclaredService) => ({ namespace: s.namespace, serviceAccount: serviceAccountOf(s), labels: { app: s.name } });
    const callers: Caller[] = [
        ...services.map((s) => ({ label: s.name, at: (c: MeshCluster) => runsOn(s)(c) ? { ...workloadOf(s), identity: presentedId(c.caTrustDomain, workloadOf(s)), sidecar: true } : undefined })),
        { label: INGRESS_CALLER, at: (c: MeshCluster) => c.ingressGateway && { ...c.ingressGateway, identity: presentedId(c.caTrustDomain, c.ingressGateway), sidecar: true } },
        ...unknownCallers(services, workloadOf),
    ];
    const cells: Cell[] = [];
    for (const s of services) {
        const callee: Callee = { ...workloadOf(s), name: s.name, host: `${s.name}.${s.namespace}.svc.cluster.local`, port: s.port, protocol: s.protocol ?? "http", runsIn: runsOn(s) };
        const edges = new Map<string, DeclaredCaller>((s.callers ?? []).map((c) => [c.service, c]));
        if (s.exposed) edges.set(INGRESS_CALLER, { service: INGRESS_CALLER });
        for (const caller of callers) {
            const edge = edges.get(caller.label);
            for (const client of clusters) {
                const at = caller.at(client);
                if (!at) continue;
                for (const server of clusters.filter(callee.runsIn)) {
                    cells.push(judge({ caller, at, client, callee, server, edge }));
                }
            }
        }
    }
    const mismatches = cells.filter((c) => c.mismatch);
    return { enforced: input.enforced, cells, mismatches };
}

function judge(a: { caller: Caller; at: NonNullable<ReturnType<Caller["at"]>>; client: MeshCluster; callee: Callee; server: MeshCluster; edge?: DeclaredCaller }): Cell {
    const base = { caller: a.caller.label, callee: a.callee.name, port: a.callee.port, from: a.client.name, to: a.server.name, declared: !!a.edge };
    const link = connect(a.at, a.client, a.callee, a.server);
    const policies = applicablePolicies(a.server.authorizationPolicies, a.callee, a.server.mesh.rootNamespace);
    const decide = (p: Probe): readonly [Probe, AuthzVerdict] => [p, authorize(policies, { principal: (link as { principal?: string }).principal, port: a.callee.port, tcp: a.callee.protocol === "tcp", ...p }, a.server.mesh)];
    const describe = (p: Probe) => (p.method ? `${p.method} ${p.path}${p.requestPrincipal ? ` with a token of ${p.requestPrincipal}` : ""}` : "a connection");
    const what = a.edge ? "declared call" : "undeclared call";
    if ("step" in link) {
        if (link.unprovable) return { ...base, verdict: "unprovable", step: link.step, reason: link.reason, mismatch: `${what} not provable at ${link.step}` };
        return { ...base, verdict: "refused", step: link.step, reason: link.reason, ...(a.edge ? { mismatch: `declared call refused at ${link.step}` } : {}) };
    }
    if (a.edge) {
        const verdicts = declaredProbes(a.callee, a.edge).map(decide);
        const refused = verdicts.find(([, v]) => v.decision === "refused");
        if (refused) return { ...base, verdict: "refused", step: "authorization", reason: `${describe(refused[0])}: ${refused[1].reason}`, mismatch: "declared call refused at authorization" };
        const unsure = verdicts.find(([, v]) => v.decision === "unknown");
        if (unsure) return { ...base, verdict: "unprovable", step: "authorization", reason: `${describe(unsure[0])}: ${unsure[1].reason}`, mismatch: "declared call not provable at authorization" };
        const wider = beyondProbes(a.callee, a.edge).map(decide).find(([, v]) => v.decision !== "refused");
        return wider
            ? { ...base, verdict: "allowed", step: "authorization", reason: `${describe(wider[0])} (not declared): ${wider[1].reason}`, mismatch: `${wider[1].decision === "allowed" ? "allowed" : "not provably refused"} beyond its declared methods and paths` }
            : { ...base, verdict: "allowed" };
    }
    const verdicts = anyProbes(a.callee, policies).map(decide);
    const allowed = verdicts.find(([, v]) => v.decision === "allowed");
    if (allowed) return { ...base, verdict: "allowed", reason: `${describe(allowed[0])}: ${allowed[1].reason}`, mismatch: "undeclared call allowed" };
    const unsure = verdicts.find(([, v]) => v.decision === "unknown");
    if (unsure) return { ...base, verdict: "unprovable", step: "authorization", reason: `${describe(unsure[0])}: ${unsure[1].reason}`, mismatch: "undeclared call not provably refused" };
    return { ...base, verdict: "refused", step: "authorization", reason: verdicts[0][1].reason };
}

/** The proof for a plan: the stack's declared services, its clusters' clouds (stack output `clusters`). */
export function proofOfPlan(project: string, config: Readonly<Record<string, string>>, graph: ProgramGraph): MeshProof | undefined {
    const raw = config[`${project}:services`];
    if (!raw) return undefined;
    const services: DeclaredService[] = JSON.parse(raw);
    if (!Array.isArray(services) || services.length === 0) return undefined;
    const root = graph.resources.find((r) => r.type === "pulumi:pulumi:Stack");
    const listed = plain(root?.outputs ?? {}).clusters;
    const clouds = new Map<string, string>(Array.isArray(listed) ? listed.map((c: any) => [String(c.name), String(c.cloud)]) : []);
    const stage = Number(config[`${project}:stage`] ?? 0);
    return proveMesh({ graph, services, clouds, enforced: stage >= 3 });
}
