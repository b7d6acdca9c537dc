import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { meshConfigSchema, MeshConfig } from "./schema";
import { pkiConfigSchema, PkiConfig } from "./pkiSchema";
import { CONFIG_NAMESPACE, OFFLINE_SECRET_PLACEHOLDER } from "./primitives";
import { containsSecret, forgetSecrets, looksSecret, opaqueValues, rememberSecret, schemasAt, scrub, scrubKey, SECRET_SHOWN_AS, secretKeysOf, secretValues, shapeOf } from "./redaction";
import { closest } from "./closest";
import { namespaceIssues } from "./namespaces";
import { StackBinding, stackBindingIssues } from "./stackBinding";
import { capabilitiesFor } from "./stages";

export { CONFIG_NAMESPACE };

export type StackConfig = MeshConfig | PkiConfig;

export interface ConfigIssue {
    /** Full key path as a user would write it with `pulumi config set --path`, e.g. `istio-production:clusters[0].name`. */
    readonly key: string;
    readonly message: string;
    /** The offending value, rendered for humans; secret values are never rendered. */
    readonly value: string;
}

/**
 * Every problem of a stack's configuration, found at once. Nothing has been registered when the gate throws it; the
 * program throws it too, for what only another stack's outputs reveal. Any secret read from the configuration is
 * scrubbed from it, whoever built it.
 */
export class ConfigError extends Error {
    readonly issues: readonly ConfigIssue[];
    constructor(found: readonly ConfigIssue[]) {
        const issues = found.map((i) => ({ key: scrubKey(i.key), message: scrub(i.message), value: scrub(i.value) }));
        const lines = issues.map((i) => `  - ${i.key}: ${i.message} (got ${i.value})`);
        super(`invalid stack configuration, ${issues.length} problem${issues.length === 1 ? "" : "s"}:\n${lines.join("\n")}`);
        this.name = "ConfigError";
        this.issues = issues;
    }
}

// Both roles' keys: a key of the other role is refused as unknown, and its value is still secret.
const SECRET_KEYS = new Map([...secretKeysOf(meshConfigSchema), ...secretKeysOf(pkiConfigSchema)]);

/**
 * Parse and validate a stack's raw configuration (`namespace:key` → string, as the Pulumi runtime holds it; the keys
 * of other namespaces included). Structured values arrive as JSON text; scalars as plain text. `secretKeys` are the
 * keys set with `--secret`.
 */
export function parseStackConfig(raw: Readonly<Record<string, string>>, secretKeys: ReadonlySet<string> = new Set()): StackConfig {
    const prefix = `${CONFIG_NAMESPACE}:`;
    const values: Record<string, unknown> = {};
    forgetSecrets();
    rememberSecret(secretsOfConfig(raw, secretKeys));
    // Per secret key, where its secret is: the whole value, or (set with `--secret --path`) the paths within it.
    const secretParts = new Map<string, SecretParts>();
    for (const [key, text] of Object.entries(raw)) {
        const value = parseValue(text);
        if (key.startsWith(prefix)) values[key.slice(prefix.length)] = value;
        if (secretKeys.has(key) || SECRET_KEYS.has(key.slice(prefix.length))) secretParts.set(key.slice(prefix.length), secretPartsOf(value));
    }
    const isSecret = (path: readonly PropertyKey[]) => {
        const parts = path.length > 0 ? secretParts.get(String(path[0])) : undefined;
        // A path above a secret part (its object) or within one holds it.
        return parts === "whole" || (parts !== undefined && parts.some((p) => p.every((seg, i) => i + 1 >= path.length || String(seg) === String(path[i + 1]))));
    };
    const plaintextSecrets: ConfigIssue[] = [...SECRET_KEYS]
        .filter(([key]) => key in values && !secretKeys.has(`${prefix}${key}`))
        .map(([key, holds]) => ({ key: `${prefix}${key}`, value: SECRET_SHOWN_AS,
            message: `holds ${holds} and must be set with \`pulumi config set --secret ${prefix}${key}\`` }));

    const schema = values.role === "pki" ? pkiConfigSchema : meshConfigSchema;
    const result = schema.safeParse(values, { reportInput: true });
    const misplaced = misplacedKeyMaterial(schema, values);
    const issues = [
        // Nothing reads a key of an unknown namespace, so nothing says what it holds: its text is never shown.
        ...namespaceIssues(Object.keys(raw)).map((i) => ({ ...i,
            value: secretKeys.has(i.key) || containsSecret(parseValue(raw[i.key])) ? SECRET_SHOWN_AS : shapeOf(parseValue(raw[i.key])) })),
        ...plaintextSecrets,
        ...misplaced,
        // Where key material is misplaced, that is the one thing to say about the value.
        ...(result.success ? [] : result.error.issues.flatMap((i) => toIssues(i, isSecret, schema)).filter((i) => !misplaced.some((m) => m.key === i.key))),
    ];
    if (issues.length > 0) throw new ConfigError(issues);
    return result.data as StackConfig;
}

