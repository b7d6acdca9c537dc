import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import YAML from "yaml";
import { PROJECT_ROOT } from "../engine/plan";
import { PROMOTION_ORDER } from "../tools/promote";
import { gatedArgs, policyPacks } from "../tools/pulumi-gated";

/**
 * The inputs of pulumi/actions v7 (action.yml at tag v7) and pulumi/auth-actions v1 (action.yml at tag v1): an input
 * not declared there is ignored by the runner with a mere warning, so a misspelt one silently drops a flag.
 */
const PULUMI_ACTIONS_V7_INPUTS = ["command", "stack-name", "pulumi-version", "pulumi-version-file", "work-dir", "comment-on-pr",
    "comment-on-pr-number", "comment-on-summary", "github-token", "cloud-url", "secrets-provider", "parallel", "message", "config-map",
    "expect-no-changes", "diff", "replace", "exclude", "exclude-dependents", "target", "target-dependents", "policyPacks",
    "policyPackConfigs", "refresh", "upsert", "remove", "edit-pr-comment", "color", "exclude-protected", "plan", "suppress-outputs",
    "suppress-progress", "always-include-summary", "continue-on-error", "log-verbosity", "log-flow", "debug"];
const AUTH_ACTIONS_V1_INPUTS = ["organization", "requested-token-type", "scope", "token-expiration", "export-environment-variables", "cloud-url"];

/** Every job of a workflow with its name. */
function jobs(doc: any): Array<[string, any]> {
    return Object.entries<any>(doc.jobs ?? {});
}

const pulumiStep = (job: any) => (job.steps ?? []).find((s: any) => s.uses === "pulumi/actions@v7");
const prepareStep = (job: any) => (job.steps ?? []).find((s: any) => s.uses === "./.github/actions/pulumi-prepare");

const GITHUB = path.join(PROJECT_ROOT, ".github");
const pkg = JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, "package.json"), "utf8"));

/** Every workflow and local action, parsed. */
function ciFiles(): Array<{ file: string; text: string; doc: any }> {
    const dirs = [path.join(GITHUB, "workflows"), ...fs.readdirSync(path.join(GITHUB, "actions")).map((a) => path.join(GITHUB, "actions", a))];
    return dirs.flatMap((dir) => fs.readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).map((f) => {
        const file = path.relative(PROJECT_ROOT, path.join(dir, f));
        const text = fs.readFileSync(path.join(dir, f), "utf8");
        const doc = YAML.parseDocument(text);
        assert.deepEqual(doc.errors.map((e) => e.message), [], `${file} is not valid YAML`);
        return { file, text, doc: doc.toJS() };
    }));
}

function steps(doc: any): any[] {
    return [...Object.values<any>(doc.jobs ?? {}).flatMap((j) => j.steps ?? []), ...(doc.runs?.steps ?? [])];
}

function workflow(name: string): any {
    return YAML.parse(fs.readFileSync(path.join(GITHUB, "workflows", name), "utf8"));
}

