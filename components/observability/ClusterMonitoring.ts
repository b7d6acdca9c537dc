import * as crypto from "node:crypto";
import { Provider as KubernetesProvider } from "@pulumi/kubernetes/provider";
import * as coreV1 from "@pulumi/kubernetes/core/v1";
import * as helmV3 from "@pulumi/kubernetes/helm/v3";
import * as networkingV1 from "@pulumi/kubernetes/networking/v1";
import * as pulumi from "@pulumi/pulumi";
import { ObservabilityConfig } from "../../config/observability";
import { MeshCluster } from "../cloud/MeshCluster";
import { customResource } from "../kubernetes/customResource";
import { ISTIO_NAMESPACE } from "../kubernetes/names";
import { istioMutual } from "../traffic/destinationRule";
import { clusterPrometheusHost, clusterPrometheusService, FederationRole, PROMETHEUS_PORT, PROMETHEUS_RELEASE, PROMETHEUS_SERVER, PROMETHEUS_SERVER_LABELS, prometheusNetworkPolicySpec, prometheusValues, remoteWriteOf } from "./prometheus";
import { MONITORING_NAMESPACE } from "../kubernetes/names";
import { meshAlertRules, MeshRulesArgs, meshRecordingRules } from "./rules";
import { meshTelemetrySpec } from "./telemetry";

export interface ClusterMonitoringArgs {
    /** The cluster: its provider, name and trust domain, its service controller (waited for) and, for SigV4, `bindAwsRole`. */
    readonly cluster: MeshCluster;
    /** Istio's validating webhook must serve before the Telemetry and AuthorizationPolicy are created. */
    readonly istiod: pulumi.Resource;
    /** The `prometheus` chart version. */
    readonly version: string;
    /** The mesh ID, an external label of every series. */
    readonly meshId: string;
    /**
     * The stack's `observability` settings, as the config gate parsed them, handed whole to Prometheus' values, its
     * alert rules and the mesh's Telemetry.
     */
    readonly observability: ObservabilityConfig;
    /** Federation: this cluster's part. @default - none: no federation (remote write, or a single cluster) */
    readonly federation?: FederationRole;
    /** Kiali runs on this cluster: its pods may reach this Prometheus. */
    readonly kiali: boolean;
    /**
     * A federation source only (required then): the principal of the hub's Prometheus, the one caller its Prometheus
     * accepts. @default - none
     */
    readonly hubPrincipal?: string;
    /**
     * The federation hub with per-cloud trust domains: per source cluster, the SPIFFE ID its Prometheus presents,
     * which the hub's sidecar must be told to expect (see istioMutual). @default - none: istiod's default
     */
    readonly sourceIdentities?: Readonly<Record<string, string>>;
    /** What the mesh's alert and recording rules cover on this cluster. */
    readonly rules: Omit<MeshRulesArgs, "intermediateNotAfterSeconds">;
    /** This cluster's intermediate CA, for its expiry alert. @default - none: no expiry alert */
    readonly intermediateCertPem?: pulumi.Input<string>;
}

/** When a certificate expires, in Unix seconds. */
export function notAfterSeconds(pem: string): number {
    return Math.floor(new Date(new crypto.X509Certificate(pem).validTo).getTime() / 1000);
}

/**
 * Monitoring of one cluster: the `monitoring` namespace, a Prometheus with the mesh's alert and recording rules, its
 * part in federation (a Service naming it across the mesh and the one caller it accepts, or the hub's stubs of the
 * sources), a NetworkPolicy that admits only its readers, and the mesh-wide Telemetry for access logs and trace sampling.
 */
export class ClusterMonitoring extends pulumi.ComponentResource {
    readonly prometheus: helmV3.Release;

