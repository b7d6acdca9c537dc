import "reflect-metadata";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { createHash, createPrivateKey, createPublicKey, X509Certificate } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as x509 from "@peculiar/x509";
import { tlsEmulator } from "../engine/emulation/tls";
import { hashForState } from "../engine/emulation/tls/keys";
import { EmulatedState, ProviderInputError } from "../engine/emulation/types";
import { issueLeaf, mtlsHandshake, opensslVerify } from "./support/pki";

const PRIVATE_KEY = "privateKey:PrivateKey";
const SELF_SIGNED = "selfSignedCert:SelfSignedCert";
const CERT_REQUEST = "certRequest:CertRequest";
const LOCALLY_SIGNED = "locallySignedCert:LocallySignedCert";

let counter = 0;
async function create(resource: string, inputs: Record<string, unknown>): Promise<EmulatedState> {
    const type = `tls:index/${resource}`;
    const name = `r${++counter}`;
    return tlsEmulator.create({ type, name, urn: `urn:pulumi:test::istio-production::${type}::${name}`, inputs, custom: true, project: "istio-production", stack: "test" });
}

/** Asserts a ProviderInputError whose message matches every pattern. */
async function refused(resource: string, inputs: Record<string, unknown>, ...patterns: RegExp[]): Promise<void> {
    await assert.rejects(create(resource, inputs), (err: unknown) => {
        assert.ok(err instanceof ProviderInputError, `expected ProviderInputError, got ${err}`);
        for (const pattern of patterns) assert.match(err.message, pattern);
        return true;
    });
}

const keyPem = async (inputs: Record<string, unknown>) => (await create(PRIVATE_KEY, inputs)).outputs.privateKeyPem as string;
const ecKey = (ecdsaCurve: string) => keyPem({ algorithm: "ECDSA", ecdsaCurve });
const firstLine = (pem: string) => pem.split("\n")[0];
const derOf = (pem: string) => Buffer.from(pem.replace(/-----[^-]+-----/g, "").replace(/\s+/g, ""), "base64");
const sha1 = (bytes: Buffer) => createHash("sha1").update(bytes).digest();
const opensslText = (pem: string) => execFileSync("openssl", ["x509", "-noout", "-text"], { input: pem }).toString();
const hasSshKeygen = spawnSync("ssh-keygen", ["-?"]).error === undefined;

let rsaKeyPem: Promise<string> | undefined;
/** RSA-2048 generation costs ~0.3 s: one key serves every RSA test. */
const rsaKey = () => (rsaKeyPem ??= keyPem({ algorithm: "RSA" }));

const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;

