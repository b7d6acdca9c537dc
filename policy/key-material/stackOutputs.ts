import { StackValidationPolicy } from "@pulumi/policy";
import { isUnknown } from "./preview";
import { PEM_PRIVATE_KEY, stackOf } from "./support";

/**
 * Stack outputs are read by anyone with read access to the stack (`pulumi stack output`, a `StackReference`, the
 * console). The root `pulumi:pulumi:Stack` resource carries them as its properties. Policies receive every value
 * decrypted (`@pulumi/policy` unwraps secrets before `validateStack`; only remediations see them wrapped), so a
 * policy cannot tell a secret output from a plain one: outputs that must hand a key on are declared in config, and
 * the tests check that the program makes them secret.
 */

const STACK_TYPE = "pulumi:pulumi:Stack";

/** Types whose outputs are private keys generated during the deployment (unknown at a first preview). */
const KEY_TYPES = ["tls:index/privateKey:PrivateKey"];

interface Found {
    readonly keys: string[];
    /** Paths whose value a first preview does not know. */
    readonly unknown: string[];
}

/**
 * Paths under `at` whose value is a PEM private key, and paths whose value is unknown at preview. Values are read
 * through their own-property descriptors: reading an unknown one through the policy SDK's proxy would end the policy.
 */
function scan(value: unknown, at: string, found: Found = { keys: [], unknown: [] }): Found {
    if (isUnknown(value)) found.unknown.push(at);
    else if (typeof value === "string" && PEM_PRIVATE_KEY.test(value)) found.keys.push(at);
    else if (typeof value === "object" && value !== null) {
        for (const k of Object.getOwnPropertyNames(value)) {
            if (Array.isArray(value) && k === "length") continue;
            scan(Object.getOwnPropertyDescriptor(value, k)?.value, Array.isArray(value) ? `${at}[${k}]` : `${at}.${k}`, found);
        }
    }
    return found;
}

/** Per-stack settings keyed by stack name, or by a prefix pattern ending in `*` (`pki-*`). */
function forStack(settings: Record<string, string[]>, stack: string): string[] {
    return Object.entries(settings).filter(([k]) => k === stack || (k.endsWith("*") && stack.startsWith(k.slice(0, -1)))).flatMap(([, v]) => v);
}

export const noPrivateKeyInStackOutput: StackValidationPolicy = {
    name: "no-private-key-in-stack-output",
    description: "(stack) No stack output holds a PEM private key, except the outputs keyOutputs declares for a stack (each wrapped in pulumi.secret by the program); in a stack that generates keys, an output a preview cannot see is declared key-free.",
    enforcementLevel: "mandatory",
    configSchema: {
        properties: {
            keyOutputs: {
                type: "object", additionalProperties: { type: "array", items: { type: "string" } },
                default: { "pki-*": ["intermediateKeys"] },
                description: "Per stack (name, or prefix ending in *), the outputs that hand private keys on. List only outputs the program wraps in pulumi.secret: policies see secrets decrypted and cannot check it.",
            },
            keyFreeOutputs: {
                type: "object", additionalProperties: { type: "array", items: { type: "string" } },
                default: { "pki-*": ["intermediates", "inventory", "trustBundle"] },
                description: "Per stack (name, or prefix ending in *) that generates private keys, the outputs computed from its resources that hold none (certificates, fingerprints): a first preview cannot show their values. Checked like any output once known.",
            },
        },
    },
    validateStack: (args, report) => {
        const { keyOutputs, keyFreeOutputs } = args.getConfig<{ keyOutputs: Record<string, string[]>; keyFreeOutputs: Record<string, string[]> }>();
        // An output a preview cannot see can hold a key only if a key is generated in this deployment: keys read from
        // config or from another stack are known before the preview starts.
        const generated = args.resources.filter((r) => KEY_TYPES.includes(r.type)).map((r) => r.name);
        for (const root of args.resources.filter((r) => r.type === STACK_TYPE)) {
            const stack = stackOf(root.urn);
            const declared = forStack(keyOutputs, stack);
            const keyFree = forStack(keyFreeOutputs, stack);
            for (const name of Object.getOwnPropertyNames(root.props)) {
                if (declared.includes(name)) continue;
                const found = scan(Object.getOwnPropertyDescriptor(root.props, name)?.value, name);
                for (const path of found.keys) {
                    report(`stack output ${path} of stack ${stack} holds a PEM private key: anyone who can read the stack gets it; do not export private keys, or, where another stack must receive one, wrap the output in pulumi.secret and declare it in keyOutputs.${stack}`, root.urn);
                }
                if (found.unknown.length > 0 && generated.length > 0 && !keyFree.includes(name)) {
                    report(`stack output ${found.unknown.join(", ")} of stack ${stack} is unknown until created, and this stack generates private keys (${generated.slice(0, 3).join(", ")}${generated.length > 3 ? ", ..." : ""}), so no preview can show it holds none: declare it in keyFreeOutputs.${stack} if it holds no key, or in keyOutputs.${stack} (wrapped in pulumi.secret) if it hands one on`, root.urn);
                }
            }
        }
    },
};

