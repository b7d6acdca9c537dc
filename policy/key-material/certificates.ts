import { ResourceValidationPolicy } from "@pulumi/policy";
import { durationSchema, formatDuration, parseGoDuration } from "./durations";
import { EXEMPT_RESOURCES, KubernetesObject, validateKind } from "./support";

/**
 * cert-manager `Certificate`s (custom resources, matched by type token): the key cert-manager generates, how often
 * it is replaced, how long a certificate lives and when it is renewed, who may issue CA certificates. Each rule
 * applies cert-manager's defaults where a field is unset (cert-manager v1.21: pkg/apis/certmanager/v1).
 */

const GROUP = "cert-manager.io";
const KIND = "Certificate";

/** cert-manager's defaults for unset fields. */
const DEFAULT_ALGORITHM = "RSA";
const DEFAULT_RSA_SIZE = 2048;
const DEFAULT_ECDSA_SIZE = 256;
const DEFAULT_DURATION_SECONDS = 90 * 24 * 3600;

const CA_USAGES = ["cert sign", "crl sign"];

interface CertificateSpec {
    readonly privateKey?: { readonly algorithm?: string; readonly size?: number; readonly rotationPolicy?: string };
    readonly duration?: string;
    readonly renewBefore?: string;
    readonly renewBeforePercentage?: number;
    readonly isCA?: boolean;
    readonly usages?: string[];
    readonly issuerRef?: { readonly name?: string; readonly kind?: string; readonly group?: string };
}

const specOf = (obj: KubernetesObject): CertificateSpec => obj.spec ?? {};

export const certificatePrivateKey: ResourceValidationPolicy = {
    name: "certificate-private-key",
    description: "cert-manager Certificates generate an RSA key of at least minRsaBits, an allowed ECDSA size, or Ed25519 (an unset key is cert-manager's RSA 2048).",
    enforcementLevel: "mandatory",
    configSchema: {
        properties: {
            minRsaBits: { type: "integer", minimum: 2048, default: 3072 },
            allowedEcdsaSizes: { type: "array", items: { type: "integer", enum: [256, 384, 521] }, default: [256, 384, 521] },
            allowEd25519: { type: "boolean", default: true },
            exemptResources: EXEMPT_RESOURCES,
        },
    },
    validateResource: validateKind(GROUP, KIND, (cert, args, report) => {
        const { minRsaBits, allowedEcdsaSizes, allowEd25519 } = args.getConfig<{ minRsaBits: number; allowedEcdsaSizes: number[]; allowEd25519: boolean }>();
        const key = specOf(cert).privateKey ?? {};
        const algorithm = key.algorithm ?? DEFAULT_ALGORITHM;
        const unset = (["algorithm", "size"] as const).filter((f) => key[f] === undefined).map((f) => `spec.privateKey.${f}`);
        const defaulted = unset.length > 0 ? ` (${unset.join(" and ")} unset: cert-manager's default)` : "";
        if (algorithm === "RSA") {
            const size = key.size ?? DEFAULT_RSA_SIZE;
            if (size < minRsaBits || size % 8 !== 0) {
                report(`spec.privateKey is RSA ${size} bits${defaulted}: set spec.privateKey.size to at least ${minRsaBits} (a multiple of 8), or algorithm ECDSA with size ${allowedEcdsaSizes.join(", ")}`);
            }
        } else if (algorithm === "ECDSA") {
            const size = key.size ?? DEFAULT_ECDSA_SIZE;
            if (!allowedEcdsaSizes.includes(size)) report(`spec.privateKey is ECDSA ${size}${defaulted}: set spec.privateKey.size to one of ${allowedEcdsaSizes.join(", ")}`);
        } else if (algorithm === "Ed25519") {
            if (!allowEd25519) report("spec.privateKey is Ed25519, which this pack's config does not allow: use ECDSA (spec.privateKey.algorithm and size)");
        } else {
            report(`spec.privateKey.algorithm ${JSON.stringify(algorithm)} is not a cert-manager key algorithm: use ECDSA, RSA or Ed25519`);
        }
    }),
};

export const certificateKeyRotation: ResourceValidationPolicy = {
    name: "certificate-key-rotation",
    description: "cert-manager Certificates set privateKey.rotationPolicy Always explicitly: a new key on every renewal, whatever cert-manager version runs the cluster.",
    enforcementLevel: "mandatory",
    configSchema: { properties: { exemptResources: EXEMPT_RESOURCES } },
    validateResource: validateKind(GROUP, KIND, (cert, _args, report) => {
        const policy = specOf(cert).privateKey?.rotationPolicy;
        if (policy === "Always") return;
        report(policy === undefined
            ? "spec.privateKey.rotationPolicy is not set: cert-manager before v1.18 defaults to Never (one key for every renewal), later versions to Always; set it to Always so key rotation does not depend on the cluster's cert-manager version"
            : `spec.privateKey.rotationPolicy is ${JSON.stringify(policy)}: the key is reused across renewals, so a leaked key outlives every renewed certificate; set it to Always`);
    }),
};