describe("CI workflows", () => {
    it("parse as YAML and run only npm scripts that exist", () => {
        const files = ciFiles();
        assert.ok(files.some((f) => f.file.endsWith("pull-request.yml")) && files.some((f) => f.file.endsWith("deploy.yml")));
        for (const { file, text } of files) {
            for (const [, script] of text.matchAll(/npm run(?: -s)? ([\w:.-]+)/g)) {
                assert.ok(script in pkg.scripts, `${file} runs "npm run ${script}", which package.json does not define`);
            }
        }
    });

    it("use the official actions, with pulumi/actions' camelCase policy inputs and every policy pack", () => {
        for (const { file, doc } of ciFiles()) {
            for (const step of steps(doc).filter((s) => typeof s.uses === "string" && s.uses.startsWith("pulumi/actions"))) {
                assert.equal(step.uses, "pulumi/actions@v7", file);
                assert.ok(["preview", "up"].includes(step.with.command), `${file}: ${step.with.command}`);
                assert.match(step.with.policyPacks, /steps\.prepare\.outputs\.policy-packs/, `${file} runs every policy pack`);
                assert.ok(!("policy-packs" in step.with) && !("policy-pack-configs" in step.with), `${file}: kebab-case policy inputs are ignored`);
            }
        }
    });

    it("never preview or deploy a pki stack", () => {
        for (const { file, doc } of ciFiles()) {
            for (const step of steps(doc).filter((s) => s.with?.["stack-name"] !== undefined)) {
                assert.doesNotMatch(String(step.with["stack-name"]), /pki/, file);
            }
        }
        for (const name of ["pull-request.yml", "deploy.yml"]) {
            assert.match(fs.readFileSync(path.join(GITHUB, "workflows", name), "utf8"), /The pki stacks are never run in CI/);
        }
    });

    it("preview every environment on pull requests only when a backend is configured", () => {
        const pr = workflow("pull-request.yml");
        assert.ok(pr.on.pull_request);
        assert.match(pr.jobs.preview.if, /vars\.PULUMI_BACKEND_URL != ''/);
        assert.deepEqual(pr.jobs.preview.strategy.matrix.stack, [...PROMOTION_ORDER]);
        assert.deepEqual(pr.jobs.verify.steps.map((s: any) => s.run).filter(Boolean).slice(0, 2), ["npm ci", "npm test"]);
    });

    it("deploy dev, then staging and prod behind protected environments, in promotion order", () => {
        const deploy = workflow("deploy.yml");
        assert.deepEqual(deploy.on.push.branches, ["main"]);
        assert.match(deploy.jobs.dev.if, /vars\.PULUMI_BACKEND_URL != ''/);
        let previous = "verify";
        for (const stack of PROMOTION_ORDER) {
            const job = deploy.jobs[stack];
            // prod's approvers first see a fresh preview of prod.
            if (stack === "prod") previous = "prod-preview";
            assert.equal(job.needs, previous, `${stack} waits for ${previous}`);
            assert.equal(job.environment, stack);
            assert.equal(job.permissions["id-token"], "write");
            const up = job.steps.find((s: any) => s.uses === "pulumi/actions@v7");
            assert.equal(up.with.command, "up");
            assert.match(up.with["stack-name"], new RegExp(`/istio-production/${stack}$`));
            previous = stack;
        }
    });

    it("install every policy pack from its own lockfile, with what the pack imports declared", () => {
        const packs = fs.readdirSync(path.join(PROJECT_ROOT, "policy")).filter((p) => fs.existsSync(path.join(PROJECT_ROOT, "policy", p, "PulumiPolicy.yaml")));
        assert.ok(packs.length > 0);
        for (const pack of packs) {
            const dir = path.join(PROJECT_ROOT, "policy", pack);
            const deps: Record<string, string> = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8")).dependencies ?? {};
            const imported = new Set<string>();
            for (const f of fs.readdirSync(dir).filter((f) => f.endsWith(".ts"))) {
                for (const [, spec] of fs.readFileSync(path.join(dir, f), "utf8").matchAll(/(?:from|require\()\s*"([^".][^"]*)"/g)) {
                    if (!spec.startsWith("node:")) imported.add(spec.startsWith("@") ? spec.split("/").slice(0, 2).join("/") : spec.split("/")[0]);
                }
            }
            for (const name of imported) assert.ok(name in deps, `policy/${pack} imports ${name} without declaring it`);
            assert.ok(fs.existsSync(path.join(dir, "package-lock.json")), `policy/${pack} has no package-lock.json for npm ci`);
        }
        // The CLI runs a pack from its folder, so `pulumi preview` resolves what that folder's install holds.
        const prepare = ciFiles().find((f) => f.file.endsWith(path.join("pulumi-prepare", "action.yml")))!;
        const install = steps(prepare.doc).find((s) => s.name === "Install the policy packs");
        assert.match(install.run, /^for pack in policy\/\*\/; do npm ci --prefix "\$pack"; done$/);
    });

    it("give pulumi/actions and pulumi/auth-actions only inputs their action.yml declares", () => {
        for (const { file, doc } of ciFiles()) {
            for (const step of steps(doc)) {
                const declared = step.uses === "pulumi/actions@v7" ? PULUMI_ACTIONS_V7_INPUTS : step.uses === "pulumi/auth-actions@v1" ? AUTH_ACTIONS_V1_INPUTS : undefined;
                for (const input of declared ? Object.keys(step.with ?? {}) : []) assert.ok(declared!.includes(input), `${file}: ${step.uses} has no input ${input}`);
            }
        }
    });

    it("authenticate with team tokens only: read-only for pull requests and drift, a deploy team per environment", () => {
        const prepare = ciFiles().find((f) => f.file.endsWith(path.join("pulumi-prepare", "action.yml")))!;
        const auth = steps(prepare.doc).find((s) => s.uses === "pulumi/auth-actions@v1");
        assert.equal(auth.with["requested-token-type"], "urn:pulumi:token-type:access_token:team");
        assert.equal(auth.with.scope, "team:${{ inputs.team }}");
        assert.doesNotMatch(prepare.text, /access_token:organization/);
        for (const name of ["pull-request.yml", "drift.yml"]) {
            for (const [id, job] of jobs(workflow(name)).filter(([, j]) => prepareStep(j))) {
                assert.equal(prepareStep(job).with.team, "istio-production-preview", `${name} ${id}`);
                assert.equal(job.environment, undefined, `${name} ${id}: no deploy environment's secrets in reach`);
                assert.equal(pulumiStep(job).with.command, "preview", `${name} ${id}`);
                assert.match(prepareStep(job).with["esc-environment"], /-preview$/, `${name} ${id}: read-only cloud roles`);
            }
        }
        const deploy = workflow("deploy.yml");
        for (const stack of PROMOTION_ORDER) assert.equal(prepareStep(deploy.jobs[stack]).with.team, `istio-production-deploy-${stack}`);
        assert.equal(prepareStep(deploy.jobs["prod-preview"]).with.team, "istio-production-preview");
    });

    it("queue each stack's updates behind its own, so a pending prod approval never blocks dev", () => {
        const deploy = workflow("deploy.yml");
        assert.equal(deploy.concurrency, undefined, "no workflow-wide group");
        const groups = PROMOTION_ORDER.map((stack) => deploy.jobs[stack].concurrency);
        for (const [i, stack] of PROMOTION_ORDER.entries()) {
            assert.equal(groups[i].group, `stack-${stack}`);
            assert.equal(groups[i]["cancel-in-progress"], false, "an update is never cut half-way");
        }
        assert.equal(new Set(groups.map((g) => g.group)).size, PROMOTION_ORDER.length);
    });

    it("create each stack on its first deployment (upsert) and show prod's approvers a fresh preview", () => {
        const deploy = workflow("deploy.yml");
        for (const stack of PROMOTION_ORDER) assert.equal(pulumiStep(deploy.jobs[stack]).with.upsert, true, stack);
        const preview = deploy.jobs["prod-preview"];
        assert.equal(deploy.jobs.prod.needs, "prod-preview");
        assert.equal(preview.needs, "staging", "previewed after staging ran the commit");
        assert.equal(pulumiStep(preview).with.command, "preview");
        assert.match(pulumiStep(preview).with["stack-name"], /\/istio-production\/prod$/);
        assert.equal(pulumiStep(preview).with["comment-on-summary"], true, "on the run's page the approvers open");
    });

    it("check every stack for drift on a schedule, each reported on its own", () => {
        const drift = workflow("drift.yml");
        assert.ok(drift.on.schedule[0].cron);
        const job = drift.jobs.drift;
        assert.deepEqual(job.strategy.matrix.stack, [...PROMOTION_ORDER]);
        assert.equal(job.strategy["fail-fast"], false);
        const step = pulumiStep(job);
        assert.equal(step.with.command, "preview");
        assert.equal(step.with.refresh, true);
        assert.equal(step.with["expect-no-changes"], true);
        assert.match(step.with["stack-name"], /\$\{\{ matrix\.stack \}\}$/);
        assert.match(job.concurrency.group, /^drift-/, "never in a deploy job's group, whose pending job it would cancel");
    });

    it("compare each pull request's plans with the base branch's and post their summaries from a job that runs no pull-request code", () => {
        const pr = workflow("pull-request.yml");
        const run = pr.jobs.verify.steps.map((s: any) => s.run ?? "").join("\n");
        assert.match(run, /--out \.\.\/base-plans/);
        assert.match(run, /--baseline "\.\.\/base-plans\/\$stack\/plan\.json"/);
        assert.match(run, /GITHUB_STEP_SUMMARY/);
        const comment = pr.jobs.comment;
        assert.deepEqual(comment.permissions, { "pull-requests": "write" });
        assert.ok(!comment.steps.some((s: any) => /checkout/.test(s.uses ?? "")), "the commenting job never checks out the pull request");
        assert.equal(pr.permissions.contents, "read", "the workflow's default stays read-only");
    });

    it("preview pull requests with the base branch's policy packs, not their own", () => {
        const job = workflow("pull-request.yml").jobs.preview;
        const names = job.steps.map((s: any) => s.name ?? s.uses);
        const base = job.steps.find((s: any) => s.name === "Policy packs of the base branch");
        assert.ok(names.indexOf("Policy packs of the base branch") < names.indexOf("./.github/actions/pulumi-prepare"), "before the packs are installed and listed");
        assert.match(base.run, /git fetch .*\$\{\{ github\.event\.pull_request\.base\.sha \}\}/);
        assert.match(base.run, /rm -rf policy\n/, "a pack the pull request adds in place of a weakened one is not run either");
        assert.match(base.run, /git checkout FETCH_HEAD -- policy\/$/m);
    });
});

describe("gated pulumi commands (npm run up / preview)", () => {
    it("pass every policy pack, refuse packs of the caller's choosing and up of approved stacks outside CI", () => {
        const packs = policyPacks();
        assert.deepEqual(packs, fs.readdirSync(path.join(PROJECT_ROOT, "policy")).filter((p) => fs.existsSync(path.join(PROJECT_ROOT, "policy", p, "PulumiPolicy.yaml"))).map((p) => `policy/${p}`));
        assert.deepEqual(gatedArgs("preview", ["dev", "--diff"], {}), ["preview", "--stack", "dev", ...packs.flatMap((p) => ["--policy-pack", p]), "--diff"]);
        assert.throws(() => gatedArgs("up", ["dev", "--policy-pack", "policy/mesh-mtls"], {}), /--policy-pack: the gate runs every pack of policy\//);
        assert.throws(() => gatedArgs("up", ["dev", "--policy-pack-config=x.json"], {}), /--policy-pack-config/);
        assert.throws(() => gatedArgs("up", ["acme/istio-production/prod"], {}), /refusing `pulumi up` of acme\/istio-production\/prod outside CI/);
        assert.deepEqual(gatedArgs("up", ["prod"], { GITHUB_ACTIONS: "true" }).slice(0, 3), ["up", "--stack", "prod"]);
        assert.equal(gatedArgs("preview", ["prod"], {})[0], "preview");
        assert.throws(() => gatedArgs("up", [], {}), /expected a stack name first/);
        assert.equal(pkg.scripts.up, "tsx tools/pulumi-gated.ts up");
        assert.equal(pkg.scripts.preview, "tsx tools/pulumi-gated.ts preview");
    });

    it("are what the docs run: no documented pulumi up or preview without every pack", () => {
        const docs = ["README.md", ...fs.readdirSync(path.join(PROJECT_ROOT, "docs"), { recursive: true }).map(String).filter((f) => f.endsWith(".md")).map((f) => path.join("docs", f))];
        for (const doc of docs) {
            const text = fs.readFileSync(path.join(PROJECT_ROOT, doc), "utf8");
            for (const [, block] of text.matchAll(/```(?:sh|bash)\n([\s\S]*?)```/g)) {
                for (const line of block.split("\n").filter((l) => /^\s*pulumi (up|preview)\b/.test(l))) {
                    assert.fail(`${doc}: \`${line.trim()}\` runs without the policy packs: use npm run ${/up/.test(line) ? "up" : "preview"} -- <stack>`);
                }
            }
        }
    });
});
