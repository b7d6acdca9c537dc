import * as fs from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import YAML, { Document, isMap, isScalar, Pair, YAMLMap } from "yaml";
import { Capability, capabilitiesFor, ChartVersions, CONFIG_NAMESPACE, ConfigError, MeshConfig, parseStackConfig, Stage } from "../config";
import { mandatoryNotRun, mandatoryViolations, planStack, PROJECT_ROOT } from "../engine/plan";
import { Violation } from "../engine/policy";
import { readProject, readStack } from "../engine/project";

/** Stacks in promotion order: a setting reaches one only after the one before it ran it. */
export const PROMOTION_ORDER = ["dev", "staging", "prod"] as const;

const STAGE_KEY = `${CONFIG_NAMESPACE}:stage`;

/**
 * The settings a promotion carries: what is deployed (stage, chart versions, Istio images, workload certificate
 * policy), as opposed to where (clusters, sizes, regions, CIDRs, secrets, PKI source, ingress hosts,
 * highAvailability, protectResources), which belongs to each environment and never moves. The PKI source above all:
 * each environment reads its own pki stack (`pki-<environment>`), and carrying dev's would hand staging dev's keys
 * (the config gate refuses a result that points at another environment's pki stack). Settings added later that
 * describe what is deployed belong here.
 */
export const PROMOTABLE_KEYS: readonly string[] = [STAGE_KEY, `${CONFIG_NAMESPACE}:charts`, `${CONFIG_NAMESPACE}:mesh`];

/**
 * The `mesh` settings a promotion carries: the Istio images and the workload certificate policy, as docs/promotion.md
 * promises. Trust-domain aliases (a migration of one environment) and the outbound traffic policy (what one
 * environment's workloads may reach) stay with their environment.
 */
export const PROMOTABLE_MESH_KEYS: readonly string[] = ["istioHub", "istioTag", "keyAlgorithm", "workloadCertificateTtlMinutes"];

/**
 * The capability that deploys each chart, `undefined` for charts every stage deploys. A pin of a chart the source's
 * stage does not deploy never ran there, so it is not carried, and the target's own pin of it stays.
 */
export const CHART_CAPABILITY: Readonly<Record<keyof ChartVersions, Capability | undefined>> = {
    istio: undefined,
    certManager: undefined,
    awsLoadBalancerController: undefined,
    istioCsr: "enterpriseMeshCa",
    // Deployed by clusters whose caBackend is a managed CA, from the stage istio-csr takes over the mesh CA.
    awsPrivateCaIssuer: "enterpriseMeshCa",
    googleCasIssuer: "enterpriseMeshCa",
    approverPolicy: "issuancePolicy",
    prometheus: "observability",
    kiali: "observability",
};

/** The promotable key paths a source at `stage` has run, as `pulumi config set --path` writes them. */
export function promotablePaths(stage: Stage): string[] {
    const on = capabilitiesFor(stage);
    const charts = Object.entries(CHART_CAPABILITY).filter(([, cap]) => cap === undefined || on[cap]).map(([chart]) => `${CONFIG_NAMESPACE}:charts.${chart}`);
    return [...charts, ...PROMOTABLE_MESH_KEYS.map((k) => `${CONFIG_NAMESPACE}:mesh.${k}`)];
}

/** Exit codes of `npm run promote`. */
export const EXIT = { ok: 0, refused: 1, badInput: 2 } as const;

/** A promotion a rule forbids: skipping a stack, a source with mandatory violations, a config the gate refuses. */
export class PromotionRefused extends Error {
    constructor(message: string) {
        super(message);
        this.name = "PromotionRefused";
    }
}

/** The stack files cannot be read as stack files. */
export class PromotionInputError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "PromotionInputError";
    }
}

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

/** One setting of the target as the promotion leaves it. `undefined` means unset (the program's default applies). */
export interface Change {
    /** Key path as `pulumi config set --path` writes it, e.g. `istio-production:charts.istio`. */
    readonly key: string;
    readonly before: unknown;
    readonly after: unknown;
    /** Why a promotable setting was not carried as it is. */
    readonly note?: string;
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

