import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import YAML from "yaml";
import { PROJECT_ROOT } from "../engine/plan";
import { PROMOTION_ORDER } from "../tools/promote";

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
        assert.equal(deploy.concurrency["cancel-in-progress"], false);
        assert.match(deploy.jobs.dev.if, /vars\.PULUMI_BACKEND_URL != ''/);
        let previous = "verify";
        for (const stack of PROMOTION_ORDER) {
            const job = deploy.jobs[stack];
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
});
