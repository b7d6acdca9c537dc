import * as assert from "node:assert/strict";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { Emulators } from "../engine/emulation";
import { ProgramGraph } from "../engine/graph";
import { Plan, planStack } from "../engine/plan";
import { planDocument, summarize, writePlan } from "../engine/report";
import { comparePlans } from "../engine/report/changes";
import { writeReports } from "../engine/report/index";
import { colorWanted } from "../engine/report/terminal";
import { isSecretValue } from "../engine/values";
import { planClock } from "../engine/reproducible";
import { runCli, shippedPlan, tempDir } from "./support/plan";
import { stackConfig, toRuntime } from "./support/stacks";

/** Every file under `dir`, by relative path, with its bytes. */
function files(dir: string): Map<string, Buffer> {
    const out = new Map<string, Buffer>();
    const walk = (d: string) => {
        for (const e of fs.readdirSync(d, { withFileTypes: true })) {
            const p = path.join(d, e.name);
            if (e.isDirectory()) walk(p);
            else out.set(path.relative(dir, p), fs.readFileSync(p));
        }
    };
    walk(dir);
    return out;
}

/** Every string a secret of the plan holds (private keys, tokens, kubeconfigs), at least 8 characters long. */
function secretStrings(graphs: readonly ProgramGraph[]): string[] {
    const found = new Set<string>();
    const collect = (v: unknown, inSecret: boolean) => {
        if (isSecretValue(v)) return collect(v.value, true);
        if (typeof v === "string" && inSecret && v.length >= 8) found.add(v);
        if (Array.isArray(v)) v.forEach((x) => collect(x, inSecret));
        else if (v && typeof v === "object") Object.values(v).forEach((x) => collect(x, inSecret));
    };
    for (const g of graphs) for (const r of g.resources) {
        collect(r.inputs, false);
        collect(r.outputs, false);
    }
    return [...found];
}

