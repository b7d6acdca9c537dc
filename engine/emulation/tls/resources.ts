/**
 * The four @pulumi/tls 5.6.1 resources (terraform-provider-tls 4.3): plan-time validation first, as the framework's
 * validators run before Create, then each resource's Create with the provider's error texts ("summary: detail").
 */
import { randomBytes } from "../../reproducible";
import { EmulatedState, ProviderEmulator, ProviderInputError, ResourceRequest } from "../types";
import { pemEncode } from "./der";
import {
    ALGORITHMS, CURVES, generatePrivateKey, hashForState, parsePrivateKeyPem, PrivateKeyInfo, privateKeyOpenssh,
    privateKeyPem, privateKeyPemPkcs8, PublicKeyInfo, publicKeyOutputs, subjectKeyId,
} from "./keys";
import { Name, nameFromSubject, normaliseUri, parseIp, SubjectAltNames, SubjectInput } from "./names";
import {
    createCertificate, createCertificateRequest, EXTENDED_KEY_USAGES, Issuer, KEY_USAGES, parseCertificatePem,
    parseCertificateRequestPem,
} from "./x509";

const SUPPORTED_USES = [...Object.keys(KEY_USAGES), ...Object.keys(EXTENDED_KEY_USAGES)].sort();
const HOUR_MS = 3_600_000;

/** Reads one request's inputs the way the provider's schema and validators would, refusing with their wording. */
class Inputs {
    constructor(private readonly req: ResourceRequest) {}

    refuse(summary: string, detail: string): never {
        throw new ProviderInputError(this.req.type, this.req.name, `${summary}: ${detail}`);
    }

    private value(name: string): unknown {
        return this.req.inputs[name] ?? undefined;
    }

    /** Absent required inputs are caught by the Pulumi SDK before registration; the wording is the SDK's. */
    private missing(name: string): never {
        return this.refuse("Missing required property", `'${name}'`);
    }

    string(name: string): string | undefined {
        const v = this.value(name);
        if (v !== undefined && typeof v !== "string") this.refuse("Incorrect attribute value type", `${name} must be a string`);
        return v;
    }

    oneOf<T extends string>(name: string, tfName: string, allowed: readonly T[], fallback?: T): T {
        const v = this.string(name) ?? fallback;
        if (v === undefined) return this.missing(name);
        if (!allowed.includes(v as T)) {
            this.refuse("Invalid Attribute Value Match", `Attribute ${tfName} value must be one of: [${allowed.map((a) => JSON.stringify(a)).join(" ")}], got: ${JSON.stringify(v)}`);
        }
        return v as T;
    }

    int(name: string, tfName: string, atLeast: number | undefined, fallback?: number): number {
        const v = this.value(name) ?? fallback;
        if (v === undefined) return this.missing(name);
        if (typeof v !== "number" || !Number.isInteger(v)) this.refuse("Incorrect attribute value type", `${name} must be an integer, got: ${JSON.stringify(v)}`);
        if (atLeast !== undefined && v < atLeast) this.refuse("Invalid Attribute Value", `Attribute ${tfName} value must be at least ${atLeast}, got: ${v}`);
        return v;
    }

    optionalInt(name: string, tfName: string, atLeast: number): number | undefined {
        return this.value(name) === undefined ? undefined : this.int(name, tfName, atLeast);
    }

    bool(name: string): boolean {
        const v = this.value(name) ?? false;
        if (typeof v !== "boolean") this.refuse("Incorrect attribute value type", `${name} must be a boolean`);
        return v;
    }

    /** A list of strings; `nonEmptyElements` is the provider's LengthAtLeast(1) element validator. */
    strings(name: string, tfName: string, nonEmptyElements = false): string[] {
        const v = this.value(name) ?? [];
        if (!Array.isArray(v) || v.some((e) => typeof e !== "string")) this.refuse("Incorrect attribute value type", `${name} must be a list of strings`);
        for (const e of v as string[]) {
            if (nonEmptyElements && e.length < 1) this.refuse("Invalid Attribute Value Length", `Attribute ${tfName}[Value("")] string length must be at least 1, got: 0`);
        }
        return v;
    }

