import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import YAML from "yaml";
import { PROJECT_ROOT } from "../engine/plan";
import { FIXTURE_PROGRAM, runCli, tempDir } from "./support/plan";
import { stackConfig } from "./support/stacks";

/**
 * The mutation corpus: misconfigured variants of the shipped stacks, each of which the offline plan must refuse
 * before anything is deployed, naming the resource and the policy. A mutation the stack config can express is a
 * variant stack file; one the config gate refuses earlier is asserted at exit 2 as well; one the program never
 * generates is a small fixture program registering the same resource classes with the bad setting.
 */

const FIXTURES = path.dirname(FIXTURE_PROGRAM);

interface Finding {
    readonly level: string;
    readonly policy: string;
    readonly urn: string;
}

/** The plan summary's policy lines: `  MANDATORY <pack>/<policy>: <message>`, then `      at <urn>` for a resource. */
function findings(stdout: string): Finding[] {
    return [...stdout.matchAll(/^ {2}(MANDATORY|ADVISORY) [\w-]+\/([\w-]+): .*(?:\n {6}at (\S+))?$/gm)]
        .map((m) => ({ level: m[1], policy: m[2], urn: m[3] ?? "" }));
}

/**
 * Exit 1, each expected policy reported as mandatory at each named resource, and no mandatory violation of any
 * other policy: the mutation, not something else, is what the plan refuses.
 */
function assertRefused(run: { code: number; stdout: string; stderr: string }, expected: Record<string, readonly string[]>) {
    const all = findings(run.stdout).filter((f) => f.level === "MANDATORY");
    assert.equal(run.code, 1, `${run.stderr}\n${run.stdout}`);
    for (const [policy, names] of Object.entries(expected)) {
        for (const name of names) {
            assert.ok(all.some((f) => f.policy === policy && f.urn.endsWith(`::${name}`)), `${policy} at ${name} missing from:\n${run.stdout}`);
        }
    }
    assert.deepEqual([...new Set(all.map((f) => f.policy))].sort(), Object.keys(expected).sort(), run.stdout);
}

/**
 * This project's program with variant stack files: the plan command takes no config overrides, so variants live in
 * a project whose `main` is the real entry point. Variants share one project, so the pki stacks they read are planned
 * once; a stack keeps its real name because production rules key on it.
 */
class VariantProject {
    readonly dir = tempDir("corpus");

    constructor() {
        fs.writeFileSync(path.join(this.dir, "Pulumi.yaml"), `name: istio-production\nruntime: nodejs\nmain: ${path.join(PROJECT_ROOT, "index.ts")}\nstackConfigDir: stacks\n`);
        fs.mkdirSync(path.join(this.dir, "stacks"));
        for (const env of ["dev", "staging", "prod"]) this.write(`pki-${env}`, stackConfig(`pki-${env}`));
    }

    write(stack: string, config: Record<string, unknown>): void {
        const file = { config: Object.fromEntries(Object.entries(config).map(([k, v]) => [`istio-production:${k}`, v])) };
        fs.writeFileSync(path.join(this.dir, "stacks", `Pulumi.${stack}.yaml`), YAML.stringify(file));
    }

    plan(stack: string, mutate: (config: Record<string, any>) => void) {
        const config = stackConfig(stack);
        mutate(config);
        this.write(stack, config);
        return runCli([stack, "--program", this.dir, "--out", path.join(this.dir, "out")]);
    }
}

