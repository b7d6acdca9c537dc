/**
 * `npm run docs:config`: docs/config.md, the reference of every stack setting, generated from the config schema
 * (config/schema.ts, config/pkiSchema.ts): types and defaults from the zod schemas themselves (zod's JSON Schema
 * export), descriptions from the JSDoc on each property, and the stage from the stage matrix (config/stages.ts).
 * tests/config-docs.test.ts fails when the file is stale.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import ts from "typescript";
import { z } from "zod";
import { meshConfigSchema } from "../config/schema";
import { pkiConfigSchema } from "../config/pkiSchema";
import { Capability, CAPABILITIES } from "../config/stages";

const ROOT = path.resolve(__dirname, "..");
export const CONFIG_DOC = path.join(ROOT, "docs", "config.md");
const NS = "istio-production";

/**
 * The capability a top-level mesh setting belongs to: the setting is read from the stage that turns it on. A setting
 * not listed is read at every stage.
 */
const CAPABILITY_OF: Readonly<Record<string, Capability>> = {
    pki: "enterpriseMeshCa", trustBundle: "enterpriseMeshCa", intermediates: "enterpriseMeshCa",
    services: "authorization", edgeAuth: "endUserAuthentication",
    multiCluster: "multiCluster", traffic: "trafficManagement", observability: "observability",
};

interface Literal {
    readonly keys: ReadonlySet<string>;
    readonly docs: ReadonlyMap<string, string>;
}

/** Every object literal of config/*.ts with the JSDoc of its properties (the schemas' `z.strictObject({...})`). */
function documentedLiterals(): Literal[] {
    const literals: Literal[] = [];
    const dir = path.join(ROOT, "config");
    for (const file of fs.readdirSync(dir).filter((f) => f.endsWith(".ts")).sort()) {
        const source = ts.createSourceFile(file, fs.readFileSync(path.join(dir, file), "utf8"), ts.ScriptTarget.ES2022, true);
        const visit = (node: ts.Node) => {
            if (ts.isObjectLiteralExpression(node)) {
                const docs = new Map<string, string>();
                const keys = new Set<string>();
                for (const p of node.properties) {
                    if (!p.name || !(ts.isIdentifier(p.name) || ts.isStringLiteral(p.name))) continue;
                    keys.add(p.name.text);
                    const doc = ts.getJSDocCommentsAndTags(p).filter(ts.isJSDoc).map((d) => ts.getTextOfJSDocComment(d.comment) ?? "").join(" ").trim();
                    if (doc) docs.set(p.name.text, doc.replace(/\s+/g, " "));
                }
                if (docs.size) literals.push({ keys, docs });
            }
            ts.forEachChild(node, visit);
        };
        visit(source);
    }
    return literals;
}

interface Row {
    readonly key: string;
    type: string;
    readonly default: string;
    readonly stage: string;
    readonly description: string;
}

function typeOf(s: any): string {
    if (!s || typeof s !== "object") return "any";
    if (s.const !== undefined) return JSON.stringify(s.const);
    if (s.enum) return s.enum.map((e: unknown) => JSON.stringify(e)).join(" \\| ");
    if (s.oneOf || s.anyOf) return [...new Set((s.oneOf ?? s.anyOf).map(typeOf))].join(" \\| ");
    if (s.type === "array") return `${typeOf(s.items)}[]`;
    if (s.type === "object") return s.properties ? "object" : "map";
    return s.type ?? "any";
}

/**
 * One row per setting, depth first. A union of objects (a cluster on aws or gcp) lists the settings of every variant
 * once, each setting that only some variants have marked with theirs.
 */
function rows(schema: any, prefix: string, literals: readonly Literal[], stageOf: (top: string) => string, out: Row[] = [], variant = "", shared?: ReadonlySet<string>): Row[] {
    const props: Record<string, any> = schema.properties ?? {};
    const names = new Set(Object.keys(props));
    const describe = (key: string) => literals.find((l) => [...l.keys].every((k) => names.has(k)) && l.docs.has(key))?.docs.get(key) ?? "";
    for (const [key, prop] of Object.entries(props)) {
        const name = `${prefix}${key}`;
        const seen = out.find((r) => r.key === name);
        // The discriminator of a union (`cloud`) takes each variant's value.
        if (seen) seen.type = [...new Set([...seen.type.split(" \\| "), ...typeOf(prop).split(" \\| ")])].join(" \\| ");
        if (!seen) {
            out.push({
                key: name, type: typeOf(prop), default: prop.default === undefined ? "" : `\`${JSON.stringify(prop.default)}\``,
                stage: stageOf(name.split(/[.[]/)[0]), description: `${variant && !shared?.has(key) ? variant : ""}${describe(key)}`,
            });
        }
        const element = prop.type === "array" ? prop.items : prop;
        const variants: any[] = element?.type === "object" && element.properties ? [element] : (element?.oneOf ?? element?.anyOf ?? []).filter((o: any) => o.type === "object" && o.properties);
        const common = new Set(variants.length ? Object.keys(variants[0].properties).filter((k) => variants.every((o) => k in o.properties)) : []);
        for (const o of variants) {
            const tag = Object.entries(o.properties).find(([, v]: [string, any]) => v.const !== undefined) as [string, any] | undefined;
            rows(o, `${name}${prop.type === "array" ? "[]" : ""}.`, literals, stageOf, out, variants.length > 1 && tag ? `(${tag[0]}: ${tag[1].const}) ` : "", common);
        }
    }
    return out;
}

const cell = (s: string) => s.replace(/\|/g, "\\|").replace(/\n/g, " ");
const keyCell = (s: string) => `\`${NS}:${s}\``;

function table(list: readonly Row[]): string[] {
    return ["| key | type | default | stage | description |", "|---|---|---|---|---|",
        ...list.map((r) => `| ${keyCell(r.key)} | ${r.type.replace(/\|(?<!\\\|)/g, "\\|")} | ${cell(r.default)} | ${r.stage} | ${cell(r.description)} |`)];
}

/** The text of docs/config.md. */
export function configReference(): string {
    const literals = documentedLiterals();
    const json = (s: z.ZodType) => z.toJSONSchema(s, { io: "input", unrepresentable: "any" });
    const meshStage = (top: string) => (CAPABILITY_OF[top] ? `≥ ${CAPABILITIES[CAPABILITY_OF[top]].since}` : "all");
    return [
        "# Stack configuration reference",
        "",
        "<!-- Generated by `npm run docs:config` from config/schema.ts and config/pkiSchema.ts; tests/config-docs.test.ts fails when it is stale. -->",
        "",
        "Every key of a stack file (`stacks/Pulumi.<stack>.yaml`), as the config gate parses it. A key with a dot is a",
        "field of the structured value above it (`pulumi config set --path`); `[]` is each element of a list. **stage** is",
        "the first stage that reads the key (`all`: every stage); the stage matrix is [config/stages.ts](../config/stages.ts).",
        "Secrets (`intermediates`, private keys wherever pasted) are set with `pulumi config set --secret`.",
        "",
        "## Mesh stacks (`dev`, `staging`, `prod`)",
        "",
        ...table(rows(json(meshConfigSchema), "", literals, meshStage)),
        "",
        "## PKI stacks (`pki-<environment>`, `role: pki`)",
        "",
        ...table(rows(json(pkiConfigSchema), "", literals, () => "—")),
        "",
    ].join("\n");
}

if (require.main === module) {
    fs.writeFileSync(CONFIG_DOC, configReference());
    console.log(`Wrote ${path.relative(process.cwd(), CONFIG_DOC)}`);
}
