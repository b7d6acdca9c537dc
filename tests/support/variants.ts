import { Plan, planStack } from "../../engine/plan";
import { stackConfig, toRuntime } from "./stacks";

/** A cluster name of exactly `length` characters (the schema allows 40), ending in `-<tag>`. */
export function longClusterName(length: number, tag: string): string {
    return "prod-gcp-us-central1-mesh-cluster-shared-prefix".slice(0, length - tag.length - 1).replace(/-+$/, "x") + `-${tag}`;
}

/**
 * The emulated create of the next `pulumi up` while the pki stack has not signed the managed CAs' CSRs: everything
 * the program registers but the managed CAs' issuers and what binds them (the same run, without the second one and
 * the pki stack's plan the hand-off takes). For tests that read neither the issuers nor the chains they sign.
 */
export function createdBeforeHandoff(opts: Omit<Parameters<typeof planStack>[0], "mode" | "caHandoff">): Promise<Plan> {
    return planStack({ ...opts, mode: "created", caHandoff: false });
}

/**
 * prod with a third cluster (a copy of its EKS cluster in eu-west-1, with its own managed CA signed by pki-prod) and
 * istiod exposed on the east-west gateways, as created: the peers, remote secrets and allow-lists of three, and the
 * CA hand-off of three subordinates.
 */
export function threeClusterProd(): Promise<Plan> {
    const config = stackConfig("prod");
    config.clusters.push({ ...config.clusters[0], name: "prod-aws-euw1", region: "eu-west-1", network: "net-prod-aws-euw1" });
    config.multiCluster = { exposeIstiod: true };
    const pki = stackConfig("pki-prod");
    pki.clusters.push({ name: "prod-aws-euw1", trustDomain: config.clusters[0].trustDomain });
    return planStack({ stack: "prod", config: toRuntime(config), referencedConfig: { "pki-prod": toRuntime(pki) }, mode: "created" });
}

let gkeOnly: Promise<Plan> | undefined;

/**
 * staging on GKE only: stage 4, two clusters with 40-character names in prod's GCP project, ACME DNS-01 in a Cloud
 * DNS zone. Planned once per test process, as created: its tests read what the program registers.
 */
export function gkeOnlyStaging(): Promise<Plan> {
    gkeOnly ??= (() => {
        const config = stackConfig("staging");
        const gke = stackConfig("prod").clusters.find((c: any) => c.cloud === "gcp");
        config.clusters = [
            { ...gke, name: longClusterName(40, "a"), network: "net-gcp-a", trustDomain: "staging.mesh.acme.example" },
            { ...gke, name: longClusterName(40, "b"), network: "net-gcp-b", trustDomain: "staging.mesh.acme.example", masterCidr: "172.16.0.16/28" },
        ];
        config.multiCluster = {};
        config.observability = { ...config.observability, hubCluster: config.clusters[0].name };
        config.ingress = { ...config.ingress, dnsZone: { provider: "cloudDns", project: "acme-dns-staging", managedZone: "staging-acme-example" } };
        const pki = stackConfig("pki-staging");
        pki.clusters = config.clusters.map((c: any) => ({ name: c.name, trustDomain: c.trustDomain }));
        return planStack({ stack: "staging", config: toRuntime(config), referencedConfig: { "pki-staging": toRuntime(pki) }, mode: "created" });
    })();
    return gkeOnly;
}
