import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { ProgramGraph } from "../engine/graph";
import { PROJECT_ROOT, Plan, planStack } from "../engine/plan";
import { evaluatePacks, LoadedPack, loadPack, PackConfig, Verdicts } from "../engine/policy";
import { shippedPlan } from "./support/plan";
import { comparable, PackProcess } from "./support/policy-runtime";
import { stackConfig, toRuntime } from "./support/stacks";

/**
 * The conformance of the offline gate with the real policy runtime: every pack of policy/ runs as the Pulumi CLI runs
 * it (tests/support/policy-runtime.ts) and must reach exactly the engine's verdicts (violations, and the policies it
 * skips for values unknown at preview) on the shipped stacks and on a mutation corpus, at a first preview and as if
 * created.
 */

const FIXTURES = path.join(__dirname, "fixtures");
const PACKS = ["key-material", "mesh-mtls", "platform-baseline"].map((p) => path.join(PROJECT_ROOT, "policy", p));
const PREVIEW_PACK = path.join(FIXTURES, "preview-policy", "preview-pack");
const SHIPPED = ["pki-prod", "dev", "staging", "prod"];

type Case = { pack: LoadedPack; config?: PackConfig };

describe("the real policy runtime reaches the engine's verdicts", function () {
    // Each pack is started once, while mocha loads the suite: on a cold ts-node cache the launcher type-checks the
    // pack against the @pulumi/aws, gcp and kubernetes typings first (see policy/README.md), which then overlaps the
    // tests that run before this file instead of adding to the suite's time.
    // One process serves every stack here, where the CLI starts one per deployment with that stack's name and config
    // in its environment: the packs key on URNs and read neither, and ConfigureStack names each stack.
    const env = { PULUMI_NODEJS_ORGANIZATION: "organization", PULUMI_NODEJS_PROJECT: "istio-production", PULUMI_NODEJS_DRY_RUN: "true" };
    // By real path, as the engine's loaded packs name their folders.
    const processes = new Map([...PACKS, PREVIEW_PACK].map((dir) => [fs.realpathSync(dir), new PackProcess(dir, env)]));
    const packs = () => PACKS.map((dir) => loadPack(dir));

    before(async function () {
        this.timeout(600_000);
        const waited = Date.now();
        await Promise.all([...processes.values()].map((p) => p.ready));
        const started = [...processes.values()].map((p) => `${path.basename(p.dir)} ${(p.startupMs / 1000).toFixed(1)} s`).join(", ");
        console.log(`      policy packs started by the CLI's launcher: ${started}; waited ${((Date.now() - waited) / 1000).toFixed(1)} s`);
    });
    after(() => processes.forEach((p) => p.stop()));

    /** Both sides over one graph: the engine's verdicts must be what the pack processes answer. */
    async function assertSame(graph: ProgramGraph, engine: Pick<Plan, "violations" | "notRun">, cases: readonly Case[], dryRun: boolean): Promise<Verdicts> {
        const answers = await Promise.all(cases.map(({ pack, config }) => processes.get(pack.dir)!.analyze(graph, { dryRun, config })));
        const runtime: Verdicts = { violations: answers.flatMap((a) => a.violations), notRun: answers.flatMap((a) => a.notRun) };
        assert.deepEqual(comparable(runtime), comparable(engine), `${graph.stack}${dryRun ? " (preview)" : " (as if created)"}`);
        return runtime;
    }

    /**
     * The preview the plan evaluated, and the same program as if created: a plan's `graph` is the emulated create that
     * `planStack({ mode: "created" })` evaluates, so its verdicts are that plan's.
     */
    async function assertBothModes(plan: Plan, cases?: readonly Case[]) {
        const own = cases === undefined;
        cases ??= plan.packs.map((pack) => ({ pack }));
        // What the preview itself decides: the plan's violations marked "up" come from its pass over the emulated
        // create, which the created comparison below covers.
        const previewVerdicts = own ? { violations: plan.violations.filter((v) => v.at !== "up"), notRun: [...plan.notRun] } : await evaluatePacks(plan.policyGraph, cases);
        const preview = await assertSame(plan.policyGraph, previewVerdicts, cases, true);
        const created = await assertSame(plan.graph, await evaluatePacks(plan.graph, cases), cases, false);
        return { preview, created };
    }

    it("start as the CLI starts them and describe the packs the engine loads", async () => {
        for (const pack of [...packs(), loadPack(PREVIEW_PACK)]) {
            const proc = processes.get(pack.dir)!;
            // The language host's policy proxy answers the handshake for a pack that does not implement it.
            assert.equal(await proc.handshake(), undefined);
            const info = await proc.analyzerInfo();
            assert.equal(info.getName(), pack.name);
            assert.equal(info.getVersion(), pack.version);
            assert.ok(info.getSupportsconfig());
            assert.deepEqual(info.getPoliciesList().map((p) => p.getName()), pack.policies.map((p) => p.name));
        }
    });

    for (const stack of SHIPPED) {
        it(`${stack}: the same verdicts at a first preview and as if created`, async () => {
            await assertBothModes(await shippedPlan(stack));
        });
    }

    describe("mutation corpus", () => {
        it("dev pinned to an EKS version out of support: a mandatory violation on both sides", async () => {
            const config = stackConfig("dev");
            config.clusters[0].kubernetesVersion = "1.30";
            const { preview, created } = await assertBothModes(await planStack({ stack: "dev", config: toRuntime(config) }));
            for (const v of [preview, created]) assert.deepEqual(v.violations.filter((x) => x.enforcementLevel === "mandatory").map((x) => x.policy), ["eks-version-allowed"]);
        });

        it("fixture programs: a weak mesh, a weak pki, an intermediate outliving its root, Istio on the default Kubernetes provider", async () => {
            for (const [fixture, stack] of [["weak-mesh", "mesh"], ["weak-pki", "mesh"], ["outliving-intermediate", "pki-prod"], ["ambient-mesh", "test"]]) {
                const { preview } = await assertBothModes(await planStack({ programDir: path.join(FIXTURES, fixture), stack }));
                assert.ok(preview.violations.some((v) => v.enforcementLevel === "mandatory"), fixture);
            }
        });

        it("a first preview that reads unknown values: policies skipped, stack policies without outputs, providers analysed", async () => {
            const plan = await planStack({ programDir: path.join(FIXTURES, "preview"), stack: "test", policyDir: path.dirname(PREVIEW_PACK) });
            const { preview, created } = await assertBothModes(plan);
            assert.deepEqual(preview.notRun.map((n) => n.policy), ["configmap-values-short", "public-key-is-rsa"]);
            assert.deepEqual(created.notRun, []);
            assert.equal(preview.violations.filter((v) => v.policy === "kubernetes-providers-namespaced").length, 2);
            // The project's packs over the same program: a mandatory policy that cannot run at a first preview.
            const real = await assertBothModes(plan, packs().map((pack) => ({ pack })));
            assert.ok(real.preview.notRun.some((n) => n.enforcementLevel === "mandatory"));
        });

        it("a policy pack config: levels and properties reach the pack through Configure", async () => {
            const plan = await shippedPlan("dev");
            const cases: Case[] = [{
                pack: packs()[0],
                config: { all: "advisory", "istio-csr-issuance": { enforcementLevel: "mandatory", maxCertificateDuration: "30m" }, "mesh-issuer-request-policy": { maxDuration: "30m" } },
            }];
            const { preview } = await assertBothModes(plan, cases);
            assert.deepEqual([...new Set(preview.violations.map((v) => `${v.policy} ${v.enforcementLevel}`))].sort(), ["istio-csr-issuance mandatory", "mesh-issuer-request-policy advisory"]);
        });
    });
});

