import { CapturedResource, ProgramGraph } from "../graph";
import { MeshProof } from "../mesh/reachability";
import { Plan } from "../plan";
import { NotRun, Violation } from "../policy";
import { plain, redact } from "../values";
import { Changes } from "./changes";

/**
 * What the reports show, read from the plan as an emulated create registered it (every value a provider computes
 * is filled in, as it would be once created). Only named, public fields are taken, each through `redact`: a secret
 * never reaches a report.
 */
export interface ReportModel {
    readonly project: string;
    readonly stack: string;
    readonly mode: string;
    readonly now: string;
    readonly stage?: number;
    readonly environment?: string;
    readonly enabled: readonly string[];
    readonly clusters: readonly ClusterView[];
    /** `watcher` holds a remote secret for `watched`: its istiod discovers `watched`'s endpoints. */
    readonly remoteSecrets: readonly { readonly watcher: string; readonly watched: string }[];
    readonly cas: readonly CaView[];
    readonly issuers: readonly IssuerView[];
    readonly chartVersions: Readonly<Record<string, string>>;
    readonly violations: readonly Violation[];
    readonly notRun: readonly NotRun[];
    readonly packs: readonly string[];
    readonly mesh?: MeshProof;
    readonly resources: readonly ResourceView[];
    readonly changes?: Changes;
}

export interface ClusterView {
    readonly name: string;
    readonly cloud: string;
    readonly region: string;
    readonly network: string;
    readonly trustDomain: string;
    readonly endpoint: string;
    readonly eastWestIps: readonly string[];
    readonly egressIps: readonly string[];
    /** CIDRs the cluster's API server admits (EKS publicAccessCidrs, GKE master authorized networks). */
    readonly apiAllowList: readonly string[];
}

export interface CaView {
    readonly name: string;
    readonly role: "root" | "intermediate";
    readonly subject: string;
    readonly issuer: string;
    readonly keyAlgorithm: string;
    readonly notBefore: string;
    readonly notAfter: string;
    readonly daysToExpiry: number;
    readonly serialNumber: string;
    readonly usedBy: readonly string[];
    /** The cluster an intermediate signs for. */
    readonly cluster?: string;
    readonly constraints: readonly string[];
}

export interface IssuerView {
    readonly cluster: string;
    readonly kind: string;
    readonly name: string;
    /** The CA it signs with: `ca` (the cluster's intermediate), `selfSigned`, `acme`... */
    readonly signs: string;
}

export interface ResourceView {
    readonly type: string;
    readonly name: string;
    readonly component: string;
    readonly cluster: string;
}

const DAY_MS = 86_400_000;

export function reportModel(plan: Plan, mesh: MeshProof | undefined, changes?: Changes): ReportModel {
    const resources = plan.graph.resources;
    const byUrn = new Map(resources.map((r) => [r.urn, r]));
    const outputs = redact(rootOf(plan.graph)?.outputs ?? {}) as Record<string, any>;
    const clusters: ClusterView[] = (Array.isArray(outputs.clusters) ? outputs.clusters : []).map((c: any) => ({
        name: String(c.name), cloud: String(c.cloud), region: String(c.region), network: String(c.network ?? ""),
        trustDomain: String(c.trustDomain ?? ""), endpoint: String(c.endpoint ?? ""),
        eastWestIps: strings(c.eastWestIps), egressIps: strings(c.egressIps), apiAllowList: apiAllowList(resources, byUrn, String(c.name)),
    }));
    const remoteSecrets = resources
        .filter((r) => r.type === "kubernetes:core/v1:Secret" && plain(r.inputs)?.metadata?.labels?.["istio/multiCluster"] === "true")
        .map((r) => ({ watcher: byUrn.get(r.provider)?.name ?? "", watched: String(plain(r.inputs).metadata.annotations?.["networking.istio.io/cluster"] ?? "") }));
    // cert-manager's own issuers and the external issuers of the managed CA backends (aws-privateca-issuer's
    // AWSPCA(Cluster)Issuer, google-cas-issuer's GoogleCAS(Cluster)Issuer).
    const issuers = resources
        .filter((r) => r.custom && !r.read && /^kubernetes:[^:]+:\w*Issuer$/.test(r.type))
        .map((r) => {
            const i = redact(r.inputs) as any;
            const kind = String(i.kind ?? r.type.split(":").pop());
            const signs = /^AWSPCA/.test(kind) ? "ca (AWS Private CA)" : /^GoogleCAS/.test(kind) ? "ca (Google CAS)" : Object.keys(i.spec ?? {}).join(", ");
            return { cluster: byUrn.get(r.provider)?.name ?? "", kind, name: String(i.metadata?.name ?? r.name), signs };
        });
    return {
        project: plan.project.name, stack: plan.settings.stack, mode: plan.mode, now: plan.now.toISOString(),
        stage: typeof outputs.stage === "number" ? outputs.stage : undefined,
        environment: typeof outputs.environment === "string" ? outputs.environment : undefined,
        enabled: strings(outputs.enabled),
        clusters, remoteSecrets, issuers,
        cas: certificateAuthorities(outputs, [plan.graph, ...plan.referencedGraphs.values()], plan.now),
        chartVersions: typeof outputs.chartVersions === "object" && outputs.chartVersions ? outputs.chartVersions : {},
        violations: plan.violations, notRun: plan.notRun,
        packs: plan.packs.map((p) => `${p.name}@${p.version}`),
        mesh, changes,
        resources: resources.filter((r) => r.custom && !r.read && !r.type.startsWith("pulumi:")).map((r) => ({
            type: r.type, name: r.name, component: topComponent(r, byUrn), cluster: byUrn.get(r.provider)?.name ?? "",
        })),
    };
}

