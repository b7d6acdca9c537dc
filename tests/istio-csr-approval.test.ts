import assert from "node:assert/strict";
import { CapturedResource } from "../engine/graph";
import { Plan, planStack } from "../engine/plan";
import { plain } from "../engine/values";
import { IstioCsrSettings, istioCsrServingRequest, istioWorkloadRequest, ModelledRequest, PolicyObject, review, UseGrant } from "./support/approverPolicy";
import { shippedPlan } from "./support/plan";
import { stackConfig, toRuntime } from "./support/stacks";

/**
 * Does approver-policy approve what istio-csr really sends? The requests and the decision are modelled from upstream
 * source (tests/support/approverPolicy.ts cites the files and tags); the policies and RBAC come from the plan.
 */

const RELEASE = "kubernetes:helm.sh/v3:Release";
const POLICY = "kubernetes:policy.cert-manager.io/v1alpha1:CertificateRequestPolicy";

interface ClusterView {
    readonly provider: string;
    readonly istioCsr: IstioCsrSettings;
    readonly policies: PolicyObject[];
    readonly grants: UseGrant[];
    readonly gateways: Array<{ namespace: string; serviceAccount: string }>;
}

function clustersOf(plan: Plan): ClusterView[] {
    const on = (provider: string) => plan.graph.resources.filter((r) => r.provider === provider);
    const releases = (rs: CapturedResource[], chart: string) => rs.filter((r) => r.type === RELEASE && String(plain(r.inputs).chart).split("/").pop() === chart);
    return plan.graph.resources.filter((r) => r.type === RELEASE && String(plain(r.inputs).chart).endsWith("/cert-manager-istio-csr")).map((csr) => {
        const rs = on(csr.provider);
        const istiod = plain(releases(rs, "istiod")[0].inputs).values;
        // The agent's key: istio/istio 1.30.3 pilot/cmd/pilot-agent/options/options.go (ECC_SIGNATURE_ALGORITHM; else
        // RSA of WORKLOAD_RSA_KEY_SIZE bits, 2048 unless set).
        const metadata = istiod.meshConfig?.defaultConfig?.proxyMetadata ?? {};
        const ecdsa = metadata.ECC_SIGNATURE_ALGORITHM === "ECDSA";
        const rsaBits = Number(metadata.WORKLOAD_RSA_KEY_SIZE ?? 2048);
        const roles = new Map(rs.filter((r) => r.type === "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole").map((r) => [plain(r.inputs).metadata.name, plain(r.inputs)]));
        const grants = rs.filter((r) => r.type === "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding").flatMap((r) => {
            const binding = plain(r.inputs);
            const rules: any[] = roles.get(binding.roleRef.name)?.rules ?? [];
            return rules.filter((rule) => rule.verbs.includes("use") && rule.resources.includes("certificaterequestpolicies"))
                .map((rule) => ({ policies: rule.resourceNames ?? [], subjects: binding.subjects.filter((s: any) => s.kind === "ServiceAccount") }));
        });
        return {
            provider: csr.provider,
            istioCsr: { namespace: plain(csr.inputs).namespace, values: plain(csr.inputs).values, proxyKey: ecdsa ? { algorithm: "ECDSA", size: 256 } : { algorithm: "RSA", size: rsaBits } },
            policies: rs.filter((r) => r.type === POLICY).map((r) => ({ name: plain(r.inputs).metadata.name, spec: plain(r.inputs).spec })),
            grants,
            gateways: releases(rs, "gateway").map((r) => ({ namespace: plain(r.inputs).namespace, serviceAccount: plain(r.inputs).values.name ?? plain(r.inputs).name })),
        };
    });
}

/** Every identity a proxy of the stack asks istio-csr for: the declared services' and the gateways'. */
function workloadRequests(stack: string, c: ClusterView): ModelledRequest[] {
    const services: Array<{ namespace: string; name: string; serviceAccount?: string }> = stackConfig(stack).services ?? [];
    return [
        ...services.map((s) => ({ namespace: s.namespace, serviceAccount: s.serviceAccount ?? s.name })),
        ...c.gateways,
    ].map((w) => istioWorkloadRequest(c.istioCsr, w));
}

