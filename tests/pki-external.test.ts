import assert from "node:assert/strict";
import * as crypto from "node:crypto";
import { checkExternal, ExternalIntermediateError } from "../components/pki/IntermediateCa";
import { signIntermediate } from "../components/pki/IntermediateCertificate";
import { constraintsFor } from "../components/pki/nameConstraints";
import { planStack } from "../engine/plan";
import { plain } from "../engine/values";
import { issueLeaf } from "./support/pki";
import { stackConfig, toRuntime } from "./support/stacks";
import { shippedPlan } from "./support/plan";

const SERVING = ["istiod.istio-system.svc", "cert-manager-istio-csr.cert-manager.svc"];
const AWS = { trustDomain: "aws.prod.mesh.acme.example", dnsNames: SERVING };

/** checkExternal's refusal: typed, naming the cluster, saying why. */
const refused = (reason: RegExp) => (e: unknown) => e instanceof ExternalIntermediateError && e.cluster === "prod-aws-use1" && reason.test(e.message);

describe("pki with an external enterprise root", () => {
    it("creates intermediate keys and CSRs only: no root key, no self-signed certificate, nothing signed here", async () => {
        const generated = await shippedPlan("pki-prod");
        const rootPem = plain(generated.graph.resources.find((r) => r.name === "prod-root-1-cert")!.outputs).certPem;
        const config = stackConfig("pki-prod");
        config.mode = "external";
        config.externalRoots = { "prod-root-1": rootPem };
        const plan = await planStack({ stack: "pki-prod", config: toRuntime(config), mode: "created" });
        const types = new Set(plan.graph.resources.map((r) => r.type));
        for (const signer of ["tls:index/selfSignedCert:SelfSignedCert", "tls:index/locallySignedCert:LocallySignedCert", "pulumi-nodejs:dynamic/pki:IntermediateCertificate"]) assert.ok(!types.has(signer), signer);
        assert.equal(plan.graph.resources.filter((r) => r.type === "tls:index/privateKey:PrivateKey").length, 2, "intermediate keys only");
        const outputs = plain(plan.graph.resources.find((r) => r.type === "pulumi:pulumi:Stack")!.outputs);
        assert.match(outputs.intermediates["prod-gcp-usc1"].certRequestPem, /BEGIN CERTIFICATE REQUEST/);
        assert.equal(outputs.intermediates["prod-gcp-usc1"].certPem, undefined, "unsigned until the enterprise CA answers");
    });

    describe("checks what the enterprise CA signed", () => {
        let root: string;
        let rootKey: string;
        let csr: string;
        let intKey: string;
        /** The enterprise CA's answer to prod-aws-use1's CSR, with the constraints it chose. */
        const signed = (nameConstraints = constraintsFor(AWS.trustDomain, SERVING), maxPathLength = 0) => signIntermediate({
            certRequestPem: csr, caCertPem: root, caPrivateKeyPem: rootKey, cluster: "prod-aws-use1", trustDomain: AWS.trustDomain,
            nameConstraints, maxPathLength, validityPeriodHours: 8760, earlyRenewalHours: 720,
        }).then((o) => o.certPem);

        before(async () => {
            const generated = await shippedPlan("pki-prod");
            const out = (name: string, key: string) => plain(generated.graph.resources.find((r) => r.name === name)!.outputs)[key];
            [root, rootKey] = [out("prod-root-1-cert", "certPem"), out("prod-root-1-key", "privateKeyPem")];
            [csr, intKey] = [out("int-prod-aws-use1-e1-csr", "certRequestPem"), out("int-prod-aws-use1-e1-key", "privateKeyPem")];
        });

        it("accepts a CA certificate for this stack's key, under the root, constrained to the cluster", async () => {
            const cert = await signed();
            assert.equal(checkExternal("prod-aws-use1", cert, intKey, root, AWS), cert);
        });

        it("refuses one that is not a CA, carries another key or chains to another root", async () => {
            const cert = await signed();
            const otherKey = crypto.generateKeyPairSync("ec", { namedCurve: "P-384" }).privateKey.export({ type: "sec1", format: "pem" }).toString();
            assert.throws(() => checkExternal("prod-aws-use1", cert, otherKey, root, AWS), refused(/does not carry this stack's key/));
            const otherRoot = plain((await shippedPlan("pki-dev")).graph.resources.find((r) => r.name === "dev-root-1-cert")!.outputs).certPem;
            assert.throws(() => checkExternal("prod-aws-use1", cert, intKey, otherRoot, AWS), refused(/not signed by its environment's enterprise root/));
            const leaf = await issueLeaf({ caCertPem: cert, caKeyPem: intKey, spiffeId: "spiffe://aws.prod.mesh.acme.example/ns/a/sa/b" });
            assert.throws(() => checkExternal("prod-aws-use1", leaf.certPem, leaf.keyPem, undefined, AWS), refused(/not a CA certificate/));
        });

        it("refuses an intermediate without name constraints or pathlen:0, naming the cluster", async () => {
            // What an enterprise CA signs when asked for a plain CA: the tls provider's kind of intermediate.
            const plainCa = await issueLeaf({ caCertPem: root, caKeyPem: rootKey, isCa: true });
            const withKey = checkExternal.bind(undefined, "prod-aws-use1");
            assert.throws(() => withKey(plainCa.certPem, plainCa.keyPem, root, AWS),
                refused(/externalIntermediates\.prod-aws-use1: refusing cluster prod-aws-use1's intermediate: it has no path length constraint: it could sign a sub-CA; it must be pathlen:0; it carries no name constraints: it could sign identities of any trust domain; it must permit only URIs of aws\.prod\.mesh\.acme\.example/));
        });

        it("refuses constraints wider than the cluster's trust domain, other DNS names, missing serving names, IP addresses", async () => {
            const base = constraintsFor(AWS.trustDomain, SERVING);
            const cases: Array<[Parameters<typeof signed>[0], RegExp]> = [
                [{ ...base, permittedUriDomains: ["prod.mesh.acme.example"] }, /permits URIs of prod\.mesh\.acme\.example, beyond the cluster's trust domain aws\.prod\.mesh\.acme\.example/],
                [{ ...base, permittedUriDomains: ["gcp.prod.mesh.acme.example"] }, /permits URIs of gcp\.prod\.mesh\.acme\.example/],
                [{ ...base, permittedDnsNames: [...SERVING, "acme.example"] }, /permits DNS names under acme\.example, beyond the names the cluster's issuer signs/],
                [{ ...base, permittedDnsNames: [SERVING[0]] }, /does not permit cert-manager-istio-csr\.cert-manager\.svc, which the cluster's issuer signs/],
                [{ ...base, excludedIpRanges: [] }, /does not exclude every IP address/],
            ];
            for (const [nc, reason] of cases) {
                const cert = await signed(nc);
                assert.throws(() => checkExternal("prod-aws-use1", cert, intKey, root, AWS), refused(reason));
            }
            const sub = await signed(base, 1);
            assert.throws(() => checkExternal("prod-aws-use1", sub, intKey, root, AWS), refused(/it has pathlen:1: it could sign a sub-CA/));
        });
    });
});
