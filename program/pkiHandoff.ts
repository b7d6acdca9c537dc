import * as pulumi from "@pulumi/pulumi";
import { CONFIG_NAMESPACE, ClusterConfig, ConfigError, ConfigIssue, MeshConfig } from "../config";
import { caHandoffStep, CaHandoffStep } from "../config/stageGate";
import { meshIssuerServingNames } from "../components/kubernetes/names";
import { ClusterNames, constraintProblems, readCaConstraints } from "../components/pki/caConstraints";
import { issuerChain } from "../components/pki/chain";
import { ClusterPki } from "../components/pki/ClusterPki";

/** The names a cluster's mesh issuer signs: its trust domain's identities, istiod, istio-csr and private ingress hosts. */
export function issuerNames(config: MeshConfig, cluster: ClusterConfig): ClusterNames {
    const ingress = config.ingress?.issuer === "private" ? config.ingress.hosts : [];
    return { trustDomain: cluster.trustDomain, dnsNames: [...meshIssuerServingNames(), ...ingress] };
}

/**
 * An intermediate whose name constraints do not fit the cluster is refused before anything uses it: wider, and a
 * leak would mint other identities; narrower, and the mesh's own certificates would fail verification.
 */
function misfits(config: MeshConfig, cluster: ClusterConfig, certPem: string): string[] {
    return constraintProblems(readCaConstraints(certPem), issuerNames(config, cluster));
}

function checkedIntermediate(config: MeshConfig, cluster: ClusterConfig, certPem: string, from: string): string {
    const problems = misfits(config, cluster, certPem);
    if (problems.length) {
        throw new Error(`cluster "${cluster.name}": refusing its intermediate from ${from}: ${problems.join("; ")}; set the cluster's trustDomain and dnsNames in the environment's pki stack and hand its intermediates off again`);
    }
    return certPem;
}

/**
 * The handoff from the environment's pki stack to its mesh stack, per cluster. With `source: stack` it reads the
 * pki stack's outputs through a StackReference (the key output is secret there and stays secret here); the config
 * gate has already made sure it names this environment's pki stack, whose outputs hold no other environment's keys.
 * With `source: config` it reads what `npm run pki:export` printed for this environment (air gap).
 */
export async function clusterPki(config: MeshConfig): Promise<Map<string, ClusterPki>> {
    const pki = config.pki;
    if (!pki) throw new Error("pki is not configured: the config gate requires it from stage 2");
    if (pki.source === "config") {
        const all = config.intermediates!;
        // Known (air gap decrypted at preview, or an ESC hand-off): a misfit is refused before anything uses it, as
        // the pki stack's outputs are, under the key to hand off again.
        if (typeof all !== "string") {
            const issues = config.clusters.flatMap((c): ConfigIssue[] => {
                const problems = all[c.name] ? misfits(config, c, all[c.name].certPem) : [];
                return problems.length ? [{ key: `${CONFIG_NAMESPACE}:intermediates.${c.name}`, value: "[secret]",
                    message: `does not fit cluster "${c.name}": ${problems.join("; ")}; set the cluster's trustDomain and dnsNames in the environment's pki stack and hand its intermediates off again` }] : [];
            });
            if (issues.length > 0) throw new ConfigError(issues);
        }
        const roots = pulumi.output(config.trustBundle!);
        return new Map(config.clusters.map((c): [string, ClusterPki] => {
            // Offline, the encrypted intermediates are never read: their bytes are unknown to the plan, as values a
            // provider computes are at preview, and everything built from them is planned as such. A managed backend
            // is then planned at its last step, its certificate unknown.
            const unknown = pulumi.unknown as unknown as string;
            const material = typeof all === "string" ? { certPem: unknown, keyPem: c.caBackend === "secret" ? unknown : undefined } : all[c.name];
            const intermediateCertPem = pulumi.output(material.certPem).apply((pem) => checkedIntermediate(config, c, pem, `${CONFIG_NAMESPACE}:intermediates`));
            // What was handed off decides the step, as the pki stack's outputs do: a key (the pki stack made it; with
            // a managed backend, its subordinate awaits the signature) or a certificate alone (the managed CA's).
            const step = caHandoffStep({ cluster: c.name, backend: c.caBackend, pki: material.keyPem === undefined ? "managed-ca" : "pki-stack", signed: true, pkiStack: `${CONFIG_NAMESPACE}:intermediates` });
            return [c.name, clusterMaterial(c, step, roots, intermediateCertPem, () => pulumi.secret(material.keyPem!))];
        }));
    }
    // Its name was checked before this read (the config gate: <org>/istio-production/pki-<environment>, and the
    // environment is this stack's name). Its `environment` output cannot be checked before: a StackReference is a
    // resource read (pulumi/pulumi sdk/nodejs/stackReference.ts at v3.248.0: a CustomResource registered with
    // `id: name`), which copies every output of the stack, keys included, into this stack's state before any of them
    // can be looked at. Checked right after, before anything that uses the material is registered, so that a pki
    // stack deployed before its name was bound to its environment is refused as a bad setting.
    const ref = new pulumi.StackReference(pki.stack);
    // The rest of what the pki stack holds is input too (the stack exists, so its outputs are known at preview): every
    // mismatch is one error naming the key of this stack to change. The handoff step of each cluster decides what gets
    // registered (an import, an issuer), so it is read here too, before anything is.
    const [environment, trustBundle, intermediates] = await Promise.all(["environment", "trustBundle", "intermediates"].map(async (name) => {
        const details = await ref.getOutputDetails(name);
        return details.value ?? details.secretValue;
    }));
    const { issues, steps } = handoff(config, pki.stack, { environment, trustBundle, intermediates });
    if (issues.length > 0) throw new ConfigError(issues);
    const keys = ref.requireOutput("intermediateKeys");
    const roots = pulumi.output(trustBundle as string[]);
    return new Map(config.clusters.map((c) => {
        const step = steps.get(c.name)!;
        const certPem = (intermediates as Intermediates)[c.name].certPem!;
        return [c.name, clusterMaterial(c, step, roots, pulumi.output(certPem), () => keys.apply((all: Record<string, string>) => all[c.name]))];
    }));
}

