/**
 * A generated 10-cluster stack derived from the shipped prod stack: 5 EKS and 5 GKE clusters, each a copy of prod's
 * cluster of that cloud with its own name, network and region, and prod's trust domain per cloud. The shipped pki
 * stack issues intermediates only for prod's two clusters, so the generated stack takes its PKI through the air-gap
 * path (`pki.source: config`), with material the project's own pki program issues for the ten clusters.
 */
import { planStack, PROJECT_ROOT, stackOutputs } from "../engine/plan";
import { readProject, readStack } from "../engine/project";
import type { PlanSpec } from "./planChild";

const NS = "istio-production";
const AWS_REGIONS = ["us-east-1", "us-east-2", "us-west-2", "eu-west-1", "eu-central-1"];
const GCP_REGIONS = ["us-central1", "us-east1", "us-west1", "europe-west4", "europe-west1"];

type Config = Record<string, unknown>;

/** A shipped stack's config with structured values parsed, keyed without the project namespace. */
export function shippedConfig(stack: string): Config {
    const raw = readStack(readProject(PROJECT_ROOT), stack).config;
    return Object.fromEntries(Object.entries(raw).map(([k, v]) => [k.replace(`${NS}:`, ""), parseValue(v)]));
}

/** The runtime's form: `istio-production:<key>` → text, structured values as JSON. */
export function toRuntime(config: Config): Record<string, string> {
    return Object.fromEntries(Object.entries(config).map(([k, v]) => [`${NS}:${k}`, typeof v === "string" ? v : JSON.stringify(v)]));
}

/** Prod's clusters multiplied: `perCloud` copies of its first cluster of each cloud, named `<env>-<cloud>-<n>`. */
export function multiplyClusters(prod: Config, perCloud: number): Array<Record<string, unknown>> {
    const clusters = prod.clusters as Array<Record<string, unknown>>;
    const env = String(prod.environment);
    return (["aws", "gcp"] as const).flatMap((cloud) => {
        const template = clusters.find((c) => c.cloud === cloud);
        if (!template) throw new Error(`stack prod has no ${cloud} cluster to copy`);
        const regions = cloud === "aws" ? AWS_REGIONS : GCP_REGIONS;
        return Array.from({ length: perCloud }, (_, i) => ({
            ...template,
            name: `${env}-${cloud}-${i + 1}`,
            network: `net-${env}-${cloud}-${i + 1}`,
            region: regions[i % regions.length],
        }));
    });
}

/** The 10-cluster variant of prod, ready for `planStack({ stack: "prod", config, secretKeys })`. */
export async function tenClusterSpec(): Promise<PlanSpec> {
    const prod = shippedConfig("prod");
    const clusters = multiplyClusters(prod, 5);
    const names = clusters.map((c) => String(c.name));
    const env = String(prod.environment);

    const pkiStack = `pki-${env}`;
    const pki = shippedConfig(pkiStack);
    const pkiClusters = clusters.map((c) => ({ name: c.name, trustDomain: c.trustDomain }));
    const pkiPlan = await planStack({ stack: pkiStack, config: toRuntime({ ...pki, clusters: pkiClusters }), mode: "created" });
    const outputs = stackOutputs(pkiPlan.graph).outputs as {
        trustBundle: string[];
        intermediates: Record<string, { certPem: string }>;
        intermediateKeys: Record<string, string>;
    };
    const intermediates = Object.fromEntries(names.map((n) => [n, { certPem: outputs.intermediates[n].certPem, keyPem: outputs.intermediateKeys[n] }]));
    // Settings that name one of prod's clusters follow it to the generated cluster that replaces it.
    const observability = prod.observability && { ...(prod.observability as object), hubCluster: names[0] };
    const config = { ...prod, clusters, pki: { source: "config" }, trustBundle: outputs.trustBundle, intermediates, ...(observability ? { observability } : {}) };
    return { stack: "prod", config: toRuntime(config), secretKeys: [`${NS}:intermediates`] };
}

function parseValue(text: string): unknown {
    try {
        return JSON.parse(text);
    } catch {
        return text;
    }
}
