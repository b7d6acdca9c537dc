import * as fs from "node:fs";
import * as path from "node:path";
import { Document, isSeq } from "yaml";
import { CONFIG_NAMESPACE, ConfigError, MeshConfig, parseStackConfig, Stage } from "../../config";
import { mandatoryNotRun, mandatoryViolations, planStack, PROJECT_ROOT } from "../../engine/plan";
import { Violation } from "../../engine/policy";
import { readProject, readStack } from "../../engine/project";
import { Change, checkDeployed, checkOrder, promotablePaths, PromotionRefused, STAGE_KEY } from "./rules";
import { environmentKeys, readDocument, runtimeConfig, sameValue, setField, setValue, stageOf, valueOf, WRITE_OPTIONS } from "./stackFile";

/** The mandatory policy violations of a stack, given its stack file. */
export type SourceCheck = (stack: string, file: string) => Promise<readonly Violation[]>;

export interface PromoteOptions {
    readonly from: string;
    readonly to: string;
    /** Compute the diff, write nothing. @default false */
    readonly dryRun?: boolean;
    /** @default - this project's `stacks/` */
    readonly stacksDir?: string;
    /** @default - the offline plan of `from` with this project's policy packs */
    readonly checkSource?: SourceCheck;
    /**
     * The source's deployed outputs (`pulumi stack output --json --stack <from>`). When given, a stage or chart
     * version in the source's stack file that differs from what its last `pulumi up` deployed refuses the promotion.
     * @default - not compared (the diff says so)
     */
    readonly sourceOutputs?: Record<string, unknown>;
}

export interface PromotionResult {
    readonly file: string;
    readonly changes: readonly Change[];
    /** Promotable settings left as they are, with the reason (the stage rule). */
    readonly kept: readonly Change[];
    /** The diff as printed. */
    readonly text: string;
    readonly written: boolean;
}

/**
 * Carry the promotable settings of stack `from` to stack `to`, the next stack in PROMOTION_ORDER. Refuses when `to`
 * is not the next stack, when the offline plan of `from` has a mandatory violation, and when the resulting stack
 * file would fail the config gate. The target's comments and formatting survive; only promotable keys change.
 */
export async function promote(opts: PromoteOptions): Promise<PromotionResult> {
    checkOrder(opts.from, opts.to);
    const dir = path.resolve(opts.stacksDir ?? path.join(PROJECT_ROOT, "stacks"));
    const sourceFile = path.join(dir, `Pulumi.${opts.from}.yaml`);
    const targetFile = path.join(dir, `Pulumi.${opts.to}.yaml`);
    const source = readDocument(sourceFile);
    const target = readDocument(targetFile);

    validate(source, `${opts.from} (${sourceFile})`);
    const sourceStage = stageOf(source, sourceFile);
    const targetStage = stageOf(target, targetFile);
    const checkSource = opts.checkSource ?? planViolations;
    const violations = await checkSource(opts.from, sourceFile);
    if (violations.length > 0) {
        const lines = violations.map((v) => `  - ${v.pack}/${v.policy}: ${v.message}${v.urn ? ` (${v.urn})` : ""}`);
        throw new PromotionRefused(`refusing to promote ${opts.from}: its offline plan has ${violations.length} mandatory policy violation(s) ` +
            `(npm run plan -- ${opts.from}):\n${lines.join("\n")}`);
    }

    if (opts.sourceOutputs) checkDeployed(opts.from, parseStackConfig(withHandoffStandIn(source, runtimeConfig(source).config)) as MeshConfig, opts.sourceOutputs);

    const { changes, kept } = applyPromotion(source, target, sourceStage, targetStage, opts.from);
    const text = formatDiff(opts.from, opts.to, targetFile, changes, kept, environmentKeys(target)) +
        (opts.sourceOutputs ? `\n  ${opts.from}'s stack file matches its deployed outputs (stage, chart versions)` :
            `\n  not compared with what ${opts.from} deployed: pass --source-outputs <(pulumi stack output --json --stack ${opts.from})`);
    if (changes.length > 0) {
        try {
            validate(target, `${opts.to} after promotion`);
        } catch (e) {
            throw new PromotionRefused(`refusing to promote ${opts.from} → ${opts.to}: ${(e as Error).message}\n\nThe promotion would have made these changes:\n${text}`);
        }
    }
    const written = changes.length > 0 && !opts.dryRun;
    if (written) fs.writeFileSync(targetFile, target.toString(WRITE_OPTIONS));
    return { file: targetFile, changes, kept, text, written };
}

/**
 * The config gate's verdict on a stack file. Encrypted values cannot be read here, and a promotion never touches
 * them, so problems inside them are left to the gate at `pulumi preview`.
 */
