import * as helmV3 from "@pulumi/kubernetes/helm/v3";
import { PolicyResource, ResourceValidationPolicy, StackValidationPolicy, validateResourceOfType } from "@pulumi/policy";
import { chartName, clusters, EXEMPT_CLUSTERS, EXEMPT_RESOURCES, isRelease, skipExempt } from "./istio";

/** mesh-mtls rules on istiod and istio-csr: istio-csr is the only CA, and istiod routes only to registered services. */

const ISTIO_CSR_CHART = "cert-manager-istio-csr";

/** The Service the istio-csr chart puts in front of its gRPC server, and the names its serving certificate covers. */
function istioCsrEndpoint(release: PolicyResource, provider: PolicyResource) {
    const values = release.props.values ?? {};
    const service: string = values.nameOverride || ISTIO_CSR_CHART;
    const namespace: string = release.props.namespace || provider.props.namespace || "default";
    const port: number = values.service?.port ?? 443;
    const dnsNames: string[] = values.app?.tls?.certificateDNSNames ?? [`${ISTIO_CSR_CHART}.cert-manager.svc`];
    return {
        release, dnsNames, address: `${service}.${namespace}.svc:${port}`,
        accepts: (ca: string) => [`${service}.${namespace}.svc:${port}`, `${service}.${namespace}.svc.cluster.local:${port}`].includes(ca),
    };
}

function istiodProblems(istiod: PolicyResource, csrs: readonly PolicyResource[], provider: PolicyResource): string[] {
    const values = istiod.props.values ?? {};
    const problems: string[] = [];
    const caServer = values.env?.ENABLE_CA_SERVER;
    // The chart quotes every env value, so false and "false" render alike.
    if (String(caServer) !== "false") {
        const ignored = values.pilot?.env?.ENABLE_CA_SERVER !== undefined ? " (pilot.env is IstioOperator syntax; the istiod chart ignores it)" : "";
        problems.push(`values.env.ENABLE_CA_SERVER is ${caServer === undefined ? "unset (default true)" : JSON.stringify(caServer)}${ignored}, so istiod runs a second CA beside istio-csr: set values.env.ENABLE_CA_SERVER to "false"`);
    }
    const endpoints = csrs.map((r) => istioCsrEndpoint(r, provider));
    const caAddress: string | undefined = values.global?.caAddress;
    const target = caAddress ? endpoints.find((e) => e.accepts(caAddress)) : undefined;
    if (!caAddress) {
        problems.push(`values.global.caAddress is unset, so sidecars ask istiod for certificates: set it to ${endpoints[0].address}`);
    } else if (!target) {
        problems.push(`values.global.caAddress ${caAddress} does not point at istio-csr: set it to ${endpoints.map((e) => e.address).join(" or ")}`);
    } else {
        const host = caAddress.slice(0, caAddress.lastIndexOf(":"));
        if (!target.dnsNames.includes(host)) {
            problems.push(`istio-csr release ${target.release.name} serves a certificate for ${target.dnsNames.join(", ")}, not ${host}, so sidecars refuse it: add ${host} to its values.app.tls.certificateDNSNames`);
        }
        const csrValues = target.release.props.values ?? {};
        const trustDomain = values.meshConfig?.trustDomain || "cluster.local";
        const csrTrustDomain = csrValues.app?.tls?.trustDomain || "cluster.local";
        if (trustDomain !== csrTrustDomain) {
            problems.push(`values.meshConfig.trustDomain ${trustDomain} differs from istio-csr's app.tls.trustDomain ${csrTrustDomain}, so istio-csr refuses every workload's CSR: set both to the cluster's trust domain`);
        }
        const clusterName = values.global?.multiCluster?.clusterName || "Kubernetes";
        const csrClusterId = csrValues.app?.server?.clusterID || "Kubernetes";
        if (clusterName !== csrClusterId) {
            problems.push(`values.global.multiCluster.clusterName ${clusterName} differs from istio-csr's app.server.clusterID ${csrClusterId}, so istio-csr refuses CSRs claiming this cluster: set both to the cluster's name`);
        }
    }
    const files = istiod.props.valueYamlFiles;
    if (problems.length > 0 && Array.isArray(files) && files.length > 0) problems.push("it also reads valueYamlFiles, which policies cannot see: set the values above inline, in values");
    return problems;
}

export const istiodCaDisabledWithIstioCsr: StackValidationPolicy = {
    name: "istiod-ca-disabled-with-istio-csr",
    description: "Where istio-csr is the mesh CA, istiod on the same cluster runs no CA (values.env.ENABLE_CA_SERVER \"false\"), points sidecars at istio-csr (values.global.caAddress) and agrees with it on trust domain and cluster ID.",
    enforcementLevel: "mandatory",
    configSchema: { properties: { exemptClusters: EXEMPT_CLUSTERS } },
    validateStack: (args, report) => {
        const { exemptClusters } = args.getConfig<{ exemptClusters: string[] }>();
        for (const { provider, resources } of clusters(args.resources)) {
            if (exemptClusters.includes(provider.name)) continue;
            const csrs = resources.filter((r) => isRelease(r, ISTIO_CSR_CHART));
            if (csrs.length === 0) continue;
            for (const istiod of resources.filter((r) => isRelease(r, "istiod"))) {
                for (const problem of istiodProblems(istiod, csrs, provider)) report(`istiod release ${istiod.name} on cluster ${provider.name}: ${problem}`, istiod.urn);
            }
        }
    },
};

export const istiodOutboundRegistryOnly: ResourceValidationPolicy = {
    name: "istiod-outbound-registry-only",
    description: "istiod releases set meshConfig.outboundTrafficPolicy.mode REGISTRY_ONLY, so sidecars reach only declared hosts.",
    enforcementLevel: "advisory",
    configSchema: { properties: { exemptResources: EXEMPT_RESOURCES } },
    validateResource: validateResourceOfType(helmV3.Release, (release, args, report) => {
        if (chartName(release.chart) !== "istiod") args.notApplicable("applies only to istiod releases");
        skipExempt(args);
        const mode = release.values?.meshConfig?.outboundTrafficPolicy?.mode;
        if (mode !== "REGISTRY_ONLY") report(`values.meshConfig.outboundTrafficPolicy.mode is ${mode ?? "unset (default ALLOW_ANY)"}, so sidecars pass traffic to any external host: set it to REGISTRY_ONLY and declare external hosts with ServiceEntries`);
    }),
};

export const istiodPolicies = [istiodCaDisabledWithIstioCsr, istiodOutboundRegistryOnly];
