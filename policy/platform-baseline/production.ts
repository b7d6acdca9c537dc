import * as eks from "@pulumi/aws/eks";
import * as awsKms from "@pulumi/aws/kms";
import * as container from "@pulumi/gcp/container";
import * as gcpKms from "@pulumi/gcp/kms";
import * as helmV3 from "@pulumi/kubernetes/helm/v3";
import { ResourceValidation, ResourceValidationPolicy } from "@pulumi/policy";
import { chartName, EXEMPT_RESOURCES, inProduction, PRODUCTION_STACKS, stackOf, validateOfType } from "./support";

/** What production stacks owe beyond the baseline: resources that survive a bad `pulumi up`, and no single replica. */

type Values = Record<string, any>;

function protectedKind(cls: any, loss: string): ResourceValidation {
    return validateOfType(cls, (_props, args, report) => {
        if (inProduction(args) && !args.opts.protect) {
            report(`not protected in production stack ${stackOf(args.urn)}: a replacement or pulumi destroy deletes it, and ${loss}; set the resource option protect: true`);
        }
    });
}

export const protectInProduction: ResourceValidationPolicy = {
    name: "protect-in-production",
    description: "Clusters (aws.eks.Cluster, gcp.container.Cluster) and KMS keys (aws.kms.Key, gcp.kms.CryptoKey) in production stacks carry the protect option.",
    enforcementLevel: "mandatory",
    configSchema: { properties: { productionStacks: PRODUCTION_STACKS, exemptResources: EXEMPT_RESOURCES } },
    validateResource: [
        protectedKind(eks.Cluster, "every workload and the mesh on it go with it"),
        protectedKind(container.Cluster, "every workload and the mesh on it go with it"),
        protectedKind(awsKms.Key, "whatever it encrypted can no longer be decrypted"),
        protectedKind(gcpKms.CryptoKey, "whatever it encrypted can no longer be decrypted"),
    ],
};

/** A value at a dotted path of Helm values. */
function at(values: Values, path: string): any {
    return path.split(".").reduce((v: any, key) => v?.[key], values);
}

/** One replica count as the chart renders it: unset and null mean the chart's (or Kubernetes') default of 1. */
function replicaProblem(values: Values, path: string, min: number, why: string, note = ""): string | undefined {
    const value = at(values, path);
    const count = value === undefined || value === null ? 1 : Number(value);
    if (count >= min) return undefined;
    return `values.${path} is ${value === undefined || value === null ? "unset (1)" : value}${note}, so one node drain or crash stops ${why}: set it to at least ${min}`;
}

/** Charts whose PodDisruptionBudget is switched on by `<prefix>podDisruptionBudget.enabled` (default false). */
function pdbProblem(values: Values, prefix: string, what: string): string | undefined {
    if (at(values, `${prefix}podDisruptionBudget.enabled`) === true) return undefined;
    return `values.${prefix}podDisruptionBudget.enabled is not true, so a node drain may evict every ${what} replica at once: set it true`;
}

/**
 * Per chart, the replica and PodDisruptionBudget keys of the pinned versions (cert-manager v1.21, istio-csr v0.17,
 * approver-policy v0.27, trust-manager v0.24, Istio 1.30 istiod and gateway).
 */
const HA_CHECKS: Record<string, (values: Values, min: number) => (string | undefined)[]> = {
    "istiod": (values, min) => {
        // With the chart's default autoscaleEnabled the HPA minimum decides and replicaCount is not rendered.
        const autoscale = values.autoscaleEnabled ?? true;
        const ignored = values.pilot?.replicaCount !== undefined ? "; pilot.replicaCount is IstioOperator syntax, which the istiod chart ignores" : "";
        return [
            autoscale
                ? replicaProblem(values, "autoscaleMin", min, "configuration and certificates for the mesh", ` (autoscaleEnabled is on, so the autoscaler's minimum decides)${ignored}`)
                : replicaProblem(values, "replicaCount", min, "configuration and certificates for the mesh", ignored),
            // The chart renders its PodDisruptionBudget by default once there are two replicas.
            at(values, "global.defaultPodDisruptionBudget.enabled") === false
                ? "values.global.defaultPodDisruptionBudget.enabled is false, so a node drain may evict every istiod at once: remove it (default true)"
                : undefined,
        ];
    },
    "gateway": (values, min) => {
        // A DaemonSet gateway runs one replica per node.
        if (values.kind === "DaemonSet") return [];
        const autoscale = values.autoscaling?.enabled ?? true;
        return [
            autoscale
                ? replicaProblem(values, "autoscaling.minReplicas", min, "traffic through this gateway", " (autoscaling.enabled is on, so the autoscaler's minimum decides)")
                : replicaProblem(values, "replicaCount", min, "traffic through this gateway"),
            Object.keys(values.podDisruptionBudget ?? {}).length === 0
                ? "values.podDisruptionBudget is empty, so the chart renders no PodDisruptionBudget and a node drain may evict every gateway replica at once: set podDisruptionBudget { minAvailable: 1 }"
                : undefined,
        ];
    },
    "cert-manager": (values, min) => [
        replicaProblem(values, "replicaCount", min, "certificate issuance and renewal"),
        pdbProblem(values, "", "cert-manager controller"),
        replicaProblem(values, "webhook.replicaCount", min, "every change to cert-manager resources"),
        pdbProblem(values, "webhook.", "cert-manager webhook"),
        ...(values.cainjector?.enabled === false ? [] : [
            replicaProblem(values, "cainjector.replicaCount", min, "CA bundle injection into webhooks"),
            pdbProblem(values, "cainjector.", "cainjector"),
        ]),
    ],
    "cert-manager-istio-csr": (values, min) => [
        replicaProblem(values, "replicaCount", min, "issuance and renewal of every workload certificate"),
        pdbProblem(values, "", "istio-csr"),
    ],
    "cert-manager-approver-policy": (values, min) => [
        replicaProblem(values, "replicaCount", min, "approval of every certificate request"),
        pdbProblem(values, "", "approver-policy"),
    ],
    "trust-manager": (values, min) => [
        replicaProblem(values, "replicaCount", min, "trust bundle distribution"),
        pdbProblem(values, "", "trust-manager"),
    ],
};

export const productionHighAvailability: ResourceValidationPolicy = {
    name: "production-high-availability",
    description: "In production stacks, Helm releases of istiod, gateways, cert-manager, istio-csr, approver-policy and trust-manager run at least minReplicas replicas with a PodDisruptionBudget.",
    enforcementLevel: "mandatory",
    configSchema: {
        properties: {
            productionStacks: PRODUCTION_STACKS,
            minReplicas: { type: "integer", minimum: 2, default: 2 },
            exemptResources: EXEMPT_RESOURCES,
        },
    },
    validateResource: validateOfType(helmV3.Release, (release, args, report) => {
        const chart = chartName(release.chart) ?? "";
        const check = HA_CHECKS[chart];
        if (!check) args.notApplicable(`chart ${chart} has no high-availability rule`);
        if (!inProduction(args)) return;
        const { minReplicas } = args.getConfig<{ minReplicas: number }>();
        const problems = check(release.values ?? {}, minReplicas).filter((p): p is string => p !== undefined);
        const files = release.valueYamlFiles;
        const hidden = Array.isArray(files) && files.length > 0 ? " (values from valueYamlFiles are invisible to policies: set these inline, in values)" : "";
        for (const problem of problems) report(`${chart} in production stack ${stackOf(args.urn)}: ${problem}${hidden}`);
    }),
};

export const productionPolicies = [protectInProduction, productionHighAvailability];
