import assert from "node:assert/strict";
import { generateKeyPairSync, KeyObject } from "node:crypto";
import { z } from "zod";
import { ConfigError, parseStackConfig } from "../config";
import { handoffIssues } from "../program/pkiHandoff";
import { meshConfigSchema, MeshConfig } from "../config/schema";
import { pkiConfigSchema } from "../config/pkiSchema";
import { looksSecret, secretKeysOf, secretValues } from "../config/redaction";
import { planStack } from "../engine/plan";
import * as fs from "node:fs";
import * as path from "node:path";
import { planStackFile, runCli, shippedStackFile, tempDir } from "./support/plan";
import { stackConfig, toRuntime } from "./support/stacks";

/**
 * No error shows any part of a secret: values of keys set with `--secret`, values of keys whose schema holds private
 * keys (set in plain text by mistake), and private keys pasted anywhere. Every branch that renders an issue is fed
 * secrets carrying a marker, and the whole error (message and issues) is searched for the marker's bytes.
 */

const NS = "istio-production";
// Distinct from anything a schema or message could say on its own.
const MARK = "Zq7xSECRETv9Kp";
const PEM_BODY = ["MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg", `${MARK}ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefgh`, "hRANCAAQ2bqzkUVdJ1cqTDAmKnxhB8z0X0w3Qi8xNTU2"];
const PRIVATE_KEY = `-----BEGIN PRIVATE KEY-----\n${PEM_BODY.join("\n")}\n-----END PRIVATE KEY-----\n`;
const CERTIFICATE = "-----BEGIN CERTIFICATE-----\nMIIBcertificateBodyThatIsPublic\n-----END CERTIFICATE-----\n";

/** What an error would let a reader see: its message and every issue. */
function shown(run: () => unknown): string {
    try {
        run();
    } catch (e) {
        return `${(e as Error).message}\n${JSON.stringify((e as ConfigError).issues ?? [])}`;
    }
    return "";
}

function assertNoSecretBytes(text: string, what: string): void {
    for (const bytes of [MARK, ...PEM_BODY, PRIVATE_KEY.slice(28, 60)]) {
        assert.ok(!text.includes(bytes), `${what}: the output shows secret bytes ${bytes}:\n${text}`);
    }
}

/** Wrong shapes that carry the marker, for each kind of value a key can hold. */
const WRONG_SHAPES: unknown[] = [
    MARK, `${MARK}-with-more/bytes`, PRIVATE_KEY, 4242424242, [MARK, 12345], { [MARK]: MARK }, { unknownKey: MARK },
    [{ name: MARK, cloud: MARK, region: MARK, trustDomain: MARK, nodes: { instanceType: MARK } }],
    { source: MARK, stack: `acme/${MARK}/pki` }, { certPem: PRIVATE_KEY, keyPem: CERTIFICATE },
];

