import * as pulumi from "@pulumi/pulumi";
import { encodeNameConstraints, NameConstraints } from "./nameConstraints";

/**
 * A cluster's intermediate CA certificate, signed from its CSR by the environment's root, with what the tls provider
 * cannot emit: `pathlen:0` (its `maxPathLength: 0` emits no pathlen) and critical name constraints (it has no such
 * input). A Pulumi dynamic resource: the Pulumi CLI runs the provider below in its Node.js dynamic provider host
 * (@pulumi/pulumi cmd/dynamic-provider), the offline engine runs the same serialized code
 * (engine/emulation/dynamic.ts).
 *
 * Everything `create` reaches is serialized into the resource's `__provider` input, so modules are required inside
 * the functions (as Pulumi's closure serializer recommends), never captured from this module's imports.
 */
export interface IntermediateCertificateArgs {
    readonly certRequestPem: pulumi.Input<string>;
    readonly caCertPem: pulumi.Input<string>;
    /** Secret; never echoed in the resource's outputs. */
    readonly caPrivateKeyPem: pulumi.Input<string>;
    /** The cluster the intermediate signs for; named in every error. */
    readonly cluster: string;
    /** The cluster's SPIFFE trust domain, the one URI host the constraints may permit. */
    readonly trustDomain: string;
    readonly nameConstraints: NameConstraints;
    readonly validityPeriodHours: number;
    /** `pulumi up` replaces the certificate once it is this close to expiry. */
    readonly earlyRenewalHours: number;
}

/** The inputs as the provider receives them: the args resolved, plus the fixed path length. */
export interface IntermediateCertificateInputs extends Omit<IntermediateCertificateArgs, "certRequestPem" | "caCertPem" | "caPrivateKeyPem"> {
    readonly certRequestPem: string;
    readonly caCertPem: string;
    readonly caPrivateKeyPem: string;
    readonly maxPathLength: number;
}

export interface IntermediateCertificateOutputs extends Omit<IntermediateCertificateInputs, "caPrivateKeyPem"> {
    readonly certPem: string;
    /** RFC 3339, as the tls provider writes them. */
    readonly validityStartTime: string;
    readonly validityEndTime: string;
}

/**
 * An input change that needs a new certificate. The root key is not compared: it never reaches the state.
 * `earlyRenewalHours` is not one: it changes only when the next `pulumi up` re-issues, not what is signed, and the tls
 * provider updates it in place (hashicorp/terraform-provider-tls internal/provider/resource_locally_signed_cert.go,
 * commit 14621e27: `early_renewal_hours` has no RequiresReplace, `validity_period_hours` does).
 */
export const REPLACE_ON = ["certRequestPem", "caCertPem", "cluster", "trustDomain", "nameConstraints", "validityPeriodHours", "maxPathLength"] as const;

/** Problems with the inputs, as the provider's `check` reports them (property, reason). */
export function checkIntermediateInputs(inputs: Partial<IntermediateCertificateInputs>): Array<{ property: string; reason: string }> {
    const failures: Array<{ property: string; reason: string }> = [];
    const where = `the intermediate of cluster ${inputs.cluster ?? "(unnamed)"}`;
    const nc = inputs.nameConstraints;
    if (!nc?.permittedUriDomains?.length) failures.push({ property: "nameConstraints", reason: `${where} must permit its trust domain's URIs and no others` });
    if (!nc?.permittedDnsNames?.length) failures.push({ property: "nameConstraints", reason: `${where} must permit the DNS names its issuer serves and no others` });
    if (inputs.maxPathLength !== 0) failures.push({ property: "maxPathLength", reason: `${where} must be pathlen:0, got ${inputs.maxPathLength}` });
    const hours = inputs.validityPeriodHours;
    if (!Number.isInteger(hours) || hours! <= 0) failures.push({ property: "validityPeriodHours", reason: `${where}: must be a positive number of hours, got ${hours}` });
    const early = inputs.earlyRenewalHours;
    if (!Number.isInteger(early) || early! < 0 || early! >= hours!) failures.push({ property: "earlyRenewalHours", reason: `${where}: must be at least 0 and less than validityPeriodHours, got ${early}` });
    return failures;
}

/**
 * The signature the tls provider's certificates carry, Go's choice for a signer (golang/go src/crypto/x509/x509.go
 * `signingParamsForKey`): the hash follows the ECDSA curve; RSA signs with SHA-256 and PKCS #1 v1.5.
 */
