import { capabilitiesFor, describeStage, MeshConfig } from "../config";

/**
 * The mesh stacks (one per environment): the seed's five stages as one composition. Each stage's parts are
 * switched on by the stage matrix, never by comparing stage numbers here or in components.
 */
export function meshProgram(config: MeshConfig) {
    const capabilities = capabilitiesFor(config.stage);
    return {
        environment: config.environment,
        stage: config.stage,
        meshId: config.meshId,
        enabled: describeStage(config.stage),
        capabilities,
        clusters: config.clusters.map((c) => ({ name: c.name, cloud: c.cloud, region: c.region, network: c.network, trustDomain: c.trustDomain })),
        chartVersions: config.charts,
    };
}
