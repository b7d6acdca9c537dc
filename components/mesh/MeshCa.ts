import { Provider as KubernetesProvider } from "@pulumi/kubernetes/provider";
import * as apiextensions from "@pulumi/kubernetes/apiextensions";
import * as coreV1 from "@pulumi/kubernetes/core/v1";
import * as helmV3 from "@pulumi/kubernetes/helm/v3";
import * as pulumi from "@pulumi/pulumi";
import { MeshSettings } from "../../config";
import { ClusterPki } from "../pki/ClusterPki";
import { issuerChain } from "../pki/chain";
import { AWAITING_MANAGED_CA, MANAGED_ISSUERS, ManagedCaIssuer } from "../pki/managedCa";
import { approvalPolicy, meshCaPolicies } from "./approval";
import { customResource, WAIT_READY } from "../kubernetes/customResource";
import { approverPolicyValues, istioCsrValues } from "./values";
import { CERT_MANAGER_NAMESPACE, ISTIO_NAMESPACE, MESH_ISSUER, ROOT_BUNDLE_SECRET } from "../kubernetes/names";

export interface MeshCaArgs {
    /** The cluster's Kubernetes provider; every resource here uses it. */
    readonly provider: KubernetesProvider;
    /** cert-manager's release: its CRDs and webhook must exist before any Issuer or policy. */
    readonly certManager: pulumi.Resource;
    /** The istio-system namespace (istio-csr creates the istiod Certificate there). */
    readonly istioNamespace: coreV1.Namespace;
    /** The cluster's roots and intermediate; its key (unless `managedIssuer`) becomes the CA Issuer's Secret. */
    readonly pki: ClusterPki;
    /** istiod's cluster ID (`global.multiCluster.clusterName`): istio-csr accepts CSRs from it only. */
    readonly clusterName: string;
    /** The cluster's trust domain: the only SPIFFE IDs the approver policies allow. */
    readonly trustDomain: string;
    /** Two replicas, zone spread and disruption budgets for istio-csr and approver-policy. */
    readonly highAvailability: boolean;
    /** The stack's `mesh` settings, handed whole to istio-csr's values and the approval policies. */
    readonly mesh: MeshSettings;
    /** istio-csr chart version (`oci://quay.io/jetstack/charts/cert-manager-istio-csr`). */
    readonly istioCsrVersion: string;
    /** approver-policy chart version (`oci://quay.io/jetstack/charts/cert-manager-approver-policy`). */
    readonly approverPolicyVersion: string;
    /**
     * Also the intermediate as a ClusterIssuer (same name), for certificates outside istio-system: a CA Issuer only
     * signs in its own namespace, and a gateway's namespace must hold no CA key. @default false
     */
    readonly clusterIssuer?: boolean;
    /**
     * The cluster's managed CA once its certificate is imported (handoff step 2): istio-csr signs through it.
     * @default - none: the intermediate's key in `pki` signs, as a cert-manager CA Issuer
     */
    readonly managedIssuer?: ManagedCaIssuer;
    /** Handoff step 1: the resource name of the managed subordinate awaiting the pki stack's signature. @default - none: no annotation */
    readonly awaitingManagedCa?: string;
}

/**
 * The enterprise mesh CA of one cluster (stage 2): the cluster's intermediate as a CA Issuer, the pinned root bundle,
 * approver-policy restricting what the Issuer signs, and istio-csr serving the mesh's CSRs. istiod must start after
 * `istioCsr` is ready: it picks its serving certificate once, at startup.
 */
export class MeshCa extends pulumi.ComponentResource {
    readonly istioCsr: helmV3.Release;
    readonly issuer: apiextensions.CustomResource;
    /** With `clusterIssuer`: the intermediate as a ClusterIssuer. */
    readonly clusterIssuer?: apiextensions.CustomResource;
    /** approver-policy's release, for other components' CertificateRequestPolicies. */
    readonly approverPolicy: helmV3.Release;

