import { ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { EXEMPT_CLUSTERS, EXEMPT_RESOURCES, hasSelector, isIstioKind, meshClusters, namespaceOf, ROOT_NAMESPACE, rootNamespaceOf, validateIstio } from "./istio";

/** mesh-mtls rules on PeerAuthentication: STRICT mTLS per object and mesh-wide. */

function modeProblem(mode: string): string {
    switch (mode) {
        case "UNSET": return "UNSET inherits the namespace or mesh-wide mode, and PERMISSIVE where none is set";
        case "PERMISSIVE": return "PERMISSIVE also accepts plaintext";
        case "DISABLE": return "DISABLE turns mTLS off";
        default: return "it is not an Istio mTLS mode";
    }
}

export const peerAuthenticationStrict: ResourceValidationPolicy = {
    name: "peer-authentication-strict",
    description: "Every PeerAuthentication mode, top-level and per port, is STRICT (UNSET only where configured); port-level modes come with a workload selector.",
    enforcementLevel: "mandatory",
    configSchema: {
        properties: {
            allowUnset: { type: "boolean", default: false, description: "Accept UNSET modes, which inherit the namespace or mesh-wide mode." },
            exemptResources: EXEMPT_RESOURCES,
        },
    },
    validateResource: validateIstio("PeerAuthentication", (pa, args, report) => {
        const { allowUnset } = args.getConfig<{ allowUnset: boolean }>();
        const check = (path: string, mode: unknown) => {
            const effective = typeof mode === "string" && mode !== "" ? mode : "UNSET";
            if (effective === "STRICT" || (effective === "UNSET" && allowUnset)) return;
            report(`${path} is ${effective}${mode === undefined ? " (not set)" : ""}: ${modeProblem(effective)}; set it to STRICT`);
        };
        check("spec.mtls.mode", pa.spec?.mtls?.mode);
        const ports = Object.entries<{ mode?: string } | undefined>(pa.spec?.portLevelMtls ?? {});
        for (const [port, setting] of ports) check(`spec.portLevelMtls["${port}"].mode`, setting?.mode);
        if (ports.length > 0 && !hasSelector(pa.spec)) {
            report("spec.portLevelMtls is set without spec.selector: Istio refuses port-level modes on namespace- and mesh-wide policies; add a workload selector or drop portLevelMtls");
        }
    }),
};

export const meshWideStrict: StackValidationPolicy = {
    name: "mesh-wide-strict-mtls",
    description: "Every cluster that runs Istio has a mesh-wide PeerAuthentication (root namespace, no selector) in STRICT mode.",
    enforcementLevel: "mandatory",
    configSchema: { properties: { rootNamespace: ROOT_NAMESPACE, exemptClusters: EXEMPT_CLUSTERS } },
    validateStack: (args, report) => {
        const { rootNamespace, exemptClusters } = args.getConfig<{ rootNamespace: string; exemptClusters: string[] }>();
        for (const cluster of meshClusters(args.resources)) {
            const { provider } = cluster;
            if (exemptClusters.includes(provider.name)) continue;
            const root = rootNamespaceOf(cluster) ?? rootNamespace;
            const meshWide = cluster.resources.filter((r) => isIstioKind(r.type, "PeerAuthentication")
                && namespaceOf(r.props, provider) === root && !hasSelector(r.props.spec));
            if (meshWide.length === 0) {
                report(`cluster ${provider.name} runs Istio without a mesh-wide PeerAuthentication, so its workloads accept plaintext (Istio's default is PERMISSIVE): add a PeerAuthentication in namespace ${root} with no selector and spec.mtls.mode STRICT`, provider.urn);
            }
            for (const pa of meshWide) {
                const mode: string = pa.props.spec?.mtls?.mode || "UNSET";
                if (mode !== "STRICT") report(`the mesh-wide PeerAuthentication ${pa.name} on cluster ${provider.name} has mode ${mode}: ${modeProblem(mode)}; set spec.mtls.mode to STRICT`, pa.urn);
            }
        }
    },
};

export const peerAuthenticationPolicies = [peerAuthenticationStrict, meshWideStrict];
