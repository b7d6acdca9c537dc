import assert from "node:assert/strict";
import { checkStageTransition, stageGateSchema } from "../config/stageGate";

const OWN = "this stack's last outputs";
const STAGING = "stack acme/istio-production/staging";

describe("stage gate", () => {
    it("lets a first deployment start at any stage", () => {
        for (const next of [1, 2, 3, 4, 5]) checkStageTransition({ next, source: OWN });
    });

    it("lets a stack stay where it is or go up one stage", () => {
        for (const previous of [1, 2, 3, 4, 5]) checkStageTransition({ previous, next: previous, source: OWN });
        for (const previous of [1, 2, 3, 4]) checkStageTransition({ previous, next: previous + 1, source: OWN });
    });

    it("refuses a jump, naming both stages, where the previous one was read, the next step and the override", () => {
        assert.throws(() => checkStageTransition({ previous: 2, next: 4, source: OWN }), (e: Error) => {
            assert.match(e.message, /refusing to raise the stage from stage 2 \(read from this stack's last outputs\) to stage 4/);
            assert.match(e.message, /deploy stage 3 first/);
            assert.match(e.message, /pulumi config set --path istio-production:stageGate\.allowJump true/);
            return true;
        });
        assert.throws(() => checkStageTransition({ previous: 1, next: 5, source: STAGING }), /from stage 1 \(read from stack acme\/istio-production\/staging\) to stage 5/);
    });

    it("refuses a downgrade, naming both stages, where the previous one was read and the override", () => {
        assert.throws(() => checkStageTransition({ previous: 4, next: 3, source: STAGING }), (e: Error) => {
            assert.match(e.message, /refusing to lower the stage from stage 4 \(read from stack acme\/istio-production\/staging\) to stage 3/);
            assert.match(e.message, /removes what stage 4 built/);
            assert.match(e.message, /pulumi config set --path istio-production:stageGate\.allowDowngrade true/);
            return true;
        });
        assert.throws(() => checkStageTransition({ previous: 5, next: 2, source: OWN }), /removes what stages 3–5 built/);
    });

    it("lets each override through only the transition it names", () => {
        checkStageTransition({ previous: 2, next: 5, allowJump: true, source: OWN });
        checkStageTransition({ previous: 5, next: 1, allowDowngrade: true, source: OWN });
        assert.throws(() => checkStageTransition({ previous: 2, next: 5, allowDowngrade: true, source: OWN }), /allowJump/);
        assert.throws(() => checkStageTransition({ previous: 5, next: 1, allowJump: true, source: OWN }), /allowDowngrade/);
    });

    it("refuses a previous stage that is not a stage, naming where it was read", () => {
        for (const previous of [0, 6, 2.5, Number.NaN]) {
            assert.throws(() => checkStageTransition({ previous, next: 2, source: STAGING }), /previous stage read from stack acme\/istio-production\/staging is not one of the stages 1, 2, 3, 4, 5/);
        }
        assert.throws(() => checkStageTransition({ previous: 2, next: 7, source: OWN }), /next stage must be one of 1, 2, 3, 4, 5, got 7/);
    });

    describe("config key stageGate", () => {
        it("defaults to no overrides and no previous stack", () => {
            assert.deepEqual(stageGateSchema.parse(undefined), { allowJump: false, allowDowngrade: false });
            assert.deepEqual(stageGateSchema.parse({ allowJump: true }), { allowJump: true, allowDowngrade: false });
        });

        it("takes a fully qualified previous stack and refuses anything else", () => {
            assert.equal(stageGateSchema.parse({ previousStack: "acme/istio-production/staging" }).previousStack, "acme/istio-production/staging");
            const bad = stageGateSchema.safeParse({ previousStack: "staging", allowJump: "yes", allowDowngrad: true });
            assert.ok(!bad.success);
            const problems = bad.error.issues.map((i) => `${i.path.join(".")}: ${i.code}`).sort();
            assert.deepEqual(problems, [": unrecognized_keys", "allowJump: invalid_type", "previousStack: invalid_format"]);
        });
    });
});
