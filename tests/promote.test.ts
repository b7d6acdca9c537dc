import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import YAML from "yaml";
import { DEFAULT_CHART_VERSIONS, parseStackConfig } from "../config";
import { meshConfigSchema } from "../config/schema";
import { PROJECT_ROOT } from "../engine/plan";
import { Violation } from "../engine/policy";
import { readProject, readStack } from "../engine/project";
import { EXIT, main } from "../tools/promote";
import { promote, SourceCheck } from "../tools/promotion/promote";
import { PROMOTABLE_KEYS, PROMOTION_ORDER } from "../tools/promotion/rules";
import { tempDir } from "./support/plan";

const NS = "istio-production";
const SHIPPED = path.join(PROJECT_ROOT, "stacks");
const noViolations: SourceCheck = async () => [];

const copies: string[] = [];

/** A copy of the shipped stack files, edited per test. */
function stacksCopy(): string {
    const dir = tempDir("promote");
    copies.push(dir);
    for (const f of fs.readdirSync(SHIPPED)) fs.copyFileSync(path.join(SHIPPED, f), path.join(dir, f));
    return dir;
}

const file = (dir: string, stack: string) => path.join(dir, `Pulumi.${stack}.yaml`);
const read = (dir: string, stack: string) => fs.readFileSync(file(dir, stack), "utf8");
const configOf = (dir: string, stack: string): Record<string, unknown> => YAML.parse(read(dir, stack)).config;

/** Edit a copied stack file through the YAML document, so that its comments stay. */
function edit(dir: string, stack: string, change: (config: YAML.YAMLMap) => void): void {
    const doc = YAML.parseDocument(read(dir, stack));
    change(doc.get("config") as YAML.YAMLMap);
    fs.writeFileSync(file(dir, stack), doc.toString({ lineWidth: 0, flowCollectionPadding: false }));
}

function without(config: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
    return Object.fromEntries(Object.entries(config).filter(([k]) => !keys.includes(k)));
}

/** The gate the program runs, on a stack file as the engine reads it. */
function gateAccepts(dir: string, stack: string): void {
    const settings = readStack({ ...readProject(PROJECT_ROOT), stackConfigDir: dir }, stack);
    // The pki hand-off the file imports stands in for the pki stack it was published from.
    const pki: Record<string, string> = settings.pkiHandoff === undefined ? {} : { [`${NS}:pki`]: JSON.stringify({ source: "stack", stack: `acme/${NS}/pki-${settings.pkiHandoff}` }) };
    parseStackConfig({ ...settings.config, ...pki });
}

/** Run the command as a user would; without `check`, the source is planned offline for real. */
async function cli(args: string[], check?: SourceCheck): Promise<{ code: number; stdout: string; stderr: string }> {
    const out: string[] = [];
    const err: string[] = [];
    const { log, error } = console;
    console.log = (...a: unknown[]) => out.push(a.join(" "));
    console.error = (...a: unknown[]) => err.push(a.join(" "));
    try {
        return { code: await main(args, check), stdout: out.join("\n"), stderr: err.join("\n") };
    } finally {
        Object.assign(console, { log, error });
    }
}

const PINS = { istio: "1.31.0", certManager: "v1.22.0" };
const MESH = { istioTag: "1.30.3-distroless", workloadCertificateTtlMinutes: 30 };

