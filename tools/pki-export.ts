import * as fs from "node:fs";
import { parseArgs } from "node:util";

const USAGE = `usage: npm run pki:export -- <environment> --outputs <pki-outputs.json> [--stack <mesh stack> | --esc <org>]

Reads the environment's pki stack outputs (pulumi stack output --stack pki-<environment> --json --show-secrets) and
prints the shell commands that give the environment's mesh stack its root certificates and, as a secret, its
clusters' intermediates: into the mesh stack's config (air gap), or with --esc into the ESC environment
<org>/istio-production/pki-<environment>-handoff, which the mesh stack file imports (shared backend). Values go through
stdin, never through arguments (shell history, process lists). Outputs of another environment's pki stack are
refused.`;

/** The ESC environment holding one environment's hand-off: one per environment, so none carries another's material. */
export function handoffEnvironment(environment: string): string {
    return `istio-production/pki-${environment}-handoff`;
}

interface PkiOutputs {
    environment: string;
    trustBundle: string[];
    intermediates: Record<string, { certPem?: string; key?: "pki-stack" | "managed-ca" }>;
    intermediateKeys: Record<string, string>;
}

/** One environment's hand-off, from that environment's pki stack only; never a root key (the stack exports none). */
function handoff(outputs: PkiOutputs, environment: string): { roots: string[]; clusters: string[]; material: Record<string, { certPem: string; keyPem: string }> } {
    if (outputs.environment !== environment) {
        throw new Error(`these pki outputs hold the key material of environment ${JSON.stringify(outputs.environment ?? null)}, not "${environment}": export pki-${environment}'s outputs`);
    }
    const roots = outputs.trustBundle;
    if (!roots?.length) throw new Error(`the pki outputs of environment "${environment}" have no trust bundle`);
    const clusters = Object.entries(outputs.intermediates ?? {});
    const material: Record<string, { certPem: string; keyPem: string }> = {};
    for (const [cluster, i] of clusters) {
        if (i.key === "managed-ca") {
            throw new Error(`cluster "${cluster}"'s key lives in its managed CA, which this stack signed a CSR for: there is no key to hand off, and the mesh stack imports the certificate through a StackReference (pki.source: stack)`);
        }
        if (!i.certPem) throw new Error(`cluster "${cluster}" has no signed intermediate yet (external mode: set externalIntermediates.${cluster})`);
        const keyPem = outputs.intermediateKeys?.[cluster];
        if (!keyPem) throw new Error(`the pki outputs hold no key for cluster "${cluster}": export them with --show-secrets`);
        material[cluster] = { certPem: i.certPem, keyPem };
    }
    return { roots, clusters: clusters.map(([c]) => c), material };
}

/** The script that sets the hand-off in the mesh stack's config (air gap: `pki.source: config`). */
export function exportScript(outputs: PkiOutputs, environment: string, stack = environment): string {
    const { roots, clusters, material } = handoff(outputs, environment);
    const set = (flags: string, key: string, value: unknown) =>
        `pulumi config set --stack ${stack} ${flags}${key} <<'PKI_EOF'\n${JSON.stringify(value)}\nPKI_EOF`;
    return [
        "#!/usr/bin/env bash",
        `# Handoff of environment ${environment} (${clusters.join(", ")}). Holds private keys: keep on encrypted media, delete after use.`,
        "set -euo pipefail",
        // Structured values travel as JSON text, which the config gate parses like any structured value.
        set("", "istio-production:pki", { source: "config" }),
        set("", "istio-production:trustBundle", roots),
        set("--secret ", "istio-production:intermediates", material),
        "",
    ].join("\n");
}

/**
 * The script that publishes the hand-off to the environment's ESC environment, whose `pulumiConfig` the CLI merges
 * into the config of every stack file that imports it (`environment: [istio-production/pki-<env>-handoff]`), on the
 * deploy backend, where a StackReference to the offline pki stack cannot reach. `pulumi env set` takes a property
 * path (keys with a colon quoted as `["..."]`) and a YAML value; the intermediates go as one secret JSON string, which
 * the config gate parses like any structured value (https://www.pulumi.com/docs/iac/cli/commands/pulumi_env_set/,
 * https://www.pulumi.com/docs/esc/integrations/infrastructure/pulumi-iac/).
 */
export function escScript(outputs: PkiOutputs, environment: string, org: string): string {
    const { roots, clusters, material } = handoff(outputs, environment);
    const env = `${org}/${handoffEnvironment(environment)}`;
    const set = (flags: string, key: string, value: string) =>
        `pulumi env set ${env} 'pulumiConfig["${key}"]' ${flags}--file - <<'PKI_EOF'\n${value}\nPKI_EOF`;
    return [
        "#!/usr/bin/env bash",
        `# Handoff of environment ${environment} (${clusters.join(", ")}) to ESC environment ${env}. Holds private keys: keep on encrypted media, delete after use.`,
        "set -euo pipefail",
        `pulumi env get ${env} >/dev/null 2>&1 || pulumi env init ${env}`,
        set("", "istio-production:pki", JSON.stringify({ source: "config" })),
        set("", "istio-production:trustBundle", JSON.stringify(roots)),
        set("--secret --string ", "istio-production:intermediates", JSON.stringify(material)),
        "",
    ].join("\n");
}

export function main(argv: string[]): number {
    const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { outputs: { type: "string" }, stack: { type: "string" }, esc: { type: "string" } } });
    if (positionals.length !== 1 || !values.outputs || (values.esc !== undefined && values.stack !== undefined)) {
        console.error(USAGE);
        return 2;
    }
    try {
        const outputs = JSON.parse(fs.readFileSync(values.outputs, "utf8")) as PkiOutputs;
        process.stdout.write(values.esc === undefined ? exportScript(outputs, positionals[0], values.stack) : escScript(outputs, positionals[0], values.esc));
        return 0;
    } catch (e) {
        console.error((e as Error).message);
        return 2;
    }
}

if (require.main === module) process.exit(main(process.argv.slice(2)));
