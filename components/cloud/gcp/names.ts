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

/**
 * Every service account id the program derives from a GKE cluster's name, with what the account is for: the
 * components name their accounts with these, and the config gate checks no two clusters of a project get one id.
 */
export const CLUSTER_SERVICE_ACCOUNT_IDS = [
    { account: "node", idOf: (clusterName: string) => shortName(clusterName, "nodes", SERVICE_ACCOUNT_ID.maxLength) },
    { account: "ACME DNS-01", idOf: (clusterName: string) => shortName(clusterName, "acme-dns", SERVICE_ACCOUNT_ID.maxLength) },
] as const;

/** A GKE cluster's node service account id. */
export const nodeServiceAccountId = CLUSTER_SERVICE_ACCOUNT_IDS[0].idOf;

/** The id of the service account cert-manager acts as for ACME DNS-01 in Cloud DNS. */
export const acmeDnsServiceAccountId = CLUSTER_SERVICE_ACCOUNT_IDS[1].idOf;
