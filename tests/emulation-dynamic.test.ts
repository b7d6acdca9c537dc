import assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { dynamicEmulator } from "../engine/emulation/dynamic";
import { ProviderInputError } from "../engine/emulation/types";
import { intermediateCertificateProvider, IntermediateCertificateOutputs } from "../components/pki/IntermediateCertificate";
import { plain } from "../engine/values";
import { shippedPlan } from "./support/plan";

const TYPE = "pulumi-nodejs:dynamic/pki:IntermediateCertificate";

/** The provider text as the SDK puts it in `__provider` (pulumi.dynamic.Resource: serializeFunction of `() => provider`). */
async function serialized(provider: object): Promise<string> {
    return (await pulumi.runtime.serializeFunction(() => provider, { allowSecrets: true })).text;
}

const create = async (inputs: Record<string, unknown>, id?: string) =>
    dynamicEmulator.create({ type: TYPE, name: "r", urn: `urn:pulumi:test::p::${TYPE}::r`, inputs, custom: true, id, project: "p", stack: "test" });

describe("dynamic provider emulator (pulumi-nodejs)", () => {
    it("runs the serialized provider as the Node.js host does: check, then create; outputs carry __provider", async () => {
        const provider = {
            async check(_olds: unknown, news: Record<string, unknown>) {
                return { inputs: { ...news, checked: true } };
            },
            async create(inputs: Record<string, unknown>) {
                return { id: `id-${inputs.size}`, outs: { area: Number(inputs.size) ** 2, checked: inputs.checked } };
            },
        };
        const text = await serialized(provider);
        const state = await create({ __provider: text, size: 3 });
        assert.deepEqual(state, { id: "id-3", outputs: { area: 9, checked: true, __provider: text } });
    });

    it("refuses what check fails and reports what create throws, as a failed resource", async () => {
        const text = await serialized({
            async check() {
                return { failures: [{ property: "size", reason: "must be positive" }] };
            },
            async create() {
                return { id: "never" };
            },
        });
        await assert.rejects(create({ __provider: text, size: -1 }), (e: unknown) => e instanceof ProviderInputError && /size: must be positive/.test(e.message));
        const throwing = await serialized({ async create() { throw new Error("the CA key is not the key of the CA certificate"); } });
        await assert.rejects(create({ __provider: throwing }), (e: unknown) => e instanceof ProviderInputError && /r": the CA key is not the key/.test(e.message));
        await assert.rejects(create({ size: 1 }), /no serialized provider in the "__provider" input/);
    });

    it("runs the pki stack's signer from the text the program registered, without the root key in that text", async () => {
        const plan = await shippedPlan("pki-prod");
        const registered = plan.graph.resources.find((r) => r.type === TYPE)!;
        const inputs = plain(registered.inputs);
        assert.match(inputs.__provider, /^exports\.handler = /, "the SDK's serialized closure");
        assert.doesNotMatch(inputs.__provider, /PRIVATE KEY/);
        const again = await create(inputs);
        const outs = again.outputs as IntermediateCertificateOutputs & Record<string, unknown>;
        assert.match(outs.certPem, /^-----BEGIN CERTIFICATE-----/);
        assert.equal(outs.caPrivateKeyPem, undefined, "the root key is not echoed into the outputs");
        assert.notEqual(outs.certPem, plain(registered.outputs).certPem, "a new serial, a new certificate");
    });
});

describe("the intermediate signer's lifecycle (what pulumi up asks it)", () => {
    const olds = { certRequestPem: "csr", caCertPem: "root", cluster: "c", trustDomain: "c.example", maxPathLength: 0, validityPeriodHours: 8760, earlyRenewalHours: 720,
        nameConstraints: { permittedUriDomains: ["c.example"], permittedDnsNames: ["istiod.istio-system.svc"], excludedIpRanges: ["0.0.0.0/0", "::/0"] } };
    const fresh = { ...olds, certPem: "pem", validityStartTime: new Date().toISOString(), validityEndTime: new Date(Date.now() + 8760 * 3600e3).toISOString() };

    it("replaces the certificate when its request, issuer or constraints change, and keeps it otherwise", async () => {
        const diff = (news: Record<string, unknown>) => intermediateCertificateProvider.diff!("id", fresh as never, { ...olds, caPrivateKeyPem: "k", ...news } as never);
        assert.deepEqual(await diff({}), { changes: false, replaces: [], deleteBeforeReplace: false });
        assert.deepEqual((await diff({ caCertPem: "new root" })).replaces, ["caCertPem"]);
        assert.deepEqual((await diff({ nameConstraints: { ...olds.nameConstraints, permittedUriDomains: ["d.example"] } })).replaces, ["nameConstraints"]);
    });

    it("re-issues inside the early-renewal window, as the tls provider's ready_for_renewal does", async () => {
        const ending = { ...fresh, validityEndTime: new Date(Date.now() + 100 * 3600e3).toISOString() };
        const diff = await intermediateCertificateProvider.diff!("id", ending as never, { ...olds, caPrivateKeyPem: "k" } as never);
        assert.deepEqual(diff.replaces, ["validityEndTime"]);
    });

    it("does not re-sign when only the early-renewal window is tuned, or when the state has no end time", async () => {
        // hashicorp/terraform-provider-tls internal/provider/resource_locally_signed_cert.go (commit 14621e27):
        // early_renewal_hours carries no RequiresReplace, so changing it updates the resource in place.
        const tuned = await intermediateCertificateProvider.diff!("id", fresh as never, { ...olds, caPrivateKeyPem: "k", earlyRenewalHours: 1440 } as never);
        assert.deepEqual(tuned, { changes: true, replaces: [], deleteBeforeReplace: false });
        const { outs } = await intermediateCertificateProvider.update!("id", fresh as never, { ...olds, caPrivateKeyPem: "k", earlyRenewalHours: 1440 } as never);
        assert.deepEqual(outs, { ...fresh, earlyRenewalHours: 1440 }, "the same certificate, and no root key in the outputs");
        const { validityEndTime: _end, ...unrecorded } = fresh;
        assert.deepEqual(await intermediateCertificateProvider.diff!("id", unrecorded as never, { ...olds, caPrivateKeyPem: "k" } as never), { changes: false, replaces: [], deleteBeforeReplace: false });
    });

    it("refuses an intermediate without constraints or with a path length, naming the cluster", async () => {
        const { failures } = await intermediateCertificateProvider.check!({} as never, { ...olds, maxPathLength: 1, nameConstraints: { permittedUriDomains: [], permittedDnsNames: [], excludedIpRanges: [] } } as never);
        assert.deepEqual(failures!.map((f) => f.property), ["nameConstraints", "nameConstraints", "maxPathLength"]);
        assert.match(failures![0].reason, /the intermediate of cluster c must permit its trust domain's URIs/);
    });
});
