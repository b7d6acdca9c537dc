import * as pulumi from "@pulumi/pulumi";
import { ClusterConfig, ConfigError, MeshConfig } from "../../config";
import { meshIssuerServingNames } from "../mesh/values";
import { ClusterNames, constraintProblems, readCaConstraints } from "./caConstraints";

/** What one cluster of a mesh stack receives from the offline PKI: never a root key. */
export interface ClusterPki {
    /** The environment's root certificates, in bundle order (more than one during a root rotation). */
    readonly roots: pulumi.Output<string[]>;
    readonly intermediateCertPem: pulumi.Output<string>;
    /** Secret. */
    readonly intermediateKeyPem: pulumi.Output<string>;
}

/** The names a cluster's mesh issuer signs: its trust domain's identities, istiod, istio-csr and private ingress hosts. */
export function issuerNames(config: MeshConfig, cluster: ClusterConfig): ClusterNames {
    const ingress = config.ingress?.issuer === "private" ? config.ingress.hosts : [];
    return { trustDomain: cluster.trustDomain, dnsNames: [...meshIssuerServingNames(), ...ingress] };
}

/**
 * An intermediate whose name constraints do not fit the cluster is refused before anything uses it: wider, and a
 * leak would mint other identities; narrower, and the mesh's own certificates would fail verification.
 */
function checkedIntermediate(cluster: ClusterConfig, names: ClusterNames, certPem: string, from: string): string {
    const problems = constraintProblems(readCaConstraints(certPem), names);
    if (problems.length) {
        throw new Error(`cluster "${cluster.name}": refusing its intermediate from ${from}: ${problems.join("; ")}; set the cluster's trustDomain and dnsNames in the environment's pki stack and hand its intermediates off again`);
    }
    return certPem;
}

/**
 * The handoff from the environment's pki stack to its mesh stack, per cluster. With `source: stack` it reads the
 * pki stack's outputs through a StackReference (the key output is secret there and stays secret here); the config
 * gate has already made sure it is this environment's pki stack, whose outputs hold no other environment's keys.
 * With `source: config` it reads what `npm run pki:export` printed for this environment (air gap).
 */
export async function clusterPki(config: MeshConfig): Promise<Map<string, ClusterPki>> {
    const pki = config.pki;
    if (!pki) throw new Error("pki is not configured: the config gate requires it from stage 2");
    if (pki.source === "config") {
        const all = config.intermediates!;
        return new Map(config.clusters.map((c) => {
            // Offline, the encrypted intermediates are never read: their bytes are unknown to the plan, as values a
            // provider computes are at preview, and everything built from them is planned as such.
            const material = typeof all === "string" ? { certPem: pulumi.unknown as unknown as string, keyPem: pulumi.unknown as unknown as string } : all[c.name];
            return [c.name, {
                roots: pulumi.output(config.trustBundle!),
                intermediateCertPem: pulumi.output(material.certPem).apply((pem) => checkedIntermediate(c, issuerNames(config, c), pem, "istio-production:intermediates")),
                intermediateKeyPem: pulumi.secret(material.keyPem),
            }];
        }));
    }
    // Its name was checked before this read (the config gate: <org>/istio-production/pki-<environment>, and the
    // environment is this stack's name). Its `environment` output cannot be checked before: a StackReference is a
    // resource read (pulumi/pulumi sdk/nodejs/stackReference.ts at v3.248.0: a CustomResource registered with
    // `id: name`), which copies every output of the stack, keys included, into this stack's state before any of them
    // can be looked at. Checked right after, before anything that uses the material is registered, so that a pki
    // stack deployed before its name was bound to its environment is refused as a bad setting.
    const ref = new pulumi.StackReference(pki.stack);
    const from = `pki stack ${pki.stack}`;
    const details = await ref.getOutputDetails("environment");
    const environment = details.value ?? details.secretValue;
    if (environment !== config.environment) {
        throw new ConfigError([{ key: "istio-production:pki.stack", value: JSON.stringify(pki.stack),
            message: `${from} holds the key material of environment ${JSON.stringify(environment ?? null)}, not "${config.environment}": point it at this environment's pki stack` }]);
    }
    const roots = ref.requireOutput("trustBundle").apply((bundle: string[]) => {
        if (!bundle?.length) throw new Error(`${from} has no trust bundle: run its root ceremony first`);
        return bundle;
    });
    const intermediates = ref.requireOutput("intermediates");
    const keys = ref.requireOutput("intermediateKeys");
    return new Map(config.clusters.map((c) => [c.name, {
        roots,
        intermediateCertPem: intermediates.apply((all: Record<string, { certPem?: string }>) => {
            const entry = all?.[c.name];
            if (!entry) throw new Error(`${from} has no intermediate for cluster "${c.name}"; add it to the clusters of that stack`);
            if (!entry.certPem) throw new Error(`cluster "${c.name}"'s intermediate is not signed yet: have the enterprise CA sign its CSR and set externalIntermediates.${c.name} in ${from}`);
            return checkedIntermediate(c, issuerNames(config, c), entry.certPem, from);
        }),
        intermediateKeyPem: keys.apply((all: Record<string, string>) => all[c.name]),
    }]));
}
