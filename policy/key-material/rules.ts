import * as k8s from "@pulumi/kubernetes";
import * as tls from "@pulumi/tls";
import { PolicyResource, ResourceValidationPolicy, StackValidationPolicy, validateResourceOfType } from "@pulumi/policy";
import { acmePolicies } from "./acme";
import { approverPolicyPolicies } from "./approverPolicy";
import { certificatePolicies } from "./certificates";
import { istioCsrPolicies } from "./istioCsr";
import { stackOutputPolicies } from "./stackOutputs";
import { PEM_PRIVATE_KEY, stackOf } from "./support";

/**
 * Key material and CA hierarchy: the keys and CAs Pulumi creates (here), what cert-manager, istio-csr and
 * approver-policy may issue in the clusters, and where keys may surface. Plain modules, so tests and the offline
 * plan load exactly what `pulumi preview --policy-pack policy/key-material` runs.
 */

export * from "./acme";
export * from "./approverPolicy";
export * from "./certificates";
export * from "./istioCsr";
export * from "./stackOutputs";

const CA_USAGES = new Set(["cert_signing", "crl_signing", "digital_signature"]);
/** The provider's defaults, which apply when an input is unset. */
const PROVIDER_DEFAULT_CURVE = "P224";
const PROVIDER_DEFAULT_RSA_BITS = 2048;

export const privateKeyStrength: ResourceValidationPolicy = {
    name: "tls-private-key-strength",
    description: "Every tls.PrivateKey is RSA of at least minRsaBits (a multiple of 8), an allowed ECDSA curve, or Ed25519.",
    enforcementLevel: "mandatory",
    configSchema: {
        properties: {
            minRsaBits: { type: "integer", minimum: 2048, default: 3072 },
            allowedCurves: { type: "array", items: { type: "string", enum: ["P256", "P384", "P521"] }, default: ["P256", "P384", "P521"] },
            allowEd25519: { type: "boolean", default: true },
        },
    },
    validateResource: validateResourceOfType(tls.PrivateKey, (key, args, report) => {
        const { minRsaBits, allowedCurves, allowEd25519 } = args.getConfig<{ minRsaBits: number; allowedCurves: string[]; allowEd25519: boolean }>();
        if (key.algorithm === "RSA") {
            const bits = key.rsaBits ?? PROVIDER_DEFAULT_RSA_BITS;
            if (bits < minRsaBits || bits % 8 !== 0) report(`RSA key of ${bits} bits${key.rsaBits === undefined ? " (the provider default)" : ""}: use at least ${minRsaBits} bits, a multiple of 8 (set rsaBits), or ECDSA`);
        } else if (key.algorithm === "ECDSA") {
            const curve = key.ecdsaCurve ?? PROVIDER_DEFAULT_CURVE;
            if (!allowedCurves.includes(curve)) report(`ECDSA curve ${curve}${key.ecdsaCurve === undefined ? " (the provider default, 112-bit)" : ""} is not allowed: set ecdsaCurve to one of ${allowedCurves.join(", ")}`);
        } else if (key.algorithm === "ED25519") {
            if (!allowEd25519) report("Ed25519 keys are not allowed by this pack's config: use ECDSA (set algorithm and ecdsaCurve)");
        } else {
            report(`unknown key algorithm ${JSON.stringify(key.algorithm)}: use ECDSA, RSA or ED25519`);
        }
    }),
};

export const offlineRoot: ResourceValidationPolicy = {
    name: "offline-root-only-in-pki-stack",
    description: "Self-signed CA certificates (roots) exist only in the offline pki stack, never in a stack that deploys to clusters.",
    enforcementLevel: "mandatory",
    configSchema: { properties: { rootStacks: { type: "array", items: { type: "string" }, default: ["pki"] } } },
    validateResource: validateResourceOfType(tls.SelfSignedCert, (cert, args, report) => {
        const { rootStacks } = args.getConfig<{ rootStacks: string[] }>();
        const stack = stackOf(args.urn);
        if (cert.isCaCertificate && !rootStacks.includes(stack)) {
            report(`a root CA is created in stack "${stack}": roots belong only to the offline stack(s) ${rootStacks.join(", ")}; hand the root certificate to this stack through the pki stack's outputs instead`);
        }
    }),
};

function caUsageProblems(uses: readonly string[] | undefined): string[] {
    const list = uses ?? [];
    const problems = list.filter((u) => !CA_USAGES.has(u)).map((u) => `"${u}" is not a CA key usage`);
    if (!list.includes("cert_signing")) problems.push("cert_signing is missing");
    return problems;
}

