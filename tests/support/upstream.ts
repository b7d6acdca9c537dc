import { CapturedResource } from "../../engine/graph";
import { validateChartValues, validateCustomResource } from "../../engine/manifests/validate";
import { plain } from "../../engine/values";

export const HELM_RELEASE = "kubernetes:helm.sh/v3:Release";

/**
 * What a plan would apply to a cluster, against the vendored upstream schemas: every Kubernetes object (custom
 * resources against their CRD, built-in kinds against their API shape) and every Helm release's values against its
 * chart's schema. One line per error, naming the resource; empty when everything validates.
 */
export function upstreamErrors(resources: readonly CapturedResource[]): string[] {
    const applied = resources.filter((r) => r.custom && !r.read && r.type.startsWith("kubernetes:"));
    return applied.flatMap((r) => {
        const inputs = plain(r.inputs);
        const found = r.type === HELM_RELEASE
            ? [
                ...(inputs.valueYamlFiles ? ["values from valueYamlFiles are not checked offline: pass them as values"] : []),
                // The AWS Load Balancer Controller chart (eks-charts) and Kiali's kiali-server chart ship no
                // values.schema.json, so Helm itself accepts any values; theirs are asserted by the cluster
                // and observability tests instead.
                ...validateChartValues(inputs.chart, inputs.version, inputs.values ?? {}, { repo: inputs.repositoryOpts?.repo, withoutSchema: ["aws-load-balancer-controller", "kiali-server", "aws-privateca-issuer"] }),
            ]
            : validateCustomResource(inputs);
        return found.map((e) => `${r.type} ${r.name}: ${e}`);
    });
}
