import assert from "node:assert/strict";
import { CapturedResource } from "../engine/graph";
import { Plan } from "../engine/plan";
import { plain } from "../engine/values";
import { shippedPlan } from "./support/plan";

/**
 * What a gateway's service account can read, and where its certificate must be, modelled from istio/istio 1.30.3:
 * - manifests/charts/gateway/templates/role.yaml: with `rbac.enabled` (values.yaml: true) the chart binds the
 *   gateway's service account to a Role reading every Secret (get, watch, list) of the release namespace.
 * - pilot/pkg/xds/sds.go `filterAuthorizedResources` and pilot/pkg/credentials/kube/secrets.go `Authorize`: istiod
 *   hands a gateway a `credentialName` Secret only from the gateway proxy's own namespace, and only if its service
 *   account may list Secrets there. So a gateway reads whatever key shares its namespace, and finds its certificate
 *   nowhere else.
 */

const RELEASE = "kubernetes:helm.sh/v3:Release";
const chartOf = (r: CapturedResource) => String(plain(r.inputs).chart).split("/").pop();

interface Gateway {
    readonly release: CapturedResource;
    readonly namespace: string;
    readonly values: any;
    /** The chart's Role: read on every Secret of its namespace. */
    readonly readsSecrets: boolean;
}

function gateways(plan: Plan): Gateway[] {
    return plan.graph.resources.filter((r) => r.type === RELEASE && chartOf(r) === "gateway").map((release) => {
        const values = plain(release.inputs).values;
        return { release, namespace: plain(release.inputs).namespace, values, readsSecrets: values.rbac?.enabled ?? true };
    });
}

const onCluster = (plan: Plan, g: Gateway) => plan.graph.resources.filter((r) => r.provider === g.release.provider);
const namespaceOf = (r: CapturedResource) => plain(r.inputs).metadata?.namespace ?? plain(r.inputs).namespace;

describe("gateways in namespaces of their own (upstream model)", () => {
    for (const stack of ["dev", "staging", "prod"]) {
        describe(stack, () => {
            let plan: Plan;
            before(async () => {
                plan = await shippedPlan(stack);
            });

            it("no gateway shares a namespace with istiod, istio-csr's certificates, a CA key or a remote-secret token", () => {
                for (const g of gateways(plan)) {
                    const here = onCluster(plan, g).filter((r) => namespaceOf(r) === g.namespace);
                    const sensitive = here.filter((r) => (r.type === RELEASE && ["istiod", "cert-manager-istio-csr"].includes(chartOf(r)!))
                        || (r.type === "kubernetes:core/v1:Secret")
                        || (r.type.endsWith(":Issuer") && plain(r.inputs).spec?.ca));
                    assert.deepEqual(sensitive.map((r) => r.name), [], `${g.release.name} in ${g.namespace}`);
                    const csr = onCluster(plan, g).find((r) => r.type === RELEASE && chartOf(r) === "cert-manager-istio-csr");
                    if (csr) assert.notEqual(plain(csr.inputs).values.app.certmanager.namespace, g.namespace, "istiod-tls lives where istio-csr writes it");
                }
            });

            it("the east-west gateway reads no Secret; the ingress gateway reads only its own namespace's", () => {
                for (const g of gateways(plan)) {
                    const eastWest = g.values.labels?.["topology.istio.io/network"] !== undefined;
                    assert.equal(g.readsSecrets, !eastWest, g.release.name);
                    const bindings = onCluster(plan, g).filter((r) => r.type.endsWith(":RoleBinding") || r.type.endsWith(":ClusterRoleBinding"))
                        .filter((r) => (plain(r.inputs).subjects ?? []).some((s: any) => s.kind === "ServiceAccount" && s.name === g.values.name && s.namespace === g.namespace));
                    assert.deepEqual(bindings.map((b) => b.name), [], "the program grants gateways nothing more");
                }
            });

            it("every credentialName a gateway serves is a certificate issued into the gateway's own namespace", () => {
                for (const g of gateways(plan).filter((x) => x.readsSecrets)) {
                    const selects = (sel: Record<string, string>) => Object.entries(sel).every(([k, v]) => g.values.labels?.[k] === v);
                    const served = onCluster(plan, g).filter((r) => r.type === "kubernetes:networking.istio.io/v1:Gateway" && selects(plain(r.inputs).spec.selector))
                        .flatMap((r) => plain(r.inputs).spec.servers.map((s: any) => s.tls?.credentialName).filter(Boolean));
                    assert.ok(served.length > 0, `${g.release.name} serves a certificate`);
                    for (const credential of served) {
                        const certificate = onCluster(plan, g).find((r) => r.type === "kubernetes:cert-manager.io/v1:Certificate" && plain(r.inputs).spec.secretName === credential);
                        assert.ok(certificate, `a Certificate writes ${credential}`);
                        assert.equal(namespaceOf(certificate), g.namespace, `${credential} is where ${g.release.name} runs`);
                    }
                }
            });
        });
    }

    it("dev: the private ingress certificate comes from a ClusterIssuer whose key stays in cert-manager's namespace", async () => {
        const plan = await shippedPlan("dev");
        const certificate = plan.graph.resources.find((r) => r.type === "kubernetes:cert-manager.io/v1:Certificate")!;
        assert.deepEqual(plain(certificate.inputs).spec.issuerRef, { name: "istio-ca", kind: "ClusterIssuer", group: "cert-manager.io" });
        const issuer = plan.graph.resources.find((r) => r.type === "kubernetes:cert-manager.io/v1:ClusterIssuer" && plain(r.inputs).metadata.name === "istio-ca")!;
        const secret = plan.graph.resources.find((r) => r.type === "kubernetes:core/v1:Secret" && plain(r.inputs).metadata.name === plain(issuer.inputs).spec.ca.secretName
            && plain(r.inputs).metadata.namespace === "cert-manager");
        assert.ok(secret, "cert-manager reads a ClusterIssuer's Secret from its own namespace");
    });
});
