import * as k8s from "@pulumi/kubernetes";
import { ResourceValidationPolicy, validateResourceOfType } from "@pulumi/policy";
import { durationSchema, parseGoDuration } from "./durations";
import { chartName, EXEMPT_RESOURCES, skipExempt } from "./support";

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
    validateResource: validateResourceOfType(k8s.helm.v3.Release, (release, args, report) => {
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

export const istioCsrPolicies = [istioCsrIssuance];
