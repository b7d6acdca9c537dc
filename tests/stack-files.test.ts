import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { readProject, readStack } from "../engine/project";
import { planStackFile, shippedStackFile, tempDir } from "./support/plan";

/**
 * Stack files read as the Pulumi CLI reads them (gopkg.in/yaml.v3 into sdk/go/common/workspace.ProjectStack): what the
 * CLI accepts reaches the program unchanged, what it refuses is refused with exit 2 and a message about the file.
 */

function configOf(text: string): Record<string, string> {
    const dir = tempDir("stack-file");
    fs.writeFileSync(path.join(dir, "Pulumi.yaml"), "name: istio-production\nruntime: nodejs\n");
    fs.writeFileSync(path.join(dir, "Pulumi.t.yaml"), text);
    return readStack(readProject(dir), "t").config;
}

describe("stack files", () => {
    it("read an imported pki hand-off (ESC) as its environment's, and refuse imports the offline plan cannot stand in for", () => {
        const settingsOf = (text: string) => {
            const dir = tempDir("stack-file");
            fs.writeFileSync(path.join(dir, "Pulumi.yaml"), "name: istio-production\nruntime: nodejs\n");
            fs.writeFileSync(path.join(dir, "Pulumi.t.yaml"), text);
            return readStack(readProject(dir), "t");
        };
        assert.equal(settingsOf("environment:\n  - istio-production/pki-dev-handoff\nconfig:\n  istio-production:environment: dev\n").pkiHandoff, "dev");
        assert.equal(settingsOf("environment: [istio-production/pki-prod-handoff@42]\nconfig: {}\n").pkiHandoff, "prod");
        assert.throws(() => settingsOf("environment:\n  - istio-production/common\nconfig: {}\n"), /environment imports "istio-production\/common", which the offline plan cannot read/);
        assert.throws(() => settingsOf("environment: [istio-production/pki-dev-handoff]\nconfig:\n  istio-production:pki: {source: config}\n"),
            /istio-production:pki set here and by the imported ESC environment istio-production\/pki-dev-handoff/);
    });

    it("plan a stack importing another environment's hand-off as bad input (exit 2)", async () => {
        const { code, stderr } = await planStackFile("dev", shippedStackFile("dev").replace("pki-dev-handoff", "pki-prod-handoff"));
        assert.equal(code, 2, stderr);
        assert.match(stderr, /imports istio-production\/pki-prod-handoff, the hand-off of environment "prod", but istio-production:environment is "dev"/);
    });

    it("a top level that is a list is refused as such, not read as an empty config", async () => {
        const listed = shippedStackFile("dev").replace(/^environment:\n(?: {2}- .*\n)+/m, "").replace(/^config:\n/m, "- config:\n").replace(/^ {2}/gm, "    ");
        const { code, stderr, wrotePlan } = await planStackFile("dev", listed);
        assert.equal(code, 2, stderr);
        assert.match(stderr, /top level is a list, not a mapping/);
        assert.doesNotMatch(stderr, /is required/);
        assert.equal(wrotePlan, false);
    });

    it("a config that is a list of keys is refused, with the form it should take", async () => {
        const { code, stderr } = await planStackFile("dev", "config:\n  - istio-production:environment: dev\n  - istio-production:stage: 2\n");
        assert.equal(code, 2, stderr);
        assert.match(stderr, /config is a list, not a mapping/);
    });

    it("merge keys are resolved as yaml.v3 resolves them: the mapping's own keys win, then the merged maps in order", () => {
        // yaml.v3 v3.0.1 decode.go: `merge` skips keys already set (the parent's own, then earlier merge sources).
        const config = configOf([
            "x-nodes: &small {instanceType: t3.large, minSize: 1, maxSize: 3, desiredSize: 2}",
            "x-big: &big {instanceType: m6i.large, minSize: 2, maxSize: 6, desiredSize: 3}",
            "config:",
            "  istio-production:clusters:",
            "    - name: a",
            "      nodes:",
            "        <<: [*small, *big]",
            "        maxSize: 4",
        ].join("\n"));
        assert.deepEqual(JSON.parse(config["istio-production:clusters"]), [{ name: "a", nodes: { instanceType: "t3.large", minSize: 1, maxSize: 4, desiredSize: 2 } }]);
    });

    it("a shipped stack written with anchors and merge keys reads exactly as the shipped file", () => {
        const staging = shippedStackFile("staging");
        const anchored = staging
            .replace(/( {4}- name: staging-aws-euw1\n)/, "$1      <<: &eks\n        cloud: aws\n        trustDomain: staging.mesh.acme.example\n")
            .replace(/( {4}- name: staging-aws-euc1\n)/, "$1      <<: *eks\n")
            .replace(/^ {6}cloud: aws\n/gm, "").replace(/^ {6}trustDomain: staging.mesh.acme.example\n/gm, "");
        assert.equal((anchored.match(/cloud: aws/g) ?? []).length, 1);
        const parsed = (text: string) => Object.fromEntries(Object.entries(configOf(text)).map(([k, v]) => [k, v.startsWith("[") ? JSON.parse(v) : v]));
        assert.deepEqual(parsed(anchored), parsed(staging));
    });

    it("a merge of something other than a map is refused as invalid YAML, as yaml.v3 refuses it", async () => {
        const { code, stderr } = await planStackFile("dev", shippedStackFile("dev").replace("      cloud: aws\n", "      cloud: aws\n      <<: 3\n"));
        assert.equal(code, 2, stderr);
        assert.match(stderr, /not valid YAML: Merge sources must be maps/);
    });

    it("a key left without a value reaches the gate as an empty string, which names the key", async () => {
        const { code, stderr } = await planStackFile("dev", shippedStackFile("dev").replace("istio-production:meshId: mesh-dev", "istio-production:meshId:"));
        assert.equal(code, 2, stderr);
        assert.match(stderr, /istio-production:meshId: must be a DNS-1123 label .*\(got ""\)/);
    });
});