    constructor(name: string, args: MeshCaArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("istio-production:mesh:MeshCa", name, {}, opts);
        const child = { parent: this, provider: args.provider };
        const managed = args.managedIssuer && MANAGED_ISSUERS[args.managedIssuer.backend];
        const issuerRef = managed ? { name: MESH_ISSUER, kind: managed.kind, group: managed.group } : { name: MESH_ISSUER, kind: "Issuer", group: "cert-manager.io" };
        // The Issuer must be Ready before istio-csr: istio-csr is not Ready until the Issuer signed its serving cert.
        if (args.managedIssuer) {
            const m = args.managedIssuer;
            const controller = new helmV3.Release(`${name}-${m.backend}-issuer`, {
                name: m.chart.name, chart: m.chart.chart, version: m.chart.version, repositoryOpts: m.chart.repo ? { repo: m.chart.repo } : undefined,
                namespace: CERT_MANAGER_NAMESPACE, values: m.chart.values, atomic: true,
            }, { ...child, dependsOn: [args.certManager, ...m.ready] });
            this.issuer = customResource(`${name}-issuer`, `${issuerRef.group}/v1beta1`, issuerRef.kind,
                { name: MESH_ISSUER, namespace: ISTIO_NAMESPACE, annotations: WAIT_READY }, { spec: m.spec },
                { ...child, dependsOn: [controller, args.istioNamespace] });
        } else {
            const keyPem = args.pki.intermediateKeyPem;
            // Step 1 of a move to a managed CA: this issuer stands in until the subordinate is signed, and says so.
            const annotations = { ...WAIT_READY, ...(args.awaitingManagedCa ? { [AWAITING_MANAGED_CA]: args.awaitingManagedCa } : {}) };
            if (!keyPem) throw new pulumi.ResourceError(`MeshCa ${name}: cluster ${args.clusterName}: its mesh CA has neither a managed issuer nor an intermediate key`, this);
            const chain = pulumi.all([args.pki.intermediateCertPem, args.pki.roots]).apply(([int, roots]) => issuerChain(int, roots));
            const caData = { "tls.crt": chain.chainPem, "tls.key": keyPem, "ca.crt": chain.signerPem };
            const caSecret = new coreV1.Secret(`${name}-intermediate`, {
                metadata: { name: "istio-ca", namespace: ISTIO_NAMESPACE },
                type: "kubernetes.io/tls",
                stringData: caData,
            }, { ...child, dependsOn: [args.istioNamespace] });
            if (args.clusterIssuer) {
                // A ClusterIssuer reads its Secret from cert-manager's cluster resource namespace (its own by default).
                const clusterSecret = new coreV1.Secret(`${name}-intermediate-cluster`, {
                    metadata: { name: "istio-ca", namespace: CERT_MANAGER_NAMESPACE }, type: "kubernetes.io/tls", stringData: caData,
                }, { ...child, dependsOn: [args.certManager] });
                this.clusterIssuer = customResource(`${name}-cluster-issuer`, "cert-manager.io/v1", "ClusterIssuer",
                    { name: MESH_ISSUER, annotations }, { spec: { ca: { secretName: clusterSecret.metadata.name } } },
                    { ...child, dependsOn: [args.certManager, clusterSecret] });
            }
            this.issuer = customResource(`${name}-issuer`, "cert-manager.io/v1", "Issuer",
                { name: MESH_ISSUER, namespace: ISTIO_NAMESPACE, annotations },
                { spec: { ca: { secretName: caSecret.metadata.name } } },
                { ...child, dependsOn: [args.certManager, caSecret] });
        }
        // istio-csr reads the root bundle file at startup and exits without it.
        const rootBundle = new coreV1.Secret(`${name}-root-bundle`, {
            metadata: { name: ROOT_BUNDLE_SECRET, namespace: CERT_MANAGER_NAMESPACE },
            stringData: { "ca.pem": args.pki.roots.apply((roots) => roots.map((r) => r.trim()).join("\n") + "\n") },
        }, { ...child, dependsOn: [args.certManager] });

        const approver = this.approverPolicy = new helmV3.Release(`${name}-approver-policy`, {
            name: "cert-manager-approver-policy",
            chart: "oci://quay.io/jetstack/charts/cert-manager-approver-policy",
            version: args.approverPolicyVersion,
            namespace: CERT_MANAGER_NAMESPACE,
            values: approverPolicyValues({ highAvailability: args.highAvailability, extraSignerNames: managed ? [managed.signerNames] : [] }),
            atomic: true,
        }, { ...child, dependsOn: [args.certManager] });

        const policies = meshCaPolicies({ trustDomain: args.trustDomain, mesh: args.mesh })
            .flatMap((policy) => approvalPolicy(name, { ...policy, issuerRef, approverPolicy: approver }, child));

        this.istioCsr = new helmV3.Release(`${name}-istio-csr`, {
            name: "cert-manager-istio-csr",
            chart: "oci://quay.io/jetstack/charts/cert-manager-istio-csr",
            version: args.istioCsrVersion,
            namespace: CERT_MANAGER_NAMESPACE,
            values: istioCsrValues({
                clusterName: args.clusterName, trustDomain: args.trustDomain, highAvailability: args.highAvailability, mesh: args.mesh, issuer: issuerRef,
            }),
            atomic: true,
        }, { ...child, dependsOn: [this.issuer, rootBundle, ...policies] });
        this.registerOutputs({ istioCsr: this.istioCsr.status, issuer: this.issuer, clusterIssuer: this.clusterIssuer, approverPolicy: this.approverPolicy });
    }
}