describe("tls emulator: PrivateKey", () => {
    it("defaults to ECDSA P-224 in SEC1 PEM, as the real provider does, with empty OpenSSH fields", async () => {
        const { id, outputs, secretOutputs } = await create(PRIVATE_KEY, { algorithm: "ECDSA" });
        assert.equal(outputs.ecdsaCurve, "P224");
        assert.equal(outputs.rsaBits, 2048);
        assert.equal(firstLine(outputs.privateKeyPem), "-----BEGIN EC PRIVATE KEY-----");
        assert.equal(firstLine(outputs.privateKeyPemPkcs8), "-----BEGIN PRIVATE KEY-----");
        const key = createPrivateKey(outputs.privateKeyPem);
        assert.equal(key.asymmetricKeyDetails?.namedCurve, "secp224r1");
        assert.ok(createPrivateKey(outputs.privateKeyPemPkcs8).equals(key));
        const spki = createPublicKey(outputs.publicKeyPem).export({ format: "der", type: "spki" });
        assert.ok(createPublicKey(key).export({ format: "der", type: "spki" }).equals(spki));
        assert.equal(id, hashForState(spki));
        // x/crypto/ssh has no P-224: the provider stores empty strings.
        for (const field of ["privateKeyOpenssh", "publicKeyOpenssh", "publicKeyFingerprintMd5", "publicKeyFingerprintSha256"]) {
            assert.equal(outputs[field], "", field);
        }
        assert.deepEqual([...(secretOutputs ?? [])].sort(), ["privateKeyOpenssh", "privateKeyPem", "privateKeyPemPkcs8"]);
    });

    it("ids hash the public key DER after Go's strings.TrimSpace", () => {
        const der = Buffer.from("3003020101", "hex");
        assert.equal(hashForState(der), sha1(der).toString("hex"));
        for (const tail of ["20", "0a0d09", "c2a0", "e28080", "c285e3808020"]) {
            assert.equal(hashForState(Buffer.concat([der, Buffer.from(tail, "hex")])), sha1(der).toString("hex"), tail);
        }
        assert.notEqual(hashForState(Buffer.from("300380", "hex")), hashForState(Buffer.from("3003", "hex")));
    });

    it("writes RSA keys as PKCS#1 with the default 2048 bits and id = SHA-1 of the public key DER", async () => {
        const { id, outputs } = await create(PRIVATE_KEY, { algorithm: "RSA" });
        rsaKeyPem ??= Promise.resolve(outputs.privateKeyPem);
        assert.equal(firstLine(outputs.privateKeyPem), "-----BEGIN RSA PRIVATE KEY-----");
        assert.equal(createPrivateKey(outputs.privateKeyPem).asymmetricKeyDetails?.modulusLength, 2048);
        assert.equal(outputs.rsaBits, 2048);
        // An RSA SPKI ends with the exponent 0x010001, which TrimSpace never touches.
        assert.equal(id, sha1(derOf(outputs.publicKeyPem)).toString("hex"));
        assert.match(outputs.publicKeyOpenssh, /^ssh-rsa AAAA[\w+/=]+\n$/);
        assert.match(outputs.publicKeyFingerprintMd5, /^([0-9a-f]{2}:){15}[0-9a-f]{2}$/);
        assert.match(outputs.publicKeyFingerprintSha256, /^SHA256:[\w+/]{43}$/);
    });

    it("writes Ed25519 keys as PKCS#8", async () => {
        const { outputs } = await create(PRIVATE_KEY, { algorithm: "ED25519" });
        assert.equal(firstLine(outputs.privateKeyPem), "-----BEGIN PRIVATE KEY-----");
        assert.equal(createPrivateKey(outputs.privateKeyPem).asymmetricKeyType, "ed25519");
    });

    it("emits OpenSSH encodings that ssh-keygen reads back to the same public key and fingerprints", async function () {
        if (!hasSshKeygen) this.skip();
        const dir = mkdtempSync(join(tmpdir(), "tls-emulator-ssh-"));
        try {
            for (const inputs of [{ algorithm: "ED25519" }, { algorithm: "ECDSA", ecdsaCurve: "P256" }, { algorithm: "ECDSA", ecdsaCurve: "P521" }]) {
                const { outputs } = await create(PRIVATE_KEY, inputs);
                writeFileSync(join(dir, "id"), outputs.privateKeyOpenssh, { mode: 0o600 });
                writeFileSync(join(dir, "id.pub"), outputs.publicKeyOpenssh);
                assert.equal(execFileSync("ssh-keygen", ["-y", "-f", join(dir, "id")]).toString().trim(), outputs.publicKeyOpenssh.trim());
                const fingerprint = (hash: string) => execFileSync("ssh-keygen", ["-l", "-E", hash, "-f", join(dir, "id.pub")]).toString().split(" ")[1];
                assert.equal(fingerprint("sha256"), outputs.publicKeyFingerprintSha256);
                assert.equal(fingerprint("md5"), `MD5:${outputs.publicKeyFingerprintMd5}`);
            }
        } finally {
            rmSync(dir, { recursive: true, force: true });
        }
    });

    it("refuses what the provider refuses", async () => {
        await refused(PRIVATE_KEY, { algorithm: "DSA" }, /algorithm value must be one of/, /"DSA"/);
        await refused(PRIVATE_KEY, { algorithm: "ECDSA", ecdsaCurve: "P-256" }, /ecdsa_curve/, /"P-256"/);
        await refused(PRIVATE_KEY, { algorithm: "RSA", rsaBits: 512 }, /512-bit keys are insecure/);
        await refused("privateKey:Unknown", { algorithm: "RSA" }, /unrecognized resource type/);
    });
});