describe("each policy pack stands on its own", () => {
    const read = (...p: string[]) => JSON.parse(fs.readFileSync(path.join(...p), "utf8"));
    const project = read(PROJECT_ROOT, "package.json");
    const projectLock = read(PROJECT_ROOT, "package-lock.json");
    const projectTs = read(PROJECT_ROOT, "tsconfig.json").compilerOptions;
    /** `name@version` of every package a lockfile installs. */
    const installs = (lock: { packages: Record<string, { version?: string }> }) =>
        new Set(Object.entries(lock.packages).filter(([p]) => p !== "").map(([p, e]) => `${p.slice(p.lastIndexOf("node_modules/") + "node_modules/".length)}@${e.version}`));

    for (const dir of PACKS) {
        it(`${path.basename(dir)}: the project's versions, locked; the TypeScript and compiler options the project checks it with`, () => {
            const pkg = read(dir, "package.json");
            for (const [name, version] of Object.entries(pkg.dependencies)) assert.equal(version, project.dependencies[name], name);
            // The launcher compiles with the `typescript` it resolves from @pulumi/pulumi's folder, else with the
            // vendored TypeScript 3.8.3, which cannot read today's typings (@pulumi/pulumi 3.248.0 `tsutils.js`).
            assert.deepEqual(pkg.devDependencies, { "@types/node": project.devDependencies["@types/node"], typescript: project.devDependencies.typescript });
            const lock = read(dir, "package-lock.json");
            assert.deepEqual([lock.packages[""].dependencies, lock.packages[""].devDependencies], [pkg.dependencies, pkg.devDependencies], "the lockfile is current");
            // `npm ci` in the pack's folder installs only what the tests ran the pack with.
            const projectInstalls = installs(projectLock);
            assert.deepEqual([...installs(lock)].filter((p) => !projectInstalls.has(p)), []);
            // The launcher hands the pack's tsconfig to ts-node (run-policy-pack/run.js): with the project's options,
            // `npm run typecheck` checks the pack as the CLI compiles it.
            const ts = read(dir, "tsconfig.json");
            for (const [key, value] of Object.entries(ts.compilerOptions)) {
                if (key !== "types") assert.deepEqual(value, projectTs[key], key);
            }
            assert.ok(ts.compilerOptions.types.every((t: string) => projectTs.types.includes(t)));
            assert.deepEqual(ts.include, ["*.ts"]);
        });
    }
});
