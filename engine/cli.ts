import * as fs from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { mandatoryNotRun, mandatoryViolations, planStack, PROJECT_ROOT } from "./plan";
import { PackConfig, PolicyConfigError } from "./policy";
import { readProject, readStack, StackInputError } from "./project";
import { secretsOfConfig } from "../config/load";
import { filterTexts, scrubWith } from "../config/redaction";
import { ProgramError } from "./runtime";
import { meshMismatches, summarize, writePlan } from "./report";
import { changesSince, describeChanges, writeReports } from "./report/index";
import { colorWanted } from "./report/terminal";
import { planClock } from "./reproducible";

/** Exit codes of `npm run plan`. */
export const EXIT = { ok: 0, mandatoryViolation: 1, badInput: 2, programFailed: 3 } as const;

const USAGE = `usage: npm run plan -- <stack> [--program <dir>] [--policy-dir <dir>] [--policy-pack-config <pack>=<file.json>]...
                         [--previous-outputs <file.json>] [--previous-plan <plan.json>] [--assume-created] [--allow-not-run] [--no-ca-handoff] [--out <dir>]
                         [--baseline <plan.json>] [--now <time>] [--verbose]

Runs the Pulumi program for <stack> offline (no CLI, no cloud) as a first \`pulumi preview\` sees it (values computed by
providers unknown), evaluates every policy pack, and writes <out>/<stack>/plan.json, manifests/, pki/, report.html
and summary.md.
  --previous-plan     an earlier plan.json of the stack: its resources exist, their outputs are known (an update preview)
  --assume-created    evaluate the packs as if every resource existed (every output known)
  --allow-not-run     a mandatory policy that cannot run at preview is listed, not a failure
  --no-ca-handoff     do not carry out a managed CA handoff (docs/pki/ca-backends.md): plan the next \`pulumi up\` while
                      the pki stack has not signed the subordinates' CSRs yet
  --baseline          an earlier plan.json of the stack (main's): what this plan creates, updates, replaces and deletes,
                      printed and written to changes.json and both reports
  --now               the plan's clock (RFC 3339); default SOURCE_DATE_EPOCH, else the start of today (UTC)
  --verbose, -v       also count resources per type
Colour on a terminal unless NO_COLOR is set.
Exit codes: 0 ok, 1 mandatory policy violation, a mandatory policy that could not run, or a mesh path that differs from
the declared service graph (stage 3 and later), 2 bad input (stack config,
policy config or folder, arguments), 3 the program failed.`;

type ParsedValues = ReturnType<typeof parseOptions>["values"];

function parseOptions(argv: string[]) {
    return parseArgs({
        args: argv, allowPositionals: true,
        options: {
            program: { type: "string" }, "policy-dir": { type: "string" }, out: { type: "string" },
            "policy-pack-config": { type: "string", multiple: true }, help: { type: "boolean", short: "h" },
            "previous-outputs": { type: "string" }, "previous-plan": { type: "string" },
            "assume-created": { type: "boolean" }, "allow-not-run": { type: "boolean" }, "no-ca-handoff": { type: "boolean" },
            baseline: { type: "string" }, now: { type: "string" }, verbose: { type: "boolean", short: "v" },
        },
    });
}

export async function main(argv: string[]): Promise<number> {
    let args;
    try {
        args = parseOptions(argv);
    } catch (e) {
        console.error(`${(e as Error).message}\n\n${USAGE}`);
        return EXIT.badInput;
    }
    if (args.values.help) {
        console.log(USAGE);
        return EXIT.ok;
    }
    if (args.positionals.length !== 1) {
        console.error(`expected exactly one stack name, got ${args.positionals.length}\n\n${USAGE}`);
        return EXIT.badInput;
    }
    const stack = args.positionals[0];
    const restoreWarn = warnOnce();
    try {
        return await plan(args.values, stack);
    } finally {
        restoreWarn();
    }
}

/**
 * A plan runs the program more than once (the emulated create, then the preview), and the SDK's mock runtime prints
 * each `pulumi.log.warn` as it comes (sdk/nodejs/log/index.ts at v3.248.0: `console.warn` when no engine is
 * connected): each warning is shown once, as `pulumi preview` shows a run's.
 */
function warnOnce(): () => void {
    const warn = console.warn;
    const seen = new Set<string>();
    console.warn = (...parts: unknown[]) => {
        const line = parts.map(String).join(" ");
        if (seen.has(line)) return;
        seen.add(line);
        warn(...parts);
    };
    return () => {
        console.warn = warn;
    };
}

