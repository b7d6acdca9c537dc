import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { ConfigError, ConfigIssue } from "../config";
import { CapturedResource } from "../engine/graph";
import { planStack, PROJECT_ROOT } from "../engine/plan";
import { runCli, tempDir } from "./support/plan";
import { stackConfig, toRuntime } from "./support/stacks";

/** Plan a shipped stack with a mutated config; return the config issues and what got registered. */
async function refused(stack: string, mutate: (c: Record<string, any>) => void): Promise<{ issues: readonly ConfigIssue[]; registered: CapturedResource[] }> {
    const config = stackConfig(stack);
    mutate(config);
    const registered: CapturedResource[] = [];
    try {
        await planStack({ stack, config: toRuntime(config), onRegister: (r) => registered.push(r) });
    } catch (e) {
        assert.equal((e as Error).name, "ConfigError", (e as Error).message);
        return { issues: (e as ConfigError).issues, registered };
    }
    assert.fail("the config was accepted");
}

function issue(issues: readonly ConfigIssue[], key: string): ConfigIssue {
    const found = issues.find((i) => i.key === key);
    assert.ok(found, `no issue for ${key}; got:\n${issues.map((i) => `${i.key}: ${i.message}`).join("\n")}`);
    return found;
}

describe("config gate", () => {
    const cases: Array<[string, string, (c: Record<string, any>) => void, string, RegExp, string]> = [
        ["dns-1123 cluster names", "dev", (c) => (c.clusters[0].name = "Dev_Cluster"), "istio-production:clusters[0].name", /DNS-1123/, '"Dev_Cluster"'],
        ["unknown cloud", "dev", (c) => (c.clusters[0].cloud = "azure"), "istio-production:clusters[0].cloud", /"aws" or "gcp"/, '"azure"'],
        ["stage 1–5", "dev", (c) => (c.stage = 6), "istio-production:stage", /1, 2, 3, 4 or 5/, "6"],
        ["bad region", "dev", (c) => (c.clusters[0].region = "europe"), "istio-production:clusters[0].region", /AWS region/, '"europe"'],
        ["node sizing", "dev", (c) => (c.clusters[0].nodes.desiredSize = 9), "istio-production:clusters[0].nodes", /minSize ≤ desiredSize ≤ maxSize/, '"desiredSize":9'],
        ["trust domain syntax", "dev", (c) => (c.clusters[0].trustDomain = "spiffe://Dev"), "istio-production:clusters[0].trustDomain", /SPIFFE trust domain/, '"spiffe://Dev"'],
        ["operator CIDRs", "dev", (c) => (c.operatorCidrs = ["0.0.0.0/0"]), "istio-production:operatorCidrs[0]", /allow-list/, '"0.0.0.0/0"'],
        ["CIDR host bits", "dev", (c) => (c.operatorCidrs = ["203.0.113.7/24"]), "istio-production:operatorCidrs[0]", /did you mean 203\.0\.113\.0\/24/, '"203.0.113.7/24"'],
        ["pinned chart versions", "dev", (c) => (c.charts = { istio: "^1.30" }), "istio-production:charts.istio", /exact version/, '"^1.30"'],
        ["unknown keys", "dev", (c) => (c.meshID = "typo"), "istio-production:meshID", /unknown key/, '"typo"'],
        ["required keys", "dev", (c) => delete c.meshId, "istio-production:meshId", /is required/, "nothing"],
        ["pki source from stage 2", "dev", (c) => delete c.pki, "istio-production:pki", /offline root/, "nothing"],
        ["pki stack names", "dev", (c) => (c.pki.stack = "pki"), "istio-production:pki.stack", /<org>\/<project>\/<stack>/, '"pki"'],
        ["another environment's pki stack", "dev", (c) => (c.pki.stack = "acme/istio-production/pki-prod"), "istio-production:pki.stack", /must be this environment's pki stack, <org>\/istio-production\/pki-dev/, '"acme/istio-production/pki-prod"'],
        ["a pki-<environment> stack of another project", "dev", (c) => (c.pki.stack = "acme/other-project/pki-dev"), "istio-production:pki.stack", /names a stack of project other-project, not of this project; did you mean acme\/istio-production\/pki-dev\?/, '"acme/other-project/pki-dev"'],
        // The environment is bound to the stack's name (pulumi.getStack()): dev's stack cannot claim to be prod.
        ["a mesh stack of another environment", "dev", (c) => { c.environment = "prod"; c.pki.stack = "acme/istio-production/pki-prod"; }, "istio-production:environment", /does not belong to stack "dev": environment "prod" runs only in stack "prod"/, '"prod"'],
        ["a pki stack of another environment", "pki-dev", (c) => (c.environment = "prod"), "istio-production:environment", /does not belong to stack "pki-dev": environment "prod" runs only in stack "pki-prod"/, '"prod"'],
        ["the former shared pki stack", "prod", (c) => (c.pki.stack = "acme/istio-production/pki"), "istio-production:pki.stack", /pki-prod: a mesh stack reads no other environment's key material/, '"acme/istio-production/pki"'],
        ["a pki stack's environment", "pki-prod", (c) => delete c.environment, "istio-production:environment", /is required/, "nothing"],
        ["a pki cluster's trust domain", "pki-prod", (c) => (c.clusters[1].trustDomain = "spiffe://gcp"), "istio-production:clusters[1].trustDomain", /SPIFFE trust domain/, '"spiffe://gcp"'],
        ["a pki cluster's serving names", "pki-dev", (c) => (c.clusters[0].dnsNames = ["Shop.Dev"]), "istio-production:clusters[0].dnsNames[0]", /lowercase DNS name/, '"Shop.Dev"'],
        ["unique pki clusters", "pki-staging", (c) => (c.clusters[1].name = c.clusters[0].name), "istio-production:clusters[1].name", /unique/, '"staging-aws-euw1"'],
        ["a pki issuing root among its roots", "pki-prod", (c) => (c.issuingRoot = "prod-root-2"), "istio-production:issuingRoot", /one of the environment's roots \(prod-root-1\)/, '"prod-root-2"'],
        ["unique cluster names", "staging", (c) => (c.clusters[1].name = c.clusters[0].name), "istio-production:clusters[1].name", /unique/, '"staging-aws-euw1"'],
        ["unique networks", "staging", (c) => (c.clusters[1].network = c.clusters[0].network), "istio-production:clusters[1].network", /unique/, '"net-staging-aws-euw1"'],
        ["stage ≥ 4 needs two clusters", "staging", (c) => c.clusters.pop(), "istio-production:clusters", /at least 2 clusters/, "1 clusters"],
        ["stages 1–3 run one cluster", "staging", (c) => (c.stage = 3), "istio-production:clusters", /exactly 1 cluster/, "2 clusters"],
        ["stage 5 needs both clouds", "prod", (c) => (c.clusters[1] = { ...c.clusters[0], name: "prod-aws-2", network: "net-2" }), "istio-production:clusters", /both clouds/, '"aws"'],
        ["one cloud before stage 5", "prod", (c) => (c.stage = 4), "istio-production:clusters", /one cloud/, '"aws,gcp"'],
        ["one trust domain before stage 5", "staging", (c) => (c.clusters[1].trustDomain = "other.example"), "istio-production:clusters[1].trustDomain", /share one trust domain/, '"other.example"'],
        ["a CA backend name", "dev", (c) => (c.clusters[0].caBackend = "vault"), "istio-production:clusters[0].caBackend", /"secret", "aws-private-ca" or "google-cas"/, '"vault"'],
        ["AWS Private CA on GKE", "prod", (c) => (c.clusters[1].caBackend = "aws-private-ca"), "istio-production:clusters[1].caBackend", /EKS clusters only.*runs on gcp/, '"aws-private-ca"'],
        ["Google CAS on EKS", "prod", (c) => (c.clusters[0].caBackend = "google-cas"), "istio-production:clusters[0].caBackend", /GKE clusters only.*runs on aws/, '"google-cas"'],
        ["a hardware CA backend with pki from config", "dev", (c) => { c.clusters[0].caBackend = "aws-private-ca"; c.pki = { source: "config" }; delete c.ingress; }, "istio-production:clusters[0].caBackend", /needs pki.source stack/, '"aws-private-ca"'],
        ["a hardware CA backend with the private ingress issuer", "staging", (c) => { c.clusters[0].caBackend = "aws-private-ca"; c.ingress = { ...c.ingress, issuer: "private" }; }, "istio-production:clusters[0].caBackend", /cannot serve ingress.issuer private/, '"aws-private-ca"'],
        ["a subordinate CSR of no cluster", "pki-prod", (c) => (c.subordinateCsrs = { "prod-azure": "-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----\n" }), "istio-production:subordinateCsrs.prod-azure", /names no cluster/, '"prod-azure"'],
        ["a subordinate CSR that is no CSR", "pki-prod", (c) => (c.subordinateCsrs = { "prod-aws-use1": "MIIB" }), "istio-production:subordinateCsrs.prod-aws-use1", /PEM certificate request/, '"MIIB"'],
        ["gcp project ids", "prod", (c) => (c.clusters[1].project = "X"), "istio-production:clusters[1].project", /project ID/, '"X"'],
    ];
    for (const [rule, stack, mutate, key, message, value] of cases) {
        it(`refuses ${rule}, naming the key and the value, before registering anything`, async () => {
            const { issues, registered } = await refused(stack, mutate);
            const found = issue(issues, key);
            assert.match(found.message, message);
            assert.ok(found.value.includes(value), `value ${found.value} should show ${value}`);
            assert.deepEqual(registered.map((r) => r.type), ["pulumi:pulumi:Stack"], "only the root stack may exist");
        });
    }

    it("refuses a pki stack that holds another environment's key material, before anything uses it", async () => {
        const pki = stackConfig("pki-dev");
        pki.environment = "prod";
        const registered: CapturedResource[] = [];
        await assert.rejects(planStack({ stack: "dev", referencedConfig: { "pki-dev": toRuntime(pki) }, onRegister: (r) => registered.push(r) }), (e: ConfigError) => {
            assert.equal(e.name, "ConfigError");
            // pki-dev's own gate refuses it: a pki stack never holds, so never hands off, another environment's keys.
            assert.equal(e.issues[0].key, "istio-production:environment");
            assert.match(e.issues[0].message, /does not belong to stack "pki-dev"/);
            return true;
        });
        assert.deepEqual(registered.filter((r) => r.custom && !r.read && !r.type.startsWith("pulumi:providers:")), [], "nothing is created");
    });

    it("lists every problem at once", async () => {
        const { issues } = await refused("prod", (c) => {
            c.stage = 7;
            c.clusters[0].name = "UPPER";
            c.operatorCidrs.push("10.0.0.0/33");
            c.clusters[1].nodes.minNodeCount = 5;
        });
        assert.deepEqual(issues.map((i) => i.key).sort(), [
            "istio-production:clusters[0].name", "istio-production:clusters[1].nodes",
            "istio-production:operatorCidrs[1]", "istio-production:stage",
        ]);
    });

    it("the plan command exits 2 with one error listing all three mistakes of a stack file", async () => {
        const dir = tempDir("broken");
        fs.writeFileSync(path.join(dir, "Pulumi.yaml"), `name: istio-production\nruntime: nodejs\nmain: ${path.join(PROJECT_ROOT, "index.ts")}\nstackConfigDir: stacks\n`);
        fs.mkdirSync(path.join(dir, "stacks"));
        const good = fs.readFileSync(path.join(PROJECT_ROOT, "stacks", "Pulumi.dev.yaml"), "utf8");
        const broken = good.replace("stage: 2", "stage: 9").replace("name: dev-aws-1", "name: Dev_1").replace("203.0.113.0/24", "203.0.113.0/99");
        // In its own environment's stack: one named otherwise would be a fourth mistake.
        fs.writeFileSync(path.join(dir, "stacks", "Pulumi.dev.yaml"), broken);
        const { code, stderr } = await runCli(["dev", "--program", dir, "--out", path.join(dir, "out")]);
        assert.equal(code, 2, stderr);
        assert.match(stderr, /3 problems/);
        for (const key of ["istio-production:stage", "istio-production:clusters[0].name", "istio-production:operatorCidrs[0]"]) {
            assert.ok(stderr.includes(key), `${key} missing from:\n${stderr}`);
        }
        assert.ok(!fs.existsSync(path.join(dir, "out", "dev", "plan.json")), "no plan is written for bad input");
    });
});

describe("shipped stacks", () => {
    for (const stack of ["pki-dev", "pki-staging", "pki-prod", "dev", "staging", "prod"]) {
        it(`npm run plan -- ${stack} exits 0`, async () => {
            const { code, stderr, stdout } = await runCli([stack, "--out", tempDir(`plan-${stack}`)]);
            assert.equal(code, 0, `${stderr}\n${stdout}`);
        });
    }

    it("hold no secret in plain text", () => {
        for (const file of fs.readdirSync(path.join(PROJECT_ROOT, "stacks"))) {
            const text = fs.readFileSync(path.join(PROJECT_ROOT, "stacks", file), "utf8");
            assert.ok(!/PRIVATE KEY|token:|password/i.test(text), `${file} holds secret-looking material`);
        }
    });
});
