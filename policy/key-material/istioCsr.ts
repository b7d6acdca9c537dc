import * as helmV3 from "@pulumi/kubernetes/helm/v3";
import { PolicyResource, ResourceValidationPolicy, StackValidationPolicy, validateResourceOfType } from "@pulumi/policy";
import { durationSchema, parseGoDuration } from "./durations";
import { chartName, EXEMPT_RESOURCES, isKind, isRelease, kubernetesClusters, skipExempt, wildcardMatches } from "./support";

/** istio-csr as the mesh CA: what its Helm values let it sign and which root it hands to every proxy. */

const CHART = "cert-manager-istio-csr";
/** The chart's default `app.server.maxCertificateDuration` (istio-csr deploy/charts/istio-csr/values.yaml). */
const CHART_DEFAULT_MAX_DURATION = "1h";

export const istioCsrIssuance: ResourceValidationPolicy = {
    name: "istio-csr-issuance",
    description: "istio-csr Helm releases cap workload certificates at maxCertificateDuration, pin the root CA file, and do not keep CertificateRequests.",
    enforcementLevel: "mandatory",
    configSchema: {
        properties: {
            maxCertificateDuration: durationSchema("1h", "Longest workload certificate istio-csr may sign (Go duration); 1h is istio-csr's own default (NIST SP 800-204A SM-DR13)."),
            exemptResources: EXEMPT_RESOURCES,
        },
    },
    validateResource: validateResourceOfType(helmV3.Release, (release, args, report) => {
        if (chartName(release.chart) !== CHART) args.notApplicable(`applies only to the ${CHART} chart`);
        skipExempt(args);
        const { maxCertificateDuration } = args.getConfig<{ maxCertificateDuration: string }>();
        const values = (release.values ?? {}) as Record<string, any>;
        const files = release.valueYamlFiles;
        const hidden = Array.isArray(files) && files.length > 0 ? " (values from valueYamlFiles are invisible to policies: set it inline, in values)" : "";

        const given = values.app?.server?.maxCertificateDuration;
        const duration = parseGoDuration(given ?? CHART_DEFAULT_MAX_DURATION);
        if (duration === undefined || duration <= 0) {
            report(`values.app.server.maxCertificateDuration ${JSON.stringify(given)} is not a positive Go duration: write it like "1h" or "45m"`);
        } else if (duration > parseGoDuration(maxCertificateDuration)!) {
            report(`values.app.server.maxCertificateDuration ${given ?? `${CHART_DEFAULT_MAX_DURATION} (unset: the chart's default)`} exceeds ${maxCertificateDuration}: a stolen workload key stays usable until its certificate expires; lower it to at most ${maxCertificateDuration}`);
        }
        const rootCAFile = values.app?.tls?.rootCAFile;
        if (typeof rootCAFile !== "string" || rootCAFile.trim() === "") {
            report(`values.app.tls.rootCAFile is not set${hidden}: istio-csr then hands proxies whatever CA the issuer returns, so a swapped or misconfigured issuer silently replaces the mesh's trust anchor; mount the root bundle of the offline root and point rootCAFile at it`);
        }
        if (values.app?.certmanager?.preserveCertificateRequests === true) {
            report("values.app.certmanager.preserveCertificateRequests is true: every workload certificate's CertificateRequest (one per proxy per renewal) is kept, so etcd and the API server grow without bound (istio-csr: not for production); set it to false");
        }
    }),
};


/**
 * What istio-csr sends approver-policy: every CSR it forwards, and the one for its own serving certificate, carries
 * a subject with one empty Organization (istio/istio 1.30.3 security/pkg/pki/util/generate_csr.go; istio-csr v0.17.0
 * pkg/server/server.go and pkg/tls/tls.go), and approver-policy v0.27.0 denies an attribute no allowed value covers
 * (pkg/internal/approver/allowed/evaluator.go).
 */
function istioCsrRequestProblems(values: any, policies: readonly PolicyResource[], usable: ReadonlySet<string> | undefined): string[] {
    const ref = values?.app?.certmanager?.issuer ?? {};
    const issuer = { name: ref.name ?? "istio-ca", kind: ref.kind ?? "Issuer", group: ref.group ?? "cert-manager.io" };
    const servingNames: string[] = values?.app?.tls?.certificateDNSNames ?? [`${CHART}.cert-manager.svc`];
    const selecting = policies.filter((p) => {
        const sel = p.props.spec?.selector?.issuerRef;
        const matches = (pattern: unknown, value: string) => typeof pattern !== "string" || wildcardMatches(pattern, value);
        return !sel || (matches(sel.name, issuer.name) && matches(sel.kind, issuer.kind) && matches(sel.group, issuer.group));
    });
    // The policies written for istio-csr: bound to its service account, for workload SPIFFE IDs or its serving names.
    const forIstioCsr = selecting.filter((p) => !usable || usable.has(p.props.metadata?.name)).filter((p) => {
        const allowed = p.props.spec?.allowed ?? {};
        return (allowed.uris?.values ?? []).some((u: string) => u.startsWith("spiffe://"))
            || servingNames.some((n) => (allowed.dnsNames?.values ?? []).some((pattern: string) => wildcardMatches(pattern, n)));
    });
    if (forIstioCsr.length === 0) {
        return [`no CertificateRequestPolicy on ${issuer.kind} ${issuer.name} allows istio-csr's requests (SPIFFE URIs, or its serving names ${servingNames.join(", ")}): approver-policy leaves them unprocessed, so istio-csr never becomes ready; add policies for both, bound to istio-csr's service account`];
    }
    return forIstioCsr.flatMap((p) => {
        const orgs: string[] | undefined = p.props.spec?.allowed?.subject?.organizations?.values;
        const name = p.props.metadata?.name ?? p.name;
        if (!orgs || !orgs.some((o) => wildcardMatches(o, ""))) {
            return [`CertificateRequestPolicy ${name} does not allow the empty subject organization every Istio CSR carries, so approver-policy denies every request istio-csr sends through it: set spec.allowed.subject.organizations.values to [""]`];
        }
        const wider = orgs.filter((o) => o !== "");
        return wider.length > 0
            ? [`CertificateRequestPolicy ${name} allows subject organizations ${wider.map((o) => JSON.stringify(o)).join(", ")}, which istio-csr never requests: anyone bound to it may put them in mesh certificates; allow exactly [""]`]
            : [];
    });
}

/**
 * The CertificateRequestPolicies a service account may `use` by the stack's RBAC, which approver-policy checks
 * before evaluating a policy (pkg/internal/approver/manager/predicate/predicate.go `RBACBound`); undefined when the
 * stack grants it none, so the grants live elsewhere and every policy may apply.
 */
function policiesUsableBy(resources: readonly PolicyResource[], account: { namespace: string; name: string }): Set<string> | undefined {
    const rbac = (kind: string) => resources.filter((r) => r.type === `kubernetes:rbac.authorization.k8s.io/v1:${kind}`);
    const roles = [...rbac("ClusterRole"), ...rbac("Role")];
    const names = new Set<string>();
    let granted = false;
    for (const binding of [...rbac("ClusterRoleBinding"), ...rbac("RoleBinding")]) {
        const subjects: any[] = binding.props.subjects ?? [];
        if (!subjects.some((s) => s.kind === "ServiceAccount" && s.name === account.name && (s.namespace ?? binding.props.metadata?.namespace) === account.namespace)) continue;
        const role = roles.find((r) => r.props.metadata?.name === binding.props.roleRef?.name);
        for (const rule of role?.props.rules ?? []) {
            if (!(rule.verbs ?? []).some((v: string) => v === "use" || v === "*") || !(rule.resources ?? []).some((x: string) => x === "certificaterequestpolicies" || x === "*")) continue;
            granted = true;
            if (!rule.resourceNames?.length) return undefined;
            for (const n of rule.resourceNames) names.add(n);
        }
    }
    return granted ? names : undefined;
}

export const istioCsrRequestsApprovable: StackValidationPolicy = {
    name: "istio-csr-requests-approvable",
    description: "On clusters where approver-policy decides, the CertificateRequestPolicies on istio-csr's issuer allow what istio-csr sends: the empty subject organization of every Istio CSR, and nothing wider.",
    enforcementLevel: "mandatory",
    configSchema: {
        properties: {
            exemptClusters: {
                type: "array", items: { type: "string" }, default: [],
                description: "Names of Kubernetes provider resources (clusters) this policy skips.",
            },
        },
    },
    validateStack: (args, report) => {
        const { exemptClusters } = args.getConfig<{ exemptClusters: string[] }>();
        for (const cluster of kubernetesClusters(args.resources)) {
            if (exemptClusters.includes(cluster.name)) continue;
            if (!cluster.resources.some((r) => isRelease(r, "cert-manager-approver-policy"))) continue;
            const policies = cluster.resources.filter((r) => isKind(r.type, "policy.cert-manager.io", "CertificateRequestPolicy"));
            for (const csr of cluster.resources.filter((r) => isRelease(r, CHART))) {
                const account = { namespace: csr.props.namespace ?? "default", name: csr.props.values?.serviceAccount?.name ?? CHART };
                for (const problem of istioCsrRequestProblems(csr.props.values, policies, policiesUsableBy(cluster.resources, account))) {
                    report(`istio-csr release ${csr.name} on cluster ${cluster.name}: ${problem}`, csr.urn);
                }
            }
        }
    },
};

export const istioCsrPolicies = [istioCsrIssuance, istioCsrRequestsApprovable];
