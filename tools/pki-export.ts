import * as fs from "node:fs";
import { parseArgs } from "node:util";

const USAGE = `usage: npm run pki:export -- <environment> --outputs <pki-outputs.json> [--stack <mesh stack>]

Air-gap handoff: reads the environment's pki stack outputs (pulumi stack output --stack pki-<environment> --json
--show-secrets) and prints the shell commands that give the environment's mesh stack its root certificates and, as
a secret, its clusters' intermediates. Values go through stdin, never through arguments (shell history, process
lists). Outputs of another environment's pki stack are refused.`;

interface PkiOutputs {
    environment: string;
    trustBundle: string[];
    intermediates: Record<string, { certPem?: string }>;
    intermediateKeys: Record<string, string>;
}

/** The script for one environment, from that environment's pki stack only; never a root key (the stack exports none). */
export function exportScript(outputs: PkiOutputs, environment: string, stack = environment): string {
    if (outputs.environment !== environment) {
        throw new Error(`these pki outputs hold the key material of environment ${JSON.stringify(outputs.environment ?? null)}, not "${environment}": export pki-${environment}'s outputs`);
    }
    const roots = outputs.trustBundle;
    if (!roots?.length) throw new Error(`the pki outputs of environment "${environment}" have no trust bundle`);
    const clusters = Object.entries(outputs.intermediates ?? {});
    const material: Record<string, { certPem: string; keyPem: string }> = {};
    for (const [cluster, i] of clusters) {
        if (!i.certPem) throw new Error(`cluster "${cluster}" has no signed intermediate yet (external mode: set externalIntermediates.${cluster})`);
        const keyPem = outputs.intermediateKeys?.[cluster];
        if (!keyPem) throw new Error(`the pki outputs hold no key for cluster "${cluster}": export them with --show-secrets`);
        material[cluster] = { certPem: i.certPem, keyPem };
    }
    const set = (flags: string, key: string, value: unknown) =>
        `pulumi config set --stack ${stack} ${flags}${key} <<'PKI_EOF'\n${JSON.stringify(value)}\nPKI_EOF`;
    return [
        "#!/usr/bin/env bash",
        `# Handoff of environment ${environment} (${clusters.map(([c]) => c).join(", ")}). Holds private keys: keep on encrypted media, delete after use.`,
        "set -euo pipefail",
        // Structured values travel as JSON text, which the config gate parses like any structured value.
        set("", "istio-production:pki", { source: "config" }),
        set("", "istio-production:trustBundle", roots),
        set("--secret ", "istio-production:intermediates", material),
        "",
    ].join("\n");
}

export function main(argv: string[]): number {
    const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { outputs: { type: "string" }, stack: { type: "string" } } });
    if (positionals.length !== 1 || !values.outputs) {
        console.error(USAGE);
        return 2;
    }
    try {
        const outputs = JSON.parse(fs.readFileSync(values.outputs, "utf8")) as PkiOutputs;
        process.stdout.write(exportScript(outputs, positionals[0], values.stack));
        return 0;
    } catch (e) {
        console.error((e as Error).message);
        return 2;
    }
}

if (require.main === module) process.exit(main(process.argv.slice(2)));
