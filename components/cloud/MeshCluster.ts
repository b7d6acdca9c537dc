import { ManagedCa, SignedSubordinate } from "../pki/managedCa";
import { Provider as KubernetesProvider } from "@pulumi/kubernetes/provider";
import * as pulumi from "@pulumi/pulumi";

/**
 * What the mesh layer knows of a cluster, identical for both clouds. The mesh never branches on `cloud` except where
 * the clouds really differ (load balancer annotations).
 */
export interface MeshCluster {
    readonly name: string;
    readonly cloud: "aws" | "gcp";
    readonly region: string;
    /** Istio network name (`topology.istio.io/network`). */
    readonly network: string;
    readonly trustDomain: string;
    /** Kubernetes provider built from an exec kubeconfig; every Kubernetes resource of this cluster uses it. */
    readonly provider: KubernetesProvider;
    /** API server URL (`https://...`). */
    readonly endpoint: pulumi.Output<string>;
    /** API server CA, base64-encoded PEM as kubeconfigs carry it. */
    readonly caData: pulumi.Output<string>;
    /** Public addresses the cluster's traffic leaves from (NAT), for the peers' allow-lists. */
    readonly egressIps: pulumi.Output<string[]>;
    /** The same addresses one by one (their number is known before they are allocated). */
    readonly egressAddresses: readonly pulumi.Output<string>[];
    /** Static public addresses for the east-west gateway (multi-cluster only). */
    readonly eastWest?: EastWestAddress;
    /**
     * An in-cluster controller that admits every Service and cleans up after LoadBalancer Services, so everything the
     * mesh applies to the cluster is created after it and deleted before it (EKS: the AWS Load Balancer Controller).
     */
    readonly serviceController?: pulumi.Resource;
    /** How cert-manager here solves ACME DNS-01 for the ingress hosts (`ingress.acmeChallenge: dns01`). */
    readonly acmeDns01?: AcmeDns01;
    /**
     * Lets a Kubernetes service account act as an AWS IAM role, with no key: EKS Pod Identity. Absent on clouds that
     * cannot bind an AWS role to a workload.
     */
    readonly bindAwsRole?: (name: string, binding: AwsRoleBinding, opts: { parent: pulumi.Resource }) => pulumi.Resource;
    /** With a managed CA backend: the cluster's subordinate CA in its cloud's CA service. */
    readonly managedCa?: ManagedCa;
}

/** A cluster's managed CA backend, as the cloud layer creates it. */
export interface ManagedCaRequest {
    /** The environment, the Organization (O) of the subordinate's subject. */
    readonly environment: string;
    /** Present once the pki stack has signed the subordinate's CSR. */
    readonly signed?: SignedSubordinate;
    /** The cert-manager external issuer's chart version (aws-privateca-issuer or google-cas-issuer). */
    readonly issuerChartVersion: string;
}

export interface AwsRoleBinding {
    readonly namespace: string;
    readonly serviceAccount: string;
    readonly roleArn: pulumi.Input<string>;
}

/** cert-manager's DNS-01 solver on one cluster, and the cloud identity it writes challenges with. */
export interface AcmeDns01 {
    /** The ClusterIssuer solver's `dns01` block (cert-manager v1.21.1 `ACMEChallengeSolverDNS01`). */
    readonly solver: pulumi.Input<object>;
    /** Annotations of cert-manager's controller ServiceAccount (GKE Workload Identity). */
    readonly serviceAccountAnnotations?: pulumi.Output<Record<string, string>>;
    /**
     * Annotations of cert-manager's controller pod template that change with the identity, so its pods are recreated
     * when it is bound: EKS Pod Identity reaches only pods created after the association.
     */
    readonly podAnnotations?: pulumi.Output<Record<string, string>>;
    /** A ServiceAccount in cert-manager's namespace whose tokens cert-manager requests for a cloud role (web identity). */
    readonly tokenServiceAccount?: string;
    /** The identity and its grants: a challenge fails until they exist. */
    readonly ready: readonly pulumi.Resource[];
}

/** Where ACME DNS-01 challenges go, and the Kubernetes identity cert-manager runs as. */
export interface AcmeDnsZone {
    /** The hosted zone of the ingress hosts. */
    readonly zone:
        | { readonly provider: "route53"; readonly hostedZoneId: string }
        | { readonly provider: "cloudDns"; readonly project: string; readonly managedZone: string };
    /** cert-manager's namespace and controller ServiceAccount, the identity bound to the zone's writer. */
    readonly certManager: { readonly namespace: string; readonly serviceAccount: string };
}

/** How the east-west gateway's LoadBalancer Service gets static, reachable addresses on this cloud. */
export interface EastWestAddress {
    /** Service annotations that bind the load balancer to the pre-allocated addresses. */
    readonly serviceAnnotations: pulumi.Output<Record<string, string>>;
    /** `spec.loadBalancerIP`, where the cloud takes the address that way. */
    readonly loadBalancerIP?: pulumi.Output<string>;
    readonly ips: pulumi.Output<string[]>;
}

/** A cluster's VPC, created before any cluster so that every cluster can allow-list every peer's egress. */
export interface ClusterVpc {
    readonly clusterName: string;
    /** One output per egress address: allow-lists keep them as separate entries (see `peerAllowList`). */
    readonly egressAddresses: readonly pulumi.Output<string>[];
}