/**
 * The secret values of a stack's raw configuration: values of secret keys (or their `--path` parts), and private key
 * material wherever it was pasted. A pure function of the configuration, for whoever prints what the program raised
 * (the CLI runs the program's modules in a context of their own, which remembers its secrets apart).
 */
export function secretsOfConfig(raw: Readonly<Record<string, string>>, secretKeys: ReadonlySet<string>): unknown[] {
    const prefix = `${CONFIG_NAMESPACE}:`;
    return Object.entries(raw).map(([key, text]) => {
        const value = parseValue(text);
        const secret = secretKeys.has(key) || SECRET_KEYS.has(key.slice(prefix.length));
        return secret && secretPartsOf(value) === "whole" ? value : pemKeysIn(value);
    });
}

/** Read the running stack's configuration from the Pulumi runtime and validate it. */
export function loadStackConfig(): StackConfig {
    const raw = pulumi.runtime.allConfig();
    // `isConfigSecret` is exported by the runtime but marked internal in its typings; it is the only way to learn
    // which keys were set with `--secret` without reading each one as a secret Output.
    const runtime = pulumi.runtime as typeof pulumi.runtime & { isConfigSecret(key: string): boolean };
    const secretKeys = new Set(Object.keys(raw).filter((k) => runtime.isConfigSecret(k)));
    const stack = pulumi.getStack();
    let config: StackConfig;
    try {
        config = parseStackConfig(raw, secretKeys);
    } catch (e) {
        // A stack file of another environment is told so along with everything else wrong in it.
        const written = bindingAsWritten(raw);
        if (e instanceof ConfigError) throw new ConfigError([...(written ? stackBindingIssues(written, stack) : []), ...e.issues]);
        throw e;
    }
    const unbound = stackBindingIssues(config, stack);
    if (unbound.length > 0) throw new ConfigError(unbound);
    for (const warning of configWarnings(config)) pulumi.log.warn(warning);
    return config;
}

/** The role and environment a stack file claims, read before (and whether or not) the rest of it is valid. */
function bindingAsWritten(raw: Readonly<Record<string, string>>): StackBinding | undefined {
    const environment = parseValue(raw[`${CONFIG_NAMESPACE}:environment`] ?? "");
    if (typeof environment !== "string" || environment === "") return undefined;
    return { role: parseValue(raw[`${CONFIG_NAMESPACE}:role`] ?? "") === "pki" ? "pki" : "mesh", environment };
}

/** What a stack may mean but rarely does: deployed, with a warning the CLI prints before the plan. */
export function configWarnings(config: StackConfig): string[] {
    if (config.role !== "mesh" || !capabilitiesFor(config.stage).authorization || config.services.length > 0) return [];
    return [`${CONFIG_NAMESPACE}:services is empty at stage ${config.stage}: authorization denies every call not declared, ` +
        "so every workload in the mesh will refuse every request (only the mesh's own components keep working). " +
        "Declare the services and their callers under services, or stay at stage 2 until they are declared."];
}

function parseValue(text: string): unknown {
    try {
        return JSON.parse(text);
    } catch {
        return text;
    }
}

