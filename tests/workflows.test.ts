import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import YAML from "yaml";
import { PROJECT_ROOT } from "../engine/plan";
import { PROMOTION_ORDER } from "../tools/promotion/rules";
import { gatedArgs, policyPacks } from "../tools/pulumi-gated";
import { plain } from "../engine/values";
import { shippedPlan, tempDir } from "./support/plan";

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

    it("preview only dev on pull requests, only when a backend is configured", () => {
        // auth-actions v1 exports the token to every later step (src/gh.ts at tag v1: core.exportVariable
        // PULUMI_ACCESS_TOKEN), and those steps run the pull request's code: whatever the token reads, the pull
        // request can export with its secrets. So a pull request's token reads dev only.
        const pr = workflow("pull-request.yml");
        assert.ok(pr.on.pull_request);
        const job = pr.jobs.preview;
        assert.match(job.if, /vars\.PULUMI_BACKEND_URL != ''/);
        assert.equal(job.strategy, undefined, "one stack, no matrix");
        assert.match(pulumiStep(job).with["stack-name"], /\/istio-production\/dev$/);
        assert.equal(prepareStep(job).with.team, "istio-production-preview-dev");
        assert.match(prepareStep(job).with["esc-environment"], /\/ci-dev-preview$/);
        for (const { file, text } of ciFiles().filter((f) => f.file.endsWith("pull-request.yml"))) {
            assert.doesNotMatch(text.replace(/^\s*#.*$/gm, ""), /\b(?:staging|prod|review)\b|\$\{\{ matrix/, `${file} names another environment outside its comments`);
        }
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

    it("authenticate with team tokens only, one per environment and role, each job presenting its own OIDC subject", () => {
        const prepare = ciFiles().find((f) => f.file.endsWith(path.join("pulumi-prepare", "action.yml")))!;
        const auth = steps(prepare.doc).find((s) => s.uses === "pulumi/auth-actions@v1");
        assert.equal(auth.with["requested-token-type"], "urn:pulumi:token-type:access_token:team");
        assert.equal(auth.with.scope, "team:${{ inputs.team }}");
        assert.doesNotMatch(prepare.text, /access_token:organization/);
        // GitHub's `sub` claim: `repo:<o>/<r>:environment:<name>` for a job in an environment, else
        // `repo:<o>/<r>:pull_request` on pull_request, else `repo:<o>/<r>:ref:<ref>` (GitHub docs, "About security
        // hardening with OpenID Connect", example subject claims). Each team's issuer policy in docs/promotion.md
        // must accept exactly what its jobs present.
        const promotion = fs.readFileSync(path.join(PROJECT_ROOT, "docs", "promotion.md"), "utf8");
        const subjects = new Map<string, Set<string>>();
        for (const name of ["pull-request.yml", "deploy.yml", "drift.yml"]) {
            const doc = workflow(name);
            for (const [id, job] of jobs(doc).filter(([, j]) => prepareStep(j))) {
                const stacks: string[] = job.strategy?.matrix?.stack ?? [undefined];
                for (const stack of stacks) {
                    const sub = (t: string) => t.replace(/\$\{\{ matrix\.stack \}\}/g, stack);
                    const team = sub(prepareStep(job).with.team);
                    const env = job.environment === undefined ? undefined : sub(job.environment);
                    const subject = env ? `environment:${env}` : doc.on.pull_request ? "pull_request" : "ref:refs/heads/main";
                    assert.notEqual(subject, "ref:refs/heads/main", `${name} ${id}: a push or schedule job outside an environment presents a subject no team accepts`);
                    if (!subjects.has(team)) subjects.set(team, new Set());
                    subjects.get(team)!.add(subject);
                    const command = pulumiStep(job).with.command;
                    if (command === "preview") {
                        assert.equal(team, `istio-production-preview-${/\/istio-production\/(\w+)$/.exec(sub(pulumiStep(job).with["stack-name"]))![1]}`, `${name} ${id}: the preview team of the stack it previews`);
                        assert.match(sub(prepareStep(job).with["esc-environment"]), /-preview$/, `${name} ${id}: read-only cloud roles`);
                        assert.ok(!["dev", "staging", "prod", "review"].includes(env ?? ""), `${name} ${id}: no deploy environment's secrets in reach`);
                    }
                }
            }
        }
        for (const [team, subs] of subjects) {
            for (const subject of subs) {
                assert.ok(promotion.includes(`| \`${team}\` | \`repo:<owner>/<repo>:${subject}\``), `docs/promotion.md documents ${team}'s issuer policy for ${subject}`);
            }
        }
        // Only dev's preview team ever serves a pull request.
        assert.deepEqual([...subjects].filter(([, subs]) => subs.has("pull_request")).map(([t]) => t), ["istio-production-preview-dev"]);
        for (const stack of PROMOTION_ORDER) assert.deepEqual([...subjects.get(`istio-production-deploy-${stack}`)!], [`environment:${stack}`]);
        assert.deepEqual([...subjects.get("istio-production-preview-prod")!].sort(), ["environment:prod-preview"]);
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

    it("never create a stack (an administrator does, once) and show prod's approvers a fresh preview", () => {
        // pulumi/actions v7 src/main.ts: `upsert` runs LocalWorkspace.createOrSelectStack (`stack select --create`),
        // which a read-only team cannot; the stacks are created before the first run, as docs/promotion.md says.
        for (const { file, doc } of ciFiles()) {
            for (const step of steps(doc).filter((s) => s.uses === "pulumi/actions@v7")) assert.equal(step.with.upsert, undefined, `${file}: ${step.with["stack-name"]}`);
        }
        const promotion = fs.readFileSync(path.join(PROJECT_ROOT, "docs", "promotion.md"), "utf8");
        for (const stack of [...PROMOTION_ORDER, "review"]) assert.ok(promotion.includes(`pulumi stack init <org>/istio-production/${stack}`), `docs/promotion.md creates ${stack}`);
        const deploy = workflow("deploy.yml");
        const preview = deploy.jobs["prod-preview"];
        assert.equal(deploy.jobs.prod.needs, "prod-preview");
        assert.ok(preview.needs.includes("staging"), "previewed after staging ran the commit");
        assert.equal(pulumiStep(preview).with.command, "preview");
        assert.match(pulumiStep(preview).with["stack-name"], /\/istio-production\/prod$/);
        assert.equal(pulumiStep(preview).with["comment-on-summary"], true, "on the run's page the approvers open");
    });

    it("pin the Pulumi CLI in every pulumi/actions step (v7 installs the newest 3.x otherwise)", () => {
        for (const { file, doc } of ciFiles()) {
            for (const step of steps(doc).filter((s) => s.uses === "pulumi/actions@v7")) assert.equal(step.with["pulumi-version"], "3.248.0", file);
        }
    });

    it("deploy the review stack (stage 5 on both clouds) before prod's preview whenever prod's stack file sets stage 5", () => {
        const deploy = workflow("deploy.yml");
        const review = deploy.jobs.review;
        assert.equal(review.environment, "review");
        assert.equal(pulumiStep(review).with.command, "up");
        assert.match(pulumiStep(review).with["stack-name"], /\/istio-production\/review$/);
        assert.deepEqual(deploy.jobs["prod-preview"].needs, ["staging", "review-needed", "review"]);
        assert.match(deploy.jobs["prod-preview"].if, /needs\.review\.result == 'success'/);
        const script = deploy.jobs["review-needed"].steps.find((s: any) => s.id === "stage").run;
        const decide = (stageLine: string) => {
            const dir = tempDir("review-needed");
            fs.mkdirSync(path.join(dir, "stacks"));
            fs.writeFileSync(path.join(dir, "stacks", "Pulumi.prod.yaml"), fs.readFileSync(path.join(PROJECT_ROOT, "stacks", "Pulumi.prod.yaml"), "utf8").replace(/^ {2}istio-production:stage: .*$/m, stageLine));
            const out = path.join(dir, "out");
            execFileSync("bash", ["-eo", "pipefail", "-c", script], { cwd: dir, env: { ...process.env, GITHUB_OUTPUT: out } });
            return fs.readFileSync(out, "utf8").trim();
        };
        assert.equal(decide("  istio-production:stage: 5"), "stage-5=true");
        assert.equal(decide('  istio-production:stage: "5"'), "stage-5=true", "as `pulumi config set` writes it");
        assert.equal(decide("  istio-production:stage: 4"), "stage-5=false");
        assert.match(fs.readFileSync(path.join(PROJECT_ROOT, "stacks", "Pulumi.review.yaml"), "utf8"), /^ {2}istio-production:stage: 5$/m);
    });

    it("check every stack for drift on a schedule, each reported on its own with its diff on the summary page", () => {
        const drift = workflow("drift.yml");
        assert.ok(drift.on.schedule[0].cron);
        const job = drift.jobs.drift;
        assert.deepEqual(job.strategy.matrix.stack, [...PROMOTION_ORDER]);
        assert.equal(job.strategy["fail-fast"], false);
        const step = pulumiStep(job);
        assert.equal(step.with.command, "preview");
        assert.equal(step.with.refresh, true);
        // v7 writes the summary only after the command succeeded (src/main.ts at v7.0.0): expect-no-changes would
        // fail first and hide the diff.
        assert.equal(step.with["expect-no-changes"], undefined);
        assert.equal(step.with["comment-on-summary"], true);
        assert.match(step.with["stack-name"], /\$\{\{ matrix\.stack \}\}$/);
        assert.match(job.concurrency.group, /^drift-/, "never in a deploy job's group, whose pending job it would cancel");
        const gate = job.steps.find((s: any) => s.name === "Fail on drift");
        assert.equal(gate.env.PREVIEW, `\${{ steps.${step.id}.outputs.output }}`);
        const script = gate.run.replace(/\$\{\{ matrix\.stack \}\}/g, "dev");
        const verdict = (preview: string) => {
            try {
                execFileSync("bash", ["-e", "-c", script], { env: { ...process.env, PREVIEW: preview }, stdio: "pipe" });
                return "clean";
            } catch {
                return "drifted";
            }
        };
        // The summary as pulumi/pulumi v3.248.0 pkg/backend/display/diff.go renderSummaryEvent prints it.
        assert.equal(verdict("Previewing update (dev)\n\nResources:\n    68 unchanged\n"), "clean");
        assert.equal(verdict("Resources:\n    + 1 to create\n    67 unchanged\n"), "drifted");
        assert.equal(verdict("Resources:\n    \u001b[32m+ 1 to create\u001b[0m\n"), "drifted");
        assert.equal(verdict("Resources:\n    ~ 2 to update\n    +-1 to replace\n    3 changes. 63 unchanged\n"), "drifted");
        assert.equal(verdict("Resources:\n    - 1 to delete\n"), "drifted");
    });

    it("leave no finished Job for Kubernetes to delete behind the stack's back (drift the day after each deploy)", async () => {
        const staging = await shippedPlan("staging");
        const jobs = staging.graph.resources.filter((r) => r.type === "kubernetes:batch/v1:Job");
        assert.ok(jobs.length > 0, "staging runs the live verification Job");
        for (const job of jobs) assert.equal(plain(job.inputs).spec.ttlSecondsAfterFinished, undefined, job.urn);
    });

    it("make changes to workflows and policy packs wait for their owners' review (CODEOWNERS)", () => {
        const owners = fs.readFileSync(path.join(GITHUB, "CODEOWNERS"), "utf8").split("\n").filter((l) => l.trim() && !l.startsWith("#")).map((l) => l.split(/\s+/)[0]);
        for (const guarded of ["/.github/", "/policy/"]) assert.ok(owners.includes(guarded), `CODEOWNERS guards ${guarded}`);
        const promotion = fs.readFileSync(path.join(PROJECT_ROOT, "docs", "promotion.md"), "utf8");
        assert.match(promotion, /Require review from Code Owners/);
        assert.match(promotion, /required status checks/i);
        assert.match(promotion, /policy group/);
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
        // pulumi/actions' comment-on-pr posts as the same github-actions bot: "the bot's last comment" can be the
        // preview's, so the plans' comment is found by its marker and edited through the REST API.
        const post = comment.steps.map((s: any) => s.run ?? "").join("\n");
        assert.doesNotMatch(post, /--edit-last/);
        assert.match(post, /gh api "repos\/\$GH_REPO\/issues\/\$PR\/comments" --paginate --jq .*startswith\(\\"\$marker\\"\)/);
        assert.match(post, /gh api --method PATCH "repos\/\$GH_REPO\/issues\/comments\/\$id"/);
        assert.doesNotMatch(post, /head -c/, "a summary is never cut mid code fence or mid character");
    });

    it("give both sides of the plan comparison one secret digest key, made per run and never stored", () => {
        const steps = workflow("pull-request.yml").jobs.verify.steps;
        const base = steps.find((s: any) => s.name === "Offline plans of the base branch").run as string;
        assert.match(base, /key="\$\(openssl rand -hex 32\)"/);
        assert.match(base, /::add-mask::\$key/);
        assert.match(base, /PLAN_SECRET_DIGEST_KEY=\$key" >> "\$GITHUB_ENV"/, "the pull request's plans, in a later step, get the same key");
        assert.ok(base.indexOf("export PLAN_SECRET_DIGEST_KEY") < base.indexOf("npm run plan"), "the base plans in this step get it too");
        assert.doesNotMatch(JSON.stringify(workflow("pull-request.yml")), /secrets\.PLAN_SECRET_DIGEST_KEY/, "not a stored secret");
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
            // Anywhere in a shell block, each command of a line on its own (`npm run plan -- x && pulumi up`), and in
            // prose every inline command with arguments (`pulumi up --stack prod`); a bare `pulumi up` in prose names
            // the operation (the runbooks' instructions say `npm run up -- <stack>`).
            const blocks = [...text.matchAll(/```(?:sh|bash)\n([\s\S]*?)```/g)].map((m) => m[1]);
            const code = blocks.flatMap((b) => b.split("\n").flatMap((l) => l.replace(/(^|\s)#.*$/, "").split(/&&|\|\||;|\|/)));
            const inShell = code.filter((c) => /\bpulumi (?:up|preview)\b/.test(c));
            const inProse = [...text.replace(/```[\s\S]*?```/g, "").matchAll(/`[^`\n]*\bpulumi (?:up|preview) [^`\n]*`/g)].map((m) => m[0]);
            for (const command of [...inShell, ...inProse]) {
                if (!command.includes("--policy-pack")) {
                    assert.fail(`${doc}: \`${command.trim()}\` runs without the policy packs: use npm run ${/ up/.test(command) ? "up" : "preview"} -- <stack>`);
                }
            }
        }
    });
});