export const rootConstraints: ResourceValidationPolicy = {
    name: "root-ca-constraints",
    description: "Root CA certificates have only CA key usages, a bounded validity and a constrained path length.",
    enforcementLevel: "mandatory",
    configSchema: {
        properties: {
            maxRootValidityHours: { type: "integer", minimum: 1, default: 87600 },
            maxRootPathLength: { type: "integer", minimum: 1, default: 1 },
        },
    },
    validateResource: validateResourceOfType(tls.SelfSignedCert, (cert, args, report) => {
        if (!cert.isCaCertificate) return;
        const { maxRootValidityHours, maxRootPathLength } = args.getConfig<{ maxRootValidityHours: number; maxRootPathLength: number }>();
        if (cert.validityPeriodHours > maxRootValidityHours) report(`root validity of ${cert.validityPeriodHours} hours exceeds ${maxRootValidityHours}: lower validityPeriodHours`);
        const pathLength = cert.maxPathLength ?? 0;
        // The provider emits no pathlen for 0 (unlimited), so only 1..max constrains anything.
        if (pathLength < 1 || pathLength > maxRootPathLength) report(`root path length ${cert.maxPathLength ?? "unset"} leaves the hierarchy unconstrained: set maxPathLength between 1 and ${maxRootPathLength} (0 emits no constraint)`);
        for (const p of caUsageProblems(cert.allowedUses)) report(`root allowedUses: ${p}; use only cert_signing, crl_signing, digital_signature`);
    }),
};

export const intermediateConstraints: ResourceValidationPolicy = {
    name: "intermediate-ca-constraints",
    description: "Intermediate CA certificates have only CA key usages, a bounded validity, and are renewed before they expire.",
    enforcementLevel: "mandatory",
    configSchema: { properties: { maxIntermediateValidityHours: { type: "integer", minimum: 1, default: 26280 } } },
    validateResource: validateResourceOfType(tls.LocallySignedCert, (cert, args, report) => {
        if (!cert.isCaCertificate) return;
        const { maxIntermediateValidityHours } = args.getConfig<{ maxIntermediateValidityHours: number }>();
        if (cert.validityPeriodHours > maxIntermediateValidityHours) report(`intermediate validity of ${cert.validityPeriodHours} hours exceeds ${maxIntermediateValidityHours}: lower validityPeriodHours`);
        if (!cert.earlyRenewalHours || cert.earlyRenewalHours <= 0) report("the intermediate is never renewed early: set earlyRenewalHours so pulumi up re-issues it before it expires");
        for (const p of caUsageProblems(cert.allowedUses)) report(`intermediate allowedUses: ${p}; use only cert_signing, crl_signing, digital_signature`);
    }),
};

/** The resource a property was computed from, e.g. the root certificate behind an intermediate's `caCertPem`. */
function source(r: PolicyResource, property: string, cls: { isInstance(o: unknown): boolean }): PolicyResource | undefined {
    return r.propertyDependencies[property]?.find((d) => d.isType(cls as never));
}

export const intermediateWithinRoot: StackValidationPolicy = {
    name: "intermediate-within-root-validity",
    description: "No intermediate outlives the root that signed it.",
    enforcementLevel: "mandatory",
    validateStack: (args, report) => {
        for (const cert of args.resources.filter((r) => r.isType(tls.LocallySignedCert) && r.props.isCaCertificate)) {
            const root = source(cert, "caCertPem", tls.SelfSignedCert);
            if (!root?.props.validityEndTime || !cert.props.validityEndTime) continue;
            if (Date.parse(cert.props.validityEndTime) > Date.parse(root.props.validityEndTime)) {
                report(`intermediate ${cert.name} is valid until ${cert.props.validityEndTime}, after its root ${root.name} (${root.props.validityEndTime}): shorten its validity or rotate the root first`, cert.urn);
            }
        }
    },
};

export const caKeysProtected: StackValidationPolicy = {
    name: "root-ca-protected",
    description: "Root CA keys and certificates carry `protect`: deleting a root revokes every identity under it.",
    enforcementLevel: "mandatory",
    validateStack: (args, report) => {
        for (const root of args.resources.filter((r) => r.isType(tls.SelfSignedCert) && r.props.isCaCertificate)) {
            if (!root.opts.protect) report(`root certificate ${root.name} is not protected: set protect: true`, root.urn);
            const key = source(root, "privateKeyPem", tls.PrivateKey);
            if (key && !key.opts.protect) report(`root key ${key.name} is not protected: set protect: true`, key.urn);
        }
    },
};

export const noKeyInConfigMap: ResourceValidationPolicy = {
    name: "no-private-key-in-configmap",
    description: "ConfigMaps are readable by anyone with view rights: private keys belong in Secrets.",
    enforcementLevel: "mandatory",
    validateResource: validateResourceOfType(k8s.core.v1.ConfigMap, (cm, _args, report) => {
        for (const [k, v] of Object.entries(cm.data ?? {})) {
            if (PEM_PRIVATE_KEY.test(String(v))) report(`ConfigMap key "${k}" holds a private key: move it to a Secret`);
        }
    }),
};

export const keyMaterialPolicies = [
    privateKeyStrength, offlineRoot, rootConstraints, intermediateConstraints, intermediateWithinRoot, caKeysProtected, noKeyInConfigMap,
    ...certificatePolicies, ...acmePolicies, ...istioCsrPolicies, ...approverPolicyPolicies, ...stackOutputPolicies,
];
