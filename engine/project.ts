import * as fs from "node:fs";
import * as path from "node:path";
import YAML, { LineCounter } from "yaml";
import { OFFLINE_SECRET_PLACEHOLDER } from "../config/primitives";

/** A Pulumi project on disk: what the CLI reads from `Pulumi.yaml` before running the program. */
export interface ProjectInfo {
    readonly dir: string;
    readonly name: string;
    /** Absolute path of the module the Node.js runtime loads. */
    readonly entry: string;
    readonly stackConfigDir: string;
}

/** A stack's settings file, as the program will receive it. */
export interface StackSettings {
    readonly stack: string;
    readonly file: string;
    /** `project:key` → value as text (structured values as JSON), the form the runtime hands the program. */
    readonly config: Record<string, string>;
    /** Keys set with `--secret`: none in a file the offline plan can read, but tests and callers may add them. */
    readonly secretKeys: string[];
    /** The environment whose pki hand-off the file imports from ESC (`environment: [istio-production/pki-<env>-handoff]`). */
    readonly pkiHandoff?: string;
}

/** The stack file asks for something the offline plan cannot give (bad YAML, an unknown stack, undecryptable secrets). */
export class StackInputError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "StackInputError";
    }
}

export function readProject(dir: string): ProjectInfo {
    const file = path.join(dir, "Pulumi.yaml");
    if (!fs.existsSync(file)) throw new StackInputError(`${dir} has no Pulumi.yaml: not a Pulumi project`);
    const doc = YAML.parse(fs.readFileSync(file, "utf8")) ?? {};
    const runtime = typeof doc.runtime === "string" ? doc.runtime : doc.runtime?.name;
    if (runtime !== "nodejs") throw new StackInputError(`${file}: runtime is ${JSON.stringify(runtime)}; the offline plan runs nodejs programs`);
    const pkgFile = path.join(dir, "package.json");
    const pkgMain = fs.existsSync(pkgFile) ? JSON.parse(fs.readFileSync(pkgFile, "utf8")).main : undefined;
    const main = doc.main ?? pkgMain ?? "index.ts";
    const entry = path.resolve(dir, main);
    return { dir: path.resolve(dir), name: String(doc.name), entry, stackConfigDir: path.resolve(dir, doc.stackConfigDir ?? ".") };
}

export function readStack(project: ProjectInfo, stack: string): StackSettings {
    const file = path.join(project.stackConfigDir, `Pulumi.${stack}.yaml`);
    if (!fs.existsSync(file)) {
        const known = listStacks(project);
        throw new StackInputError(`no stack "${stack}" in ${project.name}: ${file} does not exist (stacks: ${known.join(", ") || "none"})`);
    }
    // A plan reads its stack files again and again (and tests read them thousands of times): each text is parsed once.
    const text = fs.readFileSync(file, "utf8");
    const key = JSON.stringify([project.name, file]);
    let parsed = parsedStacks.get(key);
    if (parsed?.text !== text) {
        parsed = { text, settings: parseStack(project, stack, file, text) };
        parsedStacks.set(key, parsed);
    }
    const { settings } = parsed;
    return { ...settings, config: { ...settings.config }, secretKeys: [...settings.secretKeys] };
}

const parsedStacks = new Map<string, { text: string; settings: StackSettings }>();