async function plan(values: ParsedValues, stack: string): Promise<number> {
    const args = { values };
    const programDir = path.resolve(args.values.program ?? PROJECT_ROOT);
    const out = path.resolve(args.values.out ?? path.join(PROJECT_ROOT, "out", "plan"));
    try {
        const policyConfig = readPolicyConfigs(args.values["policy-pack-config"] ?? []);
        const previous = args.values["previous-outputs"];
        const previousPlan = args.values["previous-plan"];
        let now;
        try {
            now = planClock(args.values.now);
        } catch (e) {
            throw new StackInputError((e as Error).message);
        }
        if (previousPlan && args.values["assume-created"]) throw new StackInputError("--previous-plan and --assume-created exclude each other: the first previews an update, the second assumes everything exists");
        const plan = await planStack({
            programDir, stack, policyDir: args.values["policy-dir"], policyConfig,
            previousOutputs: previous ? readPreviousOutputs(previous) : undefined,
            mode: args.values["assume-created"] ? "created" : "preview",
            existing: previousPlan ? readExisting(previousPlan, stack) : undefined, now,
            caHandoff: !args.values["no-ca-handoff"],
        });
        const changes = args.values.baseline ? changesSince(plan, args.values.baseline) : undefined;
        const dir = writePlan(plan, out);
        writeReports(plan, dir, changes);
        console.log(summarize(plan, { verbose: args.values.verbose, color: colorWanted(process.stdout) }));
        if (changes) console.log(`\n${describeChanges(changes).join("\n")}`);
        console.log(`\nWrote ${path.relative(process.cwd(), path.join(dir, "plan.json")) || dir}`);
        const mandatory = mandatoryViolations(plan);
        const unchecked = mandatoryNotRun(plan);
        if (mandatory.length > 0) console.error(`\n${mandatory.length} mandatory policy violation(s): this stack would be refused by \`pulumi preview --policy-pack\`.`);
        if (unchecked.length > 0) {
            console.error(`\n${unchecked.length} mandatory polic${unchecked.length === 1 ? "y" : "ies"} could not run at preview (a value they read is unknown until created): ` +
                `\`pulumi preview\` would let ${unchecked.length === 1 ? "it" : "them"} pass unchecked${args.values["allow-not-run"] ? " (allowed by --allow-not-run)" : ""}.`);
        }
        const mesh = meshMismatches(plan);
        if (mesh.length > 0) {
            console.error(`\n${mesh.length} mesh path(s) differ from the declared service graph:`);
            for (const c of mesh) console.error(`  ${c.caller} -> ${c.callee}:${c.port} (${c.from} -> ${c.to}): ${c.mismatch}${c.reason ? `: ${c.reason}` : ""}`);
        }
        return mandatory.length > 0 || mesh.length > 0 || (unchecked.length > 0 && !args.values["allow-not-run"]) ? EXIT.mandatoryViolation : EXIT.ok;
    } catch (e) {
        const err = e as Error;
        const print = (text: string) => console.error(scrubWith(text, stackSecrets(programDir, stack)));
        if (err.name === "ConfigError" || err instanceof StackInputError || err instanceof PolicyConfigError) {
            print(err.message);
            return EXIT.badInput;
        }
        // A config error thrown inside the program surfaces wrapped when registrations also failed.
        if (err instanceof ProgramError && err.causes.some((c) => c.name === "ConfigError")) {
            print(err.causes.find((c) => c.name === "ConfigError")!.message);
            return EXIT.badInput;
        }
        print(`the program failed:\n${err.stack ?? err.message}`);
        return EXIT.programFailed;
    }
}

/**
 * What must not be printed of the stack's configuration, computed here from the stack file: the program's modules
 * are loaded afresh for each run, so what they remembered as secret is not this module's to read. Nothing, when the
 * file cannot be read (then no secret of it reached the program).
 */
function stackSecrets(programDir: string, stack: string): string[] {
    try {
        const settings = readStack(readProject(programDir), stack);
        return filterTexts(secretsOfConfig(settings.config, new Set(settings.secretKeys)));
    } catch {
        return [];
    }
}

/** `pulumi stack output --json` of the planned stack (secrets shown as "[secret]" are kept as they are). */
function readPreviousOutputs(file: string): { outputs: Record<string, unknown>; secretOutputNames: string[] } {
    try {
        return { outputs: JSON.parse(fs.readFileSync(file, "utf8")), secretOutputNames: [] };
    } catch (e) {
        throw new StackInputError(`--previous-outputs ${file}: ${(e as Error).message}`);
    }
}

/** The URNs of the custom resources an earlier plan of the same stack would have created. */
function readExisting(file: string, stack: string): Set<string> {
    let doc: { stack?: string; resources?: { urn: string; custom: boolean; read: boolean }[] };
    try {
        doc = JSON.parse(fs.readFileSync(file, "utf8"));
    } catch (e) {
        throw new StackInputError(`--previous-plan ${file}: ${(e as Error).message}`);
    }
    if (doc.stack !== stack || !Array.isArray(doc.resources)) throw new StackInputError(`--previous-plan ${file}: not a plan.json of stack ${stack} (its stack: ${JSON.stringify(doc.stack)})`);
    return new Set(doc.resources.filter((r) => r.custom && !r.read).map((r) => r.urn));
}

function readPolicyConfigs(specs: string[]): Record<string, PackConfig> {
    const out: Record<string, PackConfig> = {};
    for (const spec of specs) {
        const [pack, file] = spec.split("=", 2);
        if (!pack || !file) throw new PolicyConfigError(`--policy-pack-config ${spec}: expected <pack>=<file.json>`);
        try {
            out[pack] = JSON.parse(fs.readFileSync(file, "utf8"));
        } catch (e) {
            throw new PolicyConfigError(`--policy-pack-config ${spec}: ${(e as Error).message}`);
        }
    }
    return out;
}

if (require.main === module) {
    main(process.argv.slice(2)).then((code) => process.exit(code), (e) => {
        // main answers every error of a plan itself; what reaches here is printed without the stack's secrets all the same.
        const { values, positionals } = parseArgs({ args: process.argv.slice(2), strict: false, allowPositionals: true });
        const programDir = path.resolve(typeof values.program === "string" ? values.program : PROJECT_ROOT);
        console.error(scrubWith(String((e as Error)?.stack ?? e), positionals.length === 1 ? stackSecrets(programDir, positionals[0]) : []));
        process.exit(EXIT.programFailed);
    });
}
