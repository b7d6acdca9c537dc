import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import * as vm from "node:vm";
import * as pulumi from "@pulumi/pulumi";
import { Emulators } from "../engine/emulation";
import { planStack, Plan, PROJECT_ROOT } from "../engine/plan";
import { planClock } from "../engine/reproducible";
import { planDocument } from "../engine/report";
import { plain, SECRET_MARKER } from "../engine/values";
import { find, FIXTURE_POLICY, FIXTURE_PROGRAM, runCli, tempDir } from "./support/plan";

describe("offline engine", () => {
    let plan: Plan;
    before(async () => {
        plan = await planStack({ programDir: FIXTURE_PROGRAM, stack: "test", policyDir: FIXTURE_POLICY });
    });

    it("roots every resource in the stack and builds URNs from the parent's type chain", () => {
        const root = find(plan, "pulumi:pulumi:Stack");
        assert.equal(root.urn, "urn:pulumi:test::fixture::pulumi:pulumi:Stack::fixture-test");
        const tenant = find(plan, "fixture:index:Tenant");
        const ns = find(plan, "kubernetes:core/v1:Namespace");
        const secret = find(plan, "kubernetes:core/v1:Secret");
        assert.equal(tenant.parent, root.urn);
        assert.equal(ns.parent, tenant.urn);
        assert.equal(secret.parent, ns.urn);
        assert.equal(secret.urn, "urn:pulumi:test::fixture::fixture:index:Tenant$kubernetes:core/v1:Namespace$kubernetes:core/v1:Secret::tenant-token");
    });

    it("captures explicit and output-inferred dependencies, expanding components to their children", () => {
        const ns = find(plan, "kubernetes:core/v1:Namespace");
        const secret = find(plan, "kubernetes:core/v1:Secret");
        const marker = find(plan, "kubernetes:core/v1:ConfigMap", "marker");
        assert.ok(secret.dependencies.includes(ns.urn), "the secret reads the namespace's name");
        assert.deepEqual(secret.propertyDependencies.metadata, [ns.urn]);
        // dependsOn: [tenant] becomes the tenant's custom children, as the SDK sends it (a custom child stands for
        // its own subtree).
        assert.ok(marker.dependencies.includes(ns.urn));
        assert.ok(!marker.dependencies.includes(find(plan, "fixture:index:Tenant").urn));
    });

    it("records providers, the default provider and resource options", () => {
        const provider = find(plan, "pulumi:providers:kubernetes", "cluster-a");
        const ns = find(plan, "kubernetes:core/v1:Namespace");
        assert.equal(ns.provider, provider.urn);
        assert.equal(ns.protect, true);
        assert.deepEqual(find(plan, "kubernetes:core/v1:Secret").ignoreChanges, ["metadata.labels"]);
        assert.deepEqual(find(plan, "kubernetes:core/v1:ConfigMap", "marker").additionalSecretOutputs, ["data"]);
        const unpinned = find(plan, "kubernetes:core/v1:ConfigMap", "default-provider");
        // pulumi/pulumi v3.248.0 pkg/resource/deploy/providers/provider.go, DefaultName: default_<major>_<minor>_<patch>.
        const version = require("@pulumi/kubernetes/package.json").version as string;
        assert.equal(unpinned.provider, `urn:pulumi:test::fixture::pulumi:providers:kubernetes::default_${version.replace(/\./g, "_")}`);
    });

    it("emulates provider outputs deterministically", async () => {
        const again = await planStack({ programDir: FIXTURE_PROGRAM, stack: "test", policyDir: FIXTURE_POLICY });
        const names = (p: Plan) => p.graph.resources.map((r) => [r.urn, r.id]);
        assert.deepEqual(names(again), names(plan));
        assert.match(String(find(plan, "kubernetes:core/v1:ConfigMap", "marker").id), /^marker-[0-9a-f]{8}$/);
    });

    it("keeps secrets secret: Secret data, secret config, additionalSecretOutputs; none in plan.json", () => {
        const doc = JSON.stringify(planDocument(plan));
        assert.ok(!doc.includes("not-really-a-token"), "the secret config value leaked into plan.json");
        const secret = planDocument(plan).resources.find((r) => r.type === "kubernetes:core/v1:Secret")!;
        assert.equal(secret.inputs.stringData, SECRET_MARKER, "the Kubernetes SDK marks Secret data secret at the source");
        assert.equal(secret.outputs.stringData, SECRET_MARKER);
        const marker = planDocument(plan).resources.find((r) => r.name === "marker")!;
        assert.equal(marker.outputs.data, SECRET_MARKER, "additionalSecretOutputs must mark data secret");
        assert.equal(marker.inputs.data.ns, "apps", "inputs that are not secret stay readable");
        assert.equal(planDocument(plan).outputs.token, SECRET_MARKER);
        assert.equal(planDocument(plan).outputs.namespace, "apps");
    });

    it("evaluates resource and stack policies with enforcement levels and schema defaults", () => {
        const byPolicy = (name: string) => plan.violations.filter((v) => v.policy === name);
        assert.deepEqual(byPolicy("configmap-max-keys").map((v) => [v.enforcementLevel, v.urn.split("::").pop()]).sort(),
            [["mandatory", "default-provider"], ["mandatory", "marker"]]);
        assert.deepEqual(byPolicy("explicit-providers").map((v) => [v.enforcementLevel, v.message]),
            [["advisory", "default-provider uses the default provider"]]);
    });

    it("applies pack config as --policy-pack-config does (values and levels, `all` included)", async () => {
        const relaxed = await planStack({ programDir: FIXTURE_PROGRAM, stack: "test", policyDir: FIXTURE_POLICY,
            policyConfig: { "fixture-pack": { "configmap-max-keys": { maxKeys: 1 }, all: "mandatory" } } });
        assert.deepEqual(relaxed.violations.map((v) => [v.policy, v.enforcementLevel]), [["explicit-providers", "mandatory"]]);
        await assert.rejects(planStack({ programDir: FIXTURE_PROGRAM, stack: "test", policyDir: FIXTURE_POLICY,
            policyConfig: { "fixture-pack": { "configmap-max-keys": { maxKeys: -1 } } } }), /maxKeys.*must be >= 0/);
    });

    it("plans another program with --program and exits 1 on a mandatory violation, writing plan.json and manifests", async () => {
        const out = tempDir("plan");
        const { code, stdout, stderr } = await runCli(["test", "--program", FIXTURE_PROGRAM, "--policy-dir", FIXTURE_POLICY, "--out", out]);
        assert.equal(code, 1, stderr);
        assert.match(stdout, /MANDATORY fixture-pack\/configmap-max-keys/);
        const written = JSON.parse(fs.readFileSync(path.join(out, "test", "plan.json"), "utf8"));
        assert.equal(written.project, "fixture");
        assert.equal(written.policy.violations.length, 3);
        const manifest = fs.readFileSync(path.join(out, "test", "manifests", "cluster-a", "secret-tenant-token.yaml"), "utf8");
        assert.match(manifest, /stringData: "\[secret\]"/);
        assert.ok(!fs.readdirSync(path.join(out, "test"), { recursive: true }).some((f) =>
            fs.statSync(path.join(out, "test", String(f))).isFile() && fs.readFileSync(path.join(out, "test", String(f)), "utf8").includes("not-really-a-token")));
    });

    it("exits 2 on bad input: unknown stack, bad arguments", async () => {
        assert.equal((await runCli(["nope", "--program", FIXTURE_PROGRAM])).code, 2);
        assert.equal((await runCli([])).code, 2);
        assert.equal((await runCli(["test", "--bogus"])).code, 2);
    });

    it("runs this project's program afresh each time while its library folders stay loaded (no state kept between runs)", async () => {
        // engine/runtime.ts keeps components/, config/ and program/ loaded across runs: a module there that kept state
        // from one run (a registry, a counter, a cached resource) would make a second plan of the same stack differ.
        // Fresh emulators bypass the test process's plan reuse; another stack is planned in between.
        const now = new Date("2026-11-29T00:00:00Z");
        const digest = (p: Plan) => JSON.stringify(p.graph.resources.map((r) => [r.urn, r.parent, r.provider, [...r.dependencies].sort(), r.inputs, r.outputs]));
        const first = await planStack({ stack: "dev", emulators: new Emulators(), now, mode: "created" });
        await planStack({ stack: "staging", emulators: new Emulators(), now, mode: "created" });
        const second = await planStack({ stack: "dev", emulators: new Emulators(), now, mode: "created" });
        assert.ok(first.graph.resources.length > 50);
        assert.equal(digest(second), digest(first));
    });

    it("reuses a plan for the plan command's options when they are the defaults spelled out", async () => {
        // engine/cli.ts passes every option; a test usually none: the same plan, made once per test run.
        const spelledOut = planStack({ stack: "pki-dev", mode: "preview", caHandoff: true, policyConfig: {}, now: planClock(undefined), policyDir: path.join(PROJECT_ROOT, "policy") });
        // Compared by identity only: a plan holds (plan-only) private keys, which a failed deepEqual would print.
        assert.ok(await spelledOut === await planStack({ stack: "pki-dev" }), "the plan command's options make another plan");
        assert.ok(await planStack({ stack: "pki-dev", policyConfig: { "mesh-mtls": { all: "advisory" } } }) !== await spelledOut, "a pack config is an input");
    });

    it("serializes functions after a run as before it: the debugger the SDK needs for that is enabled again", async () => {
        // engine/runtime.ts disables the debugger the SDK's function serialization enabled when a run ends.
        const pki = await planStack({ stack: "pki-dev", mode: "created", emulators: new Emulators() });
        // The run serialized a dynamic provider's code (the SDK's debugger session exists).
        assert.ok(pki.graph.resources.some((r) => r.type.startsWith("pulumi-nodejs:dynamic") && "__provider" in plain(r.inputs)));
        // A script compiled after the run: the SDK learns of it from the debugger's announcements.
        const compiledAfter = vm.runInThisContext("(() => { const captured = { marker: 'captured after a run' }; return () => captured.marker; })()", { filename: "compiled-after-a-run.js" });
        const serialized = await pulumi.runtime.serializeFunction(compiledAfter);
        assert.match(serialized.text, /captured after a run/);
        // Where the SDK says the function is (its error messages name it): the script map it keeps from the debugger.
        const closures = require("@pulumi/pulumi/runtime/closure/v8") as { getFunctionLocationAsync(f: Function): Promise<{ file: string }> };
        assert.equal((await closures.getFunctionLocationAsync(compiledAfter)).file, "compiled-after-a-run.js");
    });

    it("reports an error nothing awaits as the program's, also after a test runner removed every process listener", async () => {
        // mocha's parallel workers remove every uncaughtException and unhandledRejection listener after each file
        // (lib/nodejs/worker.cjs): the engine must route such errors to the run in progress again.
        const events = ["unhandledRejection", "uncaughtException"];
        const saved = events.map((event) => [event, process.listeners(event as "unhandledRejection") as ((...a: any[]) => void)[]] as const);
        for (const event of events) process.removeAllListeners(event);
        try {
            await assert.rejects(planStack({ programDir: path.join(__dirname, "fixtures", "uncaught-apply"), stack: "test", emulators: new Emulators() }),
                /the apply failed while the inputs were serialized/);
        } finally {
            for (const [event, listeners] of saved) {
                for (const l of listeners) if (!process.listeners(event as "unhandledRejection").includes(l)) process.on(event as "unhandledRejection", l);
            }
        }
    });
});
