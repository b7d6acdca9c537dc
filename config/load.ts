import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { meshConfigSchema, MeshConfig, SECRET_CONFIG_KEYS } from "./schema";
import { pkiConfigSchema, PkiConfig } from "./pkiSchema";
import { stackBindingIssues } from "./stackBinding";

/** The project's config namespace: keys in stack files read `istio-production:<key>`. */
export const CONFIG_NAMESPACE = "istio-production";

export type StackConfig = MeshConfig | PkiConfig;

export interface ConfigIssue {
    /** Full key path as a user would write it with `pulumi config set --path`, e.g. `istio-production:clusters[0].name`. */
    readonly key: string;
    readonly message: string;
    /** The offending value, rendered for humans; secret values are never rendered. */
    readonly value: string;
}

/** Every problem of a stack's configuration, found at once. Nothing has been registered when this is thrown. */
export class ConfigError extends Error {
    readonly issues: readonly ConfigIssue[];
    constructor(issues: readonly ConfigIssue[]) {
        const lines = issues.map((i) => `  - ${i.key}: ${i.message} (got ${i.value})`);
        super(`invalid stack configuration, ${issues.length} problem${issues.length === 1 ? "" : "s"}:\n${lines.join("\n")}`);
        this.name = "ConfigError";
        this.issues = issues;
    }
}

/**
 * Parse and validate a stack's raw configuration (`project:key` → string, as the Pulumi runtime holds it).
 * Structured values arrive as JSON text; scalars as plain text.
 */
export function parseStackConfig(raw: Readonly<Record<string, string>>, secretKeys: ReadonlySet<string> = new Set()): StackConfig {
    const prefix = `${CONFIG_NAMESPACE}:`;
    const values: Record<string, unknown> = {};
    for (const [key, text] of Object.entries(raw)) {
        if (key.startsWith(prefix)) values[key.slice(prefix.length)] = parseValue(text);
    }
    const isSecret = (key: string) => secretKeys.has(`${prefix}${key}`);
    const plaintextSecrets: ConfigIssue[] = [...SECRET_CONFIG_KEYS]
        .filter((key) => key in values && !isSecret(key))
        .map((key) => ({ key: `${prefix}${key}`, value: "(plain text, not shown)",
            message: `holds private key material and must be set with \`pulumi config set --secret ${prefix}${key}\`` }));

    const schema = values.role === "pki" ? pkiConfigSchema : meshConfigSchema;
    const result = schema.safeParse(values, { reportInput: true });
    const issues = [...plaintextSecrets, ...(result.success ? [] : result.error.issues.flatMap((i) => toIssues(i, isSecret)))];
    if (issues.length > 0) throw new ConfigError(issues);
    return result.data as StackConfig;
}

/** Read the running stack's configuration from the Pulumi runtime and validate it. */
export function loadStackConfig(): StackConfig {
    const raw = pulumi.runtime.allConfig();
    // `isConfigSecret` is exported by the runtime but marked internal in its typings; it is the only way to learn
    // which keys were set with `--secret` without reading each one as a secret Output.
    const runtime = pulumi.runtime as typeof pulumi.runtime & { isConfigSecret(key: string): boolean };
    const secretKeys = new Set(Object.keys(raw).filter((k) => runtime.isConfigSecret(k)));
    const config = parseStackConfig(raw, secretKeys);
    const unbound = stackBindingIssues(config, pulumi.getStack());
    if (unbound.length > 0) throw new ConfigError(unbound);
    return config;
}

function parseValue(text: string): unknown {
    try {
        return JSON.parse(text);
    } catch {
        return text;
    }
}

function toIssues(issue: z.core.$ZodIssue, isSecret: (key: string) => boolean): ConfigIssue[] {
    if (issue.code === "unrecognized_keys") {
        const where = issue.path.length === 0 ? "this project" : "this object";
        const holder = (issue.input ?? {}) as Record<string, unknown>;
        return issue.keys.map((k) => ({ key: keyPath([...issue.path, k]), message: `unknown key: ${where} has no such setting`, value: render(holder[k]) }));
    }
    const top = issue.path[0];
    const last = issue.path[issue.path.length - 1];
    // A failed discriminator (e.g. `cloud`) reports the whole object as its input; show the discriminator's value.
    const input = isObject(issue.input) && last !== undefined && String(last) in issue.input ? issue.input[String(last)] : issue.input;
    const missing = issue.code === "invalid_type" && issue.input === undefined;
    return [{
        key: keyPath(issue.path),
        message: missing ? "is required" : issue.message,
        value: top !== undefined && isSecret(String(top)) ? "(secret, not shown)" : render(input),
    }];
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
    const text = JSON.stringify(value);
    return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
