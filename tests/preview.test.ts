import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { planStack, Plan } from "../engine/plan";
import { planDocument } from "../engine/report";
import { plain, UNKNOWN } from "../engine/values";
import { find, runCli, shippedPlan, tempDir } from "./support/plan";

const FIXTURES = path.join(__dirname, "fixtures");
const PREVIEW_PROGRAM = path.join(FIXTURES, "preview");
const PREVIEW_POLICY = path.join(FIXTURES, "preview-policy");

/** The engine's name for a package's default provider: pulumi/pulumi v3.248.0 `ProviderRequest.DefaultName`. */
function defaultProvider(pkg: string): string {
    const version: string = JSON.parse(fs.readFileSync(path.join(__dirname, "..", "node_modules", "@pulumi", pkg, "package.json"), "utf8")).version;
    return `default_${version.replace(/[.]/g, "_")}`;
}

describe("a first pulumi preview, offline", () => {
    let plan: Plan;
    before(async () => {
        plan = await planStack({ programDir: PREVIEW_PROGRAM, stack: "test", policyDir: PREVIEW_POLICY });
    });
    const previewed = (type: string, name?: string) => find({ ...plan, graph: plan.policyGraph }, type, name);

    it("knows no output a provider computes for a resource being created, nor the inputs computed from it", () => {
        assert.equal(plan.mode, "preview");
        const key = previewed("tls:index/privateKey:PrivateKey");
        assert.equal(plain(key.outputs).publicKeyPem, UNKNOWN);
        assert.equal(plain(key.outputs).algorithm, "ECDSA", "inputs stay known in the planned state");
        assert.equal(key.id, undefined);
        const cm = previewed("kubernetes:core/v1:ConfigMap", "public-key");
        assert.equal(plain(cm.inputs).data.pem, UNKNOWN);
        assert.equal(plain(cm.inputs).data.literal, "known");
        assert.equal(plain(previewed("aws:kms/alias:Alias").inputs).targetKeyId, UNKNOWN);
        // The created view knows them all: it is what manifests/ and pki/ are written from.
        assert.match(plain(find(plan, "tls:index/privateKey:PrivateKey").outputs).publicKeyPem, /BEGIN PUBLIC KEY/);
    });

    it("gives stack policies no outputs for objects of a provider whose configuration is unknown, and resource policies their inputs", () => {
        // pulumi/pulumi v3.248.0 sdk/go/common/resource/plugin/provider_plugin.go: Check returns the news unchanged and
        // Create (preview) returns an empty bag when the provider's configuration is not known.
        const provider = previewed("pulumi:providers:kubernetes", "future-cluster");
        assert.equal(plain(provider.inputs).kubeconfig, UNKNOWN);
        const cm = previewed("kubernetes:core/v1:ConfigMap", "on-future-cluster");
        assert.deepEqual(cm.outputs, {});
        assert.equal(plain(cm.inputs).data.literal, "known");
        assert.ok(plan.violations.some((v) => v.policy === "configmaps-seen-by-stack" && v.urn === cm.urn),
            "a stack policy reading outputs sees nothing of it at a first preview");
        assert.ok(!plan.violations.some((v) => v.urn === previewed("kubernetes:core/v1:ConfigMap", "public-key").urn && v.policy === "configmaps-seen-by-stack"));
    });

    it("reports a policy that reads an unknown value as not run, as the policy SDK skips it, and counts a mandatory one as a failure", async () => {
        assert.deepEqual(plan.notRun.map((n) => [n.pack, n.policy, n.enforcementLevel, n.urn.split("::").pop()]),
            [["preview-pack", "configmap-values-short", "mandatory", "public-key"], ["preview-pack", "public-key-is-rsa", "advisory", "public-key"]]);
        assert.match(plan.notRun[0].reason, /data\.pem can't be known during preview/);
        const out = tempDir("preview");
        const gate = await runCli(["test", "--program", PREVIEW_PROGRAM, "--policy-dir", PREVIEW_POLICY, "--out", out]);
        assert.equal(gate.code, 1, gate.stderr);
        assert.match(gate.stdout, /Could not run at preview \(2/);
        assert.match(gate.stderr, /1 mandatory policy could not run at preview/);
        const doc = JSON.parse(fs.readFileSync(path.join(out, "test", "plan.json"), "utf8"));
        assert.equal(doc.mode, "preview");
        assert.equal(doc.policy.notRun.length, 2);
        assert.equal(doc.outputs.publicKey, "[unknown]");
        const allowed = await runCli(["test", "--program", PREVIEW_PROGRAM, "--policy-dir", PREVIEW_POLICY, "--out", out, "--allow-not-run"]);
        assert.equal(allowed.code, 0, allowed.stderr);
        const created = await runCli(["test", "--program", PREVIEW_PROGRAM, "--policy-dir", PREVIEW_POLICY, "--out", out, "--assume-created"]);
        assert.equal(created.code, 0, created.stderr);
        assert.equal(JSON.parse(fs.readFileSync(path.join(out, "test", "plan.json"), "utf8")).mode, "created");
    });

    it("also evaluates the packs on the emulated create: what pulumi up would refuse once a value exists", () => {
        // The preview skipped public-key-is-rsa (data.pem unknown); the created view knows the key is ECDSA.
        const later = plan.violations.filter((v) => v.policy === "public-key-is-rsa");
        assert.deepEqual(later.map((v) => [v.at, v.urn.split("::").pop()]), [["up", "public-key"]]);
        assert.ok(plan.violations.filter((v) => v.policy === "configmaps-seen-by-stack").every((v) => v.at === undefined));
    });

    it("returns a list unknown as a whole as one unknown entry, as a bridged provider's Check does", () => {
        // pulumi/pulumi-terraform-bridge pkg/tfbridge/schema.go (makeTerraformUnknown): Analyze sees [unknown].
        assert.deepEqual(plain(previewed("aws:iam/role:Role").inputs).managedPolicyArns, [UNKNOWN]);
    });

    it("fails the preview on a read of an object this deployment creates by a known id, as the engine's ReadStep does", async () => {
        // pulumi/pulumi v3.248.0 pkg/resource/deploy/step.go: "Read steps run during previews"; a missing object fails.
        await assert.rejects(planStack({ programDir: PREVIEW_PROGRAM, stack: "test", policyDir: PREVIEW_POLICY, config: { "aws:region": "eu-west-1", "preview-fixture:readBy": "name" } }),
            /resource 'apps\/read-target' does not exist/);
        assert.deepEqual(previewed("kubernetes:core/v1:ConfigMap", "read-back").outputs, {}, "by the created id, unknown until created, nothing is read");
    });

    it("previews an update: resources of an earlier plan exist and their outputs are known", async () => {
        const existing = new Set(planDocument(plan).resources.filter((r) => r.custom && !r.read).map((r) => r.urn));
        const update = await planStack({ programDir: PREVIEW_PROGRAM, stack: "test", policyDir: PREVIEW_POLICY, existing });
        assert.match(plain(find({ ...update, graph: update.policyGraph }, "tls:index/privateKey:PrivateKey").outputs).publicKeyPem, /BEGIN PUBLIC KEY/);
        assert.deepEqual(update.notRun, []);
    });

    it("registers default providers as the engine does: default_<version>, configured from the stack's config", () => {
        const aws = previewed("pulumi:providers:aws");
        assert.equal(aws.name, defaultProvider("aws"));
        assert.equal(aws.urn, `urn:pulumi:test::preview-fixture::pulumi:providers:aws::${defaultProvider("aws")}`);
        assert.equal(plain(aws.inputs).region, "eu-west-1");
        assert.equal(previewed("aws:kms/key:Key").provider, aws.urn);
        assert.equal(previewed("pulumi:providers:tls").name, defaultProvider("tls"));
        assert.equal(previewed("kubernetes:core/v1:ConfigMap", "public-key").provider,
            `urn:pulumi:test::preview-fixture::pulumi:providers:kubernetes::${defaultProvider("kubernetes")}`);
    });

    it("takes the default AWS provider's region from AWS_REGION when the stack sets none, and names the key when neither does", async () => {
        const saved = { AWS_REGION: process.env.AWS_REGION, AWS_DEFAULT_REGION: process.env.AWS_DEFAULT_REGION };
        try {
            delete process.env.AWS_DEFAULT_REGION;
            process.env.AWS_REGION = "ap-south-1";
            const fromEnv = await planStack({ programDir: PREVIEW_PROGRAM, stack: "test", policyDir: PREVIEW_POLICY, mode: "created", config: {} });
            assert.match(String(plain(find(fromEnv, "aws:kms/key:Key").outputs).arn), /^arn:aws:kms:ap-south-1:/);
            delete process.env.AWS_REGION;
            await assert.rejects(planStack({ programDir: PREVIEW_PROGRAM, stack: "test", policyDir: PREVIEW_POLICY, mode: "created", config: {} }), /set aws:region/);
        } finally {
            for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k]; else process.env[k] = v;
        }
    });

    it("checks a cluster reached through the default Kubernetes provider like any other", async () => {
        const ambient = await planStack({ programDir: path.join(FIXTURES, "ambient-mesh"), stack: "test" });
        const strict = ambient.violations.filter((v) => v.policy === "mesh-wide-strict-mtls");
        assert.equal(strict.length, 1);
        assert.match(strict[0].message, new RegExp(`cluster ${defaultProvider("kubernetes")} runs Istio without a mesh-wide PeerAuthentication`));
    });
});

describe("the policy gate fails closed", () => {
    it("refuses a policy directory that does not exist, holds no pack, or holds a pack that cannot load (exit 2)", async () => {
        const missing = await runCli(["test", "--program", PREVIEW_PROGRAM, "--policy-dir", path.join(FIXTURES, "no-such-dir")]);
        assert.equal(missing.code, 2);
        assert.match(missing.stderr, /no-such-dir: does not exist/);
        const empty = tempDir("no-packs");
        assert.equal((await runCli(["test", "--program", PREVIEW_PROGRAM, "--policy-dir", empty])).code, 2);
        // Inside the project, so that the pack resolves @pulumi/policy and fails in its own code.
        fs.mkdirSync(path.join(__dirname, "..", "out"), { recursive: true });
        const broken = fs.mkdtempSync(path.join(__dirname, "..", "out", "broken-packs-"));
        fs.mkdirSync(path.join(broken, "broken"));
        fs.writeFileSync(path.join(broken, "broken", "PulumiPolicy.yaml"), "runtime: nodejs\n");
        fs.writeFileSync(path.join(broken, "broken", "index.ts"), "throw new Error('cannot load');\n");
        const refused = await runCli(["test", "--program", PREVIEW_PROGRAM, "--policy-dir", broken]).finally(() => fs.rmSync(broken, { recursive: true, force: true }));
        assert.equal(refused.code, 2);
        assert.match(refused.stderr, /policy pack .*broken failed to load: cannot load/);
    });

    it("follows a pack folder that is a symbolic link", async () => {
        const linked = tempDir("linked-packs");
        fs.symlinkSync(path.join(PREVIEW_POLICY, "preview-pack"), path.join(linked, "preview-pack"), "dir");
        const plan = await planStack({ programDir: PREVIEW_PROGRAM, stack: "test", policyDir: linked });
        assert.deepEqual(plan.packs.map((p) => p.name), ["preview-pack"]);
    });
});

describe("shipped stacks at a first preview", () => {
    for (const stack of ["pki-dev", "pki-staging", "pki-prod", "dev", "staging", "prod"]) {
        it(`${stack}: every mandatory policy reaches a verdict and none is violated`, async () => {
            const p = await shippedPlan(stack);
            assert.equal(p.mode, "preview");
            assert.deepEqual(p.notRun.filter((n) => n.enforcementLevel === "mandatory").map((n) => `${n.policy}: ${n.reason}`), []);
            assert.deepEqual(p.violations.filter((v) => v.enforcementLevel === "mandatory").map((v) => `${v.policy}: ${v.message}`), []);
        });
    }
});