const rootOf = (graph: ProgramGraph) => graph.resources.find((r) => r.type === "pulumi:pulumi:Stack");
const strings = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : []);

function topComponent(r: CapturedResource, byUrn: ReadonlyMap<string, CapturedResource>): string {
    let top = "(top level)";
    for (let cur = byUrn.get(r.parent); cur && cur.type !== "pulumi:pulumi:Stack"; cur = byUrn.get(cur.parent)) if (!cur.custom) top = `${cur.type.split(":").pop()} ${cur.name}`;
    return top;
}

/** The cluster's API allow-list, from the cluster resource under the cluster's component. */
function apiAllowList(resources: readonly CapturedResource[], byUrn: ReadonlyMap<string, CapturedResource>, cluster: string): string[] {
    const owned = (r: CapturedResource) => {
        for (let cur = byUrn.get(r.parent); cur; cur = byUrn.get(cur.parent)) if (!cur.custom && cur.name === cluster) return true;
        return false;
    };
    const eks = resources.find((r) => r.type === "aws:eks/cluster:Cluster" && owned(r));
    if (eks) return strings((redact(eks.inputs) as any).vpcConfig?.publicAccessCidrs);
    const gke = resources.find((r) => r.type === "gcp:container/cluster:Cluster" && owned(r));
    const blocks = (redact(gke?.inputs ?? {}) as any).masterAuthorizedNetworksConfig?.cidrBlocks;
    return Array.isArray(blocks) ? blocks.map((b: any) => String(b.cidrBlock)) : [];
}

/**
 * Roots and intermediates: a mesh stack's `pkiInventory` (per cluster), or a pki stack's `inventory`; constraints
 * from the intermediate's signing request (components/pki/IntermediateCertificate.ts) in whichever graph holds it.
 */
function certificateAuthorities(outputs: Record<string, any>, graphs: readonly ProgramGraph[], now: Date): CaView[] {
    const entries: any[] = [];
    if (Array.isArray(outputs.pkiInventory)) {
        for (const c of outputs.pkiInventory) entries.push(...(c.roots ?? []), { ...c.intermediate, cluster: c.cluster });
    }
    if (Array.isArray(outputs.inventory)) entries.push(...outputs.inventory);
    const signed = graphs.flatMap((g) => g.resources).filter((r) => r.type === "pulumi-nodejs:dynamic/pki:IntermediateCertificate").map((r) => redact(r.outputs) as any);
    const seen = new Set<string>();
    const cas: CaView[] = [];
    for (const e of entries) {
        if (!e?.serialNumber || seen.has(e.serialNumber)) continue;
        seen.add(e.serialNumber);
        const cluster = e.cluster ?? (e.role === "intermediate" ? signed.find((s) => String(e.name).includes(s.cluster))?.cluster : undefined);
        const sig = signed.find((s) => s.cluster === cluster);
        const constraints = e.role === "intermediate" && sig
            ? [`pathlen:${sig.maxPathLength}`, ...Object.entries(sig.nameConstraints ?? {}).map(([k, v]) => `${k}: ${strings(v).join(", ")}`)]
            : [];
        cas.push({
            name: String(e.name), role: e.role === "root" ? "root" : "intermediate", subject: String(e.subject), issuer: String(e.issuer),
            keyAlgorithm: String(e.keyAlgorithm), notBefore: String(e.notBefore), notAfter: String(e.notAfter),
            daysToExpiry: Math.floor((Date.parse(e.notAfter) - now.getTime()) / DAY_MS), serialNumber: String(e.serialNumber),
            usedBy: strings(e.usedBy), cluster, constraints,
        });
    }
    return cas;
}
