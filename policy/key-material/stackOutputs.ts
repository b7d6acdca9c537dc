import { StackValidationPolicy } from "@pulumi/policy";
import { PEM_PRIVATE_KEY, stackOf } from "./support";

/**
 * Stack outputs are read by anyone with read access to the stack (`pulumi stack output`, a `StackReference`, the
 * console). The root `pulumi:pulumi:Stack` resource carries them as its properties. Policies receive every value
 * decrypted (`@pulumi/policy` unwraps secrets before `validateStack`; only remediations see them wrapped), so a
 * policy cannot tell a secret output from a plain one: outputs that must hand a key on are declared in config, and
 * the tests check that the program makes them secret.
 */

const STACK_TYPE = "pulumi:pulumi:Stack";

/** Paths under `at` whose value is a PEM private key. */
function keyPaths(value: unknown, at: string): string[] {
    if (typeof value === "string") return PEM_PRIVATE_KEY.test(value) ? [at] : [];
    if (Array.isArray(value)) return value.flatMap((v, i) => keyPaths(v, `${at}[${i}]`));
    if (typeof value === "object" && value !== null) return Object.entries(value).flatMap(([k, v]) => keyPaths(v, `${at}.${k}`));
    return [];
}

export const noPrivateKeyInStackOutput: StackValidationPolicy = {
    name: "no-private-key-in-stack-output",
    description: "(stack) No stack output holds a PEM private key, except the outputs keyOutputs declares for a stack (each wrapped in pulumi.secret by the program).",
    enforcementLevel: "mandatory",
    configSchema: {
        properties: {
            keyOutputs: {
                type: "object", additionalProperties: { type: "array", items: { type: "string" } }, default: { pki: ["intermediateKeys"] },
                description: "Per stack, the outputs that hand private keys on. List only outputs the program wraps in pulumi.secret: policies see secrets decrypted and cannot check it.",
            },
        },
    },
    validateStack: (args, report) => {
        const { keyOutputs } = args.getConfig<{ keyOutputs: Record<string, string[]> }>();
        for (const root of args.resources.filter((r) => r.type === STACK_TYPE)) {
            const stack = stackOf(root.urn);
            const declared = keyOutputs[stack] ?? [];
            for (const [name, value] of Object.entries(root.props)) {
                if (declared.includes(name)) continue;
                for (const path of keyPaths(value, name)) {
                    report(`stack output ${path} of stack ${stack} holds a PEM private key: anyone who can read the stack gets it; do not export private keys, or, where another stack must receive one, wrap the output in pulumi.secret and declare it in keyOutputs.${stack}`, root.urn);
                }
            }
        }
    },
};

export const stackOutputPolicies = [noPrivateKeyInStackOutput];
