/**
 * Key-material cost of a profile: the chain a workload sends (leaf + intermediate), CPU per full mutual TLS 1.3
 * handshake counting both ends, and how fast the intermediate signs workload certificates. The CAs come from the tls
 * provider emulator and the pki stack's name-constrained signer, with the inputs the pki stack uses; leaves are Istio workload certificates (empty subject, SPIFFE
 * URI SAN), signed the way the mesh CA signs them. Every count is bounded: RSA-4096 keys take about a second each.
 */
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { AddressInfo } from "node:net";
import { performance } from "node:perf_hooks";
import * as tls from "node:tls";
import { tlsEmulator } from "../engine/emulation/tls";
import { pemDecode, pemEncode } from "../engine/emulation/tls/der";
import { generatePrivateKey, parsePrivateKeyPem, PrivateKeyInfo, PublicKeyInfo } from "../engine/emulation/tls/keys";
import { nameFromSubject } from "../engine/emulation/tls/names";
import { createCertificate, EXTENDED_KEY_USAGES, Issuer, KEY_USAGES, parseCertificatePem } from "../engine/emulation/tls/x509";
import { median } from "./stats";
import { intermediateSubject, rootSubject } from "../components/pki/keys";
import { signIntermediate } from "../components/pki/IntermediateCertificate";
import { constraintsFor } from "../components/pki/nameConstraints";
import { meshIssuerServingNames } from "../components/kubernetes/names";

export type KeySpec = { readonly algorithm: "RSA"; readonly rsaBits: number } | { readonly algorithm: "ECDSA"; readonly ecdsaCurve: "P256" | "P384" | "P521" };

export interface Profile {
    readonly label: string;
    readonly leaf: KeySpec;
    readonly intermediate: KeySpec;
    readonly root: KeySpec;
}

/** Istio's `tools/certs` (common.mk): RSA-4096 root and intermediate; istio-agent's default RSA-2048 workload keys. */
export const ISTIO_TOOLS_CERTS: Profile = {
    label: "istio tools/certs",
    leaf: { algorithm: "RSA", rsaBits: 2048 },
    intermediate: { algorithm: "RSA", rsaBits: 4096 },
    root: { algorithm: "RSA", rsaBits: 4096 },
};

export interface ProfileCost {
    readonly label: string;
    readonly keys: string;
    /** DER bytes of leaf + intermediate: what each side sends in every handshake. */
    readonly chainBytes: number;
    /** user + system CPU of one full mutual handshake, both ends in this process (median of rounds). */
    readonly handshakeCpuMs: number;
    readonly handshakeCpuRoundsMs: readonly number[];
    /** Workload certificates the intermediate key signs per second. */
    readonly issuancePerSecond: number;
}

const CA_USES = ["cert_signing", "crl_signing", "digital_signature"];
/** A prod workload identity (prod's AWS trust domain): its length is part of every leaf's bytes. */
const spiffeId = (sa: string) => `spiffe://aws.prod.mesh.acme.example/ns/shop/sa/${sa}`;

/** One tls provider resource, as the emulator creates it for the pki stack. */
async function emulate(type: string, name: string, inputs: Record<string, unknown>): Promise<Record<string, any>> {
    const state = await tlsEmulator.create({
        type, name, urn: `urn:pulumi:bench::istio-production::${type}::${name}`, inputs, custom: true, project: "istio-production", stack: "bench",
    });
    return state.outputs;
}

const keyInputs = (spec: KeySpec) => (spec.algorithm === "RSA" ? { algorithm: "RSA", rsaBits: spec.rsaBits } : { algorithm: "ECDSA", ecdsaCurve: spec.ecdsaCurve });

export const describeKeys = (p: Profile) => [p.leaf, p.intermediate, p.root].map((k) => (k.algorithm === "RSA" ? `RSA-${k.rsaBits}` : k.ecdsaCurve.replace("P", "P-"))).join(" / ");

interface Hierarchy {
    readonly rootPem: string;
    readonly intermediatePem: string;
    readonly intermediate: Issuer;
    readonly intermediateKey: PrivateKeyInfo;
}

/** Root and intermediate with the subjects, usages and validities the pki stack gives them, so only keys differ. */
async function hierarchy(p: Profile): Promise<Hierarchy> {
    const rootKey = await emulate("tls:index/privateKey:PrivateKey", "root-key", keyInputs(p.root));
    const root = await emulate("tls:index/selfSignedCert:SelfSignedCert", "root-cert", {
        privateKeyPem: rootKey.privateKeyPem, subject: rootSubject("ACME Corp", "prod-root-1"),
        isCaCertificate: true, validityPeriodHours: 87600, allowedUses: CA_USES, maxPathLength: 1,
    });
    const intKey = await emulate("tls:index/privateKey:PrivateKey", "int-key", keyInputs(p.intermediate));
    const csr = await emulate("tls:index/certRequest:CertRequest", "int-csr", {
        privateKeyPem: intKey.privateKeyPem, subject: intermediateSubject("ACME Corp", "prod-aws-use1"),
    });
    // The pki stack's own signer: its name constraints are part of every chain a workload sends.
    const int = await signIntermediate({
        certRequestPem: csr.certRequestPem, caCertPem: root.certPem, caPrivateKeyPem: rootKey.privateKeyPem, cluster: "prod-aws-use1",
        trustDomain: "aws.prod.mesh.acme.example", nameConstraints: constraintsFor("aws.prod.mesh.acme.example", meshIssuerServingNames()),
        maxPathLength: 0, validityPeriodHours: 8760, earlyRenewalHours: 720,
    });
    return { rootPem: root.certPem, intermediatePem: int.certPem, intermediate: parseCertificatePem(int.certPem), intermediateKey: parsePrivateKeyPem(intKey.privateKeyPem) };
}

