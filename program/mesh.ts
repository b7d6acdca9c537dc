import * as pulumi from "@pulumi/pulumi";
import { builtCapabilities, ConfigError, describeCapabilities, MeshConfig, resolveResilience } from "../config";
import { checkStageTransition } from "../config/stageGate";
import { buildClusters } from "./clusters";
import { clusterPki } from "./pkiHandoff";
import { describeCertificate } from "../components/pki/inventory";
import { caCostEstimate } from "../components/pki/caCost";
import { ClusterMesh } from "../components/mesh/ClusterMesh";
import { IngressRoute } from "../components/mesh/IngressGateway";
import { MeshPeering } from "../components/mesh/MeshPeering";
import { MeshVerification } from "../components/mesh/MeshVerification";
import { MeshedCluster } from "../components/mesh/MeshedCluster";
import { MeshAuthorization } from "../components/identity/MeshAuthorization";
import { spiffeIdsOf } from "../components/identity/policies";
import { peerAllowList } from "../components/cloud/allowList";
import { TrafficManagement } from "../components/traffic/TrafficManagement";
import { releaseGates, releaseRouting } from "../components/traffic/releases";
import { httpRouteResilience } from "../components/traffic/virtualService";
import { TRACING_PROVIDER } from "../config/observability";
import { MeshObservability } from "../components/observability/MeshObservability";

/**
 * The mesh stacks (one per environment): the seed's five stages as one composition. Each stage's parts are
 * switched on by the stage matrix, never by comparing stage numbers here or in components.
 */
export async function meshProgram(config: MeshConfig) {
    const previousStage = await stageGate(config);
    const capabilities = builtCapabilities(config);
    const pki = capabilities.enterpriseMeshCa ? await clusterPki(config) : undefined;
    const clusters = buildClusters(config, capabilities.multiCluster, new Map([...(pki ?? [])].map(([name, m]) => [name, m.signed])));
    const clouds = [...new Set(clusters.map((c) => c.cloud))];
    const trustDomainOf = (cloud: "aws" | "gcp") => clusters.find((c) => c.cloud === cloud)!.trustDomain;
    // Clients verify a destination in another trust domain only against identities listed for it (subjectAltNames).
    const perCloudTrustDomains = new Set(clusters.map((c) => c.trustDomain)).size > 1;
    const meshes = clusters.map((cluster) => new ClusterMesh(`${cluster.name}-mesh`, {
        cluster,
        meshId: config.meshId,
        charts: config.charts,
        highAvailability: config.highAvailability,
        pki: pki?.get(cluster.name),
        mesh: config.mesh,
        ingress: config.ingress,
        ingressRoutes: ingressRoutes(config, capabilities.trafficManagement),
        // Per-cloud trust domains (stage 5): accept the others' without aliasing them.
        peerTrustDomains: [...new Set(clusters.map((c) => c.trustDomain))].filter((td) => td !== cluster.trustDomain),
        tracing: capabilities.observability && config.observability.tracingCollector
            ? { name: TRACING_PROVIDER, ...config.observability.tracingCollector } : undefined,
        eastWest: capabilities.multiCluster ? {
            sourceRanges: peerAllowList(cluster.name, clusters.map((c) => ({ clusterName: c.name, egressAddresses: c.egressAddresses })), []),
            multiCluster: config.multiCluster,
        } : undefined,
    }));
    // Stage 3: authorization creates the services' namespaces; every layer above takes each cluster's mesh with them.
    const members: readonly MeshedCluster[] = !capabilities.authorization ? meshes : meshes.map((mesh) => new MeshAuthorization(`${mesh.cluster.name}-authz`, {
        mesh, services: config.services, clouds, trustDomainOf,
        // Only HTTP-01 needs the challenge path open at the edge.
        ingress: config.ingress && { hosts: config.ingress.hosts, acmeChallenges: config.ingress.issuer === "acme" && config.ingress.acmeChallenge === "http01" },
        edgeAuth: capabilities.endUserAuthentication ? config.edgeAuth : undefined,
        eastWest: capabilities.multiCluster,
    }).mesh);
    if (capabilities.multiCluster) {
        const peering = new MeshPeering("peering", { clusters: members, epoch: config.multiCluster.remoteSecretEpoch });
        if (config.multiCluster.verification) new MeshVerification("verify", { clusters: members, peering: [peering, ...meshes] });
    }
    if (capabilities.trafficManagement) {
        const regions = clusters.map((c) => c.region);
        for (const mesh of members) {
            new TrafficManagement(`${mesh.cluster.name}-traffic`, {
                mesh, services: config.services, traffic: config.traffic, regions,
                identitiesOf: perCloudTrustDomains ? (s) => spiffeIdsOf(s, clouds, trustDomainOf) : undefined,
            });
        }
    }
    if (capabilities.observability) {
        new MeshObservability("observability", {
            clusters: members.map(({ cluster, istiod, namespaces }) => ({ cluster, istiod, namespaces, intermediateCertPem: pki?.get(cluster.name)?.intermediateCertPem })),
            meshId: config.meshId, charts: config.charts, observability: config.observability, highAvailability: config.highAvailability,
            enterpriseCa: capabilities.enterpriseMeshCa, ingressCertificate: config.ingress !== undefined, multiCluster: capabilities.multiCluster,
            remoteSecretEpoch: config.multiCluster.remoteSecretEpoch,
            // Kiali shows only what it may read: the gateways' namespaces too, or its graph has no edge and no east-west hop.
            meshNamespaces: [...new Set([...Object.keys(meshes[0].namespaces), ...config.services.map((s) => s.namespace)])], edgeIssuer: config.edgeAuth?.issuer,
        });
    }
    return {
        environment: config.environment,
        stage: config.stage,
        /** Audit trail: the stage gate overrides this update ran with; absent when none. */
        ...(stageGateOverrides(config).length > 0 ? { stageGateOverride: { overrides: stageGateOverrides(config), from: previousStage, to: config.stage } } : {}),
        meshId: config.meshId,
        enabled: describeCapabilities(capabilities),
        capabilities,
        clusters: clusters.map((c) => ({
            name: c.name, cloud: c.cloud, region: c.region, network: c.network, trustDomain: c.trustDomain,
            endpoint: c.endpoint, egressIps: c.egressIps, eastWestIps: c.eastWest?.ips,
        })),
        chartVersions: config.charts,
        /** Run before `pulumi up` changes a release: on every cluster, the subsets it sends traffic to have ready pods. */
        releaseGates: capabilities.trafficManagement ? config.services.flatMap((s) => {
            const release = config.traffic.services[s.name]?.release;
            return release ? releaseGates(s, releaseRouting(release), clusters.map((c) => c.name)) : [];
        }) : undefined,
        /** Per cluster, where its mesh CA's key lives and the step of the handoff to a managed CA (docs/pki/ca-backends.md). */
        caBackends: Object.fromEntries(config.clusters.map((c) => [c.name, {
            backend: c.caBackend,
            step: pki?.get(c.name)?.step ?? (c.caBackend === "secret" ? "istiod" : "awaiting-signature"),
            monthlyCost: caCostEstimate(c, config.mesh.workloadCertificateTtlMinutes),
        }])),
        /** Step 1 of the handoff: each awaiting subordinate's CSR, for the pki stack's `subordinateCsrs`. Public. */
        subordinateCsrs: pulumi.output(Object.fromEntries(clusters.flatMap((c) => c.managedCa?.csrPem ? [[c.name, c.managedCa.csrPem]] : []))),
        /** The CA material this stack hands its clusters, for audit: public certificates only. */
        pkiInventory: pki && pulumi.all([...pki].map(([cluster, m]) => pulumi.all([m.intermediateCertPem, m.roots]).apply(([intermediate, roots]) => ({
            cluster,
            intermediate: describeCertificate(`${cluster} intermediate`, "intermediate", intermediate, [cluster]),
            roots: roots.map((pem, i) => describeCertificate(`${config.environment} root ${i + 1}`, "root", pem, [config.environment])),
        })))),
    };
}

