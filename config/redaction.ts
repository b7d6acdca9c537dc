import { createPrivateKey } from "node:crypto";
import { z } from "zod";

/**
 * Which configuration values are secret, and how error messages leave them out. Nothing here names a key: a value is
 * secret because the schema says what it holds (a private key), because the operator set its key with
 * `pulumi config set --secret`, or because it is private key material wherever it was pasted.
 */

/** What an error message shows instead of a secret value, as plan.json does. */
export const SECRET_SHOWN_AS = "[secret]";

/** Value schemas that hold secret material: a top-level key whose schema contains one must be set with `--secret`. */
export const secretValues = z.registry<{ holds: string }>();

// A PEM private key of any kind (PKCS#8, EC, RSA, OpenSSH, encrypted), wherever it was pasted.
const PRIVATE_KEY_PEM = /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/;

// A DER private key in base64, pasted without its BEGIN/END lines: the shortest one worth a look (an EC P-256 key in
// SEC1 is 121 bytes, 164 base64 characters; 64 keeps room for smaller curves and a key cut short by a line).
const BASE64_BODY = /^[A-Za-z0-9+/\s]{64,}={0,2}\s*$/;
const DER_KINDS = [{ type: "pkcs8" }, { type: "pkcs1" }, { type: "sec1" }] as const;

/** Whether the text is, or contains, private key material: a PEM private key, or the base64 body of one. */
export function looksSecret(text: string): boolean {
    return PRIVATE_KEY_PEM.test(text) || isPrivateKeyBase64(text);
}

// A body without its PEM lines is recognised by what it decodes to, not by its look (a certificate's body looks the
// same): node parses the DER as PKCS#8 (RFC 5208), PKCS#1 RSAPrivateKey (RFC 8017) or SEC1 ECPrivateKey (RFC 5915).
function isPrivateKeyBase64(text: string): boolean {
    if (!BASE64_BODY.test(text)) return false;
    const der = Buffer.from(text.replace(/\s/g, ""), "base64");
    return DER_KINDS.some(({ type }) => {
        try {
            createPrivateKey({ key: der, format: "der", type });
            return true;
        } catch {
            return false;
        }
    });
}

/** Value schemas whose values are never rendered, secret or not: what is wrong with a certificate is said by its shape. */
export const opaqueValues = z.registry<{ holds: string }>();

/** How a value is shown where its text must not be: its type and length. */
export function shapeOf(value: unknown): string {
    if (typeof value === "string") return `a string of ${value.length} character${value.length === 1 ? "" : "s"}`;
    if (Array.isArray(value)) return `a list of ${value.length} item${value.length === 1 ? "" : "s"}`;
    if (typeof value === "object" && value !== null) {
        const n = Object.keys(value).length;
        return `a mapping of ${n} key${n === 1 ? "" : "s"}`;
    }
    return value === null ? "null" : `a ${typeof value}`;
}

/**
 * The schemas a value at `path` of `schema` is checked against (several where a union leaves the choice open), with
 * their wrappers (optional, default, pipes, unions) opened. None: nothing in the schema takes a value there.
 */
export function schemasAt(schema: z.core.$ZodType, path: readonly PropertyKey[]): z.core.$ZodType[] {
    let current = opened(schema);
    for (const segment of path) {
        current = current.flatMap((s) => {
            const def = s._zod.def as unknown as Record<string, any>;
            const child = def.type === "object" ? def.shape?.[String(segment)] ?? def.catchall
                : def.type === "array" ? def.element
                : def.type === "record" ? def.valueType
                : def.type === "tuple" ? def.items?.[Number(segment)] ?? def.rest
                : undefined;
            return child ? opened(child) : [];
        });
    }
    return current;
}

function opened(schema: z.core.$ZodType): z.core.$ZodType[] {
    const out: z.core.$ZodType[] = [];
    const walk = (s: z.core.$ZodType | undefined) => {
        if (!s || out.includes(s)) return;
        out.push(s);
        const def = s._zod.def as unknown as Record<string, any>;
        [def.innerType, def.in, def.out, ...(def.options ?? []), def.left, def.right].forEach(walk);
        if (def.type === "lazy") walk(def.getter());
    };
    walk(schema);
    return out;
}

