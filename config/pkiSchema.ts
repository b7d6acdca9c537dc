import { z } from "zod";
import { certificatePem, certificateRequestPem, clusterName, dnsLabel, dnsName, trustDomain } from "./primitives";
import { rootSubject } from "../components/pki/keys";

const UB_COMMON_NAME = 64;

/**
 * Configuration of an environment's pki stack (`pki-<environment>`): the offline root ceremony. It runs on an
 * offline workstation with a local backend and a passphrase secrets provider; nothing here is ever deployed to a
 * cluster.
 */

const HOURS_PER_YEAR = 8760;

const rootKey = z.discriminatedUnion("algorithm", [
    z.strictObject({ algorithm: z.literal("ECDSA"), ecdsaCurve: z.enum(["P384", "P521"], "root ECDSA curve must be P384 or P521") }),
    z.strictObject({
        algorithm: z.literal("RSA"),
        rsaBits: z.number().int().min(4096, "root RSA keys must be at least 4096 bits").max(16384).multipleOf(8, "must be a multiple of 8"),
    }),
], { error: (iss) => (iss.code === "invalid_union" ? "algorithm must be \"ECDSA\" or \"RSA\"" : undefined) });

const intermediateKey = z.discriminatedUnion("algorithm", [
    z.strictObject({ algorithm: z.literal("ECDSA"), ecdsaCurve: z.enum(["P256", "P384"], "intermediate ECDSA curve must be P256 or P384") }),
    z.strictObject({
        algorithm: z.literal("RSA"),
        rsaBits: z.number().int().min(3072, "intermediate RSA keys must be at least 3072 bits").max(8192).multipleOf(8, "must be a multiple of 8"),
    }),
], { error: (iss) => (iss.code === "invalid_union" ? "algorithm must be \"ECDSA\" or \"RSA\"" : undefined) });

export type KeySpec = z.output<typeof rootKey> | z.output<typeof intermediateKey>;

const rootId = dnsLabel;

const pkiClusterSchema = z.strictObject({
    /** The mesh stack's cluster name: the intermediate is handed to the cluster of that name. */
    name: clusterName,
    /** The cluster's SPIFFE trust domain (the mesh stack's `clusters[].trustDomain`): the only URIs its intermediate may sign. */
    trustDomain,
    /**
     * DNS names the cluster's issuer signs besides istiod's and istio-csr's serving names, which are always permitted:
     * the ingress hosts when the mesh stack sets `ingress.issuer: private`. Each also permits its subdomains.
     * @default []
     */
    dnsNames: z.array(dnsName).default([]),
});

/**
 * One environment's offline PKI: its roots and one intermediate per cluster. Each environment has a pki stack of its
 * own (`pki-<environment>`), so no stack holds, or lets a reader copy, another environment's keys.
 */
export const pkiConfigSchema = z
    .strictObject({
        role: z.literal("pki"),
        /** The environment whose roots and intermediates this stack holds; its mesh stack reads only this stack. */
        environment: dnsLabel,
        /** Subject organisation (O) of every CA certificate. */
        organization: z.string().min(1, "must not be empty").max(64, "must be at most 64 characters (X.520 ub-organization-name)"),
        /** `generate`: roots live in this stack. `external`: an enterprise CA signs the intermediates; no root key exists here. */
        mode: z.enum(["generate", "external"], "must be \"generate\" or \"external\"").default("generate"),
        /** @default ECDSA P384 */
        rootKey: rootKey.default({ algorithm: "ECDSA", ecdsaCurve: "P384" }),
        /** @default 87600 (10 years, the longest allowed) */
        rootValidityHours: z.number().int().min(HOURS_PER_YEAR, "must be at least a year").max(10 * HOURS_PER_YEAR, "must be at most 87600 (10 years)").default(10 * HOURS_PER_YEAR),
        /** @default ECDSA P256 */
        intermediateKey: intermediateKey.default({ algorithm: "ECDSA", ecdsaCurve: "P256" }),
        /** @default 8760 (1 year) */
        intermediateValidityHours: z.number().int().min(720, "must be at least 720 (30 days)").max(3 * HOURS_PER_YEAR, "must be at most 26280 (3 years)").default(HOURS_PER_YEAR),
        /** How long before expiry `pulumi up` re-issues an intermediate. @default 720 (30 days) */
        intermediateEarlyRenewalHours: z.number().int().min(24, "must be at least 24").default(720),
        /** Every cluster of the environment gets its own intermediate under the issuing root. */
        clusters: z.array(pkiClusterSchema).min(1, "must list at least one cluster"),
        /**
         * The roots the environment's clusters trust, in bundle order. Root rotation is a change of this list:
         * phase 1 `[old, new]` with `issuingRoot: old`; phase 2 `issuingRoot: new`; phase 3 `[new]`.
         * @default - one root, `<environment>-root-1`
         */
        roots: z.array(rootId).min(1, "must list at least one root").optional(),
        /** @default - the first of `roots` */
        issuingRoot: rootId.optional(),
        /** Bump to re-issue every intermediate of the environment under the same root (new keys, new certificates). */
        intermediateEpoch: z.number().int().min(1, "must be ≥ 1").default(1),
        /** External mode: the enterprise root certificates, by root id (public material, plain config). */
        externalRoots: z.record(rootId, certificatePem).default({}),
        /** External mode: the intermediate certificates the enterprise CA signed from this stack's CSRs, by cluster. */
        externalIntermediates: z.record(clusterName, certificatePem).default({}),
        /**
         * Clusters whose intermediate key lives in a managed CA's HSM (`caBackend: aws-private-ca | google-cas` in the
         * mesh stack): the CSR the mesh stack exported (its output `subordinateCsrs`). This stack signs it with the same
         * constraints as its own intermediates, and holds no key for the cluster. Public material, plain config.
         */
        subordinateCsrs: z.record(clusterName, certificateRequestPem).default({}),
    })
    .superRefine(pkiCrossFieldRules, { when: () => true });

