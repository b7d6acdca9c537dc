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
