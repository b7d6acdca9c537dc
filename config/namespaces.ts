import { closest } from "./closest";
import { CONFIG_NAMESPACE } from "./primitives";
import * as pkg from "../package.json";

/**
 * Config namespaces a stack file may use: this project's, and those of the providers the program depends on (their
 * default providers read `aws:region`, `gcp:project`, `kubernetes:context`...) and of the engine (`pulumi:tags`).
 * Anything else is a misspelling the CLI would silently keep and the program would never read.
 */
const PROVIDER_NAMESPACES = Object.keys(pkg.dependencies)
    .map((name) => /^@pulumi\/(.+)$/.exec(name)?.[1])
    .filter((name): name is string => name !== undefined && name !== "pulumi" && name !== "policy");

export const KNOWN_NAMESPACES: readonly string[] = [CONFIG_NAMESPACE, "pulumi", ...PROVIDER_NAMESPACES];

/** A refused key for each key whose namespace nothing reads, with the closest known namespace as the fix. */
export function namespaceIssues(keys: readonly string[]): Array<{ key: string; message: string }> {
    return keys.flatMap((key) => {
        const [namespace, ...rest] = key.split(":");
        if (rest.length === 0 || KNOWN_NAMESPACES.includes(namespace)) return [];
        const meant = closest(namespace, KNOWN_NAMESPACES);
        const suggestion = meant
            ? `did you mean ${meant}:${rest.join(":")}?`
            : `this project reads ${CONFIG_NAMESPACE}:<key>; providers read ${PROVIDER_NAMESPACES.map((n) => `${n}:`).join(", ")}`;
        return [{ key, message: `unknown config namespace "${namespace}": nothing reads this key; ${suggestion}` }];
    });
}
