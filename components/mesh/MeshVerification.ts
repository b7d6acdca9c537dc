import * as appsV1 from "@pulumi/kubernetes/apps/v1";
import * as batchV1 from "@pulumi/kubernetes/batch/v1";
import * as coreV1 from "@pulumi/kubernetes/core/v1";
import * as pulumi from "@pulumi/pulumi";
import { istioMutual } from "../traffic/destinationRule";
import { customResource } from "../kubernetes/customResource";
import { MeshedCluster } from "./MeshedCluster";

export interface MeshVerificationArgs {
    /** Every cluster of the mesh: each gets an echo service and a Job calling every other's. */
    readonly clusters: readonly MeshedCluster[];
    /** Remote secrets and east-west gateways: cross-cluster calls cannot work before them. */
    readonly peering: readonly pulumi.Resource[];
}

const NAMESPACE = "mesh-verify";
const ACCOUNT = "mesh-verify";
/** Kubernetes' e2e test image: `netexec` answers `/hostname` over HTTP. */
const ECHO_IMAGE = "registry.k8s.io/e2e-test-images/agnhost:2.53";
const CURL_IMAGE = "docker.io/curlimages/curl:8.11.1";

/**
 * A live check of the mesh after `pulumi up`: an echo service per cluster, and in every cluster a Job that calls every
 * other cluster's echo through the mesh. The calls need cross-cluster discovery (remote secrets), the east-west
 * gateways and mTLS with a shared root; Pulumi waits for each Job, so `pulumi up` fails if any of them is broken.
 */
export class MeshVerification extends pulumi.ComponentResource {
    constructor(name: string, args: MeshVerificationArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("istio-production:mesh:MeshVerification", name, {}, opts);
        const names = args.clusters.map((c) => c.cluster.name);
        const perCloud = new Set(args.clusters.map((c) => c.cluster.trustDomain)).size > 1;
        const echoes: pulumi.Resource[] = [];
        const perCluster = args.clusters.map(({ cluster, istiod }) => {
            const child = { parent: this, provider: cluster.provider };
            const ns = new coreV1.Namespace(`${name}-${cluster.name}-ns`, { metadata: { name: NAMESPACE, labels: { "istio-injection": "enabled" } } }, { ...child, dependsOn: [istiod] });
            const sa = new coreV1.ServiceAccount(`${name}-${cluster.name}-sa`, { metadata: { name: ACCOUNT, namespace: NAMESPACE } }, { ...child, dependsOn: [ns] });
            const app = `echo-${cluster.name}`;
            echoes.push(new appsV1.Deployment(`${name}-${cluster.name}-echo`, {
                metadata: { name: app, namespace: NAMESPACE },
                spec: {
                    replicas: 1,
                    selector: { matchLabels: { app } },
                    template: {
                        metadata: { labels: { app } },
                        spec: {
                            serviceAccountName: ACCOUNT,
                            containers: [{ name: "echo", image: ECHO_IMAGE, args: ["netexec", "--http-port=8080"], ports: [{ containerPort: 8080, name: "http" }] }],
                        },
                    },
                },
            }, { ...child, dependsOn: [sa] }));
            // Every cluster declares every echo Service, so the name resolves everywhere; endpoints come from the mesh.
            for (const { cluster: other } of args.clusters) {
                new coreV1.Service(`${name}-${cluster.name}-svc-${other.name}`, {
                    metadata: { name: `echo-${other.name}`, namespace: NAMESPACE },
                    spec: { selector: { app: `echo-${other.name}` }, ports: [{ name: "http", port: 8080, targetPort: 8080 }] },
                }, { ...child, dependsOn: [ns] });
                // The echo answers with its own cluster's identity, which a client in another trust domain only accepts if told.
                if (perCloud && other.name !== cluster.name) {
                    customResource(`${name}-${cluster.name}-dr-${other.name}`, "networking.istio.io/v1", "DestinationRule", { name: `echo-${other.name}`, namespace: NAMESPACE }, {
                        spec: { host: `echo-${other.name}.${NAMESPACE}.svc.cluster.local`, trafficPolicy: { tls: istioMutual([`spiffe://${other.trustDomain}/ns/${NAMESPACE}/sa/${ACCOUNT}`]) } },
                    }, { ...child, dependsOn: [ns, istiod] });
                }
            }
            // Only the verifier may call the echo services, whatever the mesh-wide authorization posture.
            customResource(`${name}-${cluster.name}-allow`, "security.istio.io/v1", "AuthorizationPolicy", { name: "allow-verifier", namespace: NAMESPACE }, {
                spec: {
                    action: "ALLOW",
                    rules: [{ from: [{ source: { principals: [...new Set(args.clusters.map((c) => `${c.cluster.trustDomain}/ns/${NAMESPACE}/sa/${ACCOUNT}`))] } }] }],
                },
            }, { ...child, dependsOn: [ns, istiod] });
            return { cluster, sa, child };
        });
        for (const { cluster, sa, child } of perCluster) {
            const targets = names.filter((n) => n !== cluster.name);
            const script = [
                "set -eu",
                ...targets.map((t) => `curl -sSf --retry 30 --retry-delay 5 --retry-all-errors --max-time 10 http://echo-${t}.${NAMESPACE}:8080/hostname && echo " <- ${t} via the mesh"`),
            ].join("\n");
            new batchV1.Job(`${name}-${cluster.name}-verify`, {
                metadata: { name: "verify-cross-cluster", namespace: NAMESPACE },
                spec: {
                    backoffLimit: 2,
                    activeDeadlineSeconds: 900,
                    // No ttlSecondsAfterFinished: Kubernetes' TTL controller would delete the finished Job
                    // (https://kubernetes.io/docs/concepts/workloads/controllers/ttlafterfinished/), the next
                    // `pulumi preview --refresh` would find it gone and plan to create it again: the daily drift
                    // check red the day after each deploy, and every `up` re-running the check unasked. The Job is
                    // this stack's record that the check passed; it is replaced when its spec changes.
                    template: {
                        // A native sidecar lets the Job complete when curl exits.
                        metadata: { annotations: { "sidecar.istio.io/nativeSidecar": "true" } },
                        spec: {
                            serviceAccountName: ACCOUNT,
                            restartPolicy: "Never",
                            containers: [{ name: "verify", image: CURL_IMAGE, command: ["/bin/sh", "-c", script] }],
                        },
                    },
                },
            }, { ...child, dependsOn: [sa, ...echoes, ...args.peering], replaceOnChanges: ["spec"], deleteBeforeReplace: true });
        }
        this.registerOutputs({});
    }
}