    /** `allowed_uses` is required and validated against the provider's snake_case names. */
    allowedUses(): string[] {
        if (this.value("allowedUses") === undefined) return this.missing("allowedUses");
        const uses = this.strings("allowedUses", "allowed_uses");
        for (const use of uses) {
            if (!SUPPORTED_USES.includes(use)) {
                this.refuse("Invalid Attribute Value Match", `Attribute allowed_uses[Value(${JSON.stringify(use)})] value must be one of: [${SUPPORTED_USES.map((u) => JSON.stringify(u)).join(" ")}], got: ${JSON.stringify(use)}`);
            }
        }
        return uses;
    }

    /** A PEM given either plainly or write-only: ExactlyOneOf(pem, pem_wo) and AlsoRequires(pem_wo, pem_wo_version). */
    keyPem(name: string, tfName: string): string {
        const plain = this.string(name);
        const writeOnly = this.string(`${name}Wo`);
        if ((plain === undefined) === (writeOnly === undefined)) {
            this.refuse("Invalid Attribute Combination", `${plain === undefined ? "No attribute" : "2 attributes"} specified when one (and only one) of [${tfName},${tfName}_wo] is required`);
        }
        const version = this.value(`${name}WoVersion`);
        if ((writeOnly === undefined) !== (version === undefined)) {
            const [given, needed] = writeOnly === undefined ? [`${tfName}_wo_version`, `${tfName}_wo`] : [`${tfName}_wo`, `${tfName}_wo_version`];
            this.refuse("Invalid Attribute Combination", `Attribute "${needed}" must be specified when "${given}" is specified`);
        }
        return (plain ?? writeOnly)!;
    }

    /** Parses the certificate's subject alternative names as the provider's Create does, in its order. */
    sans(): SubjectAltNames {
        const dnsNames = this.strings("dnsNames", "dns_names");
        const ipAddresses = this.strings("ipAddresses", "ip_addresses", true).map(
            (ip) => parseIp(ip) ?? this.refuse("Invalid IP address", `Failed to parse ${JSON.stringify(ip)}`),
        );
        const uris = this.strings("uris", "uris", true).map((uri) => {
            try {
                return normaliseUri(uri);
            } catch (err) {
                return this.refuse("Invalid URI", `Failed to parse ${JSON.stringify(uri)}: ${(err as Error).message}`);
            }
        });
        return { dnsNames, ipAddresses, uris };
    }

    subject(): Name {
        return nameFromSubject(this.value("subject") as SubjectInput | undefined);
    }

    /** The write-only twin never reaches state. */
    writeOnlyCleared(name: string): Record<string, null> {
        return this.value(`${name}Wo`) === undefined ? {} : { [`${name}Wo`]: null };
    }
}

function parseKey(inputs: Inputs, pem: string, summary: string): PrivateKeyInfo {
    try {
        return parsePrivateKeyPem(pem);
    } catch (err) {
        return inputs.refuse(summary, (err as Error).message);
    }
}

/** Go's time.Time.MarshalText (RFC 3339 with trailing fractional zeros dropped), in UTC. */
const rfc3339 = (date: Date): string => date.toISOString().replace(/\.?0+Z$/, "Z");

interface CertificateSettings {
    readonly validityPeriodHours: number;
    readonly earlyRenewalHours: number;
    readonly allowedUses: readonly string[];
    readonly isCaCertificate: boolean;
    readonly maxPathLength?: number;
    readonly setSubjectKeyId: boolean;
    readonly setAuthorityKeyId: boolean;
}

/** Plan-time checks shared by SelfSignedCert and LocallySignedCert, with the schema defaults filled in. */
function certificateSettings(inputs: Inputs): CertificateSettings {
    return {
        validityPeriodHours: inputs.int("validityPeriodHours", "validity_period_hours", 0),
        allowedUses: inputs.allowedUses(),
        earlyRenewalHours: inputs.int("earlyRenewalHours", "early_renewal_hours", 0, 0),
        isCaCertificate: inputs.bool("isCaCertificate"),
        maxPathLength: inputs.optionalInt("maxPathLength", "max_path_length", -1),
        setSubjectKeyId: inputs.bool("setSubjectKeyId"),
        setAuthorityKeyId: inputs.bool("setAuthorityKeyId"),
    };
}