function parseStack(project: ProjectInfo, stack: string, file: string, text: string): StackSettings {
    // The CLI reads stack files with gopkg.in/yaml.v3 (pulumi/pulumi v3.248.0, sdk/go/common/encoding/marshal.go),
    // which resolves `<<` merge keys (yaml.v3 v3.0.1, decode.go `isMerge`/`merge`: keys of the mapping itself win,
    // then the merged maps in order) and refuses duplicate keys; `yaml` does the same with `merge: true`.
    const doc = readYaml(file, text, { merge: true }).toJS() ?? {};
    // As LoadProjectStackBytes (sdk/go/common/workspace/loaders.go) does: the document and its `config` are mappings.
    if (!isMapping(doc)) {
        throw new StackInputError(`${file}: the top level is ${describeYaml(doc)}, not a mapping: a stack file is \`config:\` followed by indented \`${project.name}:<key>: <value>\` lines`);
    }
    const entries = doc.config ?? {};
    if (!isMapping(entries)) {
        throw new StackInputError(`${file}: config is ${describeYaml(entries)}, not a mapping of keys to values: write \`${project.name}:<key>: <value>\` lines under config:, without a leading '- '`);
    }
    const config: Record<string, string> = {};
    const secretKeys: string[] = [];
    for (const [rawKey, value] of Object.entries(entries)) {
        // The CLI files keys without a namespace under the project's own.
        const key = rawKey.includes(":") ? rawKey : `${project.name}:${rawKey}`;
        const readable = withoutCiphertext(value, file, key);
        if (readable !== value) secretKeys.push(key);
        // A key without a value reaches the program as "" (loaders.go, checkForEmptyConfig).
        config[key] = readable === null ? "" : typeof readable === "string" ? readable : JSON.stringify(readable);
    }
    const pkiHandoff = handoffImport(doc.environment, file, project.name);
    const ns = `${project.name}:`;
    const both = HANDOFF_KEYS.map((k) => `${ns}${k}`).filter((k) => pkiHandoff !== undefined && k in config);
    if (both.length > 0) {
        throw new StackInputError(`${file}: ${both.join(", ")} set here and by the imported ESC environment ${project.name}/pki-${pkiHandoff}-handoff: ` +
            "the CLI would merge the two (stack values win, key by key), mixing two hand-offs: remove the stack file's line");
    }
    return { stack, file, config, secretKeys, ...(pkiHandoff !== undefined ? { pkiHandoff } : {}) };
}

/** The keys an environment's ESC hand-off sets (tools/pki-export.ts `escScript`). */
const HANDOFF_KEYS = ["pki", "trustBundle", "intermediates"] as const;

/**
 * A stack file's `environment:` (pulumi/pulumi v3.248.0, sdk/go/common/workspace/project.go `ProjectStack.Environment`:
 * a list of ESC environments, `<project>/<env>` with an optional `@<version>`): the CLI opens them and merges their
 * `pulumiConfig` into the stack's config, stack file values winning (sdk/go/common/workspace/config.go `mergeConfig`,
 * "Prefers stack values over env values"; https://www.pulumi.com/docs/esc/integrations/infrastructure/pulumi-iac/).
 * The offline plan can stand in for one of them only: this project's pki hand-off of an environment, whose values it
 * derives from that environment's pki stack. Any other import would change the config behind the plan's back.
 */
function handoffImport(environment: unknown, file: string, projectName: string): string | undefined {
    if (environment === undefined || environment === null) return undefined;
    const imports = Array.isArray(environment) ? environment : [environment];
    const handoffs: string[] = [];
    const pattern = new RegExp(`^${projectName}/pki-([a-z0-9][a-z0-9-]*)-handoff(?:@[\\w.-]+)?$`);
    for (const name of imports) {
        const env = typeof name === "string" ? pattern.exec(name)?.[1] : undefined;
        if (env === undefined) {
            throw new StackInputError(`${file}: environment imports ${JSON.stringify(name)}, which the offline plan cannot read: ` +
                `only an environment's pki hand-off (${projectName}/pki-<environment>-handoff) is planned offline; put other settings in config:`);
        }
        handoffs.push(env);
    }
    if (handoffs.length > 1) throw new StackInputError(`${file}: environment imports ${handoffs.length} pki hand-offs (${handoffs.join(", ")}): a stack reads its own environment's only`);
    return handoffs[0];
}

/**
 * The config an imported pki hand-off gives the program, from the outputs of the environment's pki stack as the
 * plan emulated it, in the form `npm run pki:export -- <env> --esc` publishes (tools/pki-export.ts `escScript`):
 * `pki: {source: config}`, the public trust bundle, and the intermediates as one secret. A real preview decrypts that
 * secret (ESC secrets reach the program as secret config values), so the offline plan hands the program the pki
 * plan's throwaway intermediates, as a secret, rather than a placeholder that would leave everything built from them
 * unknown; they are redacted wherever the plan writes. A cluster whose CA backend holds its key hands off its
 * certificate only (`{certPem}`), as the pki stack exports no key for it.
 */
