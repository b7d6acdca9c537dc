import { z } from "zod";
import { stackName } from "./primitives";
import { STAGES } from "./stages";

/**
 * The stage gate: a stack moves through the five stages one at a time and never back, unless an operator says so.
 * Each stage is verified on top of the one below it (stage 2 moves the mesh CA to istio-csr under the offline root,
 * stage 4 joins clusters that must already chain to that root), so skipping one deploys a layer over something never
 * verified in this environment, and lowering one tears down what running workloads depend on.
 */

// Written out rather than built from CONFIG_NAMESPACE: its module (config/load.ts) imports the mesh schema, which
// embeds stageGateSchema, so importing it here would make a cycle.
const OVERRIDE_KEYS = {
    allowJump: "istio-production:stageGate.allowJump",
    allowDowngrade: "istio-production:stageGate.allowDowngrade",
} as const;

export const stageGateSchema = z
    .strictObject({
        /**
         * Read the previous stage from the output `stage` of the stack named here (`<org>/<project>/<stack>`, through a
         * StackReference) instead of this stack's own last outputs: for a stack that takes over from another (a
         * rebuilt or renamed stack) and so has no history of its own.
         * @default - this stack's own last outputs
         */
        previousStack: stackName.optional(),
        /** Let this update raise the stage by more than one. Meant for one update, then removed. */
        allowJump: z.boolean().default(false),
        /** Let this update lower the stage. Meant for one update, then removed. */
        allowDowngrade: z.boolean().default(false),
    })
    .default({ allowJump: false, allowDowngrade: false });

export type StageGateConfig = z.output<typeof stageGateSchema>;

export interface StageTransition {
    /** The stage last deployed; absent on a stack's first deployment. */
    readonly previous?: number;
    /** The stage this update deploys. */
    readonly next: number;
    /** @default false */
    readonly allowJump?: boolean;
    /** @default false */
    readonly allowDowngrade?: boolean;
    /** Where `previous` was read, for the message: "this stack's last outputs", "stack acme/istio-production/staging". */
    readonly source: string;
}

/** Throws when the transition is refused; the message says what, between which stages, and how to override. */
export function checkStageTransition(t: StageTransition): void {
    // The previous stage comes from outputs this code does not control (an older program, another stack).
    if (t.previous !== undefined && !isStage(t.previous)) {
        throw new Error(`stage gate: the previous stage read from ${t.source} is not one of the stages ${STAGES.join(", ")}: got ${JSON.stringify(t.previous)}`);
    }
    if (!isStage(t.next)) throw new Error(`stage gate: the next stage must be one of ${STAGES.join(", ")}, got ${JSON.stringify(t.next)}`);
    if (t.previous === undefined || t.next === t.previous) return;
    const from = `stage ${t.previous} (read from ${t.source})`;
    if (t.next > t.previous + 1 && !t.allowJump) {
        throw new Error(
            `stage gate: refusing to raise the stage from ${from} to stage ${t.next}: stages are raised one at a time, ` +
            `so deploy stage ${t.previous + 1} first. To skip on purpose, run ` +
            `\`pulumi config set --path ${OVERRIDE_KEYS.allowJump} true\` for this update and remove it afterwards.`,
        );
    }
    if (t.next < t.previous && !t.allowDowngrade) {
        const removed = t.previous - t.next === 1 ? `stage ${t.previous}` : `stages ${t.next + 1}–${t.previous}`;
        throw new Error(
            `stage gate: refusing to lower the stage from ${from} to stage ${t.next}: lowering removes what ${removed} ` +
            "built, which running workloads may depend on. To lower it on purpose, run " +
            `\`pulumi config set --path ${OVERRIDE_KEYS.allowDowngrade} true\` for this update and remove it afterwards.`,
        );
    }
}

function isStage(n: number): boolean {
    return (STAGES as readonly number[]).includes(n);
}

/**
 * Where a cluster's mesh CA stands in the two-step handoff to a managed CA (docs/pki/ca-backends.md):
 * `secret`: the pki stack's intermediate, key and all, in a Secret (the `secret` backend).
 * `awaiting-signature` (step 1): the mesh stack has created the managed subordinate and exports its CSR; the pki stack
 * has not signed it, so the mesh CA stays on what it had (the pki stack's intermediate, or istiod at stage 1).
 * `managed` (step 2): the pki stack signed the subordinate's CSR; the mesh stack imports the certificate and only
 * then points istio-csr at the managed CA's issuer.
 */
export type CaHandoffStep = "secret" | "awaiting-signature" | "managed";

export interface CaHandoff {
    readonly cluster: string;
    readonly backend: "secret" | "aws-private-ca" | "google-cas";
    /** What the pki stack holds for the cluster: a key it made, the signature of a managed CA's CSR, or nothing. */
    readonly pki: "pki-stack" | "managed-ca" | undefined;
    /** The pki stack's output names a certificate for the cluster. */
    readonly signed: boolean;
    /** For the message: the pki stack, as the mesh stack names it. */
    readonly pkiStack: string;
}

/** Throws when the pki stack's half of the handoff does not match the cluster's backend; the message says which step to run. */
export function caHandoffStep(h: CaHandoff): CaHandoffStep {
    const csrKey = `subordinateCsrs.${h.cluster}`;
    if (h.pki === undefined) {
        throw new Error(`cluster "${h.cluster}": pki stack ${h.pkiStack} has no intermediate for it; add the cluster to that stack's clusters`);
    }
    if (h.backend === "secret") {
        if (h.pki === "managed-ca") {
            throw new Error(`cluster "${h.cluster}" has caBackend secret, but pki stack ${h.pkiStack} signed a managed CA's CSR for it (${csrKey}) and holds no key: set the cluster's caBackend to that managed CA, or remove ${csrKey} from the pki stack`);
        }
        return "secret";
    }
    if (h.pki === "pki-stack") return "awaiting-signature";
    if (!h.signed) throw new Error(`cluster "${h.cluster}": pki stack ${h.pkiStack} has the CSR of its ${h.backend} subordinate (${csrKey}) but no certificate: run that stack's update`);
    return "managed";
}