describe("promotion (npm run promote)", () => {
    after(() => copies.forEach((dir) => fs.rmSync(dir, { recursive: true, force: true })));

    it("promotes only settings that describe what is deployed, never where", () => {
        assert.deepEqual(PROMOTION_ORDER, ["dev", "staging", "prod"]);
        const schemaKeys = Object.keys(meshConfigSchema.shape);
        for (const key of PROMOTABLE_KEYS) assert.ok(schemaKeys.includes(key.replace(`${NS}:`, "")), `${key} is not a mesh setting`);
        for (const key of ["environment", "meshId", "clusters", "pki", "trustBundle", "intermediates", "operatorCidrs", "ingress", "highAvailability", "protectResources"]) {
            assert.ok(!PROMOTABLE_KEYS.includes(`${NS}:${key}`), `${key} belongs to its environment`);
        }
    });

    it("never carries a pki stack reference: each environment keeps reading its own, and a target pointed at another's is refused", async () => {
        const dir = stacksCopy();
        edit(dir, "dev", (c) => c.set(`${NS}:charts`, PINS));
        const result = await promote({ from: "dev", to: "staging", stacksDir: dir, checkSource: noViolations });
        assert.ok(result.written);
        assert.ok(!result.changes.some((c) => c.key.startsWith(`${NS}:pki`)), result.text);
        assert.deepEqual(YAML.parse(read(dir, "staging")).environment, ["istio-production/pki-staging-handoff"]);
        assert.equal(configOf(dir, "staging")[`${NS}:pki`], undefined);

        fs.writeFileSync(file(dir, "prod"), read(dir, "prod").replace("pki-prod-handoff", "pki-staging-handoff"));
        const refused = await cli(["staging", "prod", "--stacks-dir", dir], noViolations);
        assert.equal(refused.code, EXIT.refused);
        assert.match(refused.stderr, /environment imports istio-production\/pki-staging-handoff, the hand-off of environment "staging", but istio-production:environment is "prod"/);
    });

    it("carries chart pins, keeps the stage, the environment settings and every comment of the target", async () => {
        const dir = stacksCopy();
        edit(dir, "dev", (c) => c.set(`${NS}:charts`, PINS));
        const original = read(dir, "staging").replace(`${NS}:stage: 4\n`, `${NS}:stage: 4 # raised after the multi-cluster review\n`);
        fs.writeFileSync(file(dir, "staging"), original);

        const result = await promote({ from: "dev", to: "staging", stacksDir: dir, checkSource: noViolations });

        assert.ok(result.written);
        const pinned = `  ${NS}:charts:\n    istio: 1.31.0\n    certManager: v1.22.0\n`;
        const stageLine = `  ${NS}:stage: 4 # raised after the multi-cluster review\n`;
        assert.equal(read(dir, "staging"), original.replace(stageLine, stageLine + pinned), "only the charts lines are new");
        assert.deepEqual(result.changes.map((c) => [c.key, c.before, c.after]), [[`${NS}:charts.istio`, undefined, "1.31.0"], [`${NS}:charts.certManager`, undefined, "v1.22.0"]]);
        assert.deepEqual(result.kept.map((k) => [k.key, k.after]), [[`${NS}:stage`, 4]]);
        assert.match(result.text, /= istio-production:stage: 4 {2}\(kept: dev is at stage 2, and promotion never lowers a stage\)/);
        assert.match(result.text, /\+ istio-production:charts\.istio: \(unset\) → "1\.31\.0"/);
        assert.match(result.text, /untouched: istio-production:environment, istio-production:meshId, .*istio-production:clusters/);
        gateAccepts(dir, "staging");
    });

    it("updates existing pins in place and keeps the target's pins the source does not set", async () => {
        const dir = stacksCopy();
        edit(dir, "dev", (c) => c.set(`${NS}:charts`, { istio: "1.31.0" }));
        edit(dir, "staging", (c) => c.set(`${NS}:charts`, { istio: "1.30.3", approverPolicy: "v0.27.0" }));
        fs.writeFileSync(file(dir, "staging"), read(dir, "staging").replace("istio: 1.30.3\n", "istio: 1.30.3 # the version staging was certified with\n"));

        const { changes, kept } = await promote({ from: "dev", to: "staging", stacksDir: dir, checkSource: noViolations });

        assert.deepEqual(changes.map((c) => [c.key, c.before, c.after]), [[`${NS}:charts.istio`, "1.30.3", "1.31.0"]]);
        // Only what the source sets moves: a pin of the target's own is never deleted by a promotion.
        const approver = kept.find((c) => c.key === `${NS}:charts.approverPolicy`)!;
        assert.match(approver.note ?? "", /dev does not set it: the target's own value stays/);
        assert.match(read(dir, "staging"), /istio: 1\.31\.0 # the version staging was certified with\n/);
        assert.deepEqual(configOf(dir, "staging")[`${NS}:charts`], { istio: "1.31.0", approverPolicy: "v0.27.0" });
    });

    it("reads a stage `pulumi config set` wrote as a string, and refuses one that is not an integer", async () => {
        const dir = stacksCopy();
        fs.writeFileSync(file(dir, "dev"), read(dir, "dev").replace(`${NS}:stage: 2`, `${NS}:stage: "2"`));
        fs.writeFileSync(file(dir, "staging"), read(dir, "staging").replace(`${NS}:stage: 4`, `${NS}:stage: "4"`));
        const { kept } = await promote({ from: "dev", to: "staging", stacksDir: dir, checkSource: noViolations, dryRun: true });
        assert.match(kept.find((c) => c.key === `${NS}:stage`)?.note ?? "", /dev is at stage 2, and promotion never lowers a stage/);
        fs.writeFileSync(file(dir, "dev"), read(dir, "dev").replace(`${NS}:stage: "2"`, `${NS}:stage: "2.5"`));
        await assert.rejects(promote({ from: "dev", to: "staging", stacksDir: dir, checkSource: noViolations, dryRun: true }), /istio-production:stage: .*\(got 2\.5\)/);
    });

    it("carries only the pins of charts the source's stage deploys, and keeps the target's others", async () => {
        const dir = stacksCopy();
        // dev (stage 2) runs no Prometheus or Kiali (stage 4: config/stages.ts), so its defaults for them never ran.
        edit(dir, "dev", (c) => c.set(`${NS}:charts`, { istio: "1.31.0", prometheus: "29.30.0" }));
        edit(dir, "staging", (c) => c.set(`${NS}:charts`, { istio: "1.30.3", prometheus: "29.20.0", kiali: "2.28.0" }));

        const { changes } = await promote({ from: "dev", to: "staging", stacksDir: dir, checkSource: noViolations });

        assert.deepEqual(changes.map((c) => [c.key, c.before, c.after]), [[`${NS}:charts.istio`, "1.30.3", "1.31.0"]]);
        assert.deepEqual(configOf(dir, "staging")[`${NS}:charts`], { istio: "1.31.0", prometheus: "29.20.0", kiali: "2.28.0" });
        gateAccepts(dir, "staging");
    });

    it("carries the documented mesh keys only (images, certificate settings), never aliases or the outbound policy", async () => {
        const dir = stacksCopy();
        edit(dir, "dev", (c) => c.set(`${NS}:mesh`, { ...MESH, keyAlgorithm: "RSA", trustDomainAliases: ["old.dev.mesh.acme.example"], outboundTrafficPolicy: "ALLOW_ANY" }));
        edit(dir, "staging", (c) => c.set(`${NS}:mesh`, { outboundTrafficPolicy: "REGISTRY_ONLY", istioHub: "registry.acme.example/istio" }));
        gateAccepts(dir, "dev");

        const { changes } = await promote({ from: "dev", to: "staging", stacksDir: dir, checkSource: noViolations });

        // dev sets no istioHub: staging's own mirror stays.
        assert.deepEqual(changes.map((c) => c.key).sort(), [`${NS}:mesh.istioTag`, `${NS}:mesh.keyAlgorithm`, `${NS}:mesh.workloadCertificateTtlMinutes`]);
        assert.deepEqual(configOf(dir, "staging")[`${NS}:mesh`], { outboundTrafficPolicy: "REGISTRY_ONLY", istioHub: "registry.acme.example/istio", ...MESH, keyAlgorithm: "RSA" });
        gateAccepts(dir, "staging");
    });

    it("compares the source's stack file with its deployed outputs, and refuses an edit never deployed", async () => {
        const dir = stacksCopy();
        edit(dir, "dev", (c) => c.set(`${NS}:charts`, PINS));
        // What `pulumi stack output --json --stack dev` prints after dev ran the shipped file, without the pins.
        const deployed = { stage: 2, chartVersions: { ...DEFAULT_CHART_VERSIONS } };
        const outputs = path.join(dir, "dev-outputs.json");
        fs.writeFileSync(outputs, JSON.stringify(deployed));

        const refused = await cli(["dev", "staging", "--stacks-dir", dir, "--source-outputs", outputs], noViolations);
        assert.equal(refused.code, EXIT.refused);
        assert.match(refused.stderr, /refusing to promote dev: its stack file is not what it deployed .*\n {2}- charts\.istio: the stack file pins 1\.31\.0, dev deployed "1\.30\.3"\n {2}- charts\.certManager: the stack file pins v1\.22\.0, dev deployed "v1\.21\.1"$/);
        assert.equal(read(dir, "staging"), read(SHIPPED, "staging"));

        fs.writeFileSync(outputs, JSON.stringify({ ...deployed, stage: 1 }));
        edit(dir, "dev", (c) => c.delete(`${NS}:charts`));
        assert.match((await cli(["dev", "staging", "--stacks-dir", dir, "--source-outputs", outputs], noViolations)).stderr, /- stage: the stack file sets 2, dev deployed 1/);

        fs.writeFileSync(outputs, JSON.stringify(deployed));
        const ok = await cli(["dev", "staging", "--stacks-dir", dir, "--source-outputs", outputs, "--dry-run"], noViolations);
        assert.equal(ok.code, EXIT.ok, ok.stderr);
        assert.match(ok.stdout, /dev's stack file matches its deployed outputs/);
        assert.match((await cli(["dev", "staging", "--stacks-dir", dir, "--dry-run"], noViolations)).stdout, /not compared with what dev deployed/);

        fs.writeFileSync(outputs, "not json");
        assert.equal((await cli(["dev", "staging", "--stacks-dir", dir, "--source-outputs", outputs], noViolations)).code, EXIT.badInput);
    });

    it("raises the target's stage by one step toward the source's, and never past it", async () => {
        const dir = stacksCopy();
        edit(dir, "dev", (c) => c.set(`${NS}:stage`, 4));
        // Stage 4 runs Kiali, which needs a login.
        edit(dir, "dev", (c) => c.set(`${NS}:observability`, { kialiAuth: { strategy: "anonymous" } }));
        edit(dir, "dev", (c) => (c.get(`${NS}:clusters`) as YAML.YAMLSeq).add({
            name: "dev-aws-2", cloud: "aws", region: "eu-central-1", network: "net-dev-aws-2", trustDomain: "dev.mesh.acme.example",
            nodes: { instanceType: "t3.large", minSize: 1, maxSize: 3, desiredSize: 2 },
        }));
        edit(dir, "staging", (c) => c.set(`${NS}:stage`, 2));
        edit(dir, "staging", (c) => (c.get(`${NS}:clusters`) as YAML.YAMLSeq).delete(1));
        // End-user authentication starts at stage 3: a stage-2 stack file with edgeAuth is refused by the gate. Kiali's
        // login then names the issuer it would have taken from edgeAuth.
        edit(dir, "staging", (c) => c.delete(`${NS}:edgeAuth`));
        edit(dir, "staging", (c) => c.setIn([`${NS}:observability`, "kialiAuth", "issuerUri"], "https://login.acme.example/"));
        gateAccepts(dir, "dev");
        gateAccepts(dir, "staging");

        const first = await promote({ from: "dev", to: "staging", stacksDir: dir, checkSource: noViolations });
        assert.deepEqual(first.changes.map((c) => [c.key, c.before, c.after]), [[`${NS}:stage`, 2, 3]]);
        assert.match(first.text, /~ istio-production:stage: 2 → 3 {2}\(one step toward dev's stage 4: the stage gate allows one step at a time\)/);
        assert.equal(configOf(dir, "staging")[`${NS}:stage`], 3);

        // Stage 4 runs at least two clusters: the next step would produce a stack file the config gate refuses.
        const before = read(dir, "staging");
        const refused = await cli(["dev", "staging", "--stacks-dir", dir], noViolations);
        assert.equal(refused.code, EXIT.refused);
        assert.match(refused.stderr, /refusing to promote dev → staging: the config gate refuses staging after promotion/);
        assert.match(refused.stderr, /istio-production:clusters: stage 4 runs at least 2 clusters/);
        assert.match(refused.stderr, /would have made these changes:\n.*\n {2}~ istio-production:stage: 3 → 4/);
        assert.equal(read(dir, "staging"), before);

        // An operator adds the second cluster by hand (the file is invalid at stage 3 until the stage moves too):
        // the promotion completes the change.
        edit(dir, "staging", (c) => (c.get(`${NS}:clusters`) as YAML.YAMLSeq).add(YAML.parse(fs.readFileSync(file(SHIPPED, "staging"), "utf8")).config[`${NS}:clusters`][1]));
        const second = await promote({ from: "dev", to: "staging", stacksDir: dir, checkSource: noViolations });
        assert.deepEqual(second.changes.map((c) => [c.key, c.before, c.after, c.note]), [[`${NS}:stage`, 3, 4, undefined]]);
        const third = await promote({ from: "dev", to: "staging", stacksDir: dir, checkSource: noViolations });
        assert.equal(third.written, false);
        assert.match(third.text, /kept: dev is at the same stage/);
        assert.match(third.text, /nothing to promote: staging already runs what dev runs/);
    });

    it("prints the diff and writes nothing with --dry-run", async () => {
        const dir = stacksCopy();
        edit(dir, "staging", (c) => c.set(`${NS}:charts`, PINS));
        const before = read(dir, "prod");
        const { code, stdout } = await cli(["staging", "prod", "--dry-run", "--stacks-dir", dir], noViolations);
        assert.equal(code, EXIT.ok);
        assert.match(stdout, /^promote staging → prod: .*Pulumi\.prod\.yaml\n {2}\+ istio-production:charts\.istio: \(unset\) → "1\.31\.0"/);
        assert.match(stdout, /Dry run: nothing written\./);
        assert.equal(read(dir, "prod"), before);
    });

    it("refuses to skip a stack, to go backwards, or to leave the promotion order, and writes nothing", async () => {
        const dir = stacksCopy();
        const cases: Array<[string[], RegExp]> = [
            [["dev", "prod"], /refusing to promote dev → prod: promotion goes one stack at a time \(dev → staging → prod\), so dev promotes to staging/],
            [["staging", "dev"], /so staging promotes to prod/],
            [["prod", "staging"], /prod is the last stack of the promotion order/],
            [["dev", "qa"], /qa is not in the promotion order dev → staging → prod/],
            [["pki-dev", "dev"], /pki-dev is not in the promotion order/],
        ];
        for (const [args, message] of cases) {
            const { code, stderr } = await cli([...args, "--stacks-dir", dir], noViolations);
            assert.equal(code, EXIT.refused, args.join(" → "));
            assert.match(stderr, message);
        }
        for (const stack of ["dev", "staging", "prod"]) assert.equal(read(dir, stack), read(SHIPPED, stack));
        assert.equal((await cli(["dev"], noViolations)).code, EXIT.badInput);
        assert.equal((await cli(["dev", "staging", "--force"], noViolations)).code, EXIT.badInput);
    });

    it("refuses a source whose offline plan has mandatory violations, naming them", async () => {
        const dir = stacksCopy();
        edit(dir, "dev", (c) => c.set(`${NS}:charts`, PINS));
        const seen: string[] = [];
        const violating: SourceCheck = async (stack, stackFile) => {
            seen.push(`${stack} ${stackFile}`);
            const v: Violation = { pack: "mesh-mtls", policy: "strict-mtls", enforcementLevel: "mandatory", urn: "urn:pulumi:dev::istio-production::x::y", message: "PERMISSIVE mTLS" };
            return [v];
        };
        const { code, stderr } = await cli(["dev", "staging", "--stacks-dir", dir], violating);
        assert.equal(code, EXIT.refused);
        assert.deepEqual(seen, [`dev ${file(dir, "dev")}`], "the source is checked as found in --stacks-dir");
        assert.match(stderr, /refusing to promote dev: its offline plan has 1 mandatory policy violation\(s\) \(npm run plan -- dev\):\n {2}- mesh-mtls\/strict-mtls: PERMISSIVE mTLS \(urn:pulumi:dev::istio-production::x::y\)/);
        assert.equal(read(dir, "staging"), read(SHIPPED, "staging"));
    });

    it("refuses a source the config gate refuses before planning it, and a result the gate refuses", async () => {
        const dir = stacksCopy();
        edit(dir, "dev", (c) => c.set(`${NS}:meshID`, "typo"));
        const planned: string[] = [];
        const { code, stderr } = await cli(["dev", "staging", "--stacks-dir", dir], async (stack) => (planned.push(stack), []));
        assert.equal(code, EXIT.refused);
        assert.match(stderr, /the config gate refuses dev \(.*Pulumi\.dev\.yaml\): invalid stack configuration, 1 problem:\n {2}- istio-production:meshID: unknown key/);
        assert.deepEqual(planned, []);

        const target = stacksCopy();
        edit(target, "dev", (c) => c.set(`${NS}:charts`, PINS));
        edit(target, "staging", (c) => c.set(`${NS}:meshID`, "typo"));
        const refused = await cli(["dev", "staging", "--stacks-dir", target], noViolations);
        assert.equal(refused.code, EXIT.refused);
        assert.match(refused.stderr, /the config gate refuses staging after promotion: .*istio-production:meshID: unknown key/s);
        assert.equal(read(target, "staging").includes("1.31.0"), false);
    });

    it("refuses a source the offline plan cannot judge: a setting the gate must read, encrypted", async () => {
        const dir = stacksCopy();
        edit(dir, "dev", (c) => c.set(`${NS}:charts`, { secure: "v1:AAAA" }));
        const { code, stderr } = await cli(["dev", "staging", "--stacks-dir", dir]);
        assert.equal(code, EXIT.refused);
        assert.match(stderr, /refusing to promote dev: its offline plan failed \(npm run plan -- dev\): .*istio-production:charts: .*\(got \[secret\]\)/s);
        assert.ok(!stderr.includes("v1:AAAA"));
        assert.equal(read(dir, "staging"), read(SHIPPED, "staging"));
    });

    it("keeps the target's encrypted values as they are and leaves them to the gate at preview", async () => {
        const dir = stacksCopy();
        edit(dir, "dev", (c) => c.set(`${NS}:charts`, PINS));
        const cert = "-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n";
        edit(dir, "staging", (c) => {
            c.set(`${NS}:pki`, { source: "config" });
            c.set(`${NS}:trustBundle`, [cert]);
            c.set(`${NS}:intermediates`, { secure: "v1:c2VjcmV0" });
        });
        await promote({ from: "dev", to: "staging", stacksDir: dir, checkSource: noViolations });
        const after = configOf(dir, "staging");
        assert.deepEqual(after[`${NS}:intermediates`], { secure: "v1:c2VjcmV0" });
        assert.deepEqual(after[`${NS}:charts`], PINS);
    });

    it("promotes dev → staging → prod on copies of the shipped stacks, each source planned offline", async function () {
        // Two full offline plans, dev's and staging's, each with the pki stack it reads.
        this.timeout(180_000);
        const dir = stacksCopy();
        edit(dir, "dev", (c) => c.set(`${NS}:charts`, PINS));
        edit(dir, "dev", (c) => c.set(`${NS}:mesh`, MESH));
        const before = { staging: configOf(dir, "staging"), prod: configOf(dir, "prod") };
        const comments = { staging: read(dir, "staging").split("\n")[0], prod: read(dir, "prod").split("\n")[0] };

        const first = await cli(["dev", "staging", "--stacks-dir", dir]);
        assert.equal(first.code, EXIT.ok, first.stderr);
        const second = await cli(["staging", "prod", "--stacks-dir", dir]);
        assert.equal(second.code, EXIT.ok, second.stderr);

        for (const stack of ["staging", "prod"] as const) {
            const after = configOf(dir, stack);
            assert.deepEqual(after[`${NS}:charts`], PINS, `${stack} runs dev's charts`);
            assert.deepEqual(after[`${NS}:mesh`], MESH, `${stack} runs dev's images and certificate policy`);
            assert.equal(after[`${NS}:stage`], before[stack][`${NS}:stage`], `${stack} keeps its stage`);
            assert.deepEqual(without(after, PROMOTABLE_KEYS), without(before[stack], PROMOTABLE_KEYS), `${stack}'s environment settings are untouched`);
            assert.equal(read(dir, stack).split("\n")[0], comments[stack]);
            gateAccepts(dir, stack);
        }
        assert.match(second.stdout, /= istio-production:stage: 5 {2}\(kept: staging is at stage 4, and promotion never lowers a stage\)/);
        assert.match(second.stdout, /Wrote .*Pulumi\.prod\.yaml/);
    });
});
