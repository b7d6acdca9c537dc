import assert from "node:assert/strict";
import { CapturedResource } from "../engine/graph";
import { planStack } from "../engine/plan";
import { stackConfig, toRuntime } from "./support/stacks";
import { runCli, tempDir } from "./support/plan";
import * as fs from "node:fs";
import * as path from "node:path";

const previous = (stage: number) => ({ outputs: { stage }, secretOutputNames: [] });

describe("stage gate in the program", () => {
    it("refuses a skipped stage before creating anything, naming where the previous stage came from", async () => {
        const registered: CapturedResource[] = [];
        await assert.rejects(planStack({ stack: "prod", previousOutputs: previous(3), onRegister: (r) => registered.push(r) }),
            (e: Error) => e.name === "ConfigError" && /from stage 3 \(read from this stack's last outputs\) to stage 5/.test(e.message) && /stageGate\.allowJump/.test(e.message));
        // A StackReference is read through the builtin `pulumi` package's default provider, which the engine registers.
        assert.deepEqual(registered.filter((r) => !r.type.startsWith("pulumi:providers:")).map((r) => r.type), ["pulumi:pulumi:Stack", "pulumi:pulumi:StackReference"], "only reads happen before the gate");
    });

    it("lets a stack move up one stage, stay, or skip with the override", async () => {
        await planStack({ stack: "prod", previousOutputs: previous(4) });
        await planStack({ stack: "prod", previousOutputs: previous(5) });
        const config = stackConfig("prod");
        config.stageGate = { allowJump: true };
        await planStack({ stack: "prod", config: toRuntime(config), previousOutputs: previous(2) });
    });

    it("refuses a downgrade unless allowed", async () => {
        await assert.rejects(planStack({ stack: "dev", previousOutputs: previous(3) }), /refusing to lower the stage from stage 3/);
        const config = stackConfig("dev");
        config.stageGate = { allowDowngrade: true };
        await planStack({ stack: "dev", config: toRuntime(config), previousOutputs: previous(3) });
    });

    it("reads the previous stage from another stack when told to (a stack that takes over from another)", async () => {
        const config = stackConfig("prod");
        config.stageGate = { previousStack: "acme/istio-production/staging" };
        const ok = await planStack({ stack: "prod", config: toRuntime(config) });
        assert.ok(ok.referenced.includes("staging"));
        const staging = stackConfig("staging");
        staging.stage = 3;
        staging.clusters = [staging.clusters[0]];
        await assert.rejects(planStack({ stack: "prod", config: toRuntime(config), referencedConfig: { staging: toRuntime(staging) } }),
            /from stage 3 \(read from stack acme\/istio-production\/staging\) to stage 5/);
    });

    it("the plan command takes the last outputs from a file and exits 2 on a refused transition", async () => {
        const dir = tempDir("gate");
        const file = path.join(dir, "outputs.json");
        fs.writeFileSync(file, JSON.stringify({ stage: 3 }));
        const { code, stderr } = await runCli(["prod", "--previous-outputs", file, "--out", dir]);
        assert.equal(code, 2);
        assert.match(stderr, /istio-production:stage: stage gate: refusing to raise/);
    });
});