function toIssues(issue: z.core.$ZodIssue, isSecret: (path: readonly PropertyKey[]) => boolean, schema: z.core.$ZodType): ConfigIssue[] {
    const secret = (path: readonly PropertyKey[], value: unknown) => isSecret(path) || containsSecret(value);
    // A field that takes a certificate or key is shown by shape: a key pasted there in a form not recognised as one
    // (cut short, another encoding) must not be echoed.
    const shown = (path: readonly PropertyKey[], value: unknown) => value === undefined ? render(value)
        : secret(path, value) ? SECRET_SHOWN_AS
        : schemasAt(schema, path).some((s) => opaqueValues.has(s) || secretValues.has(s)) ? shapeOf(value) : render(value);
    if (issue.code === "unrecognized_keys") {
        const where = issue.path.length === 0 ? "this project" : "this object";
        const holder = (issue.input ?? {}) as Record<string, unknown>;
        // Nothing in the schema says what an unknown key holds (a token, a key...): only its shape is shown.
        const known = schemasAt(schema, issue.path).flatMap((s) => Object.keys((s._zod.def as { shape?: object }).shape ?? {}));
        const meant = (k: string) => closest(k, known);
        return issue.keys.map((k) => ({ key: keyPath([...issue.path, k]), message: `unknown key: ${where} has no such setting${meant(k) ? `; did you mean ${meant(k)}?` : ""}`,
            value: secret([...issue.path, k], holder[k]) ? SECRET_SHOWN_AS : shapeOf(holder[k]) }));
    }
    const last = issue.path[issue.path.length - 1];
    // A failed discriminator (e.g. `cloud`) reports the whole object as its input; show the discriminator's value.
    const input = isObject(issue.input) && last !== undefined && String(last) in issue.input ? issue.input[String(last)] : issue.input;
    const missing = issue.code === "invalid_type" && issue.input === undefined;
    const value = shown(issue.path, input);
    // A hint derived from the value (e.g. "did you mean 10.0.0.0/16?") is shown only where the value is.
    const hint = issue.code === "custom" && typeof issue.params?.hint === "string" && value !== SECRET_SHOWN_AS ? `; ${issue.params.hint}` : "";
    return [{ key: keyPath(issue.path), message: missing ? "is required" : `${issue.message}${hint}`, value }];
}

/**
 * Private key material pasted where the schema takes none (a free-text field, an unknown key, a certificate's place):
 * refused, so it is never planned or written out, and never shown.
 */
function misplacedKeyMaterial(schema: z.core.$ZodType, values: Record<string, unknown>): ConfigIssue[] {
    const takers = [...secretKeysOf(schema as z.ZodObject)].filter(([, holds]) => holds === "private key material").map(([key]) => key);
    const where = takers.length > 0 ? `only ${takers.join(", ")} takes private keys, set with \`pulumi config set --secret\`` : "no setting of this stack takes a private key";
    const found: ConfigIssue[] = [];
    const walk = (value: unknown, path: PropertyKey[]): void => {
        if (typeof value === "string" && looksSecret(value) && !schemasAt(schema, path).some((s) => secretValues.has(s))) {
            found.push({ key: keyPath(path), value: SECRET_SHOWN_AS,
                message: `holds private key material where none belongs (${where}): remove it, and replace the key, which this file has exposed` });
        }
        if (Array.isArray(value)) value.forEach((v, i) => walk(v, [...path, i]));
        else if (isObject(value)) Object.entries(value).forEach(([k, v]) => walk(v, [...path, k]));
    };
    Object.entries(values).forEach(([key, value]) => walk(value, [key]));
    return found;
}

type SecretParts = "whole" | ReadonlyArray<readonly PropertyKey[]>;

/**
 * Which parts of a secret key's value are secret. The runtime flags a key set with `pulumi config set --secret --path
 * <key>.a.b` as a whole, though its file holds `{secure: ...}` at that path only and the rest in plain text; the offline
 * plan hands the program its placeholder at each such path, so where placeholders are, they alone are secret (and are
 * no secret bytes themselves). A value with none (decrypted by a real run) is secret whole.
 */
function secretPartsOf(value: unknown): SecretParts {
    const found: PropertyKey[][] = [];
    const walk = (v: unknown, path: PropertyKey[]): void => {
        if (v === OFFLINE_SECRET_PLACEHOLDER) found.push(path);
        else if (Array.isArray(v)) v.forEach((x, i) => walk(x, [...path, i]));
        else if (isObject(v)) Object.entries(v).forEach(([k, x]) => walk(x, [...path, k]));
    };
    walk(value, []);
    return found.length > 0 && found.every((p) => p.length > 0) ? found : "whole";
}

/** Private keys pasted anywhere: secret whatever the key. */
function pemKeysIn(value: unknown): unknown[] {
    if (typeof value === "string") return looksSecret(value) ? [value] : [];
    if (Array.isArray(value)) return value.flatMap(pemKeysIn);
    if (isObject(value)) return Object.values(value).flatMap(pemKeysIn);
    return [];
}

function keyPath(path: readonly PropertyKey[]): string {
    const [top, ...rest] = path.map(String);
    return `${CONFIG_NAMESPACE}:${top ?? "<stack>"}${rest.map((p) => (/^\d+$/.test(p) ? `[${p}]` : `.${p}`)).join("")}`;
}

function isObject(v: unknown): v is Record<string, unknown> {
    return typeof v === "object" && v !== null && !Array.isArray(v);
}

function render(value: unknown): string {
    if (value === undefined) return "nothing";
    // Anything outside printable ASCII is escaped, so a look-alike letter (U+0435, the Cyrillic e) is seen for what it is.
    const text = JSON.stringify(value).replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
    return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