export function withPkiHandoff(settings: StackSettings, projectName: string, pkiOutputs: Record<string, unknown>): StackSettings {
    const ns = `${projectName}:`;
    const certs = (pkiOutputs.intermediates ?? {}) as Record<string, { certPem?: string }>;
    const keys = (pkiOutputs.intermediateKeys ?? {}) as Record<string, string>;
    const material = Object.fromEntries(Object.entries(certs).filter(([, i]) => i.certPem !== undefined)
        .map(([cluster, i]) => [cluster, keys[cluster] === undefined ? { certPem: i.certPem } : { certPem: i.certPem, keyPem: keys[cluster] }]));
    const config = {
        [`${ns}pki`]: JSON.stringify({ source: "config" }),
        [`${ns}trustBundle`]: JSON.stringify(pkiOutputs.trustBundle ?? []),
        [`${ns}intermediates`]: JSON.stringify(material),
        ...settings.config,
    };
    return { ...settings, config, secretKeys: [...new Set([...settings.secretKeys, `${ns}intermediates`])] };
}

/**
 * A YAML document, refused by where it is wrong and never by what it says there: the `yaml` library's messages quote
 * the file (yaml 2.9.1, errors.js `prettifyError` adds the lines around the error; compose-node.js and
 * resolve-flow-collection.js put tokens in the message), and a stack file holds private keys. An alias without its
 * anchor, or a merge of no map, is only found when the document is read (`toJS` throws): refused here too.
 */
export function readYaml(file: string, text: string, options: YAML.ParseOptions & YAML.DocumentOptions & YAML.SchemaOptions = {}): YAML.Document.Parsed {
    const lineCounter = new LineCounter();
    const doc = YAML.parseDocument(text, { ...options, prettyErrors: false, lineCounter, logLevel: "silent" });
    const error = doc.errors[0];
    if (error) {
        const { line, col } = lineCounter.linePos(error.pos[0]);
        throw new StackInputError(`${file}: not valid YAML at line ${line}, column ${col} (${error.code}): the text there is not shown, ` +
            "as it may be part of a secret; check the indentation and quoting of that line and the ones before it");
    }
    try {
        doc.toJS();
    } catch (e) {
        // Only yaml's fixed texts are repeated (nodes/Alias.js, schema/yaml-1.1/merge.js).
        const fixed = ["Merge sources must be maps or map aliases", "Alias nodes cannot have tags"].find((m) => (e as Error).message === m);
        throw new StackInputError(`${file}: not valid YAML: ${fixed ?? (e instanceof ReferenceError ? "an alias (*name) refers to no anchor (&name) set before it" : "it cannot be read as data")}`);
    }
    return doc;
}

function isMapping(v: unknown): v is Record<string, unknown> {
    return typeof v === "object" && v !== null && !Array.isArray(v);
}

function describeYaml(v: unknown): string {
    return Array.isArray(v) ? "a list" : `a ${typeof v}`;
}

/**
 * `value` with each `secure:` envelope replaced by the placeholder, after checking its shape: the CLI writes
 * `{secure: <ciphertext>}` (pulumi/pulumi sdk/go/common/resource/config/value.go, v3.248.0, `isSecureValue`: a
 * map whose only key is `secure`, holding a string; the ciphertext's format is the secrets provider's). A map with
 * `secure` and other keys is plain text to the CLI: refused here as a hand-edited file the CLI would misread.
 */
function withoutCiphertext(value: unknown, file: string, key: string): unknown {
    if (Array.isArray(value)) {
        const items = value.map((v) => withoutCiphertext(v, file, key));
        return items.some((v, i) => v !== value[i]) ? items : value;
    }
    if (!value || typeof value !== "object") return value;
    if ("secure" in value) {
        const { secure, ...rest } = value as Record<string, unknown>;
        if (typeof secure !== "string" || !/^\S+$/.test(secure) || Object.keys(rest).length > 0) {
            throw new StackInputError(`${file}: ${key} is not an encrypted value as the CLI writes it ({secure: <ciphertext>}, nothing else): ` +
                "set it again with `pulumi config set --secret`");
        }
        return OFFLINE_SECRET_PLACEHOLDER;
    }
    const entries = Object.entries(value).map(([k, v]) => [k, withoutCiphertext(v, file, key)] as const);
    return entries.some(([k, v]) => v !== (value as Record<string, unknown>)[k]) ? Object.fromEntries(entries) : value;
}

export function listStacks(project: ProjectInfo): string[] {
    if (!fs.existsSync(project.stackConfigDir)) return [];
    return fs.readdirSync(project.stackConfigDir)
        .map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1])
        .filter((s): s is string => s !== undefined)
        .sort();
}
