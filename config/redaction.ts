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

/** Whether the text is, or contains, private key material. */
export function looksSecret(text: string): boolean {
    return PRIVATE_KEY_PEM.test(text);
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

/** Remember the leaves of a secret value (strings and numbers, as the CLI's filter sees them). */
export function rememberSecret(value: unknown): void {
    for (const leaf of leaves(value)) {
        if (leaf.length < MIN_FILTERED_LENGTH || /^(true|false)$/i.test(leaf)) continue;
        known.add(leaf);
        known.add(JSON.stringify(leaf).slice(1, -1));
        // A multi-line secret (a PEM) is also never shown line by line.
        for (const line of leaf.split(/\r?\n/)) if (line.length >= 16 && !/^-----(BEGIN|END) /.test(line)) known.add(line);
    }
}

/** Whether a value contains a remembered secret or private key material anywhere. */
export function containsSecret(value: unknown): boolean {
    return leaves(value).some((leaf) => looksSecret(leaf) || [...known].some((s) => leaf.includes(s)));
}

/** The text with every remembered secret replaced. */
export function scrub(text: string): string {
    // Longest first, so that a secret containing another is replaced whole.
    return [...known].sort((a, b) => b.length - a.length).reduce((t, s) => t.split(s).join(SECRET_SHOWN_AS), text);
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
