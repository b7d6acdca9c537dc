import assert from "node:assert/strict";
import { z } from "zod";
import { ConfigError, parseStackConfig } from "../config";
import { handoffIssues } from "../program/pkiHandoff";
import { meshConfigSchema, MeshConfig } from "../config/schema";
import { pkiConfigSchema } from "../config/pkiSchema";
import { secretKeysOf, secretValues } from "../config/redaction";
import { planStack } from "../engine/plan";
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
