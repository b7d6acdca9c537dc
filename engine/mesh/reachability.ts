import { CapturedResource, ProgramGraph } from "../graph";
import { plain } from "../values";
import { applicablePolicies, authorize, AuthzRequest, PolicyObject } from "./authorization";
import { acceptedTrustDomains, destinationRuleFor, DestinationRuleObject, expectedSans, IstiodMesh, istiodMesh, presentedId } from "./identity";
import { effectiveMtlsMode, PeerAuthenticationObject } from "./peerAuthentication";

/**
 * The mesh proof: for every caller identity, every declared service port and every pair of clusters (where the caller
 * runs, where the callee's endpoints run), what Istio 1.30.3 does with a call, step by step as the proxies do, and
 * whether that is what the declared service graph says. Computed from the plan's graph (what the program registers)
 * and the stack's `services`; nothing here reads a cluster.
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
    readonly verdict: "allowed" | "refused";
    /** The first step that refuses, or for a declared call allowed beyond what was declared, "authorization". */
    readonly step?: Step;
    readonly reason?: string;
    /** A declared call refused, an undeclared one allowed, or a declared one allowed beyond its methods and paths. */
    readonly mismatch?: string;
}

export interface MeshProof {
    /** The graph is enforced from stage 3 (authorization generated): before, every call is allowed by design. */
    readonly enforced: boolean;
    readonly cells: readonly Cell[];
    readonly mismatches: readonly Cell[];
}

const RELEASE = "kubernetes:helm.sh/v3:Release";
/** The port of a network's gateway (istio/istio 1.30.3 pilot/pkg/serviceregistry/kube/controller/network.go: the `networking.istio.io/gatewayPort` label, default 15443). */
export const EAST_WEST_PORT = 15443;
export const INGRESS_CALLER = "ingress-gateway";
/** Callers the proof must see refused everywhere. */
export const UNKNOWN_CALLERS = {
    undeclared: "unknown: no declared edges",
    foreign: "unknown: foreign trust domain",
    plaintext: "unknown: plain text",
} as const;
const FOREIGN_TRUST_DOMAIN = "foreign.example";

export interface Workload {
    readonly namespace: string;
    readonly serviceAccount: string;
    readonly labels: Readonly<Record<string, string>>;
}

interface Gateway {
    readonly namespace: string;
    readonly labels: Record<string, string>;
    readonly ports: number[];
}

