import * as pulumi from "@pulumi/pulumi";
import { CONFIG_NAMESPACE, ConfigError, ConfigIssue, MeshConfig } from "../../config";

/** What one cluster of a mesh stack receives from the offline PKI: never a root key. */
export interface ClusterPki {
    /** The environment's root certificates, in bundle order (more than one during a root rotation). */
    readonly roots: pulumi.Output<string[]>;
    readonly intermediateCertPem: pulumi.Output<string>;
    /** Secret. */
    readonly intermediateKeyPem: pulumi.Output<string>;
}

/**
 * The handoff from the `pki` stack to a mesh stack, per cluster. With `source: stack` it reads the pki stack's
 * outputs through a StackReference (the key output is secret there and stays secret here); with `source: config`
 * it reads what `npm run pki:export` printed for this environment (air gap).
 */
export async function clusterPki(config: MeshConfig): Promise<Map<string, ClusterPki>> {
    const pki = config.pki;
    if (!pki) throw new Error("pki is not configured: the config gate requires it from stage 2");
    if (pki.source === "config") {
        return new Map(config.clusters.map((c) => {
            const material = config.intermediates![c.name];
            return [c.name, {
                roots: pulumi.output(config.trustBundle!),
                intermediateCertPem: pulumi.output(material.certPem),
                intermediateKeyPem: pulumi.secret(material.keyPem),
            }];
        }));
    }
    const ref = new pulumi.StackReference(pki.stack);
    // What the pki stack holds is input too: read and checked before any resource is registered (the stack exists, so
    // its outputs are known at preview), and every mismatch is one error naming the key of this stack to change.
    const [bundles, intermediates] = await Promise.all(["trustBundles", "intermediates"].map(async (name) => {
        const details = await ref.getOutputDetails(name);
        return details.value ?? details.secretValue;
    }));
    const issues = handoffIssues(config, pki.stack, bundles, intermediates);
    if (issues.length > 0) throw new ConfigError(issues);
    const roots = (bundles as TrustBundles)[config.environment];
    const keys = ref.requireOutput("intermediateKeys");
    return new Map(config.clusters.map((c) => [c.name, {
        roots: pulumi.output(roots),
        intermediateCertPem: pulumi.output((intermediates as Intermediates)[c.name].certPem!),
        intermediateKeyPem: keys.apply((all: Record<string, string>) => all[c.name]),
    }]));
}

type TrustBundles = Record<string, string[]>;
type Intermediates = Record<string, { certPem?: string; environment: string }>;

/** How the pki stack's outputs fail this stack: each problem under the key of this stack's config that must change. */
export function handoffIssues(config: MeshConfig, stack: string, bundles: unknown, intermediates: unknown): ConfigIssue[] {
    const key = (k: string) => `${CONFIG_NAMESPACE}:${k}`;
    if (!isRecord(bundles) || !isRecord(intermediates)) {
        return [{ key: key("pki.stack"), value: JSON.stringify(stack),
            message: "names a stack without the pki stack's outputs (trustBundles, intermediates): name the stack that runs the root ceremony (role: pki)" }];
    }
    const env = config.environment;
    if (!Array.isArray(bundles[env]) || bundles[env].length === 0) {
        return [{ key: key("environment"), value: JSON.stringify(env),
            message: `has no roots in the pki stack ${stack} (its environments: ${Object.keys(bundles).join(", ") || "none"}): add environments.${env} there and run it, or correct the environment` }];
    }
    return config.clusters.flatMap((c, i): ConfigIssue[] => {
        const entry = intermediates[c.name] as Intermediates[string] | undefined;
        const at = { key: key(`clusters[${i}].name`), value: JSON.stringify(c.name) };
        if (!entry) return [{ ...at, message: `is not issued an intermediate by the pki stack ${stack}: add it to environments.${env}.clusters there and run it (docs/pki/root-ceremony.md), or correct the name` }];
        if (entry.environment !== env) return [{ ...at, message: `has its intermediate issued for environment "${entry.environment}" by the pki stack ${stack}, not for "${env}": a cluster chains to its own environment's root; move it to environments.${env}.clusters there` }];
        if (!entry.certPem) return [{ ...at, message: `has an intermediate that is not signed yet: have the enterprise CA sign its CSR and set externalIntermediates.${c.name} in the pki stack` }];
        return [];
    });
}

function isRecord(v: unknown): v is Record<string, unknown> {
    return typeof v === "object" && v !== null && !Array.isArray(v);
}