describe("config gate: secrets never shown", () => {
    it("which keys hold secrets is read from the schema, wherever the secret type sits in it", () => {
        assert.deepEqual([...secretKeysOf(meshConfigSchema).keys()], ["intermediates"]);
        assert.deepEqual([...secretKeysOf(pkiConfigSchema).keys()], []);
        const secretish = z.string().register(secretValues, { holds: "a token" });
        const toy = z.strictObject({
            plain: z.string(),
            nested: z.strictObject({ list: z.array(z.union([z.number(), z.record(z.string(), secretish)])).optional() }).default({}),
        });
        assert.deepEqual([...secretKeysOf(toy)], [["nested", "a token"]]);
    });

    for (const [role, base] of [["mesh", "prod"], ["pki", "pki-prod"]] as const) {
        const schema = role === "mesh" ? meshConfigSchema : pkiConfigSchema;
        const keys = [...Object.keys(schema.shape), "notAKey"];
        it(`no branch of the ${role} gate shows a secret-flagged value, for any key and any wrong shape`, () => {
            let refused = 0;
            for (const key of keys) {
                for (const wrong of WRONG_SHAPES) {
                    const raw = { ...toRuntime(stackConfig(base)), [`${NS}:${key}`]: typeof wrong === "string" ? wrong : JSON.stringify(wrong) };
                    const text = shown(() => parseStackConfig(raw, new Set([`${NS}:${key}`])));
                    if (text) refused++;
                    assertNoSecretBytes(text, `${key} = ${JSON.stringify(wrong).slice(0, 40)}`);
                }
            }
            assert.ok(refused >= keys.length * (WRONG_SHAPES.length - 2), `only ${refused} of the wrong shapes were refused`);
        });
    }

    it("a private key pasted into any string of a stack file is never shown, secret-flagged or not", () => {
        for (const base of ["prod", "staging", "pki-prod"]) {
            const config = stackConfig(base);
            const paths: Array<Array<string | number>> = [];
            const walk = (v: unknown, at: Array<string | number>) => {
                if (typeof v === "string") paths.push(at);
                else if (Array.isArray(v)) v.forEach((x, i) => walk(x, [...at, i]));
                else if (v && typeof v === "object") Object.entries(v).forEach(([k, x]) => walk(x, [...at, k]));
            };
            walk(config, []);
            for (const at of paths) {
                const mutated = structuredClone(config);
                let holder: any = mutated;
                at.slice(0, -1).forEach((k) => (holder = holder[k]));
                holder[at[at.length - 1]] = PRIVATE_KEY;
                assertNoSecretBytes(shown(() => parseStackConfig(toRuntime(mutated))), `${base}: ${at.join(".")}`);
            }
        }
    });

    it("key material set in plain text (a key where a certificate belongs, or the two swapped) is refused without showing it", () => {
        const config = stackConfig("dev");
        config.pki = { source: "config" };
        config.trustBundle = [PRIVATE_KEY];
        config.intermediates = { "dev-aws-1": { certPem: PRIVATE_KEY, keyPem: CERTIFICATE } };
        const text = shown(() => parseStackConfig(toRuntime(config)));
        assert.match(text, /istio-production:intermediates: holds private key material and must be set with `pulumi config set --secret istio-production:intermediates`/);
        assert.match(text, /istio-production:intermediates\.dev-aws-1\.keyPem: must be one PEM private key \(got \[secret\]\)/);
        assertNoSecretBytes(text, "plain-text key material");
    });

    it("a secret under an unknown key or a misspelled namespace is not shown", () => {
        const raw = { ...toRuntime(stackConfig("dev")), [`${NS}:apiToken`]: MARK, "istio-prodction:token": `${MARK}2` };
        const text = shown(() => parseStackConfig(raw, new Set([`${NS}:apiToken`, "istio-prodction:token"])));
        assert.match(text, /istio-production:apiToken: unknown key.*\(got \[secret\]\)/);
        assert.match(text, /istio-prodction:token: unknown config namespace.*\(got \[secret\]\)/);
        assertNoSecretBytes(text, "unknown keys");
    });

    it("messages that quote another key's value leave out what that key holds when it is secret", () => {
        const config = stackConfig("staging");
        config.clusters[0].trustDomain = `${MARK}.example`;
        config.clusters[1].trustDomain = "other.example";
        config.observability.hubCluster = "not-a-cluster";
        const text = shown(() => parseStackConfig(toRuntime(config), new Set([`${NS}:clusters`])));
        assert.match(text, /clusters\[0\] uses "\[secret\]"/);
        assert.match(text, /observability\.hubCluster: names no cluster of this stack/);
        assertNoSecretBytes(text, "cross-field messages");
    });

    it("hints derived from a secret value are left out with it", () => {
        const config = stackConfig("dev");
        config.operatorCidrs = ["203.0.113.77/24"];
        const secret = shown(() => parseStackConfig(toRuntime(config), new Set([`${NS}:operatorCidrs`])));
        assert.doesNotMatch(secret, /203\.0\.113/);
        assert.match(shown(() => parseStackConfig(toRuntime(config))), /has host bits set; did you mean 203\.0\.113\.0\/24\? \(got "203\.0\.113\.77\/24"\)/);
    });

    it("errors the program raises later scrub what the gate knew to be secret", () => {
        const environment = `env${MARK}`.toLowerCase().slice(0, 20);
        const stack = `acme/istio-production/pki-${environment}`;
        const raw = toRuntime({ ...stackConfig("dev"), environment, pki: { source: "stack", stack } });
        const config = parseStackConfig(raw, new Set([`${NS}:environment`, `${NS}:clusters`])) as MeshConfig;
        const error = new ConfigError(handoffIssues(config, stack, { environment: "prod", trustBundle: ["x"], intermediates: {} }));
        assert.ok(!error.message.includes(environment), error.message);
        assert.match(error.message, /istio-production:pki\.stack: pki stack acme\/istio-production\/pki-\[secret\] holds the key material of environment "prod", not "\[secret\]".*\(got "acme\/istio-production\/pki-\[secret\]"\)/);
        const clusters = new ConfigError(handoffIssues(config, stack, { environment, trustBundle: ["x"], intermediates: {} }));
        assert.match(clusters.message, /istio-production:clusters\[0\]\.name: is not issued an intermediate/);
        assert.ok(!clusters.message.includes("dev-aws-1"), clusters.message);
    });

    it("through a whole plan: a secret-flagged value that the gate refuses is not in the error", async () => {
        const config = stackConfig("prod");
        config.observability = { ...config.observability, remoteWriteUrl: `http://user:${MARK}@metrics.acme.example/api/v1/write` };
        await assert.rejects(planStack({ stack: "prod", config: toRuntime(config), secretKeys: [`${NS}:observability`] }), (e: Error) => {
            assert.match(e.message, /istio-production:observability\.remoteWriteUrl: must be an https URL \(got \[secret\]\)/);
            assertNoSecretBytes(e.message, "plan");
            return true;
        });
    });
});