/**
 * One cluster's material at its handoff step: at `managed`, the certificate the pki stack signed for the managed CA
 * and the chain above it; otherwise the pki stack's intermediate and its key (read only then: `key`).
 */
function clusterMaterial(c: ClusterConfig, step: CaHandoffStep, roots: pulumi.Output<string[]>, intermediateCertPem: pulumi.Output<string>, key: () => pulumi.Output<string>): ClusterPki {
    const common = { backend: c.caBackend, step, roots, intermediateCertPem };
    if (step !== "managed") return { ...common, intermediateKeyPem: key() };
    const chainPem = pulumi.all([intermediateCertPem, roots]).apply(([cert, r]) => [issuerChain(cert, r).signerPem]);
    return { ...common, signed: { certPem: intermediateCertPem, chainPem } };
}

/** The public outputs of an environment's pki stack (program/pki.ts) a mesh stack reads, as read: unchecked. */
export interface PkiStackOutputs {
    readonly environment: unknown;
    readonly trustBundle: unknown;
    readonly intermediates: unknown;
}

/** Per cluster: the certificate, and where its key is (absent from pki stacks older than managed CAs: the stack made it). */
type Intermediates = Record<string, { certPem?: string; key?: "pki-stack" | "managed-ca" }>;

/** How the pki stack's outputs fail this stack: each problem under the key of this stack's config that must change. */
export function handoffIssues(config: MeshConfig, stack: string, outputs: PkiStackOutputs): ConfigIssue[] {
    return handoff(config, stack, outputs).issues;
}

function handoff(config: MeshConfig, stack: string, outputs: PkiStackOutputs): { issues: ConfigIssue[]; steps: Map<string, CaHandoffStep> } {
    const key = (k: string) => `${CONFIG_NAMESPACE}:${k}`;
    const from = `pki stack ${stack}`;
    const steps = new Map<string, CaHandoffStep>();
    const { environment, trustBundle, intermediates } = outputs;
    const atStack = { key: key("pki.stack"), value: JSON.stringify(stack) };
    const only = (issue: ConfigIssue) => ({ issues: [issue], steps });
    if (environment === undefined || !isRecord(intermediates)) {
        return only({ ...atStack, message: `names a stack without a pki stack's outputs (environment, trustBundle, intermediates): name this environment's pki stack, the one that runs its root ceremony (role: pki)` });
    }
    if (environment !== config.environment) {
        return only({ ...atStack, message: `${from} holds the key material of environment ${JSON.stringify(environment)}, not "${config.environment}": point it at this environment's pki stack` });
    }
    if (!Array.isArray(trustBundle) || trustBundle.length === 0) {
        return only({ ...atStack, message: `${from} has no trust bundle: run its root ceremony first (docs/pki/root-ceremony.md)` });
    }
    const issues = config.clusters.flatMap((c, i): ConfigIssue[] => {
        const entry = intermediates[c.name] as Intermediates[string] | undefined;
        const at = { key: key(`clusters[${i}].name`), value: JSON.stringify(c.name) };
        if (!entry) return [{ ...at, message: `is not issued an intermediate by the ${from}: add it to the clusters there and run it (docs/pki/root-ceremony.md), or correct the name` }];
        try {
            steps.set(c.name, caHandoffStep({ cluster: c.name, backend: c.caBackend, pki: entry.key ?? "pki-stack", signed: !!entry.certPem, pkiStack: stack }));
        } catch (e) {
            return [{ key: key(`clusters[${i}].caBackend`), value: JSON.stringify(c.caBackend), message: (e as Error).message }];
        }
        if (!entry.certPem) return [{ ...at, message: `has an intermediate that is not signed yet: have the enterprise CA sign its CSR and set externalIntermediates.${c.name} in the ${from}` }];
        const problems = misfits(config, c, entry.certPem);
        if (problems.length) return [{ ...at, message: `is handed an intermediate by the ${from} that does not fit it: ${problems.join("; ")}; set the cluster's trustDomain and dnsNames there to this stack's (its trustDomain, private ingress hosts) and run it` }];
        return [];
    });
    return { issues, steps };
}

function isRecord(v: unknown): v is Record<string, unknown> {
    return typeof v === "object" && v !== null && !Array.isArray(v);
}
