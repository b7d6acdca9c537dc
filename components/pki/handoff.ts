import * as pulumi from "@pulumi/pulumi";
import { CaBackend, ClusterConfig, ConfigError, MeshConfig } from "../../config";
import { caHandoffStep, CaHandoffStep } from "../../config/stageGate";
import { meshIssuerServingNames } from "../mesh/values";
import { ClusterNames, constraintProblems, readCaConstraints } from "./caConstraints";
import { issuerChain } from "./chain";
import { SignedSubordinate } from "./managedCa";

/** What one cluster of a mesh stack receives from the offline PKI: never a root key. */
export interface ClusterPki {
    /** The environment's root certificates, in bundle order (more than one during a root rotation). */
    readonly roots: pulumi.Output<string[]>;
    readonly intermediateCertPem: pulumi.Output<string>;
    readonly backend: CaBackend;
    readonly step: CaHandoffStep;
    /** Secret. Only while the mesh CA runs on the pki stack's intermediate (steps `secret` and `awaiting-signature`). */
    readonly intermediateKeyPem?: pulumi.Output<string>;
    /** Step `managed`: the certificate the pki stack signed for the managed subordinate, and the root that signed it. */
    readonly signed?: SignedSubordinate;
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
        // The config gate allows only the secret backend with an air-gapped handoff.
        return new Map(config.clusters.map((c) => {
            const material = config.intermediates![c.name];
            return [c.name, {
                backend: c.caBackend, step: "secret",
                roots: pulumi.output(config.trustBundle!),
                intermediateCertPem: pulumi.output(material.certPem).apply((pem) => checkedIntermediate(c, issuerNames(config, c), pem, "istio-production:intermediates")),
                intermediateKeyPem: pulumi.secret(material.keyPem),
            }];
        }));
    }
    const ref = new pulumi.StackReference(pki.stack);
    const from = `pki stack ${pki.stack}`;
    // Awaited before anything that uses the material is registered: a pki stack of another environment is refused
    // as a bad setting, not halfway through the program.
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
    // The handoff step decides what gets registered (an import, an issuer), so it is read before anything is.
    const published = ((await ref.getOutputDetails("intermediates")).value ?? {}) as Record<string, { certPem?: string; key?: "pki-stack" | "managed-ca" }>;
    return new Map(config.clusters.map((c, i) => {
        const entry = published[c.name];
        let step: CaHandoffStep;
        try {
            // Entries of pki stacks older than managed CAs carry no `key`: the stack made the key.
            step = caHandoffStep({ cluster: c.name, backend: c.caBackend, pki: entry && (entry.key ?? "pki-stack"), signed: !!entry?.certPem, pkiStack: pki.stack });
        } catch (e) {
            throw new ConfigError([{ key: `istio-production:clusters[${i}].caBackend`, value: JSON.stringify(c.caBackend), message: (e as Error).message }]);
        }
        const intermediateCertPem = intermediates.apply((all: Record<string, { certPem?: string }>) => {
            const certPem = all?.[c.name]?.certPem;
            if (!certPem) throw new Error(`cluster "${c.name}"'s intermediate is not signed yet: have the enterprise CA sign its CSR and set externalIntermediates.${c.name} in ${from}`);
            return checkedIntermediate(c, issuerNames(config, c), certPem, from);
        });
        const material: ClusterPki = step === "managed"
            ? { roots, intermediateCertPem, backend: c.caBackend, step,
                signed: { certPem: intermediateCertPem, chainPem: pulumi.all([intermediateCertPem, roots]).apply(([cert, r]) => [issuerChain(cert, r).signerPem]) } }
            : { roots, intermediateCertPem, backend: c.caBackend, step, intermediateKeyPem: keys.apply((all: Record<string, string>) => all[c.name]) };
        return [c.name, material];
    }));
}
