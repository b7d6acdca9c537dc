import * as pulumi from "@pulumi/pulumi";
import { MeshConfig } from "../../config";

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
export function clusterPki(config: MeshConfig): Map<string, ClusterPki> {
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
    const roots = ref.requireOutput("trustBundles").apply((bundles: Record<string, string[]>) => {
        const found = bundles?.[config.environment];
        if (!found?.length) throw new Error(`pki stack ${pki.stack} has no trust bundle for environment "${config.environment}"; add it to the pki stack's environments`);
        return found;
    });
    const intermediates = ref.requireOutput("intermediates");
    const keys = ref.requireOutput("intermediateKeys");
    return new Map(config.clusters.map((c) => [c.name, {
        roots,
        intermediateCertPem: intermediates.apply((all: Record<string, { certPem?: string; environment: string }>) => {
            const entry = all?.[c.name];
            if (!entry) throw new Error(`pki stack ${pki.stack} has no intermediate for cluster "${c.name}"; add it to environments.${config.environment}.clusters there`);
            if (entry.environment !== config.environment) throw new Error(`pki stack ${pki.stack} issued cluster "${c.name}"'s intermediate for environment "${entry.environment}", not "${config.environment}"`);
            if (!entry.certPem) throw new Error(`cluster "${c.name}"'s intermediate is not signed yet: have the enterprise CA sign its CSR and set externalIntermediates.${c.name} in the pki stack`);
            return entry.certPem;
        }),
        intermediateKeyPem: keys.apply((all: Record<string, string>) => all[c.name]),
    }]));
}