function validate(doc: Document, what: string): void {
    const { config, secretKeys } = runtimeConfig(doc);
    const imports = doc.get("environment");
    const environment = config[`${CONFIG_NAMESPACE}:environment`];
    for (const name of isSeq(imports) ? imports.toJSON() : imports === undefined ? [] : [String(imports)]) {
        const of = /^istio-production\/pki-(.+)-handoff(?:@.*)?$/.exec(String(name))?.[1];
        if (of !== environment) {
            throw new PromotionRefused(`the config gate refuses ${what}: environment imports ${name}, the hand-off of environment ${JSON.stringify(of ?? null)}, ` +
                `but ${CONFIG_NAMESPACE}:environment is ${JSON.stringify(environment ?? null)}: a mesh stack reads no other environment's key material`);
        }
    }
    try {
        parseStackConfig(withHandoffStandIn(doc, config), secretKeys);
    } catch (e) {
        if (!(e instanceof ConfigError)) throw e;
        const inEncrypted = (key: string) => [...secretKeys].some((s) => key === s || key.startsWith(`${s}.`) || key.startsWith(`${s}[`));
        const issues = e.issues.filter((i) => !inEncrypted(i.key));
        if (issues.length > 0) throw new PromotionRefused(`the config gate refuses ${what}: ${new ConfigError(issues).message}`);
    }
}

/**
 * A file importing its pki hand-off from ESC (`environment:`) gets pki, trustBundle and intermediates there, out of
 * this file's reach; the gate judges the rest of the file with the environment's pki stack named in their place (the
 * plan of the source judges the hand-off itself: engine/project.ts withPkiHandoff).
 */
function withHandoffStandIn(doc: Document, config: Record<string, string>): Record<string, string> {
    if (doc.get("environment") === undefined) return config;
    const environment = config[`${CONFIG_NAMESPACE}:environment`];
    return { [`${CONFIG_NAMESPACE}:pki`]: JSON.stringify({ source: "stack", stack: `organization/istio-production/pki-${environment}` }), ...config };
}

/** Plans the stack file as found (also in another folder), reading it as the engine does: `secure:` values are never read. */
async function planViolations(stack: string, file: string): Promise<readonly Violation[]> {
    try {
        const settings = readStack({ ...readProject(PROJECT_ROOT), stackConfigDir: path.dirname(file) }, stack);
        const plan = await planStack({ stack, config: settings.config, secretKeys: settings.secretKeys });
        // A mandatory policy the gate could not run at preview refuses like a violation: it was never checked.
        return [...mandatoryViolations(plan), ...mandatoryNotRun(plan).map((n) => ({ ...n, message: `could not run at a first preview: ${n.reason}` }))];
    } catch (e) {
        throw new PromotionRefused(`refusing to promote ${stack}: its offline plan failed (npm run plan -- ${stack}): ${(e as Error).message}`);
    }
}

/** Edit `target` in place; return what changed and which promotable settings were deliberately not carried. */
function applyPromotion(source: Document, target: Document, sourceStage: number, targetStage: number, from: string): { changes: Change[]; kept: Change[] } {
    const changes: Change[] = [];
    const kept: Change[] = [];
    const stageBefore = valueOf(target, STAGE_KEY);
    // One step toward the source, never down: the stage gate lets a deployment move one stage at a time.
    if (sourceStage <= targetStage) {
        const why = sourceStage === targetStage ? `${from} is at the same stage` : `${from} is at stage ${sourceStage}, and promotion never lowers a stage`;
        kept.push({ key: STAGE_KEY, before: stageBefore, after: stageBefore, note: why });
    } else {
        const raised = targetStage + 1;
        const note = raised < sourceStage ? `one step toward ${from}'s stage ${sourceStage}: the stage gate allows one step at a time` : undefined;
        changes.push({ key: STAGE_KEY, before: stageBefore, after: raised, note });
        setValue(target, STAGE_KEY, raised);
    }
    // Leaf by leaf, and only the leaves the source's stage runs: the target's other settings stay as they are.
    for (const leaf of promotablePaths(sourceStage as Stage)) {
        const [key, field] = [leaf.slice(0, leaf.lastIndexOf(".")), leaf.slice(leaf.lastIndexOf(".") + 1)];
        const before = (valueOf(target, key) as Record<string, unknown> | undefined)?.[field];
        const after = (valueOf(source, key) as Record<string, unknown> | undefined)?.[field];
        if (sameValue(before, after)) continue;
        // Only what the source sets moves: a setting the source leaves to the program's default is the target's
        // own (an image mirror, a pin of its own), never deleted by a promotion.
        if (after === undefined) {
            kept.push({ key: leaf, before, after: before, note: `${from} does not set it: the target's own value stays` });
            continue;
        }
        changes.push({ key: leaf, before, after });
        setField(target, key, field, after);
    }
    return { changes: changes.filter((c) => !sameValue(c.before, c.after)), kept };
}

function formatDiff(from: string, to: string, file: string, changes: readonly Change[], kept: readonly Change[], environmentKeys: readonly string[]): string {
    const show = (v: unknown) => (v === undefined ? "(unset)" : JSON.stringify(v));
    const lines = [`promote ${from} → ${to}: ${path.relative(process.cwd(), file) || file}`];
    for (const c of changes) {
        const mark = c.before === undefined ? "+" : c.after === undefined ? "-" : "~";
        lines.push(`  ${mark} ${c.key}: ${show(c.before)} → ${show(c.after)}${c.note ? `  (${c.note})` : ""}`);
    }
    for (const k of kept) lines.push(`  = ${k.key}: ${show(k.before)}  (kept: ${k.note})`);
    if (changes.length === 0) lines.push(`  nothing to promote: ${to} already runs what ${from} runs`);
    lines.push(`  environment settings of ${to}, untouched: ${environmentKeys.join(", ") || "none"}`);
    return lines.join("\n");
}