/** Keys made for the test: what a user would paste, of each kind a CA or a tool writes. */
const EC_KEY = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey;
const RSA_KEY = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey;
const pem = (key: KeyObject, type: "pkcs8" | "pkcs1" | "sec1") => key.export({ format: "pem", type }) as string;
const body = (text: string) => text.split("\n").filter((l) => l && !l.startsWith("-----")).join("");
const indent = (text: string, n: number) => text.trim().split("\n").map((l) => `${" ".repeat(n)}${l}`).join("\n");

/** Every 12 characters of a key's base64 past its ASN.1 header (the same for every key of a kind), every 6. */
function assertNoKeyBytes(output: string, ...keys: string[]): void {
    for (const key of keys) {
        const b64 = body(key);
        for (let i = 40; i + 12 <= b64.length; i += 6) assert.ok(!output.includes(b64.slice(i, i + 12)), `the output shows key bytes ${b64.slice(i, i + 12)}:\n${output}`);
    }
}

/** dev air-gapped: no ESC hand-off imported, its pki material set in the file itself. */
const DEV_WITH_CONFIG_PKI = (() => {
    const shipped = shippedStackFile("dev");
    const airGapped = shipped.replace("environment:\n  - istio-production/pki-dev-handoff\n", "").replace("config:\n", "config:\n  istio-production:pki:\n    source: config\n");
    assert.notEqual(airGapped, shipped, "the shipped dev file imports its hand-off");
    return airGapped;
})();

describe("config gate: key material in a stack file, as users paste it", () => {
    it("a YAML error inside a pasted key says where it is, not what the file says there", async () => {
        const lines = pem(EC_KEY, "pkcs8").trim().split("\n");
        // One line of the block scalar two spaces short, as an editor's paste leaves it.
        const pasted = lines.map((l, i) => `${" ".repeat(i === 2 ? 6 : 8)}${l}`).join("\n");
        const text = `${DEV_WITH_CONFIG_PKI}  istio-production:intermediates:\n    dev-aws-1:\n      keyPem: |\n${pasted}\n`;
        const { code, stderr, stdout, wrotePlan } = await planStackFile("dev", text);
        assert.equal(code, 2, stderr);
        assert.equal(wrotePlan, false);
        assert.match(stderr, /Pulumi\.dev\.yaml: not valid YAML at line \d+, column \d+ \([A-Z_]+\): the text there is not shown/);
        assertNoKeyBytes(stderr + stdout, pem(EC_KEY, "pkcs8"));
    });

    it("a private key pasted into a free-text field is refused, not planned and written out", async () => {
        const key = pem(EC_KEY, "pkcs8");
        const text = shippedStackFile("dev").replace("istio-production:stage: 2", "istio-production:stage: 3") +
            "  istio-production:services:\n    - name: web\n      namespace: web\n      port: 8080\n      exposed: true\n" +
            "  istio-production:edgeAuth:\n    issuer: https://id.acme.example/\n    jwksUri: https://id.acme.example/jwks\n" +
            `    requiredClaims:\n      sig:\n        - |\n${indent(key, 10)}\n`;
        const { code, stderr, stdout, wrotePlan } = await planStackFile("dev", text);
        assert.equal(code, 2, stderr);
        assert.equal(wrotePlan, false, "nothing is written");
        assert.match(stderr, /istio-production:edgeAuth\.requiredClaims\.sig\[0\]: holds private key material where none belongs \(only intermediates takes private keys.*\): remove it, and replace the key.* \(got \[secret\]\)/);
        assertNoKeyBytes(stderr + stdout, key);
    });

    it("a key pasted without its BEGIN/END lines is recognised by what it decodes to, whatever its kind", async () => {
        const keys = [pem(RSA_KEY, "pkcs8"), pem(RSA_KEY, "pkcs1"), pem(EC_KEY, "sec1")];
        const text = `${DEV_WITH_CONFIG_PKI}  istio-production:trustBundle:\n${keys.map((k) => `    - ${body(k)}\n`).join("")}`;
        const { code, stderr, stdout } = await planStackFile("dev", text);
        assert.equal(code, 2, stderr);
        for (const i of [0, 1, 2]) assert.match(stderr, new RegExp(`trustBundle\\[${i}\\]: holds private key material where none belongs.*\\(got \\[secret\\]\\)`));
        assertNoKeyBytes(stderr + stdout, ...keys);
        // A certificate's body is base64 too, and no key.
        const certificateBody = "MIIBszCCAVmgAwIBAgIUQ2VydGlmaWNhdGVCb2R5Tm90QUtleTAKBggqhkjOPQQDAjAaMRgwFgYDVQQDDA9hY21lLmV4YW1wbGU=";
        assert.equal(looksSecret(certificateBody), false);
    });

    it("a field that takes a certificate shows a wrong value by its shape, never its text", async () => {
        // A key cut short by a bad paste is no key any more, and still not to be echoed.
        const cut = body(pem(RSA_KEY, "pkcs8")).slice(0, 120);
        const { code, stderr } = await planStackFile("dev", `${DEV_WITH_CONFIG_PKI}  istio-production:trustBundle:\n    - ${cut}\n`);
        assert.equal(code, 2, stderr);
        assert.match(stderr, /istio-production:trustBundle\[0\]: must be one PEM certificate \(got a string of 120 characters\)/);
        assertNoKeyBytes(stderr, cut + "A".repeat(12));
    });

    it("plain-text secrets under unknown keys are shown by type and length only", async () => {
        const token = `glsa_${body(pem(EC_KEY, "pkcs8")).slice(60, 92).replace(/[+/]/g, "x")}_8c1e2f3a`;
        const d = body(pem(EC_KEY, "pkcs8")).slice(100, 143);
        const text = shippedStackFile("prod")
            .replace("      type: bearer\n      secretName: remote-write\n", `      type: bearer\n      secretName: remote-write\n      token: ${token}\n`)
            .replace("    protectedPaths: [/api/*, /cart/*]\n", `    protectedPaths: [/api/*, /cart/*]\n    signingKey: {kty: EC, crv: P-256, d: "${d}"}\n`);
        const { code, stderr } = await planStackFile("prod", text);
        assert.equal(code, 2, stderr);
        assert.match(stderr, new RegExp(`istio-production:observability\\.remoteWriteAuth\\.token: unknown key: .* \\(got a string of ${token.length} characters\\)`));
        assert.match(stderr, /istio-production:edgeAuth\.signingKey: unknown key: .* \(got a mapping of 3 keys\)/);
        assert.ok(!stderr.includes(token.slice(5, 30)) && !stderr.includes(d.slice(0, 20)), stderr);
    });
});