    constructor(name: string, args: ClusterMonitoringArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("istio-production:observability:ClusterMonitoring", name, {}, opts);
        const { cluster } = args;
        if (args.federation?.role === "source" && !args.hubPrincipal) {
            throw new pulumi.ResourceError(`ClusterMonitoring ${name}: cluster ${cluster.name} is a federation source without the hub's principal (hubPrincipal)`, this);
        }
        const child = { parent: this, provider: cluster.provider };
        const namespace = new coreV1.Namespace(`${name}-namespace`, { metadata: { name: MONITORING_NAMESPACE } },
            { ...child, dependsOn: cluster.serviceController ? [cluster.serviceController] : [] });
        const auth = remoteWriteOf(args.observability)?.auth;
        // SigV4 from EKS: Prometheus' service account acts as the role, with no key in the cluster.
        const roleBinding = auth?.type === "sigv4" && auth.roleArn && cluster.bindAwsRole
            ? cluster.bindAwsRole(`${name}-prometheus-aws-role`, { namespace: MONITORING_NAMESPACE, serviceAccount: PROMETHEUS_SERVER, roleArn: auth.roleArn }, { parent: this })
            : undefined;
        const values = pulumi.output(args.intermediateCertPem).apply((pem) => {
            const rules = { ...args.rules, intermediateNotAfterSeconds: pem ? notAfterSeconds(pem) : undefined };
            return prometheusValues({
                clusterName: cluster.name, meshId: args.meshId, observability: args.observability, enterpriseCa: args.rules.enterpriseCa,
                remoteWriteRoleBound: roleBinding !== undefined, federation: args.federation, alerting: meshAlertRules(rules, args.observability), recording: meshRecordingRules(rules),
            });
        });
        this.prometheus = new helmV3.Release(`${name}-prometheus`, {
            name: PROMETHEUS_RELEASE,
            chart: "prometheus",
            version: args.version,
            repositoryOpts: { repo: "https://prometheus-community.github.io/helm-charts" },
            namespace: MONITORING_NAMESPACE,
            values,
            atomic: true,
            // Federating servers run a sidecar: the injector must serve before their pods start.
        }, { ...child, dependsOn: [namespace, ...(args.federation ? [args.istiod] : []), ...(roleBinding ? [roleBinding] : [])] });
        new networkingV1.NetworkPolicy(`${name}-prometheus-ingress`, {
            metadata: { name: PROMETHEUS_SERVER, namespace: MONITORING_NAMESPACE },
            spec: prometheusNetworkPolicySpec({ kiali: args.kiali, federationSource: args.federation?.role === "source" }),
        }, { ...child, dependsOn: [namespace] });
        if (args.federation) this.federate(name, args, args.federation, namespace, child);
        customResource(`${name}-telemetry`, "telemetry.istio.io/v1", "Telemetry", { name: "mesh-default", namespace: ISTIO_NAMESPACE },
            { spec: meshTelemetrySpec(args.observability) }, { ...child, dependsOn: [args.istiod] });
        this.registerOutputs({ prometheus: this.prometheus.status });
    }

    private federate(name: string, args: ClusterMonitoringArgs, federation: FederationRole, namespace: coreV1.Namespace, child: { parent: pulumi.Resource; provider: KubernetesProvider }) {
        const port = { name: "http-federate", port: PROMETHEUS_PORT, targetPort: PROMETHEUS_PORT, protocol: "TCP" };
        if (federation.role === "hub") {
            // Without a selector: a Service here only makes the name resolve; Istio routes it to the source's pods.
            for (const source of federation.sources) {
                new coreV1.Service(`${name}-stub-${source}`, {
                    metadata: { name: clusterPrometheusService(source), namespace: MONITORING_NAMESPACE },
                    spec: { ports: [port] },
                }, { ...child, dependsOn: [namespace] });
                const identity = args.sourceIdentities?.[source];
                if (identity) {
                    customResource(`${name}-source-${source}`, "networking.istio.io/v1", "DestinationRule", { name: clusterPrometheusService(source), namespace: MONITORING_NAMESPACE }, {
                        spec: { host: clusterPrometheusHost(source), trafficPolicy: { tls: istioMutual([identity]) } },
                    }, { ...child, dependsOn: [namespace, args.istiod] });
                }
            }
            return;
        }
        new coreV1.Service(`${name}-federated`, {
            metadata: { name: clusterPrometheusService(args.cluster.name), namespace: MONITORING_NAMESPACE },
            spec: { selector: { ...PROMETHEUS_SERVER_LABELS }, ports: [port] },
        }, { ...child, dependsOn: [namespace] });
        customResource(`${name}-federation-allow`, "security.istio.io/v1", "AuthorizationPolicy", { name: "prometheus-federation", namespace: MONITORING_NAMESPACE }, {
            spec: {
                selector: { matchLabels: { ...PROMETHEUS_SERVER_LABELS } },
                action: "ALLOW",
                rules: [{
                    // Checked before anything was created.
                    from: [{ source: { principals: [args.hubPrincipal!] } }],
                    to: [{ operation: { methods: ["GET"], paths: ["/federate"], ports: [String(PROMETHEUS_PORT)] } }],
                }],
            },
        }, { ...child, dependsOn: [namespace, args.istiod] });
    }
}
