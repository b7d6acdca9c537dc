import * as appsV1 from "@pulumi/kubernetes/apps/v1";
import * as batchV1 from "@pulumi/kubernetes/batch/v1";
import * as coreV1 from "@pulumi/kubernetes/core/v1";
import { ResourceValidationPolicy, validateResourceOfType } from "@pulumi/policy";
import { EXEMPT_NAMESPACES, EXEMPT_RESOURCES, namespaceOf, ObjectMeta, skipExempt } from "./istio";

/** mesh-mtls rules on Sidecar injection: mesh workloads and namespaces do not opt out of the proxy. */

const INJECT = "sidecar.istio.io/inject";
const NAMESPACE_INJECTION = "istio-injection";
const REVISION = "istio.io/rev";
const DATAPLANE_MODE = "istio.io/dataplane-mode";

/** What on a pod's metadata takes it out of the mesh; Istio honours the inject annotation and label alike. */
function optOuts(meta: ObjectMeta | undefined): string[] {
    const found: string[] = [];
    if (String(meta?.annotations?.[INJECT]) === "false") found.push(`annotation ${INJECT}: "false"`);
    if (String(meta?.labels?.[INJECT]) === "false") found.push(`label ${INJECT}: "false"`);
    if (meta?.labels?.[DATAPLANE_MODE] === "none") found.push(`label ${DATAPLANE_MODE}: none`);
    return found;
}

/** Workload kinds and where their pods' metadata lives. */
const WORKLOADS: readonly { cls: any; path: readonly string[] }[] = [
    { cls: coreV1.Pod, path: ["metadata"] },
    { cls: appsV1.Deployment, path: ["spec", "template", "metadata"] },
    { cls: appsV1.StatefulSet, path: ["spec", "template", "metadata"] },
    { cls: appsV1.DaemonSet, path: ["spec", "template", "metadata"] },
    { cls: appsV1.ReplicaSet, path: ["spec", "template", "metadata"] },
    { cls: batchV1.Job, path: ["spec", "template", "metadata"] },
    { cls: batchV1.CronJob, path: ["spec", "jobTemplate", "spec", "template", "metadata"] },
];

export const injectionNotDisabled: ResourceValidationPolicy = {
    name: "sidecar-injection-not-disabled",
    description: "Mesh workloads never opt out of the mesh: no `sidecar.istio.io/inject: \"false\"` annotation or label on pods and workload templates, no `istio-injection: disabled` or `istio.io/dataplane-mode: none` namespace.",
    enforcementLevel: "mandatory",
    configSchema: { properties: { exemptNamespaces: EXEMPT_NAMESPACES, exemptResources: EXEMPT_RESOURCES } },
    validateResource: [
        validateResourceOfType(coreV1.Namespace, (ns, args, report) => {
            skipExempt(args);
            const { exemptNamespaces } = args.getConfig<{ exemptNamespaces: string[] }>();
            const name = ns.metadata?.name;
            if (name && exemptNamespaces.includes(name)) return;
            const labels = ns.metadata?.labels ?? {};
            for (const [key, off] of [[NAMESPACE_INJECTION, "disabled"], [DATAPLANE_MODE, "none"]]) {
                if (labels[key] === off) report(`metadata.labels["${key}"] is ${off}: pods in namespace ${name ?? args.name} run outside the mesh (no mTLS, no authorization); remove the label, or list the namespace in exemptNamespaces`);
            }
        }),
        ...WORKLOADS.map(({ cls, path }) => validateResourceOfType(cls, (workload: any, args, report) => {
            skipExempt(args);
            const { exemptNamespaces } = args.getConfig<{ exemptNamespaces: string[] }>();
            if (exemptNamespaces.includes(namespaceOf(workload, args.provider))) return;
            const meta = path.reduce((v: any, key) => v?.[key], workload) as ObjectMeta | undefined;
            for (const found of optOuts(meta)) {
                report(`${path.join(".")} carries ${found}: this workload runs outside the mesh (no mTLS, no authorization); remove it, or exempt the resource through exemptResources`);
            }
        })),
    ],
};

export const namespaceInjectionLabel: ResourceValidationPolicy = {
    name: "namespace-injection-label",
    description: "Every mesh namespace carries exactly one of `istio-injection: enabled`, `istio.io/rev` or `istio.io/dataplane-mode: ambient`.",
    enforcementLevel: "advisory",
    configSchema: { properties: { exemptNamespaces: EXEMPT_NAMESPACES, exemptResources: EXEMPT_RESOURCES } },
    validateResource: validateResourceOfType(coreV1.Namespace, (ns, args, report) => {
        skipExempt(args);
        const { exemptNamespaces } = args.getConfig<{ exemptNamespaces: string[] }>();
        const name = ns.metadata?.name;
        if (name && exemptNamespaces.includes(name)) return;
        const labels = ns.metadata?.labels ?? {};
        // `disabled` is sidecar-injection-not-disabled's finding.
        if (labels[NAMESPACE_INJECTION] === "disabled") return;
        const modes = [
            labels[NAMESPACE_INJECTION] === "enabled" ? `${NAMESPACE_INJECTION}: enabled` : undefined,
            labels[REVISION] ? `${REVISION}: ${labels[REVISION]}` : undefined,
            labels[DATAPLANE_MODE] === "ambient" ? `${DATAPLANE_MODE}: ambient` : undefined,
        ].filter((m): m is string => m !== undefined);
        if (modes.length === 0) report(`namespace ${name ?? args.name} has no injection label, so its pods start without a proxy: label it ${NAMESPACE_INJECTION}: enabled (or ${REVISION}: <revision>, or ${DATAPLANE_MODE}: ambient), or list it in exemptNamespaces`);
        if (modes.length > 1) report(`namespace ${name ?? args.name} carries ${modes.join(" and ")}: Istio honours only one of them (IST0123); keep one`);
    }),
};

export const injectionPolicies = [injectionNotDisabled, namespaceInjectionLabel];
