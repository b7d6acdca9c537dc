import assert from "node:assert/strict";
import * as crypto from "node:crypto";
import { containsSecret, plain } from "../engine/values";
import { Alone, builtAlone, refusedAlone } from "./support/components";
import { issueLeaf, opensslVerify } from "./support/pki";

// The offline PKI's components built alone (tests/fixtures/components/pki.ts).

/** A CA component's key, from its key resource: the only place state holds it, as a secret. */
function keyOf(alone: Alone, component: string): string {
    const key = alone.descendants(alone.component(component)).find((r) => r.type === "tls:index/privateKey:PrivateKey")!;
    assert.ok(containsSecret(key.outputs.privateKeyPem), "the key is a secret in its key resource");
    assert.ok(!("privateKeyPem" in alone.component(component).outputs), "the component does not register the key again");
    return plain(key.outputs).privateKeyPem;
}

describe("RootCa built alone", () => {
    const built = builtAlone("root-ca");

    it("is a key and a self-signed CA certificate, both protected unless asked otherwise", () => {
        assert.deepEqual(built().typesUnder("test-root-1"), { "tls:index/privateKey:PrivateKey": 1, "tls:index/selfSignedCert:SelfSignedCert": 1 });
        for (const child of built().descendants(built().component("test-root-1"))) assert.ok(child.protect, `${child.name} is protected by default`);
    });

    it("registers a CA certificate that signed itself; its key stays a secret of its key resource", () => {
        const { certPem } = built().registered("test-root-1");
        const privateKeyPem = keyOf(built(), "test-root-1");
        const cert = new crypto.X509Certificate(certPem);
        assert.ok(cert.ca);
        assert.ok(cert.checkIssued(cert) && cert.verify(cert.publicKey), "self-signed");
        assert.ok(cert.checkPrivateKey(crypto.createPrivateKey(privateKeyPem)));
        assert.match(cert.subject, /O=Example Corp/);
    });
});

describe("IntermediateCa built alone, signed by a root in the same stack", () => {
    const built = builtAlone("intermediate-ca");

    it("makes its own key and CSR, and has the root sign a CA certificate for that key", () => {
        assert.deepEqual(Object.keys(built().typesUnder("int-east-e1")).sort(), ["pulumi-nodejs:dynamic/pki:IntermediateCertificate", "tls:index/certRequest:CertRequest", "tls:index/privateKey:PrivateKey"]);
        const { certPem, certRequestPem } = built().registered("int-east-e1");
        const privateKeyPem = keyOf(built(), "int-east-e1");
        assert.match(certRequestPem, /BEGIN CERTIFICATE REQUEST/);
        const cert = new crypto.X509Certificate(certPem);
        const root = new crypto.X509Certificate(built().outputs.rootPem);
        assert.ok(cert.ca && cert.checkIssued(root) && cert.verify(root.publicKey));
        assert.ok(cert.checkPrivateKey(crypto.createPrivateKey(privateKeyPem)));
    });

    it("can sign only its cluster's trust domain and no sub-CA, as OpenSSL enforces it", async () => {
        const { certPem } = built().registered("int-east-e1");
        const privateKeyPem = keyOf(built(), "int-east-e1");
        const rootPem = built().outputs.rootPem;
        const leaf = (spiffeId: string) => issueLeaf({ caCertPem: certPem, caKeyPem: privateKeyPem, spiffeId });
        const own = await leaf("spiffe://aws.mesh.example/ns/shop/sa/web");
        assert.ok((await opensslVerify([rootPem], [certPem], own.certPem)).ok, "a workload of the cluster's trust domain");
        const other = await leaf("spiffe://gcp.mesh.example/ns/shop/sa/web");
        assert.match((await opensslVerify([rootPem], [certPem], other.certPem)).output, /permitted subtree violation|name constraints/i);
        const subCa = await issueLeaf({ caCertPem: certPem, caKeyPem: privateKeyPem, isCa: true });
        assert.equal((await opensslVerify([rootPem], [certPem, subCa.certPem], (await issueLeaf({ caCertPem: subCa.certPem, caKeyPem: subCa.keyPem, spiffeId: "spiffe://aws.mesh.example/ns/a/sa/b" })).certPem)).ok, false);
    });

    it("refuses an enterprise-signed certificate that does not carry its key, naming the cluster", async () => {
        const { message } = await refusedAlone("intermediate-ca-foreign-external", "IntermediateCa");
        assert.match(message, /IntermediateCa int-east-e1: externalIntermediates\.east: the certificate does not carry this stack's key for east/);
    });
});
