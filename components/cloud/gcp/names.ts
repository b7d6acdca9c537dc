/** Names GKE clusters derive from theirs under GCP's length limits: pure, so the config gate can see collisions. */

/**
 * The node service account's id: service account ids are 6-30 characters (IAM `projects.serviceAccounts.create`),
 * cluster names may be 40, so the name is cut; two clusters of one project whose names agree on the kept part would
 * share one account.
 */
export function nodeServiceAccountId(clusterName: string): string {
    return `${clusterName.slice(0, 24).replace(/-$/, "")}-nodes`;
}