describe("plan reports and reproducible plans", () => {
    it("takes the plan's clock from --now, else SOURCE_DATE_EPOCH, else the start of today, and refuses a bad one by name", async () => {
        assert.equal(planClock("2026-03-01T12:00:00Z", { SOURCE_DATE_EPOCH: "0" }).toISOString(), "2026-03-01T12:00:00.000Z");
        assert.equal(planClock("2026-03-01T13:00:00+01:00", {}).toISOString(), "2026-03-01T12:00:00.000Z");
        // RFC 3339 section 5.6: time-offset is not optional; without it the machine's zone would decide.
        for (const local of ["2026-03-01T12:00:00", "2026-03-01"]) assert.throws(() => planClock(local, {}), /expected an RFC 3339 time/);
        assert.equal(planClock(undefined, { SOURCE_DATE_EPOCH: "1767225600" }).toISOString(), "2026-01-01T00:00:00.000Z");
        assert.match(planClock(undefined, {}).toISOString(), /T00:00:00\.000Z$/);
        assert.throws(() => planClock(undefined, { SOURCE_DATE_EPOCH: "yesterday" }), /SOURCE_DATE_EPOCH "yesterday": expected whole seconds/);
        const run = await runCli(["dev", "--now", "soon"]);
        assert.equal(run.code, 2);
        assert.match(run.stderr, /--now "soon": expected an RFC 3339 time/);
    });

    it("gives byte-identical plan.json, manifests and PEMs for the same input, with keys openssl can verify", async () => {
        // Fresh emulators: two plans made from scratch, not one plan reused.
        const now = new Date("2026-03-01T00:00:00Z");
        const [a, b] = [tempDir("same-a"), tempDir("same-b")];
        writePlan(await planStack({ stack: "pki-dev", now, emulators: new Emulators() }), a);
        writePlan(await planStack({ stack: "pki-dev", now, emulators: new Emulators() }), b);
        const [fa, fb] = [files(a), files(b)];
        assert.deepEqual([...fa.keys()].sort(), [...fb.keys()].sort());
        for (const [name, bytes] of fa) assert.ok(bytes.equals(fb.get(name)!), `${name} differs between two plans of the same input`);
        const pems = [...fa.keys()].filter((f) => f.endsWith("-cert.pem"));
        const root = new crypto.X509Certificate(fa.get(pems.find((f) => !f.includes("int-"))!)!);
        for (const f of pems.filter((x) => x.includes("int-"))) {
            const cert = new crypto.X509Certificate(fa.get(f)!);
            assert.ok(cert.verify(root.publicKey), `${f} is signed by the root`);
            assert.equal(cert.validFrom, "Mar  1 00:00:00 2026 GMT", "the plan's clock, not the machine's");
        }
    });

    it("--baseline: a changed node count is exactly one update, naming the changed input", async () => {
        const before = planDocument(await shippedPlan("dev"));
        const config = stackConfig("dev");
        config.clusters[0].nodes.maxSize += 1;
        const after: Plan = await planStack({ stack: "dev", config: toRuntime(config) });
        const changes = comparePlans(before, planDocument(after), "main");
        assert.deepEqual(changes.counts, { create: 0, delete: 0, update: 1, replace: 0 });
        assert.deepEqual(changes.changes.map((c) => [c.type, c.action, c.paths]), [["aws:eks/nodeGroup:NodeGroup", "update", ["scalingConfig.maxSize"]]]);
    });

    it("--baseline: a renamed EKS cluster is a replacement, a removed resource a delete and a new one a create", async () => {
        const doc = planDocument(await shippedPlan("dev"));
        const eks = doc.resources.find((r) => r.type === "aws:eks/cluster:Cluster")!;
        const dropped = doc.resources.find((r) => r.type === "kubernetes:core/v1:Namespace")!;
        const baseline = {
            resources: [...doc.resources.filter((r) => r !== eks && r !== dropped), { ...eks, inputs: { ...eks.inputs, name: "old-name" } },
                { ...dropped, urn: `${dropped.urn}-gone` }],
        };
        const changes = comparePlans(baseline, doc, "main");
        assert.equal(changes.counts.create, 1);
        assert.equal(changes.counts.delete, 1);
        assert.deepEqual(changes.changes.find((c) => c.urn === eks.urn)!.replaceBecause, ["name"]);
        // Its node group reads the cluster's name (cluster_name, ForceNew): replaced with it.
        const group = changes.changes.find((c) => c.type === "aws:eks/nodeGroup:NodeGroup")!;
        assert.equal(group.action, "replace");
        assert.deepEqual(group.unknownUntilReplaced.includes("clusterName"), true);
    });

    it("writes report.html, summary.md and changes.json holding no byte of any secret of the plan", async () => {
        const plan = await shippedPlan("prod");
        const dir = tempDir("reports");
        const doc = planDocument(plan);
        const changes = comparePlans({ resources: doc.resources.slice(0, -3) }, doc, "main");
        writeReports(plan, dir, changes);
        const secrets = secretStrings([plan.graph, ...plan.referencedGraphs.values()]);
        assert.ok(secrets.some((s) => s.includes("PRIVATE KEY")), "the plan holds private keys to look for");
        for (const file of ["report.html", "summary.md", "changes.json"]) {
            const text = fs.readFileSync(path.join(dir, file), "utf8");
            for (const s of secrets) {
                // Private keys, tokens and kubeconfigs are looked for by any of their lines, not only whole.
                for (const line of s.split("\n").filter((l) => l.length >= 16 && !/^-----/.test(l))) assert.ok(!text.includes(line), `${file} holds a line of a secret`);
            }
        }
        const html = fs.readFileSync(path.join(dir, "report.html"), "utf8");
        assert.doesNotMatch(html, /\b(src|href)\s*=|url\((?!#)|@import|https?:\/\/[^"' ]*\.(js|css)/i, "report.html loads nothing");
        const ids = [...html.matchAll(/\bid="([^"]+)"/g)].map((x) => x[1]);
        assert.deepEqual(ids.filter((x, i) => ids.indexOf(x) !== i), [], "every id on the page is unique (HTML: an id is unique in its tree)");
        assert.match(html, /<h2>Changes against main<\/h2><p>3 to create · 0 to update · 0 to replace · 0 to delete<\/p>/);
        const summary = fs.readFileSync(path.join(dir, "summary.md"), "utf8");
        assert.match(summary, /```mermaid\nflowchart LR\n[\s\S]*cluster_prod_aws_use1 -\. remote secret \.-> cluster_prod_gcp_usc1/);
        assert.match(summary, /\| advisory \| platform-baseline\/gke-binary-authorization \|/);
        assert.match(summary, /Changes against main: 3 to create/);
        assert.deepEqual(JSON.parse(fs.readFileSync(path.join(dir, "changes.json"), "utf8")).counts, changes.counts);
    });
});

describe("the terminal summary", () => {
    it("shows clusters, charts and the PKI as tables, counts per type only with --verbose, and no colour unless asked", async () => {
        const plan = await shippedPlan("prod");
        const text = summarize(plan);
        assert.match(text, /^Clusters:\n {2}cluster +cloud +region .*\n {2}-+ .*\n {2}prod-aws-use1 +aws +us-east-1 /m);
        assert.match(text, /^Chart versions:\n[\s\S]*^ {2}istio +1\.30\.3$/m);
        assert.match(text, /^PKI inventory:\n[\s\S]*^ {2}prod-gcp-usc1 intermediate +intermediate +ECDSA prime256v1 +\d{4}-\d\d-\d\d +\d+ +pathlen:0; /m);
        assert.doesNotMatch(text, /Resources per type/);
        const releases = plan.graph.resources.filter((r) => r.type === "kubernetes:helm.sh/v3:Release").length;
        assert.match(summarize(plan, { verbose: true }), new RegExp(`Resources per type:\n {4}${releases} {2}kubernetes:helm\\.sh/v3:Release`));
        assert.doesNotMatch(text, /\x1b\[/);
        assert.match(summarize(plan, { color: true }), /\x1b\[1mClusters:\x1b\[22m/);
        assert.equal(colorWanted({ isTTY: true }, {}), true);
        assert.equal(colorWanted({ isTTY: true }, { NO_COLOR: "1" }), false);
        assert.equal(colorWanted({ isTTY: false }, {}), false);
    });

    it("groups violations by policy and names the stack setting that causes them", async () => {
        const plan = await shippedPlan("prod");
        const violation = (urn: string) => ({ pack: "platform-baseline", policy: "production-high-availability", enforcementLevel: "mandatory" as const, urn, message: "runs 1 replica" });
        const text = summarize({ ...plan, violations: [violation("urn:a"), ...plan.violations, violation("urn:b")] });
        assert.match(text, /^platform-baseline\/production-high-availability: 2 violation\(s\), caused by istio-production:highAvailability\n {2}MANDATORY .*\n {6}at urn:a\n {2}MANDATORY .*\n {6}at urn:b$/m);
        assert.match(text, /^platform-baseline\/gke-binary-authorization: 1 violation\(s\)\n/m, "no setting named where none decides");
    });
});
