import { PolicyResource, StackValidationPolicy } from "@pulumi/policy";
import { isKind, kubernetesClusters } from "./support";

/**
 * ACME HTTP-01 where it can work. The solver cert-manager picks for a name (cert-manager v1.21.1
 * pkg/util/solverpicker/solverpicker.go `Pick`: a matching `dnsNames` selector first, then the longest matching
 * `dnsZones`, then a solver without selector), and what then happens:
 * - a wildcard name gets only a dns-01 challenge from the CA (RFC 8555 §7.1.3), so an http01 solver never applies
 *   and the order fails ("no configured challenge solvers can be used for this challenge", acmeorders/util.go);
 * - every cluster places its own order for the names of its Certificates, and the CA fetches each token from
 *   whichever cluster the name's DNS answers with: with two clusters, one order at a time fails;
 * - an `ingress` solver's Ingress is served only by the controller of its IngressClass (Istio in its default STRICT
 *   mode ignores an Ingress whose class does not exist: istio/istio 1.30.3
 *   pilot/pkg/config/kube/ingress/virtualservices.go `shouldProcessIngressWithClass`).
 */

interface Solver {
    readonly http01?: { readonly ingress?: { readonly ingressClassName?: string } };
    readonly dns01?: unknown;
    readonly selector?: { readonly dnsNames?: string[]; readonly dnsZones?: string[] };
}

/** The solver cert-manager picks for `name` (label selectors are taken to match). */
export function pickSolver(solvers: readonly Solver[], name: string): Solver | undefined {
    const wildcard = name.startsWith("*.");
    const usable = solvers.filter((s) => (wildcard ? s.dns01 !== undefined : true));
    const zoneMatch = (s: Solver) => Math.max(0, ...(s.selector?.dnsZones ?? []).filter((z) => name === z || name.endsWith(`.${z}`)).map((z) => z.split(".").length));
    const matches = usable.filter((s) => !s.selector
        || ((!s.selector.dnsNames?.length || s.selector.dnsNames.includes(name)) && (!s.selector.dnsZones?.length || zoneMatch(s) > 0)));
    const byName = matches.filter((s) => s.selector?.dnsNames?.includes(name));
    const candidates = byName.length > 0 ? byName : matches;
    return [...candidates].sort((a, b) => zoneMatch(b) - zoneMatch(a))[0];
}

const acmeIssuers = (resources: readonly PolicyResource[]) => resources.filter((r) =>
    (isKind(r.type, "cert-manager.io", "Issuer") || isKind(r.type, "cert-manager.io", "ClusterIssuer")) && r.props.spec?.acme);

/** The ACME issuer a Certificate names (kind Issuer unless said otherwise, in the Certificate's namespace). */
function issuerOf(cert: PolicyResource, issuers: readonly PolicyResource[]): PolicyResource | undefined {
    const ref = cert.props.spec?.issuerRef ?? {};
    if ((ref.group ?? "cert-manager.io") !== "cert-manager.io") return undefined;
    const kind = ref.kind ?? "Issuer";
    return issuers.find((i) => isKind(i.type, "cert-manager.io", kind) && i.props.metadata?.name === ref.name
        && (kind === "ClusterIssuer" || i.props.metadata?.namespace === cert.props.metadata?.namespace));
}

export const acmeHttp01WhereItWorks: StackValidationPolicy = {
    name: "acme-http01-where-it-works",
    description: "ACME HTTP-01 solvers serve only names they can validate: no wildcard, no name ordered by several clusters, and an Ingress class that exists.",
    enforcementLevel: "mandatory",
    configSchema: {
        properties: {
            externalIngressClasses: {
                type: "array", items: { type: "string" }, default: [],
                description: "IngressClasses installed outside this stack that http01 ingress solvers may name.",
            },
            exemptClusters: { type: "array", items: { type: "string" }, default: [], description: "Names of Kubernetes provider resources (clusters) this policy skips." },
        },
    },
    validateStack: (args, report) => {
        const { externalIngressClasses, exemptClusters } = args.getConfig<{ externalIngressClasses: string[]; exemptClusters: string[] }>();
        const http01Names = new Map<string, Array<{ cluster: string; cert: PolicyResource }>>();
        for (const cluster of kubernetesClusters(args.resources).filter((c) => !exemptClusters.includes(c.name))) {
            const issuers = acmeIssuers(cluster.resources);
            const classes = new Set([...externalIngressClasses, ...cluster.resources.filter((r) => r.type === "kubernetes:networking.k8s.io/v1:IngressClass").map((r) => r.props.metadata?.name)]);
            for (const issuer of issuers) {
                for (const s of (issuer.props.spec.acme.solvers ?? []) as Solver[]) {
                    const className = s.http01?.ingress?.ingressClassName;
                    if (className !== undefined && !classes.has(className)) {
                        report(`ACME issuer ${issuer.name} on cluster ${cluster.name} solves HTTP-01 through an Ingress of class ${className}, and no IngressClass ${className} exists: no controller serves the challenge (Istio ignores Ingresses of unknown classes); create the IngressClass (for Istio, controller istio.io/ingress-controller), list it in externalIngressClasses, or use dns01`, issuer.urn);
                    }
                }
            }
            for (const cert of cluster.resources.filter((r) => isKind(r.type, "cert-manager.io", "Certificate"))) {
                const issuer = issuerOf(cert, issuers);
                if (!issuer) continue;
                for (const name of (cert.props.spec?.dnsNames ?? []) as string[]) {
                    const solvers = (issuer.props.spec.acme.solvers ?? []) as Solver[];
                    const picked = pickSolver(solvers, name);
                    if (name.startsWith("*.") && !picked && solvers.some((s) => s.http01)) {
                        report(`Certificate ${cert.name} on cluster ${cluster.name} asks ${issuer.name} for wildcard ${name}, which ACME CAs validate only by DNS-01, and the issuer has no dns01 solver for it: add one`, cert.urn);
                    } else if (picked?.http01) {
                        http01Names.set(name, [...http01Names.get(name) ?? [], { cluster: cluster.name, cert }]);
                    }
                }
            }
        }
        for (const [name, orders] of http01Names) {
            const clusters = [...new Set(orders.map((o) => o.cluster))];
            if (clusters.length < 2) continue;
            for (const { cluster, cert } of orders) {
                report(`Certificate ${cert.name} on cluster ${cluster} orders ${name} by HTTP-01, as clusters ${clusters.filter((c) => c !== cluster).join(", ")} do: the CA fetches each token from whichever cluster DNS answers with, so the orders fail in turn; use a dns01 solver`, cert.urn);
            }
        }
    },
};

export const acmePolicies = [acmeHttp01WhereItWorks];