function signatureAlgorithm(key: import("node:crypto").KeyObject): { name: string; hash: string; namedCurve?: string } {
    if (key.asymmetricKeyType === "rsa") return { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" };
    const curve = key.asymmetricKeyDetails?.namedCurve;
    const byCurve: Record<string, [string, string]> = { prime256v1: ["P-256", "SHA-256"], secp384r1: ["P-384", "SHA-384"], secp521r1: ["P-521", "SHA-512"] };
    if (key.asymmetricKeyType !== "ec" || !curve || !byCurve[curve]) throw new Error(`unsupported CA key type ${key.asymmetricKeyType} ${curve ?? ""}: use ECDSA P-256/P-384/P-521 or RSA`);
    return { name: "ECDSA", namedCurve: byCurve[curve][0], hash: byCurve[curve][1] };
}

/** Seconds precision: X.509 times carry no fraction, and the outputs must name the certificate's own times. */
function rfc3339(d: Date): string {
    return d.toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** Signs the CSR as a CA certificate with the key usages the tls provider gave intermediates, plus the constraints. */
export async function signIntermediate(inputs: IntermediateCertificateInputs): Promise<IntermediateCertificateOutputs> {
    require("reflect-metadata");
    const x509: typeof import("@peculiar/x509") = require("@peculiar/x509");
    const nodeCrypto: typeof import("node:crypto") = require("node:crypto");
    const where = `the intermediate of cluster ${inputs.cluster}`;
    const csr = new x509.Pkcs10CertificateRequest(inputs.certRequestPem);
    if (!(await csr.verify())) throw new Error(`${where}: the CSR is not signed by its own key`);
    const issuer = new x509.X509Certificate(inputs.caCertPem);
    const caKey = nodeCrypto.createPrivateKey(inputs.caPrivateKeyPem);
    if (!new nodeCrypto.X509Certificate(inputs.caCertPem).checkPrivateKey(caKey)) throw new Error(`${where}: the CA key is not the key of the CA certificate`);
    const algorithm = signatureAlgorithm(caKey);
    // Node's WebCrypto is the global `crypto` @peculiar/x509 signs with by default.
    const signingKey = await nodeCrypto.webcrypto.subtle.importKey("pkcs8", caKey.export({ format: "der", type: "pkcs8" }), algorithm, false, ["sign"]);
    const notBefore = new Date(Math.floor(Date.now() / 1000) * 1000);
    const notAfter = new Date(notBefore.getTime() + inputs.validityPeriodHours * 3_600_000);
    // 128 random bits, as the tls provider draws serials; the top bit clear keeps the DER INTEGER positive.
    const serial = nodeCrypto.randomBytes(16);
    serial[0] = (serial[0] & 0x7f) | 0x01;
    const issuerKeyId = issuer.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId;
    const usages = x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature;
    const cert = await x509.X509CertificateGenerator.create({
        serialNumber: serial.toString("hex"),
        subject: csr.subjectName,
        issuer: issuer.subjectName,
        notBefore,
        notAfter,
        publicKey: csr.publicKey,
        signingKey,
        signingAlgorithm: algorithm,
        extensions: [
            new x509.BasicConstraintsExtension(true, inputs.maxPathLength, true),
            new x509.KeyUsagesExtension(usages, true),
            await x509.SubjectKeyIdentifierExtension.create(csr.publicKey),
            ...(issuerKeyId ? [new x509.AuthorityKeyIdentifierExtension(issuerKeyId)] : []),
            // Critical: a verifier that cannot enforce the constraints must refuse the chain (RFC 5280 §4.2.1.10).
            new x509.Extension("2.5.29.30", true, encodeNameConstraints(inputs.nameConstraints)),
        ],
    });
    const { caPrivateKeyPem: _key, ...published } = inputs;
    return { ...published, certPem: `${cert.toString("pem")}\n`, validityStartTime: rfc3339(notBefore), validityEndTime: rfc3339(notAfter) };
}

export const intermediateCertificateProvider: pulumi.dynamic.ResourceProvider<IntermediateCertificateInputs, IntermediateCertificateOutputs> = {
    async check(_olds, news) {
        return { inputs: news, failures: checkIntermediateInputs(news) };
    },
    async diff(_id, olds, news) {
        const replaces: string[] = REPLACE_ON.filter((k) => JSON.stringify(olds[k]) !== JSON.stringify(news[k]));
        // The tls provider's ready_for_renewal: inside the early-renewal window the next `pulumi up` re-issues. A state
        // without a readable end time (written before it was recorded) is not a reason to re-sign: NaN is no deadline.
        const renewAt = Date.parse(olds.validityEndTime) - news.earlyRenewalHours * 3_600_000;
        if (Number.isFinite(renewAt) && Date.now() >= renewAt) replaces.push("validityEndTime");
        const changes = replaces.length > 0 || olds.earlyRenewalHours !== news.earlyRenewalHours;
        return { changes, replaces, deleteBeforeReplace: false };
    },
    /** Only `earlyRenewalHours` changes without a replacement: the certificate stays as signed. */
    async update(_id, olds, news) {
        return { outs: { ...olds, earlyRenewalHours: news.earlyRenewalHours } };
    },
    async create(inputs) {
        const failures = checkIntermediateInputs(inputs);
        if (failures.length) throw new Error(failures.map((f) => `${f.property}: ${f.reason}`).join("; "));
        const outs = await signIntermediate(inputs);
        const serial: string = new (require("node:crypto") as typeof import("node:crypto")).X509Certificate(outs.certPem).serialNumber;
        return { id: serial.toLowerCase(), outs };
    },
};

/**
 * The name-constrained intermediate certificate. `caPrivateKeyPem` stays a secret input (the dynamic provider
 * host takes no secrets, so the engine keeps it secret in state) and is listed in `additionalSecretOutputs` should
 * any engine echo inputs into outputs.
 */
export class IntermediateCertificate extends pulumi.dynamic.Resource {
    declare readonly certPem: pulumi.Output<string>;
    declare readonly validityStartTime: pulumi.Output<string>;
    declare readonly validityEndTime: pulumi.Output<string>;

    constructor(name: string, args: IntermediateCertificateArgs, opts: pulumi.CustomResourceOptions = {}) {
        super(intermediateCertificateProvider, name, { ...args, maxPathLength: 0, certPem: undefined, validityStartTime: undefined, validityEndTime: undefined },
            {
                ...opts, additionalSecretOutputs: [...(opts.additionalSecretOutputs ?? []), "caPrivateKeyPem"],
                // What the diff above replaces on, declared as an option too, which the offline plan's comparison reads.
                // A real engine changes nothing for it: the dynamic provider host reports no detailed diff, so
                // applyReplaceOnChanges has no changed key to match (pulumi/pulumi v3.248.0).
                replaceOnChanges: [...(opts.replaceOnChanges ?? []), ...REPLACE_ON],
            }, "pki", "IntermediateCertificate");
    }
}
