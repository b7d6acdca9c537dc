import * as awsKms from "@pulumi/aws/kms";
import * as gcpKms from "@pulumi/gcp/kms";
import { ResourceValidationPolicy } from "@pulumi/policy";
import { EXEMPT_RESOURCES, validateOfType } from "./support";

/** The customer-managed keys that encrypt the clusters' Secrets (and anything else the stack encrypts). */

const DAY_SECONDS = 86_400;

/** Cloud KMS durations are seconds with an `s` suffix: `7776000s`. */
function durationSeconds(duration: string | undefined): number | undefined {
    const m = /^(\d+(?:\.\d+)?)s$/.exec(duration ?? "");
    return m ? Number(m[1]) : undefined;
}

export const kmsKeyRotation: ResourceValidationPolicy = {
    name: "kms-key-rotation",
    description: "Symmetric customer-managed keys rotate automatically at least every maxRotationDays: aws.kms.Key enableKeyRotation, gcp.kms.CryptoKey rotationPeriod.",
    enforcementLevel: "mandatory",
    configSchema: {
        properties: {
            maxRotationDays: { type: "integer", minimum: 90, maximum: 2560, default: 365 },
            exemptResources: EXEMPT_RESOURCES,
        },
    },
    validateResource: [
        validateOfType(awsKms.Key, (key, args, report) => {
            const { maxRotationDays } = args.getConfig<{ maxRotationDays: number }>();
            // AWS rotates only symmetric encryption keys held in KMS itself.
            const symmetric = (key.customerMasterKeySpec ?? "SYMMETRIC_DEFAULT") === "SYMMETRIC_DEFAULT" && (key.keyUsage ?? "ENCRYPT_DECRYPT") === "ENCRYPT_DECRYPT";
            if (!symmetric || key.customKeyStoreId || key.xksKeyId) return;
            if (key.enableKeyRotation !== true) {
                report(`enableKeyRotation is ${key.enableKeyRotation ?? "unset (default false)"}, so one key version protects everything it ever encrypts: set enableKeyRotation true`);
            } else if ((key.rotationPeriodInDays ?? 365) > maxRotationDays) {
                report(`rotationPeriodInDays is ${key.rotationPeriodInDays}: set it to ${maxRotationDays} or less`);
            }
        }),
        validateOfType(gcpKms.CryptoKey, (key, args, report) => {
            const { maxRotationDays } = args.getConfig<{ maxRotationDays: number }>();
            // Cloud KMS rotates only symmetric keys it generates itself.
            if ((key.purpose ?? "ENCRYPT_DECRYPT") !== "ENCRYPT_DECRYPT" || key.importOnly || key.cryptoKeyBackend) return;
            const seconds = durationSeconds(key.rotationPeriod);
            const max = `${maxRotationDays * DAY_SECONDS}s`;
            if (seconds === undefined) report(`rotationPeriod is ${key.rotationPeriod ?? "unset"}, so the key never rotates: set rotationPeriod to "${max}" (${maxRotationDays} days) or less`);
            else if (seconds > maxRotationDays * DAY_SECONDS) report(`rotationPeriod ${key.rotationPeriod} is longer than ${maxRotationDays} days: set it to "${max}" or less`);
        }),
    ],
};

export const awsKmsKeyPolicyLockout: ResourceValidationPolicy = {
    name: "aws-kms-key-policy-lockout-check",
    description: "aws.kms.Key never bypasses the key policy lockout safety check.",
    enforcementLevel: "mandatory",
    configSchema: { properties: { exemptResources: EXEMPT_RESOURCES } },
    validateResource: validateOfType(awsKms.Key, (key, _args, report) => {
        if (key.bypassPolicyLockoutSafetyCheck === true) report("bypassPolicyLockoutSafetyCheck is true, so a key policy that locks every principal out is accepted and the key (and what it encrypts) becomes unmanageable: remove it");
    }),
};

export const awsKmsKeyDescription: ResourceValidationPolicy = {
    name: "aws-kms-key-description",
    description: "aws.kms.Key says what it protects (description), for whoever audits or rotates it.",
    enforcementLevel: "advisory",
    configSchema: { properties: { exemptResources: EXEMPT_RESOURCES } },
    validateResource: validateOfType(awsKms.Key, (key, _args, report) => {
        if (!key.description?.trim()) report("description is empty: say what the key encrypts and for which cluster");
    }),
};

export const kmsPolicies = [kmsKeyRotation, awsKmsKeyPolicyLockout, awsKmsKeyDescription];