/** The provider's createCertificate (common_cert.go) followed by Go's x509.CreateCertificate. */
function issue(
    inputs: Inputs,
    settings: CertificateSettings,
    subject: Name,
    sans: SubjectAltNames,
    subjectKey: PublicKeyInfo,
    signer: PrivateKeyInfo,
    issuer: Issuer | undefined,
): EmulatedState {
    const notBefore = new Date(Date.now());
    const notAfter = new Date(notBefore.getTime() + settings.validityPeriodHours * HOUR_MS);
    const serialNumber = BigInt("0x" + randomBytes(16).toString("hex"));

    let keyUsage = 0;
    const extKeyUsage: string[] = [];
    for (const use of settings.allowedUses) {
        if (use in KEY_USAGES) keyUsage |= KEY_USAGES[use as keyof typeof KEY_USAGES];
        else extKeyUsage.push(EXTENDED_KEY_USAGES[use as keyof typeof EXTENDED_KEY_USAGES]);
    }
    if (settings.isCaCertificate && subject.isZero) {
        inputs.refuse("Invalid Certificate Subject", "Must contain at least one Distinguished Name when creating Certificate Authority (CA)");
    }
    const ownKeyId = settings.isCaCertificate || settings.setSubjectKeyId ? subjectKeyId(subjectKey) : undefined;
    // A self-signed certificate is its own parent, so its authority key id can only be its own subject key id.
    if (settings.setAuthorityKeyId && !ownKeyId) {
        inputs.refuse("Invalid Certificate Authority", "Could not determine Authority Key Identifier");
    }

    let der: Buffer;
    try {
        der = createCertificate(
            {
                serialNumber,
                notBefore,
                notAfter,
                subject,
                sans,
                keyUsage,
                extKeyUsage,
                isCa: settings.isCaCertificate,
                // The provider sets MaxPathLen but never MaxPathLenZero, so 0 ends up meaning "unlimited".
                maxPathLen: settings.maxPathLength !== undefined && settings.maxPathLength >= 0 ? settings.maxPathLength : 0,
                subjectKeyId: ownKeyId,
                authorityKeyId: settings.setAuthorityKeyId ? ownKeyId : undefined,
            },
            issuer,
            subjectKey,
            signer,
        );
    } catch (err) {
        return inputs.refuse("Failed to create certificate", (err as Error).message);
    }

    return {
        id: serialNumber.toString(10),
        outputs: {
            certPem: pemEncode("CERTIFICATE", der),
            validityStartTime: rfc3339(notBefore),
            validityEndTime: rfc3339(notAfter),
            // What the provider's Read reports: due once within early_renewal_hours of the end.
            readyForRenewal: notAfter.getTime() - settings.earlyRenewalHours * HOUR_MS <= Date.now(),
            earlyRenewalHours: settings.earlyRenewalHours,
            isCaCertificate: settings.isCaCertificate,
            setSubjectKeyId: settings.setSubjectKeyId,
        },
    };
}

async function privateKey(inputs: Inputs): Promise<EmulatedState> {
    const algorithm = inputs.oneOf("algorithm", "algorithm", ALGORITHMS);
    const rsaBits = inputs.int("rsaBits", "rsa_bits", undefined, 2048);
    const ecdsaCurve = inputs.oneOf("ecdsaCurve", "ecdsa_curve", CURVES, "P224");
    let key: PrivateKeyInfo;
    try {
        key = await generatePrivateKey(algorithm, rsaBits, ecdsaCurve);
    } catch (err) {
        return inputs.refuse("Unable to generate Key from configuration", (err as Error).message);
    }
    const { id, ...publicOutputs } = publicKeyOutputs(key.publicKey);
    return {
        id,
        outputs: {
            algorithm,
            rsaBits,
            ecdsaCurve,
            privateKeyPem: privateKeyPem(key),
            privateKeyPemPkcs8: privateKeyPemPkcs8(key),
            privateKeyOpenssh: privateKeyOpenssh(key),
            ...publicOutputs,
        },
        secretOutputs: ["privateKeyPem", "privateKeyPemPkcs8", "privateKeyOpenssh"],
    };
}