/**
 * Exposed services behind the ingress hosts; edge traffic follows a release in progress, and has the timeout and
 * retries of the service's mesh routes, as mesh traffic does.
 */
function ingressRoutes(config: MeshConfig, trafficManagement: boolean): IngressRoute[] {
    return config.services.filter((s) => s.exposed).map((s) => {
        const own = trafficManagement ? config.traffic.services[s.name] : undefined;
        return {
            prefix: s.ingressPathPrefix, host: `${s.name}.${s.namespace}.svc.cluster.local`, port: s.port,
            weights: own?.release && releaseRouting(own.release).routes,
            resilience: trafficManagement ? httpRouteResilience(resolveResilience(config.traffic.resilience, own?.resilience)) : undefined,
        };
    });
}

/**
 * Refuse a stage change the gate does not allow, before anything is created: the previous stage comes from this
 * stack's last outputs (or the stack it takes over from), read through a StackReference.
 */
/** The stage gate overrides set for this update. */
function stageGateOverrides(config: MeshConfig): string[] {
    return (["allowJump", "allowDowngrade"] as const).filter((o) => config.stageGate[o]);
}

async function stageGate(config: MeshConfig): Promise<number | undefined> {
    const self = `${pulumi.getOrganization()}/${pulumi.getProject()}/${pulumi.getStack()}`;
    const from = config.stageGate.previousStack ?? self;
    const details = await new pulumi.StackReference("stage-gate", { name: from }).getOutputDetails("stage");
    const previous = details.value ?? details.secretValue;
    const source = from === self ? "this stack's last outputs" : `stack ${from}`;
    // Said loudly: a first deployment, or an offline plan without --previous-outputs, passes any stage unchecked.
    if (previous === undefined) {
        pulumi.log.warn(`STAGE GATE NOT CHECKED: no previous stage in ${source} (a first deployment, or a plan without ` +
            `the stack's last outputs: npm run plan -- ${pulumi.getStack()} --previous-outputs <(pulumi stack output --json --stack ${pulumi.getStack()})); ` +
            `stage ${config.stage} is accepted as a first deployment's`);
    }
    const overrides = stageGateOverrides(config);
    if (overrides.length > 0) {
        pulumi.log.warn(`STAGE GATE OVERRIDDEN: ${overrides.join(", ")} is set; it is recorded in the output stageGateOverride ` +
            "of this update: remove it after this update (pulumi config rm --path istio-production:stageGate.<override>)");
    }
    try {
        checkStageTransition({
            previous: previous === undefined ? undefined : Number(previous),
            next: config.stage,
            allowJump: config.stageGate.allowJump,
            allowDowngrade: config.stageGate.allowDowngrade,
            source,
        });
    } catch (e) {
        throw new ConfigError([{ key: "istio-production:stage", message: (e as Error).message, value: String(config.stage) }]);
    }
    return previous === undefined ? undefined : Number(previous);
}