export const certificateLifetime: ResourceValidationPolicy = {
    name: "certificate-lifetime",
    description: "cert-manager Certificates live between minDuration and maxDuration (unset: cert-manager's 90 days) and are renewed with at least minRenewBeforePercent and at most a third of their lifetime left.",
    enforcementLevel: "mandatory",
    configSchema: {
        properties: {
            maxDuration: durationSchema("2160h", "Longest spec.duration (Go duration); 2160h is cert-manager's default of 90 days."),
            minDuration: durationSchema("1h", "Shortest spec.duration (Go duration); cert-manager itself refuses less than 1h."),
            minRenewBeforePercent: {
                type: "integer", minimum: 1, maximum: 33, default: 10,
                description: "Smallest renewal window, as a percentage of the lifetime: time to notice and repair a failing issuer before the certificate expires.",
            },
            exemptResources: EXEMPT_RESOURCES,
        },
    },
    validateResource: validateKind(GROUP, KIND, (cert, args, report) => {
        const config = args.getConfig<{ maxDuration: string; minDuration: string; minRenewBeforePercent: number }>();
        const max = parseGoDuration(config.maxDuration)!;
        const min = parseGoDuration(config.minDuration)!;
        const spec = specOf(cert);
        const duration = spec.duration === undefined ? DEFAULT_DURATION_SECONDS : parseGoDuration(spec.duration);
        const shown = spec.duration === undefined ? "2160h (unset: cert-manager's default)" : spec.duration;
        if (duration === undefined || duration <= 0) {
            report(`spec.duration ${JSON.stringify(spec.duration)} is not a positive Go duration: write it like "2160h" or "1h30m"`);
            return;
        }
        if (duration > max) report(`spec.duration ${shown} exceeds ${config.maxDuration}: a certificate (and a stolen key) stays valid that long; lower spec.duration`);
        if (duration < min) report(`spec.duration ${shown} is shorter than ${config.minDuration}: raise spec.duration`);

        if (spec.renewBefore !== undefined && spec.renewBeforePercentage !== undefined) {
            report("spec.renewBefore and spec.renewBeforePercentage are both set: cert-manager accepts only one; keep one of them");
            return;
        }
        let window: number;
        let described: string;
        if (spec.renewBefore !== undefined) {
            const parsed = parseGoDuration(spec.renewBefore);
            if (parsed === undefined || parsed <= 0) {
                report(`spec.renewBefore ${JSON.stringify(spec.renewBefore)} is not a positive Go duration: write it like "720h"`);
                return;
            }
            window = parsed;
            described = `spec.renewBefore ${spec.renewBefore}`;
        } else if (spec.renewBeforePercentage !== undefined) {
            window = (duration * spec.renewBeforePercentage) / 100;
            described = `spec.renewBeforePercentage ${spec.renewBeforePercentage}`;
        } else {
            // cert-manager renews at 2/3 of the lifetime when neither is set: inside the window by construction.
            return;
        }
        // Tolerance for float rounding of fractional durations; real values are whole seconds.
        const epsilon = 1e-6;
        if (window >= duration) {
            report(`${described} is not shorter than spec.duration ${shown}: cert-manager would re-issue continuously (its webhook refuses it); renew at most a third of the lifetime before expiry (${formatDuration(duration / 3)})`);
        } else if (window * 3 > duration + epsilon) {
            report(`${described} renews more than a third of the lifetime (${formatDuration(duration / 3)} of ${shown}) before expiry: earlier than cert-manager's default, which only adds issuance (and ACME rate limits) without adding safety; lower it or leave it unset`);
        } else if (window * 100 < duration * config.minRenewBeforePercent - epsilon) {
            report(`${described} leaves less than ${config.minRenewBeforePercent}% of the lifetime (${formatDuration((duration * config.minRenewBeforePercent) / 100)} of ${shown}) to renew: a failing issuer would let the certificate expire before anyone can react; raise it or leave it unset (cert-manager renews at 2/3 of the lifetime)`);
        }
    }),
};

export const certificateCaIssuer: ResourceValidationPolicy = {
    name: "certificate-ca-issuer",
    description: "A cert-manager Certificate with isCA true is issued only by an approved CA issuer: CA certificates of the mesh come from the offline pki stack.",
    enforcementLevel: "mandatory",
    configSchema: {
        properties: {
            approvedCaIssuers: {
                type: "array", items: { type: "string", pattern: "^[A-Za-z]+/[^/]+$" }, default: [],
                description: "Issuers allowed to sign CA certificates, as <kind>/<name> of spec.issuerRef (kind Issuer when unset), e.g. ClusterIssuer/bootstrap-ca.",
            },
            exemptResources: EXEMPT_RESOURCES,
        },
    },
    validateResource: validateKind(GROUP, KIND, (cert, args, report) => {
        const spec = specOf(cert);
        if (spec.isCA !== true) return;
        const { approvedCaIssuers } = args.getConfig<{ approvedCaIssuers: string[] }>();
        const issuer = `${spec.issuerRef?.kind ?? "Issuer"}/${spec.issuerRef?.name ?? "(unset)"}`;
        if (approvedCaIssuers.includes(issuer)) return;
        report(`spec.isCA is true with issuer ${issuer}, which is not an approved CA issuer (${approvedCaIssuers.join(", ") || "none are"}): a CA certificate signs identities everything under this root trusts; take intermediates from the pki stack, or add "${issuer}" to approvedCaIssuers in the pack config`);
    }),
};

export const certificateLeafUsages: ResourceValidationPolicy = {
    name: "certificate-leaf-usages",
    description: "cert-manager Certificates that are not CAs carry no cert sign or crl sign usage.",
    enforcementLevel: "mandatory",
    configSchema: { properties: { exemptResources: EXEMPT_RESOURCES } },
    validateResource: validateKind(GROUP, KIND, (cert, _args, report) => {
        const spec = specOf(cert);
        if (spec.isCA === true) return;
        for (const usage of (spec.usages ?? []).filter((u) => CA_USAGES.includes(u))) {
            report(`spec.usages has "${usage}" on a certificate that is not a CA (spec.isCA is not true): a leaf key must not sign certificates or CRLs; remove "${usage}" from spec.usages`);
        }
    }),
};

export const certificatePolicies = [certificatePrivateKey, certificateKeyRotation, certificateLifetime, certificateCaIssuer, certificateLeafUsages];
