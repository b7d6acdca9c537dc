import { SECRET_MARKER } from "../values";
import { replacement, replaceRulesOf, under } from "./replacements";
import { SecretDigests } from "./secret-digests";

/** One resource of a plan.json as the comparison reads it. */
interface PlannedResource {
    readonly urn: string;
    readonly type: string;
    readonly custom?: boolean;
    readonly read?: boolean;
    readonly inputs?: Record<string, unknown>;
    readonly ignoreChanges?: readonly string[];
    readonly replaceOnChanges?: readonly string[];
    readonly propertyDependencies?: Readonly<Record<string, readonly string[]>>;
    readonly secretDigests?: SecretDigests;
}

interface PlanDocument {
    readonly resources?: readonly PlannedResource[];
    /** The digest scheme of `secretDigests` (plan.json written with PLAN_SECRET_DIGEST_KEY set); absent without. */
    readonly secretDigest?: string | null;
}

export interface Change {
    readonly urn: string;
    readonly type: string;
    readonly action: "create" | "delete" | "update" | "replace";
    /** Input paths that differ (`vpcConfig.subnetIds[1]`); a secret one is listed, its value never. */
    readonly paths: readonly string[];
    /** Inputs that read an output of a replaced resource: changed, their value unknown until it is replaced. */
    readonly unknownUntilReplaced: readonly string[];
    /** The paths that make the provider replace the resource. */
    readonly replaceBecause: readonly string[];
    /** Where the replacement rule is read from; "heuristic" where no provider source was read. */
    readonly replaceRule?: string;
    /** Changed paths the resource's ignoreChanges keeps at their old value. */
    readonly ignored: readonly string[];
}

export interface Changes {
    readonly baseline: string;
    readonly counts: Readonly<Record<Change["action"], number>>;
    readonly changes: readonly Change[];
    /** Resources whose only changes are under their ignoreChanges. */
    readonly ignored: readonly { readonly urn: string; readonly paths: readonly string[] }[];
    /** Whether changed secret values could be seen (both plans carry digests under one key). */
    readonly secretsCompared: boolean;
    readonly notices: readonly string[];
}

export const NO_DIGEST_NOTICE = "secret values not compared (no digest key): a changed secret shows only when it turns secret or plain, appears or disappears";

/** Compare two plan.json documents of one stack: what the newer plan creates, deletes, updates and replaces. */
export function comparePlans(baseline: PlanDocument, current: PlanDocument, baselineName: string): Changes {
    const managed = (rs: readonly PlannedResource[] | undefined) =>
        new Map((rs ?? []).filter((r) => r.custom !== false && !r.read && r.type !== "pulumi:pulumi:Stack").map((r) => [r.urn, r]));
    const before = managed(baseline.resources);
    const after = managed(current.resources);
    const secretsCompared = Boolean(baseline.secretDigest) && baseline.secretDigest === current.secretDigest;
    const own = new Map<string, { paths: string[]; ignored: string[] }>();
    for (const [urn, r] of after) {
        const old = before.get(urn);
        if (!old) continue;
        const differ = diffPaths(old.inputs ?? {}, r.inputs ?? {}, "", secretsCompared ? [old.secretDigests ?? {}, r.secretDigests ?? {}] : undefined);
        // As the engine does: a path under the resource's ignoreChanges keeps its old value, so it is no change.
        const isIgnored = (p: string) => (r.ignoreChanges ?? []).some((k) => under(p, k));
        own.set(urn, { paths: differ.filter((p) => !isIgnored(p)), ignored: differ.filter(isIgnored) });
    }
    // An input read from a replaced resource's output is unknown until that one is replaced, and may replace its
    // reader in turn: iterate to a fixpoint over plan.json's propertyDependencies.
    const replaced = new Set<string>();
    const unknown = new Map<string, Set<string>>();
    for (let grew = true; grew;) {
        grew = false;
        for (const [urn, r] of after) {
            const o = own.get(urn);
            if (!o || replaced.has(urn)) continue;
            const extra = unknown.get(urn) ?? new Set<string>();
            for (const [input, deps] of Object.entries(r.propertyDependencies ?? {})) {
                if (!extra.has(input) && !(r.ignoreChanges ?? []).some((k) => under(input, k)) && deps.some((d) => replaced.has(d))) extra.add(input);
            }
            unknown.set(urn, extra);
            if (replacement(replaceRulesOf(r.type, r.replaceOnChanges), [...o.paths, ...extra], before.get(urn)!.inputs ?? {}, r.inputs ?? {}).paths.length) {
                replaced.add(urn);
                grew = true;
            }
        }
    }
    const changes: Change[] = [];
    const ignored: Changes["ignored"][number][] = [];
    for (const [urn, r] of after) {
        const o = own.get(urn);
        if (!o) {
            changes.push({ urn, type: r.type, action: "create", paths: [], unknownUntilReplaced: [], replaceBecause: [], ignored: [] });
            continue;
        }
        const extra = [...(unknown.get(urn) ?? [])].filter((p) => !o.paths.some((q) => under(q, p)));
        if (!o.paths.length && !extra.length) {
            if (o.ignored.length) ignored.push({ urn, paths: o.ignored });
            continue;
        }
        const { paths: replaceBecause, source } = replacement(replaceRulesOf(r.type, r.replaceOnChanges), [...o.paths, ...extra], before.get(urn)!.inputs ?? {}, r.inputs ?? {});
        changes.push({
            urn, type: r.type, action: replaceBecause.length ? "replace" : "update", paths: o.paths, unknownUntilReplaced: extra, replaceBecause,
            ...(replaceBecause.length ? { replaceRule: source } : {}), ignored: o.ignored,
        });
    }
    for (const [urn, r] of before) if (!after.has(urn)) changes.push({ urn, type: r.type, action: "delete", paths: [], unknownUntilReplaced: [], replaceBecause: [], ignored: [] });
    changes.sort((a, b) => a.urn.localeCompare(b.urn));
    const counts = { create: 0, delete: 0, update: 0, replace: 0 };
    for (const c of changes) counts[c.action]++;
    return { baseline: baselineName, counts, changes, ignored, secretsCompared, notices: secretsCompared ? [] : [NO_DIGEST_NOTICE] };
}

