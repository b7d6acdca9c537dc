import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { CERT_MANAGER_NAMESPACE, certManagerValues } from "./values";

export interface CertManagerArgs {
    readonly provider: k8s.Provider;
    /** Chart version (OCI chart `oci://quay.io/jetstack/charts/cert-manager`), e.g. "v1.21.1". */
    readonly version: string;
    readonly highAvailability: boolean;
    /** approver-policy decides approvals; the built-in approver is turned off. */
    readonly approverPolicy: boolean;
    /** What must run in the cluster before cert-manager, and outlive it. @default [] */
    readonly after?: readonly pulumi.Resource[];
}

/** cert-manager with its CRDs, in its own namespace. Everything that creates cert-manager resources waits for `release`. */
export class CertManager extends pulumi.ComponentResource {
    readonly release: k8s.helm.v3.Release;
    readonly namespace: k8s.core.v1.Namespace;

    constructor(name: string, args: CertManagerArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("istio-production:mesh:CertManager", name, {}, opts);
        const child = { parent: this, provider: args.provider };
        this.namespace = new k8s.core.v1.Namespace(`${name}-ns`, { metadata: { name: CERT_MANAGER_NAMESPACE } }, { ...child, dependsOn: [...args.after ?? []] });
        // Release, not Chart v4: cert-manager's startupapicheck is a Helm hook, and the release waits for the webhook.
        this.release = new k8s.helm.v3.Release(`${name}-cert-manager`, {
            name: "cert-manager",
            chart: "oci://quay.io/jetstack/charts/cert-manager",
            version: args.version,
            namespace: CERT_MANAGER_NAMESPACE,
            values: certManagerValues(args),
            atomic: true,
            cleanupOnFail: true,
        }, { ...child, dependsOn: [this.namespace] });
        this.registerOutputs({ release: this.release.status });
    }
}
