/**
 * Property values in wire form (what the Pulumi SDK sends to the resource monitor, `Struct.toJavaScript()`):
 * plain JSON plus signature objects for secrets and resource references. The engine keeps captured values in this
 * form so that secret-ness is never lost, and converts on the way out.
 */
export const SIG_KEY = "4dabf18193072939515e22adb298388d";
export const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";
export const RESOURCE_SIG = "5cf8f73096256a8f31e491e813e4eb8e";
/** What `plan.json`, manifests and logs show in place of a secret value. */
export const SECRET_MARKER = "[secret]";
/**
 * A value not known until the resource that computes it exists: the sentinel the SDK and the engine put on the wire
 * during a preview (`UnknownStringValue` in pulumi/pulumi `sdk/go/common/resource/plugin/rpc.go`), which the policy
 * SDK's `unknownCheckingProxy` (@pulumi/policy `proxy.ts`) turns into an UnknownValueError when a policy reads it.
 */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
/** What `plan.json` shows in place of an unknown value, as `pulumi preview` prints `output<string>`. */
export const UNKNOWN_MARKER = "[unknown]";

export type Wire = unknown;

export function isSecretValue(v: Wire): v is { value: Wire } {
    return isObject(v) && v[SIG_KEY] === SECRET_SIG;
}

export function secret(value: Wire): Wire {
    return isSecretValue(value) ? value : { [SIG_KEY]: SECRET_SIG, value };
}

function isResourceRef(v: Wire): v is { urn: string } {
    return isObject(v) && v[SIG_KEY] === RESOURCE_SIG;
}

/** The plain value an emulator or a policy sees: secrets unwrapped, resource references as their URN. */
export function plain(v: Wire): any {
    if (isSecretValue(v)) return plain(v.value);
    if (isResourceRef(v)) return v.urn;
    if (Array.isArray(v)) return v.map(plain);
    if (isObject(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
    return v;
}

/** The value as it may be written anywhere a human can read it: every secret replaced by the marker. */
export function redact(v: Wire): any {
    if (isSecretValue(v)) return SECRET_MARKER;
    if (v === UNKNOWN) return UNKNOWN_MARKER;
    if (isResourceRef(v)) return v.urn;
    if (Array.isArray(v)) return v.map(redact);
    if (isObject(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, redact(x)]));
    return v;
}

/** True when the value is, or contains, a secret. */
export function containsSecret(v: Wire): boolean {
    if (isSecretValue(v)) return true;
    if (Array.isArray(v)) return v.some(containsSecret);
    if (isObject(v)) return Object.values(v).some(containsSecret);
    return false;
}

/** True when the value is, or contains, a value unknown at preview. */
export function containsUnknown(v: Wire): boolean {
    if (v === UNKNOWN) return true;
    if (Array.isArray(v)) return v.some(containsUnknown);
    if (isObject(v)) return Object.values(v).some(containsUnknown);
    return false;
}

export function isObject(v: unknown): v is Record<string, any> {
    return typeof v === "object" && v !== null && !Array.isArray(v);
}
