import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import YAML from "yaml";
import { planStack, PROJECT_ROOT, stackOutputs } from "../engine/plan";
import { OFFLINE_SECRET_PLACEHOLDER } from "../config/primitives";
import { readProject, readStack, StackInputError } from "../engine/project";
import { writePlan } from "../engine/report";
import { UNKNOWN } from "../engine/values";
import { shippedPlan, tempDir } from "./support/plan";
import { stackConfig } from "./support/stacks";

const NS = "istio-production";
// Never decryptable here: the plan must not need it, and nothing it writes may carry it.
const CIPHERTEXT = "v1:bmV2ZXItcmVhZC1ieS10aGUtb2ZmbGluZS1wbGFu";

/** A project folder running this program, whose stacks/ holds dev's stack file as `pki:export` leaves it. */
function airGappedProject(edit: (config: Record<string, unknown>) => void): string {
    const dir = tempDir("airgap");
    fs.mkdirSync(path.join(dir, "stacks"));
    fs.writeFileSync(path.join(dir, "Pulumi.yaml"), YAML.stringify({
        name: NS, runtime: "nodejs", main: path.join(PROJECT_ROOT, "index.ts"), stackConfigDir: "stacks",
    }));
    const config = stackConfig("dev");
    edit(config);
    fs.writeFileSync(path.join(dir, "stacks", "Pulumi.dev.yaml"), YAML.stringify({ config }));
    return dir;
}

describe("air-gapped stacks (pki.source: config) in the offline plan", () => {
    let roots: string[];
    const dirs: string[] = [];
    const project = (edit: (config: Record<string, unknown>) => void) => {
        const dir = airGappedProject(edit);
        dirs.push(dir);
        return dir;
    };
    const airGapped = (intermediates: unknown = { secure: CIPHERTEXT }) => (c: Record<string, unknown>) => {
        c[`${NS}:pki`] = { source: "config" };
        c[`${NS}:trustBundle`] = roots;
        c[`${NS}:intermediates`] = intermediates;
    };

    before(async () => {
        roots = (stackOutputs((await shippedPlan("pki-dev")).graph).outputs as { trustBundle: string[] }).trustBundle;
    });
    after(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

    it("plans with a placeholder for the encrypted intermediates: never read, nothing derived from them known", async function () {
        this.timeout(60_000);
        const dir = project(airGapped());
        const settings = readStack(readProject(dir), "dev");
        assert.deepEqual(settings.secretKeys, [`${NS}:intermediates`]);
        assert.equal(settings.config[`${NS}:intermediates`], OFFLINE_SECRET_PLACEHOLDER);

        const plan = await planStack({ programDir: dir, stack: "dev" });
        const out = writePlan(plan, path.join(dir, "out"));
        const written = fs.readdirSync(out, { recursive: true, withFileTypes: true }).filter((e) => e.isFile())
            .map((e) => fs.readFileSync(path.join(e.parentPath, e.name), "utf8")).join("\n");
        assert.ok(!written.includes(CIPHERTEXT.slice(3)), "the ciphertext reached the plan");
        // The CA Secret cert-manager signs with is planned, its bytes unknown as a value computed at apply would be.
        const secret = plan.policyGraph.resources.find((r) => r.name === "dev-aws-1-mesh-mesh-ca-intermediate")!;
        assert.ok(secret, "the mesh CA Secret is planned");
        assert.ok(JSON.stringify(secret.inputs).includes(UNKNOWN), "the CA Secret's data is unknown at preview");
        assert.equal(stackOutputs(plan.graph).outputs.stage, 2);
    });

    it("still judges the rest of the stack and the shape of the encrypted value", async () => {
        const badRoot = project((c) => (airGapped()(c), c[`${NS}:trustBundle`] = ["not a certificate"]));
        await assert.rejects(planStack({ programDir: badRoot, stack: "dev" }), /istio-production:trustBundle\[0\]: must be one PEM certificate/);

        for (const envelope of [{ secure: CIPHERTEXT, note: "x" }, { secure: 42 }, { secure: "" }]) {
            const dir = project(airGapped(envelope));
            assert.throws(() => readStack(readProject(dir), "dev"), (e: Error) => e instanceof StackInputError &&
                /istio-production:intermediates is not an encrypted value as the CLI writes it \(\{secure: <ciphertext>\}, nothing else\)/.test(e.message) && !e.message.includes(CIPHERTEXT));
        }
        // In plain text the gate refuses it as before: key material is set with --secret.
        const plain = project(airGapped({ "dev-aws-1": { certPem: roots[0], keyPem: "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n" } }));
        await assert.rejects(planStack({ programDir: plain, stack: "dev" }), /must be set with `pulumi config set --secret istio-production:intermediates`/);
    });
});
