import { Plan, planStack } from "../../engine/plan";
import { stackConfig, toRuntime } from "./stacks";

/** A cluster name of exactly `length` characters (the schema allows 40), ending in `-<tag>`. */
export function longClusterName(length: number, tag: string): string {
    return "prod-gcp-us-central1-mesh-cluster-shared-prefix".slice(0, length - tag.length - 1).replace(/-+$/, "x") + `-${tag}`;
}

let gkeOnly: Promise<Plan> | undefined;

/**
 * staging on GKE only: stage 4, two clusters with 40-character names in prod's GCP project, ACME DNS-01 in a Cloud
 * DNS zone. Planned once per test process.
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
        return planStack({ stack: "staging", config: toRuntime(config), referencedConfig: { "pki-staging": toRuntime(pki) } });
    })();
    return gkeOnly;
}