describe("tls emulator: SelfSignedCert", () => {
    const rootInputs = async (overrides: Record<string, unknown> = {}) => ({
        privateKeyPem: await ecKey("P384"),
        subject: { organization: "istio-production", commonName: "Root CA" },
        validityPeriodHours: 24,
        allowedUses: ["cert_signing", "crl_signing"],
        isCaCertificate: true,
        ...overrides,
    });

    it("refuses camelCase allowedUses, naming the bad value", async () => {
        await refused(SELF_SIGNED, await rootInputs({ allowedUses: ["certSigning", "crl_signing"] }), /allowed_uses/, /"certSigning"/);
    });

    it("refuses a CA without a subject, and a path length on a non-CA", async () => {
        await refused(SELF_SIGNED, await rootInputs({ subject: undefined }), /at least one Distinguished Name/);
        await refused(SELF_SIGNED, await rootInputs({ isCaCertificate: false, maxPathLength: 2 }), /only CAs are allowed to specify MaxPathLen/);
    });

    it("issues a root with the provider's extensions, serial id and RFC 3339 validity", async () => {
        const { id, outputs, secretOutputs } = await create(SELF_SIGNED, await rootInputs({ maxPathLength: 1 }));
        const cert = new X509Certificate(outputs.certPem);
        assert.match(id, /^\d+$/);
        assert.equal(BigInt(`0x${cert.serialNumber}`).toString(10), id);
        assert.ok(BigInt(id) < 2n ** 128n);
        assert.match(outputs.validityStartTime, RFC3339);
        assert.match(outputs.validityEndTime, RFC3339);
        assert.equal(Date.parse(outputs.validityEndTime) - Date.parse(outputs.validityStartTime), 24 * 3_600_000);
        assert.equal(Date.parse(cert.validFrom), Math.floor(Date.parse(outputs.validityStartTime) / 1000) * 1000);
        assert.equal(outputs.readyForRenewal, false);
        assert.equal(outputs.keyAlgorithm, "ECDSA");
        assert.equal(outputs.earlyRenewalHours, 0);
        assert.ok(secretOutputs?.includes("privateKeyPem"));

        const parsed = new x509.X509Certificate(outputs.certPem);
        const keyUsage = parsed.getExtension(x509.KeyUsagesExtension)!;
        assert.equal(keyUsage.critical, true);
        assert.equal(keyUsage.usages, x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign);
        const basic = parsed.getExtension(x509.BasicConstraintsExtension)!;
        assert.deepEqual([basic.critical, basic.ca, basic.pathLength], [true, true, 1]);
        const point = derOf(createPublicKey(outputs.certPem).export({ format: "pem", type: "spki" }) as string).subarray(-97);
        assert.equal(parsed.getExtension(x509.SubjectKeyIdentifierExtension)!.keyId, sha1(point).toString("hex"));
        assert.equal(parsed.getExtension(x509.ExtendedKeyUsageExtension), null);
        assert.match(opensslText(outputs.certPem), /Signature Algorithm: ecdsa-with-SHA384/);
        assert.ok(cert.verify(cert.publicKey));
    });

    it("emits no pathlen at all for maxPathLength 0 (the provider never sets MaxPathLenZero)", async () => {
        const { outputs } = await create(SELF_SIGNED, await rootInputs({ maxPathLength: 0 }));
        const text = opensslText(outputs.certPem);
        assert.match(text, /Basic Constraints: critical\s+CA:TRUE\s*\n/);
        assert.doesNotMatch(text, /pathlen/);
        assert.equal(new x509.X509Certificate(outputs.certPem).getExtension(x509.BasicConstraintsExtension)!.pathLength, undefined);
    });

    it("marks the SAN critical when the subject is empty, the EKU not, and computes readyForRenewal", async () => {
        const { outputs } = await create(SELF_SIGNED, {
            privateKeyPem: await ecKey("P256"),
            uris: ["spiffe://cluster.local/ns/default/sa/web"],
            dnsNames: ["web.default.svc"],
            ipAddresses: ["10.0.0.1"],
            validityPeriodHours: 1,
            earlyRenewalHours: 2,
            allowedUses: ["digital_signature", "server_auth", "client_auth"],
        });
        const parsed = new x509.X509Certificate(outputs.certPem);
        assert.equal(parsed.subject, "");
        const san = parsed.getExtension(x509.SubjectAlternativeNameExtension)!;
        assert.equal(san.critical, true);
        assert.deepEqual(san.names.toJSON(), [
            { type: "dns", value: "web.default.svc" },
            { type: "ip", value: "10.0.0.1" },
            { type: "url", value: "spiffe://cluster.local/ns/default/sa/web" },
        ]);
        const eku = parsed.getExtension(x509.ExtendedKeyUsageExtension)!;
        assert.equal(eku.critical, false);
        assert.deepEqual([...eku.usages], [x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]);
        assert.deepEqual(parsed.getExtension(x509.BasicConstraintsExtension)!.critical, true);
        assert.equal(parsed.getExtension(x509.SubjectKeyIdentifierExtension), null);
        assert.equal(outputs.readyForRenewal, true);
    });

    it("signs with the algorithm Go picks: P-224 → ecdsa-with-SHA256, RSA → sha256WithRSAEncryption, Ed25519", async () => {
        const cases: [Record<string, unknown>, RegExp][] = [
            [{ algorithm: "ECDSA" }, /ecdsa-with-SHA256/],
            [{ algorithm: "ECDSA", ecdsaCurve: "P521" }, /ecdsa-with-SHA512/],
            [{ algorithm: "ED25519" }, /ED25519/],
        ];
        const pems: [string, RegExp][] = await Promise.all(cases.map(async ([inputs, sig]) => [await keyPem(inputs), sig] as [string, RegExp]));
        pems.push([await rsaKey(), /sha256WithRSAEncryption/]);
        for (const [privateKeyPem, signature] of pems) {
            const { outputs } = await create(SELF_SIGNED, await rootInputs({ privateKeyPem }));
            assert.match(opensslText(outputs.certPem), new RegExp(`Signature Algorithm: ${signature.source}`));
            const cert = new X509Certificate(outputs.certPem);
            assert.ok(cert.verify(cert.publicKey), signature.source);
        }
    });
});

