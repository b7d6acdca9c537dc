import { PolicyResource, ReportViolation, ResourceValidation, ResourceValidationArgs } from "@pulumi/policy";
import { isKind, isRelease, JsonSchema, skipExempt } from "./plumbing";
import { propsOf } from "./preview";

export { chartName, EXEMPT_RESOURCES, isRelease, JsonSchema, skipExempt, stackOf } from "./plumbing";

/**
 * How the mesh looks to a policy: Istio custom resources, Helm releases and the clusters (explicit Kubernetes
 * providers) they are applied to. Shared by the rules of this pack only, so the pack stays self-contained.
 */

export const PRODUCTION_STACKS: JsonSchema = {
    type: "array", items: { type: "string" }, default: ["prod"],
    description: "Stacks held to production rules (the stack is read from each resource's URN).",
};

export const ROOT_NAMESPACE: JsonSchema = {
    type: "string", minLength: 1, default: "istio-system",
    description: "The mesh root namespace of clusters without an istiod Helm release in the stack; with one, its meshConfig.rootNamespace (or global.istioNamespace) decides.",
};

export const EXEMPT_CLUSTERS: JsonSchema = {
    type: "array", items: { type: "string" }, default: [],
    description: "Names of Kubernetes provider resources (clusters) this policy skips.",
};

export const EXEMPT_NAMESPACES: JsonSchema = {
    type: "array", items: { type: "string" },
    // The control plane and the CA cannot depend on the mesh they run; system namespaces are not Istio's.
    // monitoring: Prometheus opts in per pod (only when it federates through the mesh), not per namespace.
    default: ["kube-system", "kube-public", "kube-node-lease", "istio-system", "cert-manager", "monitoring"],
    description: "Kubernetes namespaces outside the mesh.",
};

export const PORT_LIST = (ports: number[]): JsonSchema => ({ type: "array", items: { type: "integer", minimum: 1, maximum: 65535 }, default: ports });

export interface ObjectMeta {
    readonly name?: string;
    readonly namespace?: string;
    readonly labels?: Record<string, string>;
    readonly annotations?: Record<string, string>;
}

export interface IstioObject {
    readonly metadata?: ObjectMeta;
    readonly spec?: any;
}

const ISTIO_GROUPS = {
    PeerAuthentication: "security.istio.io",
    AuthorizationPolicy: "security.istio.io",
    DestinationRule: "networking.istio.io",
    VirtualService: "networking.istio.io",
    Gateway: "networking.istio.io",
} as const;

export type IstioKind = keyof typeof ISTIO_GROUPS;

/**
 * `k8s.apiextensions.CustomResource` registers `kubernetes:<group>/<version>:<Kind>` and its class carries no
 * `__pulumiType`, so Istio objects are recognised by their type token, for every served API version.
 */
export function isIstioKind(type: string, kind: IstioKind): boolean {
    return isKind(type, ISTIO_GROUPS[kind], kind);
}

/** Any object of an Istio API group (security, networking, telemetry, extensions). */
export function isIstioResource(type: string): boolean {
    return /^kubernetes:([a-z0-9-]+\.)*istio\.io\/[^:]+:/.test(type);
}

/** A validator for one Istio kind, honouring `exemptResources`. */
export function validateIstio(kind: IstioKind, fn: (obj: IstioObject, args: ResourceValidationArgs, report: ReportViolation) => void): ResourceValidation {
    return (args, report) => {
        if (!isIstioKind(args.type, kind)) args.notApplicable(`applies only to Istio ${kind} resources`);
        skipExempt(args);
        fn(args.props as IstioObject, args, report);
    };
}

/** The namespace an object lands in: its own, else its provider's default namespace, else `default`. */
export function namespaceOf(obj: IstioObject, provider?: { props: Record<string, any> }): string {
    return obj.metadata?.namespace ?? provider?.props.namespace ?? "default";
}

/** An empty selector selects every workload in scope, so it counts as none. */
export function hasSelector(spec: { selector?: { matchLabels?: Record<string, string> } } | undefined): boolean {
    return Object.keys(spec?.selector?.matchLabels ?? {}).length > 0;
}

/** A cluster of the mesh: one Kubernetes provider and what the program applies through it. */
export interface Cluster {
    readonly provider: PolicyResource;
    /** The cluster's resources, each with the props it will have (its inputs where a first preview has no outputs). */
    readonly resources: readonly PolicyResource[];
}

/**
 * Every Kubernetes provider, with its resources. A default provider (`default_4_34_2`) is the cluster the ambient
 * kubeconfig points at: one cluster like any explicit one.
 */
export function clusters(resources: readonly PolicyResource[]): Cluster[] {
    const providers = resources.filter((r) => r.type === "pulumi:providers:kubernetes");
    // Grouped in one pass: a stack has a few providers, a very large one thousands.
    const managed = new Map<string, PolicyResource[]>(providers.map((p) => [p.urn, []]));
    for (const r of resources) {
        const group = r.provider && managed.get(r.provider.urn);
        if (!group) continue;
        const props = propsOf(r);
        group.push(props === r.props ? r : { ...r, props });
    }
    return providers.map((provider) => ({ provider, resources: managed.get(provider.urn)! }));
}

/**
 * Every Kubernetes cluster the stack applies to, default providers included: the engine names a default provider
 * `pulumi:providers:kubernetes::default` (or `default_<version>`), and it talks to one cluster like any other. A
 * resource whose provider reference is missing goes through the default one.
 */
export function kubernetesClusters(resources: readonly PolicyResource[]): Cluster[] {
    const kubernetes = resources.filter((r) => r.type.startsWith("kubernetes:"));
    const providerOf = (r: PolicyResource) => (r.provider?.type === "pulumi:providers:kubernetes" ? r.provider.urn : "default");
    const byUrn = new Map<string, PolicyResource>();
    for (const r of resources) if (!byUrn.has(r.urn)) byUrn.set(r.urn, r);
    // In the order their providers first appear.
    const grouped = new Map<string, PolicyResource[]>();
    for (const r of kubernetes) {
        const urn = providerOf(r);
        const group = grouped.get(urn);
        if (group) group.push(r);
        else grouped.set(urn, [r]);
    }
    return [...grouped].map(([urn, managed]) => ({
        provider: byUrn.get(urn) ?? ({ name: "default", urn, type: "pulumi:providers:kubernetes", props: {} } as PolicyResource),
        resources: managed,
    }));
}

/** Clusters that run Istio: some Istio object or an istiod Helm release goes through their provider. */
export function meshClusters(resources: readonly PolicyResource[]): Cluster[] {
    return clusters(resources).filter((c) => c.resources.some((r) => isIstioResource(r.type) || isRelease(r, "istiod")));
}

/** The mesh's root namespace as the istiod chart renders it, when the cluster has an istiod release. */
export function rootNamespaceOf(cluster: Cluster): string | undefined {
    const istiod = cluster.resources.find((r) => isRelease(r, "istiod"));
    if (!istiod) return undefined;
    const values = istiod.props.values ?? {};
    return values.meshConfig?.rootNamespace || values.global?.istioNamespace || "istio-system";
}
