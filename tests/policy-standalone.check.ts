import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ProgramGraph } from "../engine/graph";
import { planStack, PROJECT_ROOT } from "../engine/plan";
import { evaluatePacks, loadPack } from "../engine/policy";
import { shippedPlan } from "./support/plan";
import { comparable, PackProcess } from "./support/policy-runtime";
import { stackConfig, toRuntime } from "./support/stacks";

/**
 * `npm run policy:standalone-check`: each pack of policy/ copied out of the project, installed on its own from its
 * lockfile and started by the launcher of that install, as `pulumi preview --policy-pack <copy>` starts it, reaches
 * the verdicts the engine reaches with the project's copy of the pack. `npm ci` needs the npm registry, so this is
 * not part of `npm test`.
 */
describe("policy packs copied out of the project", () => {
    /** Graphs on which the packs find something: prod as shipped, and broken variants for each pack. */
    const graphs: Array<{ graph: ProgramGraph; dryRun: boolean }> = [];
    before(async () => {
        const prod = await shippedPlan("prod");
        const dev = stackConfig("dev");
        dev.clusters[0].kubernetesVersion = "1.30";
        // One at a time: the offline engine runs one program at a time.
        const variants = [
            await planStack({ stack: "dev", config: toRuntime(dev) }),
            await planStack({ programDir: path.join(__dirname, "fixtures", "weak-mesh"), stack: "mesh" }),
            await planStack({ programDir: path.join(__dirname, "fixtures", "weak-pki"), stack: "mesh" }),
        ];
        graphs.push({ graph: prod.policyGraph, dryRun: true }, { graph: prod.graph, dryRun: false }, ...variants.map((p) => ({ graph: p.policyGraph, dryRun: true })));
    });

    for (const name of ["key-material", "mesh-mtls", "platform-baseline"]) {
        it(`${name}: installed from its own lockfile and started by its own launcher, the engine's verdicts`, async () => {
            const source = path.join(PROJECT_ROOT, "policy", name);
            // Outside the project, so that nothing resolves from the project's node_modules.
            const copy = fs.mkdtempSync(path.join(os.tmpdir(), `${name}-`));
            fs.cpSync(source, copy, { recursive: true, filter: (f) => path.basename(f) !== "node_modules" });
            try {
                let t = Date.now();
                execFileSync("npm", ["ci", "--no-audit", "--no-fund"], { cwd: copy, stdio: ["ignore", "ignore", "inherit"] });
                const installMs = Date.now() - t;
                for (const module of ["@pulumi/pulumi/cmd/run-policy-pack", "@pulumi/policy", "typescript"]) {
                    assert.ok(require.resolve(module, { paths: [copy] }).startsWith(fs.realpathSync(copy)), `${module} resolves from the copy`);
                }
                const pack = new PackProcess(copy, {});
                try {
                    await pack.ready;
                    t = Date.now();
                    const project = [{ pack: loadPack(source) }];
                    let found = 0;
                    for (const { graph, dryRun } of graphs) {
                        const verdicts = await pack.analyze(graph, { dryRun });
                        assert.deepEqual(comparable(verdicts), comparable(await evaluatePacks(graph, project)), graph.stack);
                        found += verdicts.violations.length;
                    }
                    assert.ok(found > 0, "the graphs give the pack something to find");
                    console.log(`      npm ci ${(installMs / 1000).toFixed(1)} s, first start ${(pack.startupMs / 1000).toFixed(1)} s, ${graphs.length} graphs ${((Date.now() - t) / 1000).toFixed(1)} s`);
                } finally {
                    pack.stop();
                }
            } finally {
                fs.rmSync(copy, { recursive: true, force: true });
            }
        });
    }
});