describe("tls emulator: CertRequest + LocallySignedCert, a mesh PKI", () => {
    const spiffe = (cluster: string) => `spiffe://cluster.local/ns/${cluster}/sa/web`;
    const intermediateUses = ["cert_signing", "crl_signing", "digital_signature"];
    let root: { certPem: string; keyPem: string };
    let intermediates: Record<"a" | "b", { certPem: string; keyPem: string; csr: EmulatedState; cert: EmulatedState }>;
    let leaves: Record<"a" | "b", { certPem: string; keyPem: string }>;

    async function intermediate(name: string, caKeyPem = root.keyPem) {
        const keyPem = await ecKey("P256");
        const csr = await create(CERT_REQUEST, {
            privateKeyPem: keyPem,
            subject: { organization: "istio-production", commonName: `Intermediate ${name}`, emailAddress: "pki@example.com" },
            uris: [`spiffe://cluster.local/${name}`],
        });
        const cert = await create(LOCALLY_SIGNED, {
            certRequestPem: csr.outputs.certRequestPem,
            caPrivateKeyPem: caKeyPem,
            caCertPem: root.certPem,
            validityPeriodHours: 24,
            allowedUses: intermediateUses,
            isCaCertificate: true,
            maxPathLength: 0,
        });
        return { certPem: cert.outputs.certPem as string, keyPem, csr, cert };
    }

    before(async () => {
        const keyPem = await ecKey("P384");
        const { outputs } = await create(SELF_SIGNED, {
            privateKeyPem: keyPem,
            subject: { organization: "istio-production", commonName: "Root CA" },
            validityPeriodHours: 48,
            allowedUses: ["cert_signing", "crl_signing"],
            isCaCertificate: true,
            maxPathLength: 1,
        });
        root = { certPem: outputs.certPem, keyPem };
        intermediates = { a: await intermediate("a"), b: await intermediate("b") };
        leaves = {
            a: await issueLeaf({ caCertPem: intermediates.a.certPem, caKeyPem: intermediates.a.keyPem, spiffeId: spiffe("a") }),
            b: await issueLeaf({ caCertPem: intermediates.b.certPem, caKeyPem: intermediates.b.keyPem, spiffeId: spiffe("b") }),
        };
    });

    it("CertRequest yields a signed PKCS#10 request with the subject and SANs", async () => {
        const { id, outputs, secretOutputs } = intermediates.a.csr;
        assert.equal(firstLine(outputs.certRequestPem), "-----BEGIN CERTIFICATE REQUEST-----");
        assert.equal(outputs.keyAlgorithm, "ECDSA");
        assert.equal(id, hashForState(derOf(outputs.certRequestPem)));
        assert.ok(secretOutputs?.includes("privateKeyPem"));
        const csr = new x509.Pkcs10CertificateRequest(outputs.certRequestPem);
        assert.ok(await csr.verify());
        assert.equal(csr.subject, "O=istio-production, CN=Intermediate a, E=pki@example.com");
        const san = csr.extensions.find((e): e is x509.SubjectAlternativeNameExtension => e instanceof x509.SubjectAlternativeNameExtension);
        assert.deepEqual(san?.names.toJSON(), [{ type: "url", value: "spiffe://cluster.local/a" }]);
    });

    it("LocallySignedCert takes subject and SANs from the CSR (dropping e-mail), AKID from the CA's SKID", async () => {
        const { id, outputs, secretOutputs } = intermediates.a.cert;
        assert.match(id, /^\d+$/);
        assert.equal(BigInt(`0x${new X509Certificate(outputs.certPem).serialNumber}`).toString(10), id);
        assert.equal(outputs.caKeyAlgorithm, "ECDSA");
        assert.match(outputs.validityEndTime, RFC3339);
        assert.equal(outputs.readyForRenewal, false);
        assert.ok(secretOutputs?.includes("caPrivateKeyPem"));
        const cert = new x509.X509Certificate(outputs.certPem);
        const rootCert = new x509.X509Certificate(root.certPem);
        assert.equal(cert.subject, "O=istio-production, CN=Intermediate a");
        assert.equal(cert.issuer, rootCert.subject);
        assert.equal(
            cert.getExtension(x509.AuthorityKeyIdentifierExtension)!.keyId,
            rootCert.getExtension(x509.SubjectKeyIdentifierExtension)!.keyId,
        );
        assert.ok(cert.getExtension(x509.SubjectKeyIdentifierExtension));
        assert.equal(cert.getExtension(x509.SubjectAlternativeNameExtension)!.critical, false);
        assert.match(opensslText(outputs.certPem), /Signature Algorithm: ecdsa-with-SHA384/);
    });

    it("root → intermediate → leaf passes openssl verify", async () => {
        const result = await opensslVerify([root.certPem], [intermediates.a.certPem], leaves.a.certPem);
        assert.ok(result.ok, result.output);
    });

    it("root maxPathLength 1 makes openssl refuse a sub-CA's leaf, though the sub-CA itself verifies", async () => {
        const subCa = await issueLeaf({ caCertPem: intermediates.a.certPem, caKeyPem: intermediates.a.keyPem, isCa: true });
        const control = await opensslVerify([root.certPem], [intermediates.a.certPem], subCa.certPem);
        assert.ok(control.ok, control.output);
        const leaf = await issueLeaf({ caCertPem: subCa.certPem, caKeyPem: subCa.keyPem, spiffeId: spiffe("a") });
        const result = await opensslVerify([root.certPem], [intermediates.a.certPem, subCa.certPem], leaf.certPem);
        assert.equal(result.ok, false);
        assert.match(result.output, /path length constraint exceeded/);
    });

    it("a leaf paired with the other cluster's intermediate fails verification", async () => {
        const result = await opensslVerify([root.certPem], [intermediates.b.certPem], leaves.a.certPem);
        assert.equal(result.ok, false);
        assert.match(result.output, /unable to get local issuer certificate/);
    });

    it("leaves of two intermediates under one root complete mutual TLS 1.3 and see each other's SPIFFE id", async () => {
        const result = await mtlsHandshake({
            server: { certChainPem: leaves.a.certPem + intermediates.a.certPem, keyPem: leaves.a.keyPem, caPems: [root.certPem] },
            client: { certChainPem: leaves.b.certPem + intermediates.b.certPem, keyPem: leaves.b.keyPem, caPems: [root.certPem] },
        });
        assert.deepEqual(result, { ok: true, serverSawPeerUri: spiffe("b"), clientSawPeerUri: spiffe("a"), serverError: undefined, clientError: undefined });
    });

    it("refuses a client chained to a rogue root with the same SPIFFE id, and an expired client", async () => {
        const rogueKey = await ecKey("P256");
        const rogueRoot = await create(SELF_SIGNED, {
            privateKeyPem: rogueKey,
            subject: { organization: "istio-production", commonName: "Root CA" },
            validityPeriodHours: 24,
            allowedUses: ["cert_signing", "crl_signing"],
            isCaCertificate: true,
        });
        const rogueIntermediate = await issueLeaf({ caCertPem: rogueRoot.outputs.certPem, caKeyPem: rogueKey, isCa: true });
        const rogueLeaf = await issueLeaf({ caCertPem: rogueIntermediate.certPem, caKeyPem: rogueIntermediate.keyPem, spiffeId: spiffe("b") });
        const server = { certChainPem: leaves.a.certPem + intermediates.a.certPem, keyPem: leaves.a.keyPem, caPems: [root.certPem] };

        const rogue = await mtlsHandshake({ server, client: { certChainPem: rogueLeaf.certPem + rogueIntermediate.certPem, keyPem: rogueLeaf.keyPem, caPems: [root.certPem] } });
        assert.equal(rogue.ok, false);
        assert.equal(rogue.serverError, "UNABLE_TO_GET_ISSUER_CERT_LOCALLY");
        assert.equal(rogue.serverSawPeerUri, spiffe("b"));
        assert.equal(rogue.clientError, undefined);

        const expiredLeaf = await issueLeaf({
            caCertPem: intermediates.b.certPem,
            caKeyPem: intermediates.b.keyPem,
            spiffeId: spiffe("b"),
            notBefore: new Date(Date.now() - 3 * 3_600_000),
            validityHours: 1,
        });
        const expired = await mtlsHandshake({ server, client: { certChainPem: expiredLeaf.certPem + intermediates.b.certPem, keyPem: expiredLeaf.keyPem, caPems: [root.certPem] } });
        assert.equal(expired.ok, false);
        assert.equal(expired.serverError, "CERT_HAS_EXPIRED");
    });

    it("refuses a CA key that does not match the CA certificate", async () => {
        await refused(
            LOCALLY_SIGNED,
            {
                certRequestPem: intermediates.a.csr.outputs.certRequestPem,
                caPrivateKeyPem: intermediates.b.keyPem,
                caCertPem: root.certPem,
                validityPeriodHours: 24,
                allowedUses: intermediateUses,
            },
            /Failed to create certificate/,
            /doesn't match parent's PublicKey/,
        );
    });
});