/** What the mesh CA does per workload: sign a 24 h certificate for the workload's key. */
function signLeaf(h: Hierarchy, leafKey: PublicKeyInfo, identity: string): Buffer {
    const notBefore = new Date();
    return createCertificate({
        serialNumber: BigInt("0x" + randomBytes(16).toString("hex")),
        notBefore,
        notAfter: new Date(notBefore.getTime() + 24 * 3_600_000),
        subject: nameFromSubject(undefined),
        sans: { dnsNames: [], ipAddresses: [], uris: [identity] },
        keyUsage: KEY_USAGES.digital_signature | KEY_USAGES.key_encipherment,
        extKeyUsage: [EXTENDED_KEY_USAGES.server_auth, EXTENDED_KEY_USAGES.client_auth],
        isCa: false,
        maxPathLen: 0,
    }, h.intermediate, leafKey, h.intermediateKey);
}

async function workload(h: Hierarchy, spec: KeySpec, sa: string) {
    const key = await generatePrivateKey(spec.algorithm, spec.algorithm === "RSA" ? spec.rsaBits : 2048, spec.algorithm === "ECDSA" ? spec.ecdsaCurve : "P256");
    const leafDer = signLeaf(h, key.publicKey, spiffeId(sa));
    return {
        leafDer,
        peer: { cert: pemEncode("CERTIFICATE", leafDer) + h.intermediatePem, key: key.key.export({ format: "pem", type: "pkcs8" }) as string, ca: [h.rootPem] },
        publicKey: key.publicKey,
    };
}

/** A prepared profile: its CAs and two workloads, server and client, that trust only the root. */
export interface PreparedProfile {
    readonly profile: Profile;
    readonly hierarchy: Hierarchy;
    readonly server: Awaited<ReturnType<typeof workload>>;
    readonly client: Awaited<ReturnType<typeof workload>>;
}

export async function prepare(profile: Profile): Promise<PreparedProfile> {
    const h = await hierarchy(profile);
    return { profile, hierarchy: h, server: await workload(h, profile.leaf, "server"), client: await workload(h, profile.leaf, "client") };
}

const TLS13 = { minVersion: "TLSv1.3", maxVersion: "TLSv1.3" } as const;

/**
 * `count` full handshakes, one after another, against one server on 127.0.0.1; both sides verify the other's chain up
 * to the root. No session is ever offered back, so none is resumed. Returns CPU ms per handshake.
 */
export async function handshakeCpuMs(p: PreparedProfile, count: number): Promise<number> {
    const server = tls.createServer({ ...p.server.peer, ...TLS13, requestCert: true, rejectUnauthorized: false });
    const accepted: tls.TLSSocket[] = [];
    server.on("secureConnection", (s) => accepted.push(s));
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    const { port } = server.address() as AddressInfo;
    try {
        const before = process.cpuUsage();
        for (let i = 0; i < count; i++) {
            const serverSide = once(server, "secureConnection") as Promise<[tls.TLSSocket]>;
            const client = tls.connect({ ...p.client.peer, ...TLS13, host: "127.0.0.1", port, rejectUnauthorized: false, checkServerIdentity: () => undefined });
            await once(client, "secureConnect");
            const [socket] = await serverSide;
            if (!client.authorized || !socket.authorized) {
                throw new Error(`${p.profile.label}: handshake not mutually authorized (client: ${client.authorizationError}, server: ${socket.authorizationError})`);
            }
            client.destroy();
            socket.destroy();
        }
        const used = process.cpuUsage(before);
        return (used.user + used.system) / 1000 / count;
    } finally {
        accepted.forEach((s) => s.destroy());
        server.close();
    }
}

/** Signs up to `count` workload certificates, stopping after `budgetMs`; returns certificates per second. */
export function issuancePerSecond(p: PreparedProfile, count: number, budgetMs: number): number {
    const started = performance.now();
    let issued = 0;
    while (issued < count && performance.now() - started < budgetMs) {
        signLeaf(p.hierarchy, p.client.publicKey, spiffeId(`workload-${issued}`));
        issued++;
    }
    return issued / ((performance.now() - started) / 1000);
}

export function chainBytes(p: PreparedProfile): number {
    return p.client.leafDer.length + pemDecode(p.hierarchy.intermediatePem)!.der.length;
}

/** Measures profiles side by side: handshake rounds alternate between profiles so that noise hits them alike. */
export async function measureProfiles(profiles: readonly Profile[], opts: { handshakes: number; rounds: number; issuance: number; issuanceBudgetMs: number }): Promise<ProfileCost[]> {
    const prepared: PreparedProfile[] = [];
    for (const p of profiles) prepared.push(await prepare(p));
    for (const p of prepared) await handshakeCpuMs(p, Math.min(20, opts.handshakes));
    const rounds = prepared.map(() => [] as number[]);
    for (let r = 0; r < opts.rounds; r++) {
        for (const [i, p] of prepared.entries()) rounds[i].push(await handshakeCpuMs(p, opts.handshakes));
    }
    return prepared.map((p, i) => ({
        label: p.profile.label,
        keys: describeKeys(p.profile),
        chainBytes: chainBytes(p),
        handshakeCpuMs: median(rounds[i]),
        handshakeCpuRoundsMs: rounds[i],
        issuancePerSecond: issuancePerSecond(p, opts.issuance, opts.issuanceBudgetMs),
    }));
}