function selfSignedCert(inputs: Inputs): EmulatedState {
    const pem = inputs.keyPem("privateKeyPem", "private_key_pem");
    const settings = certificateSettings(inputs);
    const key = parseKey(inputs, pem, "Failed to parse private key PEM");
    const state = issue(inputs, settings, inputs.subject(), inputs.sans(), key.publicKey, key, undefined);
    return {
        ...state,
        outputs: {
            ...state.outputs,
            keyAlgorithm: key.publicKey.algorithm,
            setAuthorityKeyId: settings.setAuthorityKeyId,
            ...inputs.writeOnlyCleared("privateKeyPem"),
        },
        secretOutputs: ["privateKeyPem", "privateKeyPemWo"],
    };
}

function certRequest(inputs: Inputs): EmulatedState {
    const pem = inputs.keyPem("privateKeyPem", "private_key_pem");
    const key = parseKey(inputs, pem, "Failed to parse private key PEM");
    const subject = inputs.subject();
    const sans = inputs.sans();
    let der: Buffer;
    try {
        der = createCertificateRequest(subject, sans, key);
    } catch (err) {
        return inputs.refuse("Error creating certificate request", (err as Error).message);
    }
    return {
        id: hashForState(der),
        outputs: {
            certRequestPem: pemEncode("CERTIFICATE REQUEST", der),
            keyAlgorithm: key.publicKey.algorithm,
            ...inputs.writeOnlyCleared("privateKeyPem"),
        },
        secretOutputs: ["privateKeyPem", "privateKeyPemWo"],
    };
}

function locallySignedCert(inputs: Inputs): EmulatedState {
    const csrPem = inputs.string("certRequestPem") ?? inputs.refuse("Missing required property", "'certRequestPem'");
    const caCertPem = inputs.string("caCertPem") ?? inputs.refuse("Missing required property", "'caCertPem'");
    const caKeyPem = inputs.keyPem("caPrivateKeyPem", "ca_private_key_pem");
    // The schema has no set_authority_key_id: Go derives the AKID from the CA certificate's SKID by itself.
    const settings = { ...certificateSettings(inputs), setAuthorityKeyId: false };

    let csr: ReturnType<typeof parseCertificateRequestPem>;
    try {
        csr = parseCertificateRequestPem(csrPem);
    } catch (err) {
        return inputs.refuse("Failed to parse certificate request PEM", (err as Error).message);
    }
    const caKey = parseKey(inputs, caKeyPem, "Failed to parse CA private key PEM");
    let caCert: Issuer;
    try {
        caCert = parseCertificatePem(caCertPem);
    } catch (err) {
        return inputs.refuse("Failed to parse CA certificate PEM", (err as Error).message);
    }
    const state = issue(inputs, settings, csr.subject, csr.sans, csr.publicKey, caKey, caCert);
    return {
        ...state,
        outputs: { ...state.outputs, caKeyAlgorithm: caKey.publicKey.algorithm, ...inputs.writeOnlyCleared("caPrivateKeyPem") },
        secretOutputs: ["caPrivateKeyPem", "caPrivateKeyPemWo"],
    };
}

const RESOURCES: Record<string, (inputs: Inputs) => EmulatedState | Promise<EmulatedState>> = {
    "tls:index/privateKey:PrivateKey": privateKey,
    "tls:index/selfSignedCert:SelfSignedCert": selfSignedCert,
    "tls:index/certRequest:CertRequest": certRequest,
    "tls:index/locallySignedCert:LocallySignedCert": locallySignedCert,
};

export const tlsEmulator: ProviderEmulator = {
    pkg: "tls",
    async create(req: ResourceRequest): Promise<EmulatedState> {
        const create = RESOURCES[req.type];
        if (!create) throw new ProviderInputError(req.type, req.name, `unrecognized resource type (Check): ${req.type}`);
        return create(new Inputs(req));
    },
};