    if (opts.sourceOutputs) checkDeployed(opts.from, parseStackConfig(runtimeConfig(source).config) as MeshConfig, opts.sourceOutputs);

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
 * An edit of the source's stack file that was never deployed is not what ran there: the stage and the chart
 * versions the program exports (`stage`, `chartVersions`: program/mesh.ts) must equal the file's.
 */
function checkDeployed(from: string, config: MeshConfig, outputs: Record<string, unknown>): void {
    const problems: string[] = [];
    if (outputs.stage !== config.stage) problems.push(`stage: the stack file sets ${config.stage}, ${from} deployed ${JSON.stringify(outputs.stage ?? null)}`);
    const deployed = isPlainObject(outputs.chartVersions) ? outputs.chartVersions : {};
    for (const path of promotablePaths(config.stage).filter((p) => p.startsWith(`${CONFIG_NAMESPACE}:charts.`))) {
        const chart = path.slice(`${CONFIG_NAMESPACE}:charts.`.length) as keyof ChartVersions;
        if (deployed[chart] !== config.charts[chart]) problems.push(`charts.${chart}: the stack file pins ${config.charts[chart]}, ${from} deployed ${JSON.stringify(deployed[chart] ?? null)}`);
    }
    if (problems.length > 0) {
        throw new PromotionRefused(`refusing to promote ${from}: its stack file is not what it deployed (run \`pulumi up\` on ${from} first, or promote what ran):\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    }
}

function checkOrder(from: string, to: string): void {
    const order: readonly string[] = PROMOTION_ORDER;
    const known = order.join(" → ");
    for (const stack of [from, to]) {
        if (!order.includes(stack)) throw new PromotionRefused(`${stack} is not in the promotion order ${known}`);
    }
    const next = order[order.indexOf(from) + 1];
    if (to !== next) {
        throw new PromotionRefused(next === undefined
            ? `${from} is the last stack of the promotion order ${known}: there is nothing to promote it to`
            : `refusing to promote ${from} → ${to}: promotion goes one stack at a time (${known}), so ${from} promotes to ${next}`);
    }
}

// No folding of long values, no padding inside flow collections: what the CLI and people write, kept as it is.
const WRITE_OPTIONS = { lineWidth: 0, flowCollectionPadding: false } as const;

function readDocument(file: string): Document {
    if (!fs.existsSync(file)) throw new PromotionInputError(`${file} does not exist`);
    const doc = YAML.parseDocument(fs.readFileSync(file, "utf8"));
    if (doc.errors.length > 0) throw new PromotionInputError(`${file}: not valid YAML: ${doc.errors[0].message}`);
    if (!isMap(doc.get("config"))) throw new PromotionInputError(`${file}: has no config map`);
    return doc;
}

/** The config pair of `key`, written with the project namespace or, as the CLI also accepts, without it. */
function configPair(doc: Document, key: string): Pair<unknown, unknown> | undefined {
    return (doc.get("config") as YAMLMap).items.find((p) => fullKey(keyText(p)) === key);
}

function keyText(pair: Pair<unknown, unknown>): string {
    return String(isScalar(pair.key) ? pair.key.value : pair.key);
}

function fullKey(key: string): string {
    return key.includes(":") ? key : `${CONFIG_NAMESPACE}:${key}`;
}

/** The config as the runtime hands it to the program, and the keys holding `secure:` values (set with `--secret`). */
function runtimeConfig(doc: Document): { config: Record<string, string>; secretKeys: Set<string> } {
    const config: Record<string, string> = {};
    const secretKeys = new Set<string>();
    for (const pair of (doc.get("config") as YAMLMap).items) {
        const key = fullKey(keyText(pair));
        const value = YAML.isNode(pair.value) ? pair.value.toJS(doc) : pair.value;
        if (containsSecure(value)) secretKeys.add(key);
        config[key] = typeof value === "string" ? value : JSON.stringify(value);
    }
    return { config, secretKeys };
}

function containsSecure(v: unknown): boolean {
    if (Array.isArray(v)) return v.some(containsSecure);
    if (v && typeof v === "object") return "secure" in v || Object.values(v).some(containsSecure);
    return false;
}

/**
 * The config gate's verdict on a stack file. Encrypted values cannot be read here, and a promotion never touches
 * them, so problems inside them are left to the gate at `pulumi preview`.
 */
function validate(doc: Document, what: string): void {
    const { config, secretKeys } = runtimeConfig(doc);
    try {
        parseStackConfig(config, secretKeys);
    } catch (e) {
        if (!(e instanceof ConfigError)) throw e;
        const inEncrypted = (key: string) => [...secretKeys].some((s) => key === s || key.startsWith(`${s}.`) || key.startsWith(`${s}[`));
        const issues = e.issues.filter((i) => !inEncrypted(i.key));
        if (issues.length > 0) throw new PromotionRefused(`the config gate refuses ${what}: ${new ConfigError(issues).message}`);
    }
}

/** The stage a stack file sets: the stage rule compares the two files' numbers. */
function stageOf(doc: Document, file: string): number {
    const stage = valueOf(doc, STAGE_KEY);
    if (typeof stage !== "number") throw new PromotionRefused(`${file}: ${STAGE_KEY} must be set, as a plain number, to promote (got ${JSON.stringify(stage) ?? "nothing"})`);
    return stage;
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
        changes.push({ key: leaf, before, after, note: after === undefined ? `${from} does not set it: the program's default applies` : undefined });
        setField(target, key, field, after);
    }
    return { changes: changes.filter((c) => !sameValue(c.before, c.after)), kept };
}

/** Set or unset one field of a map-valued setting, keeping the map's other fields and every node's comments. */
function setField(doc: Document, key: string, field: string, value: unknown): void {
    const pair = configPair(doc, key);
    if (pair && isMap(pair.value)) {
        const item = pair.value.items.find((p) => keyText(p) === field);
        if (value === undefined) {
            if (item) pair.value.items.splice(pair.value.items.indexOf(item), 1);
            if (pair.value.items.length === 0) setValue(doc, key, undefined);
        } else if (item) {
            item.value = reconcile(doc, item.value, value);
        } else {
            pair.value.items.push(doc.createPair(field, value));
        }
    } else if (value !== undefined) {
        setValue(doc, key, { ...(isPlainObject(valueOf(doc, key)) ? valueOf(doc, key) as object : {}), [field]: value });
    }
}

function valueOf(doc: Document, key: string): unknown {
    const pair = configPair(doc, key);
    if (!pair) return undefined;
    return YAML.isNode(pair.value) ? pair.value.toJS(doc) : pair.value;
}

function setValue(doc: Document, key: string, value: unknown): void {
    const map = doc.get("config") as YAMLMap;
    const pair = configPair(doc, key);
    if (value === undefined) {
        if (pair) map.items.splice(map.items.indexOf(pair), 1);
    } else if (pair) {
        pair.value = reconcile(doc, pair.value, value);
    } else {
        // Next to the other promoted settings, so that a reviewer reads what moves in one place.
        const last = map.items.map((p) => PROMOTABLE_KEYS.includes(fullKey(keyText(p)))).lastIndexOf(true);
        map.items.splice(last === -1 ? map.items.length : last + 1, 0, doc.createPair(key, value));
    }
}

/** Update `node` to hold `value`, keeping nodes (and so their comments and style) wherever the shape allows. */
function reconcile(doc: Document, node: unknown, value: unknown): unknown {
    if (isScalar(node) && typeof node.value === typeof value && !isPlainObject(value) && !Array.isArray(value)) {
        node.value = value;
        return node;
    }
    if (isMap(node) && isPlainObject(value)) {
        for (const [k, v] of Object.entries(value)) {
            const item = node.items.find((p) => keyText(p) === k);
            if (item) item.value = reconcile(doc, item.value, v);
            else node.items.push(doc.createPair(k, v));
        }
        node.items = node.items.filter((p) => keyText(p) in value);
        return node;
    }
    const created = doc.createNode(value);
    if (YAML.isNode(node)) {
        created.commentBefore = node.commentBefore;
        created.comment = node.comment;
        created.spaceBefore = node.spaceBefore;
    }
    return created;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
    return typeof v === "object" && v !== null && !Array.isArray(v);
}

function sameValue(a: unknown, b: unknown): boolean {
    return JSON.stringify(a) === JSON.stringify(b);
}

function environmentKeys(doc: Document): string[] {
    return (doc.get("config") as YAMLMap).items.map((p) => fullKey(keyText(p))).filter((k) => !PROMOTABLE_KEYS.includes(k));
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
