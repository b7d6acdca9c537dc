import * as pulumi from "@pulumi/pulumi";
import { capabilitiesFor, describeStage, MeshConfig } from "../config";
import { buildClusters } from "../components/cloud/clusters";
import { clusterPki } from "../components/pki/handoff";
import { describeCertificate } from "../components/pki/inventory";
import { ClusterMesh } from "../components/mesh/ClusterMesh";

/**
 * The mesh stacks (one per environment): the seed's five stages as one composition. Each stage's parts are
 * switched on by the stage matrix, never by comparing stage numbers here or in components.
 */
export function meshProgram(config: MeshConfig) {
    const capabilities = capabilitiesFor(config.stage);
    const pki = capabilities.enterpriseMeshCa ? clusterPki(config) : undefined;
    const clusters = buildClusters(config);
    for (const cluster of clusters) {
        new ClusterMesh(`${cluster.name}-mesh`, {
            cluster,
            meshId: config.meshId,
            charts: config.charts,
            highAvailability: config.highAvailability,
            enterpriseCa: pki?.get(cluster.name),
            workloadCertificateTtlMinutes: config.mesh.workloadCertificateTtlMinutes,
            keyAlgorithm: config.mesh.keyAlgorithm,
            istioHub: config.mesh.istioHub,
            istioTag: config.mesh.istioTag ?? config.charts.istio,
            ingressTls: config.ingress,
        });
    }
    return {
        environment: config.environment,
        stage: config.stage,
        meshId: config.meshId,
        enabled: describeStage(config.stage),
        capabilities,
        clusters: clusters.map((c) => ({
            name: c.name, cloud: c.cloud, region: c.region, network: c.network, trustDomain: c.trustDomain,
            endpoint: c.endpoint, egressIps: c.egressIps,
        })),
        chartVersions: config.charts,
        /** The CA material this stack hands its clusters, for audit: public certificates only. */
        pkiInventory: pki && pulumi.all([...pki].map(([cluster, m]) => pulumi.all([m.intermediateCertPem, m.roots]).apply(([intermediate, roots]) => ({
            cluster,
            intermediate: describeCertificate(`${cluster} intermediate`, "intermediate", intermediate, [cluster]),
            roots: roots.map((pem, i) => describeCertificate(`${config.environment} root ${i + 1}`, "root", pem, [config.environment])),
        })))),
    };
}
