import assert from "node:assert/strict";
import * as k8s from "@pulumi/kubernetes";
import * as tls from "@pulumi/tls";
import * as rules from "../policy/key-material/rules";
import { node, stackViolations, violations } from "./support/policy";
import { FIXTURE_PROGRAM, runCli, tempDir } from "./support/plan";

describe("policy pack key-material", () => {
    it("tls-private-key-strength: P-256/P-384 and RSA-4096 pass; the P224 default, small or odd RSA fail", async () => {
        const p = rules.privateKeyStrength;
        assert.deepEqual(await violations(p, tls.PrivateKey, { algorithm: "ECDSA", ecdsaCurve: "P384" }), []);
        assert.deepEqual(await violations(p, tls.PrivateKey, { algorithm: "RSA", rsaBits: 4096 }), []);
        assert.match((await violations(p, tls.PrivateKey, { algorithm: "ECDSA" }))[0], /P224 \(the provider default/);
        assert.match((await violations(p, tls.PrivateKey, { algorithm: "RSA" }))[0], /2048 bits \(the provider default\)/);
        assert.equal((await violations(p, tls.PrivateKey, { algorithm: "RSA", rsaBits: 4100 })).length, 1);
        assert.deepEqual(await violations(p, tls.PrivateKey, { algorithm: "RSA", rsaBits: 2048 }, { minRsaBits: 2048 }), [], "configurable");
    });

    it("offline-root-only-in-pki-stack: a root in the pki stack passes, in a mesh stack fails", async () => {
        const root = { isCaCertificate: true, validityPeriodHours: 1, allowedUses: ["cert_signing"] };
        assert.deepEqual(await violations(rules.offlineRoot, tls.SelfSignedCert, root, {}, "pki"), []);
        assert.match((await violations(rules.offlineRoot, tls.SelfSignedCert, root, {}, "prod"))[0], /root CA is created in stack "prod"/);
        assert.deepEqual(await violations(rules.offlineRoot, tls.SelfSignedCert, { ...root, isCaCertificate: false }, {}, "prod"), [], "self-signed leaves are not roots");
    });

    it("root-ca-constraints: validity, path length and usages", async () => {
        const good = { isCaCertificate: true, validityPeriodHours: 87600, maxPathLength: 1, allowedUses: ["cert_signing", "crl_signing", "digital_signature"] };
        assert.deepEqual(await violations(rules.rootConstraints, tls.SelfSignedCert, good), []);
        const bad = await violations(rules.rootConstraints, tls.SelfSignedCert, { ...good, validityPeriodHours: 175200, maxPathLength: 0, allowedUses: ["server_auth"] });
        assert.equal(bad.length, 4, bad.join("\n"));
        assert.ok(bad.some((m) => /0 emits no constraint/.test(m)));
    });

    it("intermediate-ca-constraints: usages, validity, early renewal", async () => {
        const good = { isCaCertificate: true, validityPeriodHours: 8760, earlyRenewalHours: 720, allowedUses: ["cert_signing", "crl_signing"] };
        assert.deepEqual(await violations(rules.intermediateConstraints, tls.LocallySignedCert, good), []);
        const bad = await violations(rules.intermediateConstraints, tls.LocallySignedCert, { ...good, validityPeriodHours: 43800, earlyRenewalHours: 0, allowedUses: ["cert_signing", "client_auth"] });
        assert.equal(bad.length, 3, bad.join("\n"));
    });

    it("intermediate-within-root-validity: an intermediate outliving its root fails", async () => {
        const root = node(tls.SelfSignedCert, "root", { isCaCertificate: true, validityEndTime: "2035-01-01T00:00:00Z" });
        const inside = node(tls.LocallySignedCert, "int", { isCaCertificate: true, validityEndTime: "2027-01-01T00:00:00Z" }, { deps: { caCertPem: [root] } });
        const outside = node(tls.LocallySignedCert, "late", { isCaCertificate: true, validityEndTime: "2036-01-01T00:00:00Z" }, { deps: { caCertPem: [root] } });
        assert.deepEqual(await stackViolations(rules.intermediateWithinRoot, [root, inside]), []);
        assert.match((await stackViolations(rules.intermediateWithinRoot, [root, outside]))[0], /late is valid until 2036/);
    });

    it("root-ca-protected: an unprotected root key or certificate fails", async () => {
        const key = (protect: boolean) => node(tls.PrivateKey, "root-key", {}, { protect });
        const cert = (protect: boolean, k = key(true)) => node(tls.SelfSignedCert, "root-cert", { isCaCertificate: true }, { protect, deps: { privateKeyPem: [k] } });
        assert.deepEqual(await stackViolations(rules.caKeysProtected, [cert(true)]), []);
        assert.match((await stackViolations(rules.caKeysProtected, [cert(false)]))[0], /root certificate root-cert is not protected/);
        assert.match((await stackViolations(rules.caKeysProtected, [cert(true, key(false))]))[0], /root key root-key is not protected/);
    });

    it("no-private-key-in-configmap", async () => {
        assert.deepEqual(await violations(rules.noKeyInConfigMap, k8s.core.v1.ConfigMap, { data: { "ca.crt": "-----BEGIN CERTIFICATE-----" } }), []);
        assert.equal((await violations(rules.noKeyInConfigMap, k8s.core.v1.ConfigMap, { data: { k: "-----BEGIN EC PRIVATE KEY-----\nx" } })).length, 1);
    });

    it("the plan refuses a program with weak key material and a root outside the pki stack (exit 1, resources named)", async () => {
        const { code, stdout } = await runCli(["mesh", "--program", `${FIXTURE_PROGRAM}/../weak-pki`, "--out", tempDir("weak")]);
        assert.equal(code, 1, stdout);
        for (const expected of [/tls-private-key-strength.*P224/, /offline-root-only-in-pki-stack/, /root-ca-protected/, /intermediate-ca-constraints/]) assert.match(stdout, expected);
        assert.match(stdout, /at urn:pulumi:mesh::weak-pki::tls:index\/privateKey:PrivateKey::default-curve/);
    });
});