describe("config gate: secrets set with --path, and errors the gate did not raise", () => {
    it("a secret set with --secret --path hides that value only, not the plain-text rest of its key", async () => {
        // As `pulumi config set --secret --path istio-production:observability.remoteWriteAuth.token` writes it.
        const text = shippedStackFile("prod")
            .replace("      type: bearer\n      secretName: remote-write\n", "      type: bearer\n      secretName: remote-write\n      token:\n        secure: v1:Zm9vYmFyYmF6cXV4\n")
            .replace("- name: prod-gcp-usc1", "- name: prod-aws-use1");
        const { code, stderr } = await planStackFile("prod", text);
        assert.equal(code, 2, stderr);
        assert.match(stderr, /istio-production:observability\.remoteWriteAuth\.token: unknown key: .* \(got \[secret\]\)/);
        // The hub cluster named under observability is no secret: messages elsewhere still name that cluster.
        assert.match(stderr, /istio-production:clusters\[1\]\.name: .*unique.* \(got "prod-aws-use1"\)/);
    });

    it("a failed program's error is printed without the private keys of the stack file", async () => {
        const dir = tempDir("failing-program");
        fs.cpSync(path.join(__dirname, "fixtures", "failing-program"), dir, { recursive: true });
        fs.writeFileSync(path.join(dir, "Pulumi.yaml"), fs.readFileSync(path.join(dir, "Pulumi.yaml"), "utf8").replace("main: index.ts", `main: ${path.join(__dirname, "fixtures", "failing-program", "index.ts")}`));
        const key = pem(EC_KEY, "pkcs8");
        const headerless = body(pem(RSA_KEY, "pkcs1"));
        fs.writeFileSync(path.join(dir, "Pulumi.test.yaml"), `config:\n  failing:note: |\n${indent(key, 4)}\n  failing:backup: ${headerless}\n  failing:region: eu-west-1\n`);
        const { code, stderr, stdout } = await runCli(["test", "--program", dir, "--out", path.join(dir, "out")]);
        assert.equal(code, 3, stderr);
        assert.match(stderr, /the program failed:\n.*cannot use this configuration: .*"failing:region":"eu-west-1"/);
        assertNoKeyBytes(stderr + stdout, key, headerless);
    });
});