/**
 * Paths whose values differ. plan.json holds no secret value (each is the marker): with `digests` (the keyed digests
 * of both plans' secret inputs, by path) a secret path differs when its digest does; without, only when it turns
 * secret or plain, appears or disappears. Its bytes are never compared nor shown.
 */
function diffPaths(a: unknown, b: unknown, at: string, digests?: readonly [SecretDigests, SecretDigests]): string[] {
    const here = at || "(value)";
    if (a === SECRET_MARKER && b === SECRET_MARKER) return digests && digests[0][here] !== digests[1][here] ? [here] : [];
    if (a === b) return [];
    if (a === SECRET_MARKER || b === SECRET_MARKER || typeof a !== "object" || typeof b !== "object" || a === null || b === null || Array.isArray(a) !== Array.isArray(b)) {
        return [here];
    }
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    return keys.flatMap((k) => diffPaths((a as any)[k], (b as any)[k], Array.isArray(a) ? `${at}[${k}]` : at ? `${at}.${k}` : k, digests));
}

/** The changes as lines for the terminal and the Markdown summary. */
export function describeChanges(c: Changes): string[] {
    const lines = [`Changes against ${c.baseline}: ${c.counts.create} to create, ${c.counts.update} to update, ${c.counts.replace} to replace, ${c.counts.delete} to delete`];
    lines.push(...c.notices.map((n) => `  note: ${n}`));
    for (const x of c.changes) lines.push(`  ${x.action.padEnd(7)} ${x.urn}${describeWhy(x)}`);
    for (const i of c.ignored) lines.push(`  ignored ${i.urn} (ignored by ignoreChanges: ${i.paths.join(", ")})`);
    return lines;
}

/** Why a resource changes, in words: its changed paths, or what replaces it and on whose authority. */
export function describeWhy(x: Change): string {
    const unknown = x.unknownUntilReplaced.map((p) => `${p} (changed: unknown until replaced)`);
    const ignored = x.ignored.length ? `; ignored by ignoreChanges: ${x.ignored.join(", ")}` : "";
    if (x.action === "replace") {
        const basis = x.replaceRule === "heuristic" ? "heuristic: no provider source read for this type" : `per ${x.replaceRule}`;
        const why = x.replaceBecause.map((p) => (x.unknownUntilReplaced.includes(p) ? `${p} (unknown until replaced)` : p));
        return ` (replaced because ${why.join(", ")} changed; ${basis}${ignored})`;
    }
    const all = [...x.paths, ...unknown];
    return all.length || ignored ? ` (${all.join(", ")}${ignored})` : "";
}
