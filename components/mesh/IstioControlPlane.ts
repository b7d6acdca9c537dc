import { Provider as KubernetesProvider } from "@pulumi/kubernetes/provider";
import * as coreV1 from "@pulumi/kubernetes/core/v1";
import * as helmV3 from "@pulumi/kubernetes/helm/v3";
import * as pulumi from "@pulumi/pulumi";
import { customResource } from "../kubernetes/customResource";
import { ISTIO_CHARTS_REPO, istioBaseValues, istiodValues, IstiodValuesArgs } from "./values";
import { ISTIO_NAMESPACE } from "../kubernetes/names";

/** istiod's values (`IstiodValuesArgs`), and where and after what the charts are installed. */
export interface IstioControlPlaneArgs extends Omit<IstiodValuesArgs, "peerTrustDomains"> {
    /** The cluster's Kubernetes provider; every resource here uses it. */
    readonly provider: KubernetesProvider;
    /** The istio-system namespace, labelled with the network before istiod starts. */
    readonly istioNamespace: coreV1.Namespace;
    /** What istiod must wait for: istio-csr when it is the CA (istiod picks its certificate once, at startup). */
    readonly caReady: readonly pulumi.Resource[];
    /** Per-cloud trust domain mode: the peers' trust domains and the roots that anchor them. @default - none: one trust domain */
    readonly peerTrustDomains?: { readonly trustDomains: readonly string[]; readonly roots: pulumi.Input<string[]> };
}

/** Istio `base` and `istiod` from the official charts, and the mesh-wide STRICT PeerAuthentication. */
export class IstioControlPlane extends pulumi.ComponentResource {
    readonly istiod: helmV3.Release;

    constructor(name: string, args: IstioControlPlaneArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("istio-production:mesh:IstioControlPlane", name, {}, opts);
        const child = { parent: this, provider: args.provider };
        const chart = (chartName: string) => ({ chart: chartName, version: args.version, repositoryOpts: { repo: ISTIO_CHARTS_REPO }, namespace: ISTIO_NAMESPACE, atomic: true });
        const base = new helmV3.Release(`${name}-base`, { name: "istio-base", ...chart("base"), values: istioBaseValues() },
            { ...child, dependsOn: [args.istioNamespace] });
        // Everything else is istiod's values' own: a new setting reaches them without being listed here.
        const { provider: _provider, istioNamespace: _namespace, caReady: _caReady, peerTrustDomains, ...values } = args;
        const peers = peerTrustDomains && pulumi.output(peerTrustDomains.roots).apply((roots) => ({
            trustDomains: peerTrustDomains.trustDomains, rootsPem: roots.map((r) => r.trim()).join("\n") + "\n",
        }));
        this.istiod = new helmV3.Release(`${name}-istiod`, {
            name: "istiod", ...chart("istiod"),
            values: pulumi.output(peers).apply((p) => istiodValues({ ...values, peerTrustDomains: p })),
        },
            { ...child, dependsOn: [base, ...args.caReady] });
        // After istiod: its validating webhook (failurePolicy Fail) must be serving before Istio resources are created.
        customResource(`${name}-mesh-mtls`, "security.istio.io/v1", "PeerAuthentication", { name: "default", namespace: ISTIO_NAMESPACE },
            { spec: { mtls: { mode: "STRICT" } } }, { ...child, dependsOn: [this.istiod] });
        this.registerOutputs({ istiod: this.istiod.status });
    }
}
