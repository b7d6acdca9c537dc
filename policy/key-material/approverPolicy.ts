import { ResourceValidationPolicy } from "@pulumi/policy";
import { durationSchema, parseGoDuration } from "./durations";
import { EXEMPT_RESOURCES, validateKind, wildcardMatches } from "./support";

/**
 * approver-policy `CertificateRequestPolicy`s on the mesh issuer. approver-policy approves a request when any
 * policy that selects its issuer (and that the requester may `use`) allows it, so one loose policy is enough for a
 * requester to get a CA, a long-lived or an arbitrary identity signed by the cluster's intermediate. Field semantics:
 * cert-manager/approver-policy pkg/apis/policy/v1alpha1/types_certificaterequestpolicy.go.
 */

const GROUP = "policy.cert-manager.io";
const KIND = "CertificateRequestPolicy";
const CA_USAGES = ["cert sign", "crl sign"];
/** `spiffe://<trust domain>/ns/<namespace>/sa/<service account>`, Istio's workload identity. */
const SPIFFE_ID = /^spiffe:\/\/([^/]+)\/ns\/([^/]+)\/sa\/([^/]+)$/;

interface AllowedList {
    readonly values?: string[];
    readonly required?: boolean;
}

interface RequestPolicySpec {
    readonly allowed?: { readonly uris?: AllowedList; readonly dnsNames?: AllowedList; readonly isCA?: boolean; readonly usages?: string[] };
    readonly constraints?: { readonly maxDuration?: string };
    readonly selector?: { readonly issuerRef?: { readonly name?: string; readonly kind?: string; readonly group?: string } };
}

/**
 * The kinds a mesh issuer may be: cert-manager's CA issuers, or the external issuers of the managed CA backends
 * (aws-privateca-issuer v1.9.0 and google-cas-issuer v0.12.0 CRDs), by group.
 */
export const MESH_ISSUER_KINDS: ReadonlyArray<readonly [kind: string, group: string]> = [
    ["Issuer", "cert-manager.io"], ["ClusterIssuer", "cert-manager.io"],
    ["AWSPCAIssuer", "awspca.cert-manager.io"], ["AWSPCAClusterIssuer", "awspca.cert-manager.io"],
    ["GoogleCASIssuer", "cas-issuer.jetstack.io"], ["GoogleCASClusterIssuer", "cas-issuer.jetstack.io"],
];

/**
 * The mesh issuer the policy applies to, if any. An omitted `issuerRef`, or an omitted field of it, matches every
 * issuer; the mesh issuer is one of MESH_ISSUER_KINDS.
 */
function selectedMeshIssuer(spec: RequestPolicySpec, meshIssuers: readonly string[]): string | undefined {
    const ref = spec.selector?.issuerRef ?? {};
    const matches = (pattern: string | undefined, ...values: string[]) => pattern === undefined || values.some((v) => wildcardMatches(pattern, v));
    if (!MESH_ISSUER_KINDS.some(([kind, group]) => matches(ref.kind, kind) && matches(ref.group, group))) return undefined;
    return meshIssuers.find((name) => matches(ref.name, name));
}