describe("mutation corpus: misconfigured stacks the plan refuses", () => {
    const project = new VariantProject();

    describe("variants of the shipped stack files (exit 1)", () => {
        it("prod off the supported tracks: EKS pinned to 1.30, GKE on the RAPID channel", async () => {
            assertRefused(await project.plan("prod", (c) => {
                c.clusters[0].kubernetesVersion = "1.30";
                c.clusters[1].releaseChannel = "RAPID";
            }), {
                "eks-version-allowed": ["prod-aws-use1"],
                "gke-release-channel": ["prod-gcp-usc1"],
            });
        });

        it("prod with fault injection: an abort on cart's route", async () => {
            assertRefused(await project.plan("prod", (c) => {
                c.traffic = { ...c.traffic, allowFaultInjection: true, services: { ...c.traffic?.services, cart: { fault: { abort: { percent: 10, httpStatus: 503 } } } } };
            }), {
                "no-fault-injection-in-production": ["prod-aws-use1-traffic-cart-vs", "prod-gcp-usc1-traffic-cart-vs"],
            });
        });

        it("prod's workload certificates (60 minutes, the schema's maximum) under an organisation cap of 30 minutes", async () => {
            // With the packs' defaults (1h) no workload TTL the schema accepts is refused: the two limits are aligned.
            const file = path.join(project.dir, "key-material.json");
            fs.writeFileSync(file, JSON.stringify({ "istio-csr-issuance": { maxCertificateDuration: "30m" }, "mesh-issuer-request-policy": { maxDuration: "30m" } }));
            project.write("prod", stackConfig("prod"));
            assertRefused(await runCli(["prod", "--program", project.dir, "--out", path.join(project.dir, "out"), "--policy-pack-config", `key-material=${file}`]), {
                "istio-csr-issuance": ["prod-aws-use1-mesh-mesh-ca-istio-csr", "prod-gcp-usc1-mesh-mesh-ca-istio-csr"],
                "mesh-issuer-request-policy": ["prod-aws-use1-mesh-mesh-ca-istio-mesh-workloads", "prod-gcp-usc1-mesh-mesh-ca-istio-mesh-workloads"],
            });
        });
    });

    describe("mutations the config gate refuses even earlier (exit 2, every key named)", () => {
        // The packs' production-high-availability and protect-in-production still hold for programs and stacks the
        // gate does not see (their own cases are in policy-platform-baseline.test.ts); this stack never reaches them.
        it("prod without highAvailability or protectResources", async () => {
            const { code, stderr } = await project.plan("prod", (c) => {
                c.highAvailability = false;
                c.protectResources = false;
            });
            assert.equal(code, 2, stderr);
            for (const key of ["istio-production:highAvailability", "istio-production:protectResources"]) assert.ok(stderr.includes(`${key}: must be true in environment prod`), `${key} missing from:\n${stderr}`);
        });

        it("a workload TTL above an hour, and a PERMISSIVE mTLS mode the schema has no key for", async () => {
            const { code, stderr } = await project.plan("prod", (c) => {
                c.mesh = { workloadCertificateTtlMinutes: 90, mtlsMode: "PERMISSIVE" };
            });
            assert.equal(code, 2, stderr);
            for (const key of ["istio-production:mesh.workloadCertificateTtlMinutes", "istio-production:mesh.mtlsMode"]) assert.ok(stderr.includes(key), `${key} missing from:\n${stderr}`);
        });

        it("a weak root key, a P-224 intermediate key, and intermediates that outlive their root", async () => {
            // Its own project: the prod variants above read this project's pki stack.
            const pki = new VariantProject();
            const { code, stderr } = await pki.plan("pki-prod", (c) => {
                c.rootKey = { algorithm: "RSA", rsaBits: 2048 };
                c.intermediateKey = { algorithm: "ECDSA", ecdsaCurve: "P224" };
                c.rootValidityHours = 8760;
                c.intermediateValidityHours = 17520;
            });
            assert.equal(code, 2, stderr);
            for (const key of ["istio-production:rootKey.rsaBits", "istio-production:intermediateKey.ecdsaCurve", "istio-production:intermediateValidityHours"]) {
                assert.ok(stderr.includes(key), `${key} missing from:\n${stderr}`);
            }
        });

        it("a mesh stack pointed at another environment's pki stack: refused before anything is read", async () => {
            const { code, stdout, stderr } = await project.plan("dev", (c) => { c.pki.stack = "acme/istio-production/pki-prod"; });
            assert.equal(code, 2, stderr);
            assert.match(stderr, /istio-production:pki\.stack: must be this environment's pki stack, <org>\/istio-production\/pki-dev/);
            assert.doesNotMatch(stdout, /planned first/, "no pki stack was planned or read");
        });
    });

    describe("mutations the program never generates, as fixture programs (exit 1)", () => {
        it("PERMISSIVE mTLS, weak and long-lived certificates, an in-cluster CA, a signing leaf, a loose istio-csr and mesh issuer policy", async () => {
            assertRefused(await runCli(["mesh", "--program", path.join(FIXTURES, "weak-mesh"), "--out", tempDir("weak-mesh")]), {
                "peer-authentication-strict": ["mesh-wide-permissive"],
                "mesh-wide-strict-mtls": ["mesh-wide-permissive"],
                "certificate-private-key": ["default-key"],
                "certificate-key-rotation": ["reused-key"],
                "certificate-lifetime": ["year-long"],
                "certificate-ca-issuer": ["in-cluster-ca"],
                "certificate-leaf-usages": ["signing-leaf"],
                "istio-csr-issuance": ["istio-csr"],
                "mesh-issuer-request-policy": ["loose-mesh-policy"],
            });
        });

        it("an intermediate that outlives its root, refused at preview, before its validity end is known", async () => {
            assertRefused(await runCli(["pki-prod", "--program", path.join(FIXTURES, "outliving-intermediate"), "--out", tempDir("outliving")]), {
                "intermediate-within-root-validity": ["int-outliving-root"],
            });
        });

        it("intermediates that do not confine their cluster: no name constraints, or every trust domain under prod's, a whole DNS domain, any IP address", async () => {
            const run = await runCli(["pki-prod", "--program", path.join(FIXTURES, "unconstrained-intermediates"), "--out", tempDir("unconstrained")]);
            assertRefused(run, { "intermediate-name-constraints": ["int-unconstrained", "int-wide"] });
            assert.match(run.stdout, /int-unconstrained is a tls\.LocallySignedCert, which emits neither name constraints nor pathlen:0/);
            assert.match(run.stdout, /permits URIs of "\.prod\.mesh\.acme\.example", wider than its trust domain "gcp\.prod\.mesh\.acme\.example"/);
            assert.match(run.stdout, /permits the DNS subtree "acme\.example", a whole domain/);
            assert.match(run.stdout, /does not exclude every IP address/);
        });

        it("a dev stack that reads prod's pki stack: prod's keys in dev's state", async () => {
            const run = await runCli(["dev", "--program", path.join(FIXTURES, "foreign-key-material"), "--out", tempDir("foreign")]);
            assertRefused(run, { "key-material-of-own-environment": ["organization/foreign-key-material/pki-prod"] });
            assert.match(run.stdout, /stack dev reads stack organization\/foreign-key-material\/pki-prod, whose outputs hold private keys \(outputs\.intermediateKeys\.prod-aws-use1\), and it is not foreign-key-material's pki-dev, and its outputs are environment "prod"'s/);
        });

        it("the provider's P-224 default key and a root CA in a mesh stack", async () => {
            assertRefused(await runCli(["mesh", "--program", path.join(FIXTURES, "weak-pki"), "--out", tempDir("weak-pki")]), {
                "tls-private-key-strength": ["default-curve"],
                "offline-root-only-in-pki-stack": ["root-in-mesh"],
                "root-ca-protected": ["default-curve", "root-in-mesh"],
                "intermediate-ca-constraints": ["int"],
                "intermediate-name-constraints": ["int"],
            });
        });
    });
});