describe("istio-csr's requests under approver-policy (upstream model)", () => {
    for (const stack of ["dev", "staging", "prod"]) {
        describe(stack, () => {
            let clusters: ClusterView[];
            before(async () => {
                clusters = clustersOf(await shippedPlan(stack));
                assert.ok(clusters.length > 0, "istio-csr runs on some cluster");
            });

            it("approves istio-csr's serving certificate, without which istio-csr never becomes ready", () => {
                for (const c of clusters) assert.deepEqual(review(c.policies, c.grants, istioCsrServingRequest(c.istioCsr)).result, "Approved", c.provider);
            });

            it("approves every proxy's identity: the declared services and the gateways", () => {
                for (const c of clusters) {
                    for (const request of workloadRequests(stack, c)) {
                        const decision = review(c.policies, c.grants, request);
                        assert.equal(decision.result, "Approved", `${request.uris[0]} on ${c.provider}: ${JSON.stringify(decision)}`);
                    }
                }
            });

            it("would deny them all if the policies allowed no organization (the defect), and denies any other organization", () => {
                for (const c of clusters) {
                    const withoutSubject = c.policies.map((p) => ({ ...p, spec: { ...p.spec, allowed: { ...p.spec.allowed, subject: undefined } } }));
                    for (const request of [istioCsrServingRequest(c.istioCsr), ...workloadRequests(stack, c)]) {
                        const decision = review(withoutSubject, c.grants, request);
                        assert.equal(decision.result, "Denied");
                        assert.match((decision as { message: string }).message, /subject\.organizations: \[""\]: no allowed values/);
                        assert.equal(review(c.policies, c.grants, { ...request, organizations: ["acme"] }).result, "Denied", "nothing wider than the empty organization");
                    }
                }
            });
        });
    }

    it("dev (ingress.issuer: private): the mesh intermediate signs the ingress hosts for the gateway's namespace only", async () => {
        const plan = await shippedPlan("dev");
        assert.equal(stackConfig("dev").ingress.issuer, "private");
        for (const c of clustersOf(plan)) {
            const certificates = plan.graph.resources.filter((r) => r.provider === c.provider && r.type === "kubernetes:cert-manager.io/v1:Certificate"
                && plain(r.inputs).spec.issuerRef.kind === "ClusterIssuer");
            assert.equal(certificates.length, 1, c.provider);
            const { metadata, spec } = plain(certificates[0].inputs);
            // cert-manager v1.21.1: its controller creates the CertificateRequest in the Certificate's namespace
            // (pkg/controller/certificates/requestmanager/requestmanager_controller.go), usages defaulting to digital
            // signature and key encipherment (pkg/apis/certmanager/v1/types.go `DefaultKeyUsages`).
            const request: ModelledRequest = {
                requester: { namespace: "cert-manager", name: "cert-manager" }, issuerRef: spec.issuerRef, namespace: metadata.namespace,
                organizations: [], dnsNames: spec.dnsNames, uris: [], usages: spec.usages ?? ["digital signature", "key encipherment"], isCA: false,
                durationSeconds: 3600, key: { algorithm: spec.privateKey.algorithm, size: spec.privateKey.size },
            };
            assert.equal(review(c.policies, c.grants, request).result, "Approved", `${c.provider}: the gateway's own certificate`);
            // Any namespace's Certificate reaches a ClusterIssuer, and cert-manager requests them all.
            for (const namespace of ["shop", "default", "istio-system"]) {
                assert.equal(review(c.policies, c.grants, { ...request, namespace }).result, "Unprocessed", `${c.provider}: the hosts from ${namespace}`);
            }
        }
    });

    it("a shorter mesh.workloadCertificateTtlMinutes reaches istio-csr and the mesh CA's policy alike: what istio-csr asks is approved, an hour is not", async () => {
        const config = stackConfig("dev");
        config.mesh = { ...config.mesh, workloadCertificateTtlMinutes: 30 };
        const [c] = clustersOf(await planStack({ stack: "dev", config: toRuntime(config) }));
        // istio-csr v0.17.0 values.yaml `app.server.maxCertificateDuration`: it asks for the smaller of this and the
        // proxy's request (SECRET_TTL, 24h).
        assert.equal(c.istioCsr.values.app.server.maxCertificateDuration, "30m");
        const [request] = workloadRequests("dev", c);
        assert.equal(request.durationSeconds, 30 * 60);
        assert.equal(review(c.policies, c.grants, request).result, "Approved");
        assert.equal(review(c.policies, c.grants, { ...request, durationSeconds: 3600 }).result, "Denied", "the default hour exceeds this mesh's limit");
    });

    it("an RSA mesh: every proxy's key is as large as the mesh CA's policy asks, so its identity is approved", async () => {
        const config = stackConfig("dev");
        config.mesh = { ...config.mesh, keyAlgorithm: "RSA" };
        const [c] = clustersOf(await planStack({ stack: "dev", config: toRuntime(config), mode: "created" }));
        for (const request of workloadRequests("dev", c)) {
            assert.equal(request.key.algorithm, "RSA");
            assert.equal(review(c.policies, c.grants, request).result, "Approved", `${request.uris[0]} with an RSA ${request.key.size} key`);
            assert.equal(review(c.policies, c.grants, { ...request, key: { algorithm: "RSA", size: 2048 } }).result, "Denied", "the agent's default size");
        }
        assert.equal(review(c.policies, c.grants, istioCsrServingRequest(c.istioCsr)).result, "Approved");
    });

    it("models approver-policy's own rules: required attributes, wildcards, the empty pattern, duration, RBAC binding", () => {
        const spec = { allowed: { uris: { values: ["spiffe://td/ns/*/sa/*"], required: true }, subject: { organizations: { values: [""] } }, usages: ["client auth", "server auth"] }, constraints: { maxDuration: "1h" }, selector: { issuerRef: { name: "istio-ca" } } };
        const request: ModelledRequest = {
            requester: { namespace: "cert-manager", name: "cert-manager-istio-csr" }, issuerRef: { name: "istio-ca" }, organizations: [""], dnsNames: [],
            uris: ["spiffe://td/ns/a/sa/b"], usages: ["client auth", "server auth"], isCA: false, durationSeconds: 3600, key: { algorithm: "ECDSA", size: 256 },
        };
        const grants = [{ policies: ["p"], subjects: [request.requester] }];
        assert.equal(review([{ name: "p", spec }], grants, request).result, "Approved");
        assert.equal(review([{ name: "p", spec }], [], request).result, "Unprocessed", "not bound: not applicable");
        assert.equal(review([{ name: "p", spec }], grants, { ...request, uris: ["spiffe://other/ns/a/sa/b"] }).result, "Denied");
        assert.equal(review([{ name: "p", spec }], grants, { ...request, uris: [] }).result, "Denied", "required");
        assert.equal(review([{ name: "p", spec }], grants, { ...request, durationSeconds: 7200 }).result, "Denied");
        assert.equal(review([{ name: "p", spec }], grants, { ...request, isCA: true }).result, "Denied");
        assert.equal(review([{ name: "p", spec }], grants, { ...request, issuerRef: { name: "other" } }).result, "Unprocessed");
        const wildcard = { ...spec, allowed: { ...spec.allowed, subject: { organizations: { values: ["*"] } } } };
        assert.equal(review([{ name: "p", spec: wildcard }], grants, { ...request, organizations: ["acme"] }).result, "Approved", "* matches any organization");
        const inNamespaces = { ...spec, selector: { ...spec.selector, namespace: { matchNames: ["istio-*"] } } };
        assert.equal(review([{ name: "p", spec: inNamespaces }], grants, { ...request, namespace: "istio-system" }).result, "Approved");
        assert.equal(review([{ name: "p", spec: inNamespaces }], grants, { ...request, namespace: "shop" }).result, "Unprocessed", "another namespace: not applicable");
        assert.equal(review([{ name: "p", spec: { ...spec, selector: { ...spec.selector, namespace: { matchNames: [] } } } }], grants, { ...request, namespace: "shop" }).result, "Approved", "no names: every namespace");
    });
});