type PkiInput = Partial<Record<keyof z.input<typeof pkiConfigSchema>, unknown>>;

function pkiCrossFieldRules(raw: unknown, ctx: z.RefinementCtx): void {
    const cfg = (raw ?? {}) as PkiInput;
    const clusters = new Set<string>();
    (Array.isArray(cfg.clusters) ? cfg.clusters : []).forEach((c, i) => {
        const name = isRecord(c) ? c.name : undefined;
        if (typeof name !== "string") return;
        if (clusters.has(name)) ctx.addIssue({ code: "custom", path: ["clusters", i, "name"], input: name, message: "must be unique" });
        clusters.add(name);
    });
    const environment = typeof cfg.environment === "string" ? cfg.environment : "";
    const roots = Array.isArray(cfg.roots) ? cfg.roots.map(String) : [defaultRootId(environment)];
    // Only generated roots carry the subject this stack writes; an enterprise root keeps its own.
    if (typeof cfg.organization === "string" && cfg.mode !== "external") {
        roots.forEach((r, i) => {
            const cn = rootSubject(cfg.organization as string, r).commonName;
            // RFC 5280 Appendix A.1: ub-common-name INTEGER ::= 64; CAs and TLS libraries refuse longer names.
            if (cn.length > UB_COMMON_NAME) {
                ctx.addIssue({ code: "custom", path: Array.isArray(cfg.roots) ? ["roots", i] : ["environment"], input: Array.isArray(cfg.roots) ? r : cfg.environment,
                    message: `makes the root's subject common name "${cn}" ${cn.length} characters, over X.509's 64: shorten the root id${Array.isArray(cfg.roots) ? "" : " (set roots: [<shorter id>]) or the environment name"} or organization` });
            }
        });
    }
    if (cfg.issuingRoot !== undefined && !roots.includes(String(cfg.issuingRoot))) {
        ctx.addIssue({ code: "custom", path: ["issuingRoot"], input: cfg.issuingRoot, message: `must be one of the environment's roots (${roots.join(", ")})` });
    }
    const validity = Number(cfg.intermediateValidityHours ?? 8760);
    if (typeof cfg.intermediateEarlyRenewalHours === "number" && cfg.intermediateEarlyRenewalHours >= validity / 2) {
        ctx.addIssue({ code: "custom", path: ["intermediateEarlyRenewalHours"], input: cfg.intermediateEarlyRenewalHours,
            message: `must be less than half of intermediateValidityHours (${validity})` });
    }
    if (typeof cfg.rootValidityHours === "number" && validity >= cfg.rootValidityHours) {
        ctx.addIssue({ code: "custom", path: ["intermediateValidityHours"], input: validity,
            message: `must be shorter than rootValidityHours (${cfg.rootValidityHours})` });
    }
    const external = cfg.mode === "external";
    const extRoots = isRecord(cfg.externalRoots) ? cfg.externalRoots : {};
    const extInts = isRecord(cfg.externalIntermediates) ? cfg.externalIntermediates : {};
    if (external) {
        for (const root of roots) {
            if (!(root in extRoots)) {
                ctx.addIssue({ code: "custom", path: ["externalRoots", root], input: undefined,
                    message: "external mode needs the enterprise root certificate of every root the environment trusts" });
            }
        }
    } else {
        for (const [key, value] of [["externalRoots", extRoots], ["externalIntermediates", extInts]] as const) {
            if (Object.keys(value).length > 0) {
                ctx.addIssue({ code: "custom", path: [key], input: Object.keys(value),
                    message: "is only read in external mode (mode: external)" });
            }
        }
    }
    const csrs = isRecord(cfg.subordinateCsrs) ? cfg.subordinateCsrs : {};
    for (const cluster of Object.keys(csrs)) {
        if (!clusters.has(cluster)) ctx.addIssue({ code: "custom", path: ["subordinateCsrs", cluster], input: cluster, message: "names no cluster of this environment" });
        if (external) ctx.addIssue({ code: "custom", path: ["subordinateCsrs", cluster], input: cluster, message: "is signed by this stack's root, which external mode has not: have the enterprise CA sign it" });
    }
    for (const cluster of Object.keys(extInts)) {
        if (!clusters.has(cluster)) {
            ctx.addIssue({ code: "custom", path: ["externalIntermediates", cluster], input: cluster, message: "names no cluster of this environment" });
        }
    }
}

function isRecord(v: unknown): v is Record<string, any> {
    return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The root an environment uses when its config names none. */
export function defaultRootId(environment: string): string {
    return `${environment}-root-1`;
}

export type PkiConfig = z.output<typeof pkiConfigSchema>;
export type PkiClusterConfig = PkiConfig["clusters"][number];
