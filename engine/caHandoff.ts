/**
 * The two-step handoff of managed CA backends (docs/pki/ca-backends.md), carried out in the offline plan as the
 * operators carry it out: the mesh stack's first run creates each cluster's subordinate CA in the (emulated) managed
 * service and exports its CSR (output `subordinateCsrs`); the environment's pki stack is planned again with those CSRs
 * in its `subordinateCsrs` setting, which it signs; the mesh stack's second run imports the certificates and installs
 * the managed issuers. The shipped pki stack files carry no CSR: a CSR is a fact of a real account (its key is made
 * in that account's HSM), never of this repository, and the root must never sign one whose key anyone can compute.
 */
export const CSR_OUTPUT = "subordinateCsrs";
export const CSR_CONFIG = "istio-production:subordinateCsrs";

export interface CaHandoff {
    /** The pki stack that signed the CSRs. */
    readonly pkiStack: string;
    /** The clusters whose subordinate's CSR it signed. */
    readonly clusters: readonly string[];
}

/** The CSRs a mesh stack's run exports for its pki stack to sign, by cluster; empty when none awaits a signature. */
export function pendingCsrs(outputs: Readonly<Record<string, unknown>>): Record<string, string> {
    const csrs = outputs[CSR_OUTPUT];
    return typeof csrs === "object" && csrs !== null ? csrs as Record<string, string> : {};
}

/** Of the stacks a run read, the pki stack that issues `clusters`: the one whose `intermediates` output names them. */
export function signerOf(referenced: ReadonlyMap<string, { readonly outputs: Readonly<Record<string, unknown>> }>, clusters: readonly string[]): string | undefined {
    return [...referenced].find(([, { outputs }]) => {
        const intermediates = outputs.intermediates as Record<string, unknown> | undefined;
        return intermediates && clusters.every((c) => c in intermediates);
    })?.[0];
}

/** The pki stack's config with the CSRs added to those it already signs. */
export function withCsrs(config: Readonly<Record<string, string>>, csrs: Readonly<Record<string, string>>): Record<string, string> {
    const signed = config[CSR_CONFIG] ? JSON.parse(config[CSR_CONFIG]) as Record<string, string> : {};
    return { ...config, [CSR_CONFIG]: JSON.stringify({ ...signed, ...csrs }) };
}
