import { createHash } from "node:crypto";

/**
 * GCP service account IDs: RFC 1035 labels of 6 to 30 characters (hashicorp/terraform-provider-google, which
 * @pulumi/gcp wraps, google/services/resourcemanager/resource_google_service_account.go: `account_id` is
 * `verify.ValidateRFC1035Name(6, 30)`), unique within a project. Cluster names may be 40 characters long.
 */
export const SERVICE_ACCOUNT_ID = { minLength: 6, maxLength: 30 } as const;

const HASH_LENGTH = 6;

/**
 * `<base>-<suffix>` when it fits in `maxLength`; otherwise the base is cut and a hash of the whole base inserted,
 * `<cut base>-<hash>-<suffix>`, so two bases that only differ past the cut still get different names. A name that
 * fits keeps its form: existing resources are not replaced. `base` and `suffix` are RFC 1035 labels.
 */
export function shortName(base: string, suffix: string, maxLength: number): string {
    const whole = `${base}-${suffix}`;
    if (whole.length <= maxLength) return whole;
    const hash = createHash("sha256").update(base).digest("hex").slice(0, HASH_LENGTH);
    const room = maxLength - suffix.length - HASH_LENGTH - 2;
    if (room < 1) throw new Error(`no room for a name of at most ${maxLength} characters ending in -${suffix}`);
    return `${base.slice(0, room).replace(/-+$/, "")}-${hash}-${suffix}`;
}

/** A GKE cluster's node service account id: the program names the account, the config gate checks ids stay apart. */
export function nodeServiceAccountId(clusterName: string): string {
    return shortName(clusterName, "nodes", SERVICE_ACCOUNT_ID.maxLength);
}
