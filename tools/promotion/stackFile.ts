import * as fs from "node:fs";
import YAML, { Document, isMap, isScalar, Pair, YAMLMap } from "yaml";
import { CONFIG_NAMESPACE } from "../../config";
import { readYaml } from "../../engine/project";
import { isPlainObject, PROMOTABLE_KEYS, PromotionInputError, PromotionRefused, STAGE_KEY } from "./rules";

/** Reading and editing a stack file so that its comments, order and formatting survive a promotion. */

// No folding of long values, no padding inside flow collections: what the CLI and people write, kept as it is.
export const WRITE_OPTIONS = { lineWidth: 0, flowCollectionPadding: false } as const;

export function readDocument(file: string): Document {
    if (!fs.existsSync(file)) throw new PromotionInputError(`${file} does not exist`);
    let doc: Document;
    try {
        doc = readYaml(file, fs.readFileSync(file, "utf8"));
    } catch (e) {
        throw new PromotionInputError((e as Error).message);
    }
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
export function runtimeConfig(doc: Document): { config: Record<string, string>; secretKeys: Set<string> } {
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

/** The stage a stack file sets: the stage rule compares the two files' numbers. */
export function stageOf(doc: Document, file: string): number {
    const stage = valueOf(doc, STAGE_KEY);
    // `pulumi config set istio-production:stage 2` writes the string "2" (config values are strings unless set with
    // --type or --path; pulumi/pulumi v3.248.0 pkg/cmd/pulumi/config/config.go), which the program reads as a number.
    const n = typeof stage === "string" && /^[0-9]+$/.test(stage) ? Number(stage) : stage;
    if (typeof n !== "number" || !Number.isInteger(n)) throw new PromotionRefused(`${file}: ${STAGE_KEY} must be set, as an integer, to promote (got ${JSON.stringify(stage) ?? "nothing"})`);
    return n;
}

/** Set or unset one field of a map-valued setting, keeping the map's other fields and every node's comments. */
export function setField(doc: Document, key: string, field: string, value: unknown): void {
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

export function valueOf(doc: Document, key: string): unknown {
    const pair = configPair(doc, key);
    if (!pair) return undefined;
    return YAML.isNode(pair.value) ? pair.value.toJS(doc) : pair.value;
}

export function setValue(doc: Document, key: string, value: unknown): void {
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

export function sameValue(a: unknown, b: unknown): boolean {
    return JSON.stringify(a) === JSON.stringify(b);
}

export function environmentKeys(doc: Document): string[] {
    return (doc.get("config") as YAMLMap).items.map((p) => fullKey(keyText(p))).filter((k) => !PROMOTABLE_KEYS.includes(k));
}