/** What a schema holds that is secret, searching through wrappers, objects, arrays, records and unions. */
export function secretHeldBy(schema: z.core.$ZodType): string | undefined {
    const seen = new Set<z.core.$ZodType>();
    const walk = (s: z.core.$ZodType | undefined): string | undefined => {
        if (!s || seen.has(s)) return undefined;
        seen.add(s);
        const meta = secretValues.get(s);
        if (meta) return meta.holds;
        const def = s._zod.def as unknown as Record<string, any>;
        const children: Array<z.core.$ZodType | undefined> = [
            def.innerType, def.element, def.keyType, def.valueType, def.in, def.out, def.left, def.right,
            ...Object.values<z.core.$ZodType>(def.shape ?? {}), ...(def.options ?? []), ...(def.items ?? []),
        ];
        for (const child of children) {
            const found = walk(child);
            if (found) return found;
        }
        return undefined;
    };
    return walk(schema);
}

/** The top-level keys of an object schema that hold secret material, with what they hold. */
export function secretKeysOf(schema: z.ZodObject): Map<string, string> {
    const out = new Map<string, string>();
    for (const [key, field] of Object.entries(schema.shape)) {
        const holds = secretHeldBy(field as z.core.$ZodType);
        if (holds) out.set(key, holds);
    }
    return out;
}

// As the Pulumi CLI filters decrypted secret config out of what it prints (pulumi/pulumi v3.248.0,
// sdk/go/common/util/logging/log.go `CreateFilter`, installed by pkg/cmd/pulumi/config/io.go): shorter values and
// booleans are left alone (filtering "2" or "true" would garble every message), each value also in its JSON-escaped
// form. Rendering never depends on this: values of secret keys are not rendered at all.
const MIN_FILTERED_LENGTH = 3;

/** The secrets of the configuration this process runs with; errors the program raises later scrub them too. */
const known = new Set<string>();

/** A new configuration is being read: the secrets of an earlier one (another stack planned first) no longer apply. */
export function forgetSecrets(): void {
    known.clear();
}

/** The texts a filter replaces for a secret value: its leaves (strings and numbers, as the CLI's filter sees them). */
export function filterTexts(value: unknown): string[] {
    return leaves(value).flatMap((leaf) => leaf.length < MIN_FILTERED_LENGTH || /^(true|false)$/i.test(leaf) ? [] : [
        leaf, JSON.stringify(leaf).slice(1, -1),
        // A multi-line secret (a PEM) is also never shown line by line.
        ...leaf.split(/\r?\n/).filter((line) => line.length >= 16 && !/^-----(BEGIN|END) /.test(line)),
    ]);
}

/** Remember the leaves of a secret value. */
export function rememberSecret(value: unknown): void {
    for (const text of filterTexts(value)) known.add(text);
}

/** Whether a value contains a remembered secret or private key material anywhere. */
export function containsSecret(value: unknown): boolean {
    return leaves(value).some((leaf) => looksSecret(leaf) || [...known].some((s) => leaf.includes(s)));
}

/** The text with every remembered secret replaced. */
export function scrub(text: string): string {
    return scrubWith(text, known);
}

/** The text with each of `secrets` (texts from `filterTexts`) replaced. */
export function scrubWith(text: string, secrets: Iterable<string>): string {
    // Longest first, so that a secret containing another is replaced whole.
    return [...secrets].sort((a, b) => b.length - a.length).reduce((t, s) => t.split(s).join(SECRET_SHOWN_AS), text);
}

/**
 * A key path with each segment that is a secret (a record key taken from a secret value) replaced. Segments, not
 * substrings: a field name such as `remoteWriteUrl` stays readable when `remoteWrite` is a secret value.
 */
export function scrubKey(key: string): string {
    return key.split(/([:.[\]])/).map((segment) => (known.has(segment) ? SECRET_SHOWN_AS : segment)).join("");
}

function leaves(value: unknown): string[] {
    if (typeof value === "string") return [value];
    if (typeof value === "number") return [String(value)];
    if (Array.isArray(value)) return value.flatMap(leaves);
    if (typeof value === "object" && value !== null) return Object.values(value).flatMap(leaves);
    return [];
}