export interface MeshCluster {
    readonly name: string;
    readonly cloud: string;
    readonly network: string;
    readonly mesh: IstiodMesh;
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
    .map((r) => { const i = plain(r.inputs); return { namespace: i.metadata?.namespace ?? "default", name: i.metadata?.name ?? r.name, spec: i.spec ?? {}, metadata: i.metadata ?? {} }; });

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
        const gateways = chart("gateway").map((g) => ({
            namespace: g.namespace, labels: g.values?.labels ?? {}, name: g.values?.name ?? g.name,
            ports: (g.values?.service?.ports ?? []).map((p: any) => Number(p.port)),
        }));
        const ingress = gateways.find((g) => g.labels.istio === "ingressgateway");
        const remote = objects(on, "Secret").filter((s) => s.metadata.labels?.["istio/multiCluster"] === "true" && s.namespace === mesh.rootNamespace)
            .map((s) => s.metadata.annotations?.["networking.istio.io/cluster"]).filter((c): c is string => typeof c === "string");
        const name = values.global?.multiCluster?.clusterName || provider.name;
        return [{
            name, cloud: clouds.get(name) ?? clouds.get(provider.name) ?? "", network: values.global?.network ?? "",
            mesh, caTrustDomain: csr?.values?.app?.tls?.trustDomain ?? mesh.trustDomain, discovers: [name, ...remote],
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

/** One request a caller sends: an HTTP service gets a method and a path, a TCP one a connection. */
interface Probe { readonly method?: string; readonly path?: string }

/** A concrete path a pattern matches: `/cart/*` is probed with `/cart/probe`, `*.json` with `/probe.json`. */
const samplePath = (pattern: string) => pattern.endsWith("*") ? `${pattern.slice(0, -1)}probe` : pattern.startsWith("*") ? `/probe${pattern.slice(1)}` : pattern;
const defaultMethod = (c: Callee) => (c.protocol === "grpc" ? "POST" : "GET");

function declaredProbes(callee: Callee, edge: DeclaredCaller | undefined): Probe[] {
    if (callee.protocol === "tcp") return [{}];
    const methods = edge?.methods ?? [defaultMethod(callee)];
    const paths = (edge?.paths ?? ["/"]).map(samplePath);
    return methods.flatMap((method) => paths.map((path) => ({ method, path })));
}

/** Requests outside a declared edge's methods and paths: each must be refused, or the edge is wider than declared. */
function beyondProbes(callee: Callee, edge: DeclaredCaller): Probe[] {
    if (callee.protocol === "tcp") return [];
    const probes: Probe[] = [];
    const path = samplePath(edge.paths?.[0] ?? "/");
    if (edge.methods) probes.push({ method: ["GET", "POST", "PUT", "PATCH", "DELETE"].find((m) => !edge.methods!.includes(m)), path });
    if (edge.paths) probes.push({ method: edge.methods?.[0] ?? defaultMethod(callee), path: "/undeclared/probe" });
    return probes;
}

/** An undeclared caller is probed with every method and path the callee's policies name, and `/`. */
function anyProbes(callee: Callee, policies: readonly PolicyObject[]): Probe[] {
    if (callee.protocol === "tcp") return [{}];
    const ops = policies.flatMap((p) => (p.spec?.rules ?? []).flatMap((r: any) => (r.to ?? []).map((t: any) => t.operation ?? {})));
    const methods = [...new Set([defaultMethod(callee), ...ops.flatMap((o: any) => o.methods ?? [])])].filter((m) => m !== "*");
    const paths = [...new Set(["/", ...ops.flatMap((o: any) => o.paths ?? []).map(samplePath)])];
    return methods.flatMap((method) => paths.map((path) => ({ method, path })));
}

interface Refusal { readonly step: Step; readonly reason: string }

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
    // pilot/pkg/xds/endpoints/ep_filters.go `EndpointsByNetworkFilter`: endpoints on another network are reached
    // through that network's gateway (a Service labelled topology.istio.io/network, port 15443), and dropped when it
    // has none. The gateway must pass mTLS through by SNI: a Gateway server on 15443 in AUTO_PASSTHROUGH whose hosts
    // cover the service (pilot/pkg/networking/core/gateway.go, `*.local` in the multi-network docs), and its own
    // authorization must let the connection in (it sees no peer identity: TLS is not terminated there).
    if (client.network !== server.network) {
        const gw = server.gateways.find((g) => g.labels["topology.istio.io/network"] === server.network && g.ports.includes(EAST_WEST_PORT));
        if (!gw) return { step: "routing", reason: `no gateway of network ${server.network} exposes port ${EAST_WEST_PORT} in ${server.name}` };
        const passthrough = server.gatewayObjects.some((g) => Object.entries(g.spec?.selector ?? {}).every(([k, v]) => gw.labels[k] === v) &&
            (g.spec?.servers ?? []).some((s: any) => Number(s.port?.number) === EAST_WEST_PORT && s.tls?.mode === "AUTO_PASSTHROUGH" &&
                (s.hosts ?? []).some((h: string) => hostMatches(h, callee.host))));
        if (!passthrough) return { step: "routing", reason: `no Gateway in ${server.name} passes ${callee.host} through on port ${EAST_WEST_PORT} (AUTO_PASSTHROUGH)` };
        const gwVerdict = authorize(applicablePolicies(server.authorizationPolicies, gw, server.mesh.rootNamespace), { port: EAST_WEST_PORT, tcp: true });
        if (!gwVerdict.allowed) return { step: "routing", reason: `the east-west gateway of ${server.name} refuses port ${EAST_WEST_PORT}: ${gwVerdict.reason}` };
    }
    // Outbound TLS (pilot/pkg/networking/core/cluster_tls.go `buildUpstreamTLSSettings`): see ./identity.ts.
    const rule = caller.sidecar ? destinationRuleFor(client.destinationRules, callee.host, caller.namespace, callee.namespace, client.mesh) : undefined;
    const mode = !caller.sidecar ? "PLAINTEXT" : rule?.spec?.trafficPolicy?.tls?.mode ?? "ISTIO_MUTUAL";
    const mutual = mode === "ISTIO_MUTUAL" || mode === "MUTUAL";
    if (mutual && caller.identity?.startsWith(`spiffe://${client.caTrustDomain}/`)) {
        const presented = presentedId(server.caTrustDomain, callee);
        const sans = expectedSans(client.mesh, rule, callee);
        if (!sans.includes(presented)) {
            return { step: "outbound TLS", reason: `the caller's sidecar in ${client.name} expects ${sans.join(" or ")}, ${callee.name} in ${server.name} presents ${presented}${rule ? ` (DestinationRule ${rule.namespace})` : ""}` };
        }
    }
    const port = effectiveMtlsMode(server.peerAuthentications, callee, callee.port, server.mesh.rootNamespace);
    if (!mutual) {
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

export function proveMesh(input: ProofInput): MeshProof {
    const clusters = meshClusters(input.graph, input.clouds);
    const services = input.services;
    const workloadOf = (s: DeclaredService) => ({ namespace: s.namespace, serviceAccount: serviceAccountOf(s), labels: { app: s.name } });
    const callers: Caller[] = [
        ...services.map((s) => ({ label: s.name, at: (c: MeshCluster) => runsOn(s)(c) ? { ...workloadOf(s), identity: presentedId(c.caTrustDomain, workloadOf(s)), sidecar: true } : undefined })),
        { label: INGRESS_CALLER, at: (c: MeshCluster) => c.ingressGateway && { ...c.ingressGateway, identity: presentedId(c.caTrustDomain, c.ingressGateway), sidecar: true } },
    ];
    // Unknown callers, placed in the namespace of the first declared service (where a stray pod is most likely).
    const home = services[0]?.namespace ?? "default";
    const stray = { namespace: home, serviceAccount: "unknown", labels: { app: "unknown" } };
    const unknown: Caller[] = [
        { label: UNKNOWN_CALLERS.undeclared, at: (c) => ({ ...stray, identity: presentedId(c.caTrustDomain, stray), sidecar: true }) },
        // Another mesh's workload claiming a declared caller's name: only its trust domain differs.
        { label: UNKNOWN_CALLERS.foreign, at: () => services[0] && { ...workloadOf(services[0]), identity: presentedId(FOREIGN_TRUST_DOMAIN, workloadOf(services[0])), sidecar: true } },
        { label: UNKNOWN_CALLERS.plaintext, at: () => ({ ...stray, sidecar: false }) },
    ];
    const cells: Cell[] = [];
    for (const s of services) {
        const callee: Callee = { ...workloadOf(s), name: s.name, host: `${s.name}.${s.namespace}.svc.cluster.local`, port: s.port, protocol: s.protocol ?? "http", runsIn: runsOn(s) };
        const edges = new Map<string, DeclaredCaller>((s.callers ?? []).map((c) => [c.service, c]));
        if (s.exposed) edges.set(INGRESS_CALLER, { service: INGRESS_CALLER });
        for (const caller of [...callers, ...unknown]) {
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
    const request = (p: Probe): AuthzRequest => ({ principal: (link as { principal?: string }).principal, port: a.callee.port, tcp: a.callee.protocol === "tcp", host: a.callee.host, ...p });
    const describe = (p: Probe) => (p.method ? `${p.method} ${p.path}` : "a connection");
    if ("step" in link) {
        return { ...base, verdict: "refused", step: link.step, reason: link.reason, ...(a.edge ? { mismatch: `declared call refused at ${link.step}` } : {}) };
    }
    if (a.edge) {
        for (const p of declaredProbes(a.callee, a.edge)) {
            const v = authorize(policies, request(p));
            if (!v.allowed) return { ...base, verdict: "refused", step: "authorization", reason: `${describe(p)}: ${v.reason}`, mismatch: "declared call refused at authorization" };
        }
        const wider = beyondProbes(a.callee, a.edge).map((p) => [p, authorize(policies, request(p))] as const).find(([, v]) => v.allowed);
        return wider
            ? { ...base, verdict: "allowed", step: "authorization", reason: `${describe(wider[0])} (not declared): ${wider[1].reason}`, mismatch: "allowed beyond its declared methods and paths" }
            : { ...base, verdict: "allowed" };
    }
    const allowed = anyProbes(a.callee, policies).map((p) => [p, authorize(policies, request(p))] as const).find(([, v]) => v.allowed);
    if (allowed) return { ...base, verdict: "allowed", reason: `${describe(allowed[0])}: ${allowed[1].reason}`, mismatch: "undeclared call allowed" };
    return { ...base, verdict: "refused", step: "authorization", reason: authorize(policies, request(anyProbes(a.callee, policies)[0])).reason };
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