const STACK_REFERENCE = "pulumi:pulumi:StackReference";

/**
 * A StackReference copies every output of the stack it reads into the reader's state, secrets included: a stack
 * that reads another environment's keys holds them, readable by whoever can operate it. A mesh stack is named after
 * its environment and its environment's pki stack `pki-<environment>` (the program refuses any other stack name), so
 * the environment is taken from the reader's stack name, not from its outputs: both are config it could choose.
 */
export const keyMaterialOfOwnEnvironment: StackValidationPolicy = {
    name: "key-material-of-own-environment",
    description: "(stack) A stack reads private keys only from its own environment's pki stack: every StackReference whose outputs hold a PEM private key is <org>/<project>/pki-<reader's stack name> of the reader's project, and names the reader's stack name in its `environment` output.",
    enforcementLevel: "mandatory",
    validateStack: (args, report) => {
        const root = args.resources.find((r) => r.type === STACK_TYPE);
        for (const ref of args.resources.filter((r) => r.type === STACK_REFERENCE)) {
            // A stack that exists already: its outputs are known at preview as at update.
            const outputs = Object.getOwnPropertyDescriptor(ref.props, "outputs")?.value ?? {};
            const keys = scan(outputs, "outputs").keys;
            if (keys.length === 0) continue;
            // urn:pulumi:<stack>::<project>::<type>::<name>
            const [stack, project] = [stackOf(ref.urn), ref.urn.split("::")[1]];
            const declared = root && Object.getOwnPropertyDescriptor(root.props, "environment")?.value;
            const theirs = Object.getOwnPropertyDescriptor(outputs, "environment")?.value;
            const [, refProject, refStack] = String(ref.props.name).split("/");
            const problems = [
                ...(refProject === project && refStack === `pki-${stack}` ? [] : [`it is not ${project}'s pki-${stack}`]),
                ...(theirs === stack ? [] : [`its outputs are ${typeof theirs === "string" ? `environment ${JSON.stringify(theirs)}'s` : "of no single environment (it declares none)"}`]),
                ...(declared === undefined || declared === stack ? [] : [`the reader declares environment ${JSON.stringify(declared)} in stack ${stack}`]),
            ];
            if (problems.length === 0) continue;
            report(`stack ${stack} reads stack ${ref.props.name}, whose outputs hold private keys (${keys.slice(0, 3).join(", ")}${keys.length > 3 ? ", ..." : ""}), and ${problems.join(", and ")}: its state now holds them; read only this environment's pki stack (<org>/${project}/pki-${stack})`, ref.urn);
        }
    },
};

export const stackOutputPolicies = [noPrivateKeyInStackOutput, keyMaterialOfOwnEnvironment];
