import * as fs from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { isPlainObject, PROMOTABLE_MESH_KEYS, PROMOTION_ORDER, PromotionInputError, PromotionRefused } from "./promotion/rules";
import { promote, SourceCheck } from "./promotion/promote";

/** Exit codes of `npm run promote`. */
export const EXIT = { ok: 0, refused: 1, badInput: 2 } as const;

const USAGE = `usage: npm run promote -- <from> <to> [--dry-run] [--stacks-dir <dir>] [--source-outputs <file>]

Carries the promotable settings of stacks/Pulumi.<from>.yaml to stacks/Pulumi.<to>.yaml, one stack at a time
(${PROMOTION_ORDER.join(" → ")}), and prints the diff: the stage, the pins of the charts <from>'s stage deploys, and
mesh.${PROMOTABLE_MESH_KEYS.join(", mesh.")}; the target's other settings stay. The stage moves up by at most one and
never down. With --source-outputs (pulumi stack output --json --stack <from>), refuses a stack file whose stage or
chart versions differ from what <from> deployed. Refuses a source whose offline plan has a mandatory policy violation and a result the config
gate refuses. Exit codes: 0 promoted (or nothing to do, or --dry-run), 1 refused, 2 bad arguments or unreadable files.`;

function readOutputs(file: string): Record<string, unknown> {
    let parsed: unknown;
    try {
        parsed = JSON.parse(fs.readFileSync(file, "utf8"));
    } catch (e) {
        throw new PromotionInputError(`--source-outputs ${file}: not the JSON of \`pulumi stack output --json\`: ${(e as Error).message}`);
    }
    if (!isPlainObject(parsed)) throw new PromotionInputError(`--source-outputs ${file}: expected a JSON object of stack outputs`);
    return parsed;
}

export async function main(argv: string[], checkSource?: SourceCheck): Promise<number> {
    let args;
    try {
        args = parseArgs({
            args: argv, allowPositionals: true,
            options: { "dry-run": { type: "boolean" }, "stacks-dir": { type: "string" }, "source-outputs": { type: "string" }, help: { type: "boolean", short: "h" } },
        });
    } catch (e) {
        console.error(`${(e as Error).message}\n\n${USAGE}`);
        return EXIT.badInput;
    }
    if (args.values.help) {
        console.log(USAGE);
        return EXIT.ok;
    }
    if (args.positionals.length !== 2) {
        console.error(`expected two stack names, <from> and <to>, got ${args.positionals.length}\n\n${USAGE}`);
        return EXIT.badInput;
    }
    const [from, to] = args.positionals;
    try {
        const sourceOutputs = args.values["source-outputs"] === undefined ? undefined : readOutputs(args.values["source-outputs"]);
        const result = await promote({ from, to, dryRun: args.values["dry-run"], stacksDir: args.values["stacks-dir"], checkSource, sourceOutputs });
        console.log(result.text);
        if (result.written) console.log(`\nWrote ${path.relative(process.cwd(), result.file) || result.file}: review it and open a pull request, whose checks plan and preview ${to}.`);
        else if (result.changes.length > 0) console.log("\nDry run: nothing written.");
        return EXIT.ok;
    } catch (e) {
        console.error((e as Error).message);
        if (e instanceof PromotionRefused) return EXIT.refused;
        if (e instanceof PromotionInputError) return EXIT.badInput;
        throw e;
    }
}

if (require.main === module) {
    main(process.argv.slice(2)).then((code) => process.exit(code), (e) => {
        console.error(e);
        process.exit(EXIT.badInput);
    });
}
