import assert from "node:assert/strict";
import { CapturedResource } from "../engine/graph";
import { planStack, stackOutputs } from "../engine/plan";
import { stackConfig, toRuntime } from "./support/stacks";
import { runCli, tempDir } from "./support/plan";
import { createdBeforeHandoff } from "./support/variants";
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

    // The gate is the program's first step, the same in a preview and an update, before and after the CA hand-off:
    // where a plan only has to get past it, the emulated create before the hand-off is planned, one run of the program.
    it("lets a stack move up one stage, stay, or skip with the override", async () => {
        await createdBeforeHandoff({ stack: "prod", previousOutputs: previous(4) });
        await createdBeforeHandoff({ stack: "prod", previousOutputs: previous(5) });
        const config = stackConfig("prod");
        config.stageGate = { allowJump: true };
        await createdBeforeHandoff({ stack: "prod", config: toRuntime(config), previousOutputs: previous(2) });
    });

    it("refuses a downgrade unless allowed", async () => {
        await assert.rejects(planStack({ stack: "dev", previousOutputs: previous(3) }), /refusing to lower the stage from stage 3/);
        const config = stackConfig("dev");
        config.stageGate = { allowDowngrade: true };
        await planStack({ stack: "dev", config: toRuntime(config), previousOutputs: previous(3), mode: "created" });
    });

    it("reads the previous stage from another stack when told to (a stack that takes over from another)", async () => {
        const config = stackConfig("prod");
        config.stageGate = { previousStack: "acme/istio-production/staging" };
        const ok = await createdBeforeHandoff({ stack: "prod", config: toRuntime(config) });
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

    /** The plan's stack outputs and what the program warned about. */
    async function planWarnings(stack: string, config?: Record<string, any>, stage?: number) {
        const warned: string[] = [];
        const warn = console.warn;
        console.warn = (...a: unknown[]) => warned.push(a.join(" "));
        try {
            // Planned afresh (an onRegister hook bypasses the test process's plan reuse): the warnings are what is tested.
            const plan = await planStack({ stack, config: config && toRuntime(config), previousOutputs: stage === undefined ? undefined : previous(stage), onRegister: () => undefined, mode: "created" });
            return { outputs: stackOutputs(plan.graph).outputs as Record<string, any>, warned: warned.join("\n") };
        } finally {
            console.warn = warn;
        }
    }

    it("says loudly when it could not check the gate for lack of previous outputs", async () => {
        const first = await planWarnings("dev");
        assert.match(first.warned, /STAGE GATE NOT CHECKED: no previous stage in this stack's last outputs .*--previous-outputs/);
        assert.ok(!("stageGateOverride" in first.outputs));
    });

    it("records an override in the stack outputs and warns while it is set", async () => {
        const config = stackConfig("staging");
        config.stage = 3;
        config.clusters = [config.clusters[0]];
        config.stageGate = { allowDowngrade: true };
        const { outputs, warned } = await planWarnings("staging", config, 4);
        assert.deepEqual(outputs.stageGateOverride, { overrides: ["allowDowngrade"], from: 4, to: 3 });
        assert.match(warned, /STAGE GATE OVERRIDDEN: allowDowngrade is set; it is recorded in the output stageGateOverride/);
        assert.doesNotMatch(warned, /NOT CHECKED/, "the previous stage was known");
    });

    it("rolls stage 2 back to 1 as docs/stages/stage-2.md says: the override and an issuer stage 1 has, in one update", async () => {
        // Only the override: the gate refuses dev's private ingress issuer, which needs stage 2's intermediate.
        const naive = stackConfig("dev");
        naive.stage = 1;
        naive.stageGate = { allowDowngrade: true };
        await assert.rejects(planStack({ stack: "dev", config: toRuntime(naive), previousOutputs: previous(2) }),
            /istio-production:ingress\.issuer: the private CA \(the cluster's intermediate\) exists from stage 2; stage 1 can only use acme/);
        // Without the override the gate refuses the downgrade itself.
        const rollback = stackConfig("dev");
        rollback.stage = 1;
        // A public certificate for the ingress hosts, by DNS-01 in the zone that holds them.
        rollback.ingress = { ...rollback.ingress, issuer: "acme", acmeEmail: "platform-team@acme.example", dnsZone: { provider: "route53", hostedZoneId: "Z01DEVACMEEXAMPLE" } };
        await assert.rejects(planStack({ stack: "dev", config: toRuntime(rollback), previousOutputs: previous(2) }), /refusing to lower the stage from stage 2/);
        rollback.stageGate = { allowDowngrade: true };
        const { outputs } = await planWarnings("dev", rollback, 2);
        assert.equal(outputs.stage, 1);
        assert.equal(outputs.capabilities.enterpriseMeshCa, false);
        assert.equal(outputs.capabilities.istiodCa, true);
        assert.deepEqual(outputs.stageGateOverride, { overrides: ["allowDowngrade"], from: 2, to: 1 });
    });
});
