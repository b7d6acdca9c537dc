import * as fs from "node:fs";
import * as path from "node:path";

/**
 * The files every policy pack keeps an identical copy of: a pack is published and run from its own folder
 * (`pulumi policy publish`, `pulumi preview --policy-pack <folder>`), so it cannot import a sibling's module.
 */
export const SHARED_PACK_FILES = ["plumbing.ts", "preview.ts"] as const;

export const POLICY_DIR = path.join(__dirname, "..", "policy");

/** The packs under policy/: folders holding a PulumiPolicy.yaml. */
export function packs(policyDir = POLICY_DIR): string[] {
    return fs.readdirSync(policyDir, { withFileTypes: true })
        .filter((e) => e.isDirectory() && fs.existsSync(path.join(policyDir, e.name, "PulumiPolicy.yaml")))
        .map((e) => e.name)
        .sort();
}

/** The packs whose copy of `file` differs from `source`'s. */
export function outOfSync(source: string, file: string, policyDir = POLICY_DIR): string[] {
    const want = fs.readFileSync(path.join(policyDir, source, file), "utf8");
    return packs(policyDir).filter((p) => p !== source && fs.readFileSync(path.join(policyDir, p, file), "utf8") !== want);
}

function main(argv: string[]): number {
    const [source] = argv;
    if (!source || !packs().includes(source)) {
        process.stderr.write(`usage: npm run policy:sync -- <pack>\n  copies ${SHARED_PACK_FILES.join(", ")} of the pack you edited to the others (${packs().join(", ")})\n`);
        return 2;
    }
    for (const file of SHARED_PACK_FILES) {
        for (const pack of outOfSync(source, file)) {
            fs.copyFileSync(path.join(POLICY_DIR, source, file), path.join(POLICY_DIR, pack, file));
            process.stdout.write(`policy/${pack}/${file} <- policy/${source}/${file}\n`);
        }
    }
    return 0;
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));
