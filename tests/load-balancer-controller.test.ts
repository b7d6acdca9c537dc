import assert from "node:assert/strict";
import { CapturedResource } from "../engine/graph";
import { Plan } from "../engine/plan";
import { plain } from "../engine/values";
import { shippedPlan } from "./support/plan";

/**
 * The AWS Load Balancer Controller and the first `pulumi up` and the last `pulumi destroy` of an EKS cluster.
 *
 * Upstream, kubernetes-sigs/aws-load-balancer-controller v2.14.0 (chart 1.14.0):
 * - helm/aws-load-balancer-controller/templates/webhook.yaml: with `enableServiceMutatorWebhook` (values.yaml default
 *   true) the MutatingWebhookConfiguration has `mservice.elbv2.k8s.aws` on every Service CREATE (no namespace
 *   selector; only the controller's own objects are excluded), `failurePolicy` from
 *   `serviceMutatorWebhookConfig.failurePolicy`, default Fail: until the controller serves, the API server refuses
 *   every Service, so any release that renders one fails.
 * - controllers/service/service_controller.go: the controller adds `service.k8s.aws/resources`
 *   (pkg/shared_constants/finalizers.go) to the LoadBalancer Services it provisions and removes it only after
 *   deleting their NLB (`cleanupLoadBalancerResources`), which holds the Elastic IPs and the subnets.
 *
 * Pulumi creates a resource after everything it depends on (and its provider) and deletes it before them; a Helm
 * release's delete waits for its resources to be gone (pulumi/pulumi-kubernetes provider/pkg/provider/helm_release.go
 * `Delete`: uninstall.Wait unless skipAwait). So "ordered after the controller" is a dependency path to it.
 */

const RELEASE = "kubernetes:helm.sh/v3:Release";

/** Every resource `r` waits for on create (and outlives on delete): dependencies and providers, transitively. */
function waitsFor(byUrn: ReadonlyMap<string, CapturedResource>, r: CapturedResource): Set<string> {
    const seen = new Set<string>();
    const stack = [r];
    while (stack.length) {
        const next = stack.pop()!;
        for (const urn of [...next.dependencies, next.provider].filter(Boolean)) {
            if (seen.has(urn)) continue;
            seen.add(urn);
            const dep = byUrn.get(urn);
            if (dep) stack.push(dep);
        }
    }
    return seen;
}

interface EksView {
    readonly controller: CapturedResource;
    /** Helm releases and Services applied to the same cluster. */
    readonly serviceCreators: CapturedResource[];
}

function eksClusters(resources: readonly CapturedResource[]): EksView[] {
    return resources.filter((r) => r.type === RELEASE && plain(r.inputs).chart === "aws-load-balancer-controller").map((controller) => ({
        controller,
        serviceCreators: resources.filter((r) => r !== controller && r.provider === controller.provider && (r.type === RELEASE || r.type === "kubernetes:core/v1:Service")),
    }));
}

function unordered(resources: readonly CapturedResource[]): string[] {
    const byUrn = new Map(resources.map((r) => [r.urn, r]));
    return eksClusters(resources).flatMap(({ controller, serviceCreators }) =>
        serviceCreators.filter((r) => !waitsFor(byUrn, r).has(controller.urn)).map((r) => r.name));
}

describe("AWS Load Balancer Controller: ordering on EKS (upstream model)", () => {
    for (const stack of ["dev", "staging", "prod"]) {
        describe(stack, () => {
            let plan: Plan;
            before(async () => {
                plan = await shippedPlan(stack);
            });

            it("the controller's Service webhook is on and fails closed, as the chart ships it", () => {
                for (const { controller } of eksClusters(plan.graph.resources)) {
                    const values = plain(controller.inputs).values;
                    assert.notEqual(values.enableServiceMutatorWebhook, false);
                    assert.notEqual(values.serviceMutatorWebhookConfig?.failurePolicy, "Ignore");
                }
            });

            it("every release and Service on an EKS cluster is created after the controller and deleted before it", () => {
                const clusters = eksClusters(plan.graph.resources);
                assert.ok(clusters.length > 0);
                for (const { serviceCreators } of clusters) assert.ok(serviceCreators.some((r) => plain(r.inputs).name === "istio-ingressgateway"));
                assert.deepEqual(unordered(plan.graph.resources), []);
            });

            it("the controller waits for nothing on its cluster, so it is created first and deleted last", () => {
                const byUrn = new Map(plan.graph.resources.map((r) => [r.urn, r]));
                for (const { controller } of eksClusters(plan.graph.resources)) {
                    const inCluster = [...waitsFor(byUrn, controller)].filter((u) => byUrn.get(u)?.provider === controller.provider);
                    assert.deepEqual(inCluster, []);
                }
            });
        });
    }

    it("staging: each east-west gateway's NLB lets go of its Elastic IPs before they are released", async () => {
        const plan = await shippedPlan("staging");
        const byUrn = new Map(plan.graph.resources.map((r) => [r.urn, r]));
        const eastWest = plan.graph.resources.filter((r) => r.type === RELEASE && plain(r.inputs).name === "istio-eastwestgateway");
        assert.equal(eastWest.length, 2);
        for (const gateway of eastWest) {
            const eips = [...waitsFor(byUrn, gateway)].filter((u) => byUrn.get(u)?.type === "aws:ec2/eip:Eip");
            assert.ok(eips.length > 0, `${gateway.name} depends on its Elastic IPs`);
        }
    });

    it("without the dependency, the mesh releases race the controller (the defect)", async () => {
        const plan = await shippedPlan("staging");
        const controllers = new Set(eksClusters(plan.graph.resources).map((c) => c.controller.urn));
        const cut = plan.graph.resources.map((r) => ({ ...r, dependencies: r.dependencies.filter((u) => !controllers.has(u)) }));
        const racing = unordered(cut);
        assert.ok(racing.some((n) => n.endsWith("cert-manager-cert-manager")) && racing.some((n) => n.endsWith("ingress-gateway")), racing.join(", "));
    });
});