export const meshIssuerRequestPolicy: ResourceValidationPolicy = {
    name: "mesh-issuer-request-policy",
    description: "CertificateRequestPolicies on the mesh issuer allow no CA, cap the duration, pin an identity, and allow only SPIFFE IDs of the mesh's trust domains, required where given by pattern.",
    enforcementLevel: "mandatory",
    configSchema: {
        properties: {
            meshIssuers: {
                type: "array", items: { type: "string", minLength: 1 }, default: ["istio-ca"],
                description: "Names of the Issuers or ClusterIssuers istio-csr signs with (its app.certmanager.issuer.name; istio-ca is the chart's default).",
            },
            maxDuration: durationSchema("1h", "Longest certificate a policy on the mesh issuer may approve (Go duration): the workload certificate maximum."),
            trustDomains: {
                type: "array", items: { type: "string", minLength: 1 }, default: [],
                description: "SPIFFE trust domains the mesh issuer may sign for; empty: any but cluster.local.",
            },
            allowClusterLocal: {
                type: "boolean", default: false,
                description: "Accept cluster.local, Istio's default trust domain, which every default mesh shares.",
            },
            exemptResources: EXEMPT_RESOURCES,
        },
    },
    validateResource: validateKind(GROUP, KIND, (crp, args, report) => {
        const config = args.getConfig<{ meshIssuers: string[]; maxDuration: string; trustDomains: string[]; allowClusterLocal: boolean }>();
        const spec = (crp.spec ?? {}) as RequestPolicySpec;
        const issuer = selectedMeshIssuer(spec, config.meshIssuers);
        if (issuer === undefined) return;
        const on = `selects the mesh issuer ${issuer}`;
        const allowed = spec.allowed ?? {};

        if (allowed.isCA === true) report(`spec.allowed.isCA is true and the policy ${on}: any requester bound to it can get a CA certificate under the cluster's intermediate; set spec.allowed.isCA to false`);
        for (const usage of (allowed.usages ?? []).filter((u) => CA_USAGES.includes(u))) {
            report(`spec.allowed.usages has "${usage}" and the policy ${on}: mesh certificates never sign; remove it`);
        }

        const maxDuration = spec.constraints?.maxDuration;
        const duration = parseGoDuration(maxDuration);
        if (maxDuration === undefined) {
            report(`spec.constraints.maxDuration is not set and the policy ${on}: approver-policy then approves any duration requested; set it to at most ${config.maxDuration}`);
        } else if (duration === undefined || duration <= 0) {
            report(`spec.constraints.maxDuration ${JSON.stringify(maxDuration)} is not a positive Go duration: write it like "1h" or "45m"`);
        } else if (duration > parseGoDuration(config.maxDuration)!) {
            report(`spec.constraints.maxDuration ${maxDuration} exceeds ${config.maxDuration} and the policy ${on}: mesh certificates are short-lived so a stolen key expires quickly; lower it to at most ${config.maxDuration}`);
        }

        const uris = allowed.uris?.values ?? [];
        for (const uri of uris) {
            const m = SPIFFE_ID.exec(uri);
            if (!m || m[1].includes("*")) {
                report(`spec.allowed.uris value "${uri}" is not a SPIFFE ID of one trust domain: allow spiffe://<trust-domain>/ns/<namespace>/sa/<service-account>, with * only within the namespace or service account`);
                continue;
            }
            const trustDomain = m[1];
            if (config.trustDomains.length > 0 && !config.trustDomains.includes(trustDomain)) {
                report(`spec.allowed.uris value "${uri}" is in trust domain ${trustDomain}, not one of ${config.trustDomains.join(", ")}: the mesh issuer would sign identities of another mesh; use this mesh's trust domain`);
            } else if (trustDomain === "cluster.local" && !config.allowClusterLocal) {
                report(`spec.allowed.uris value "${uri}" is in trust domain cluster.local, Istio's default, which every default mesh shares: use the mesh's own trust domain`);
            }
        }
        if (uris.some((u) => u.includes("*")) && allowed.uris?.required !== true) {
            report(`spec.allowed.uris allows workload identities by pattern but spec.allowed.uris.required is not true: a request without any SPIFFE ID is approved as well; set spec.allowed.uris.required to true`);
        }
        for (const name of (allowed.dnsNames?.values ?? []).filter((n) => n.trim() === "*")) {
            report(`spec.allowed.dnsNames value "${name}" allows every DNS name and the policy ${on}: list the service names the policy exists for`);
        }
        if (allowed.uris?.required !== true && allowed.dnsNames?.required !== true) {
            report(`neither spec.allowed.uris.required nor spec.allowed.dnsNames.required is true and the policy ${on}: it approves certificates that name no workload and no service; require the SPIFFE IDs (workloads) or the DNS names (serving certificates) it exists for`);
        }
    }),
};

export const approverPolicyPolicies = [meshIssuerRequestPolicy];
