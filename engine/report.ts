import * as fs from "node:fs";
import * as path from "node:path";
import YAML from "yaml";
import { CapturedResource } from "./graph";
import { MeshProof, proofOfPlan } from "./mesh/reachability";
import { Plan } from "./plan";
import { withoutCsrs } from "./report/csr";
import { EMULATED } from "./report/html";
import { reportModel } from "./report/model";
import { DIGEST_SCHEME, digestKey, secretDigests } from "./report/secret-digests";
import { causingKey, painter, SummaryStyle, textTable } from "./report/terminal";
import { plain, redact } from "./values";

const HELM_RELEASE = "kubernetes:helm.sh/v3:Release";

/**
 * `plan.json`: the whole plan as the packs saw it (in preview mode, values unknown until created read "[unknown]"),
 * every secret replaced by the marker (with PLAN_SECRET_DIGEST_KEY set, its keyed digest beside it), every CSR by a digest.
 */
export function planDocument(plan: Plan, key = digestKey()) {
    const root = plan.policyGraph.resources.find((r) => r.type === "pulumi:pulumi:Stack");
    return withoutCsrs({
        project: plan.project.name,
        stack: plan.settings.stack,
        mode: plan.mode,
        referencedStacks: plan.referenced,
        caHandoff: plan.caHandoff,
        secretDigest: key ? DIGEST_SCHEME : null,
        outputs: redact(root?.outputs ?? {}),
        resources: plan.policyGraph.resources.map((r) => ({
            urn: r.urn,
            type: r.type,
            name: r.name,
            parent: r.parent,
            dependencies: r.dependencies,
            propertyDependencies: r.propertyDependencies,
            provider: r.provider,
            custom: r.custom,
            read: r.read,
            protect: r.protect,
            retainOnDelete: r.retainOnDelete,
            ignoreChanges: r.ignoreChanges,
            replaceOnChanges: r.replaceOnChanges,
            additionalSecretOutputs: r.additionalSecretOutputs,
            id: r.id,
            inputs: redact(r.inputs),
            outputs: redact(r.outputs),
            ...(key ? { secretDigests: secretDigests(r.inputs, key) } : {}),
        })),
        policy: {
            packs: plan.packs.map((p) => ({ name: p.name, version: p.version, policies: p.policies.map((x) => x.name) })),
            violations: plan.violations,
            notRun: plan.notRun,
        },
        mesh: meshProof(plan) ?? null,
    });
}

const proofs = new WeakMap<Plan, MeshProof | undefined>();

/**
 * The reachability matrix of the stack's declared service graph (engine/mesh/reachability.ts), from what the program
 * registers with every output known; undefined when the stack declares no services.
 */
export function meshProof(plan: Plan): MeshProof | undefined {
    if (!proofs.has(plan)) proofs.set(plan, proofOfPlan(plan.project.name, plan.settings.config, plan.graph));
    return proofs.get(plan);
}

/** The mismatches that fail the plan: only once the graph is enforced (stage 3 and later). */
export function meshMismatches(plan: Plan) {
    const proof = meshProof(plan);
    return proof?.enforced ? proof.mismatches : [];
}

/** Write `plan.json`, the Kubernetes manifests and Helm releases per cluster, and the public PKI material. */
export function writePlan(plan: Plan, outRoot: string): string {
    const dir = path.join(outRoot, plan.settings.stack);
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, "plan.json"), JSON.stringify(planDocument(plan), null, 2) + "\n");
    const byUrn = new Map(plan.graph.resources.map((r) => [r.urn, r]));
    for (const r of plan.graph.resources) {
        if (!r.custom || r.read || !r.type.startsWith("kubernetes:")) continue;
        const cluster = byUrn.get(r.provider)?.name ?? "default-provider";
        const folder = path.join(dir, "manifests", cluster);
        fs.mkdirSync(folder, { recursive: true });
        const [file, doc] = r.type === HELM_RELEASE ? [`helm-${r.name}.yaml`, helmDocument(r)] : [`${kindOf(r)}-${r.name}.yaml`, redact(r.inputs)];
        fs.writeFileSync(path.join(folder, file), YAML.stringify(doc));
    }
    for (const [file, pem] of publicPki(plan.graph.resources)) {
        fs.mkdirSync(path.join(dir, "pki"), { recursive: true });
        fs.writeFileSync(path.join(dir, "pki", file), pem);
    }
    return dir;
}

function kindOf(r: CapturedResource): string {
    return String(r.type.split(":")[2] ?? "object").toLowerCase();
}

function helmDocument(r: CapturedResource) {
    const i = redact(r.inputs);
    return { chart: i.chart, version: i.version, repository: i.repositoryOpts?.repo, namespace: i.namespace, name: i.name, values: i.values ?? {} };
}

/**
 * Certificates are public: written as PEM so they can be inspected and verified with openssl. CSRs are not written:
 * a plan's keys are derivable, so its CSRs must never be signed (report/csr.ts).
 */
export function publicPki(resources: readonly CapturedResource[]): Array<[string, string]> {
    const files: Array<[string, string]> = [];
    const publicOutput: Record<string, string> = {
        "tls:index/selfSignedCert:SelfSignedCert": "certPem",
        "tls:index/locallySignedCert:LocallySignedCert": "certPem",
        // The pki program's name-constrained intermediates (a dynamic resource: components/pki/IntermediateCertificate.ts).
        "pulumi-nodejs:dynamic/pki:IntermediateCertificate": "certPem",
    };
    for (const r of resources) {
        const pem = publicOutput[r.type] && plain(r.outputs)[publicOutput[r.type]];
        if (r.custom && typeof pem === "string") files.push([`${r.name}.pem`, pem]);
    }
    return files;
}

/** Stack outputs the summary shows as tables of their own. */
const TABLED_OUTPUTS = new Set(["clusters", "chartVersions", "pkiInventory", "inventory"]);

/** The readable summary `npm run plan` prints. */
export function summarize(plan: Plan, style: SummaryStyle = {}): string {
    const paint = painter(style.color);
    const resources = plan.graph.resources.filter((r) => r.type !== "pulumi:pulumi:Stack");
    const custom = resources.filter((r) => r.custom && !r.read && !r.type.startsWith("pulumi:providers:"));
    const lines = [paint("bold", `Plan of ${plan.project.name}/${plan.settings.stack}: ${custom.length} resources, ${resources.filter((r) => !r.custom).length} components, ${resources.filter((r) => r.type.startsWith("pulumi:providers:")).length} providers`)];
    lines.push(plan.mode === "preview"
        ? "  mode: preview (as `pulumi preview` sees the stack: values computed by providers are unknown until created; the policy verdicts and plan.json follow it, manifests/ and pki/ show what would be created)"
        : "  mode: created (every resource as if created, every output known: not what a first `pulumi preview` checks)");
    if (plan.referenced.length) lines.push(`  (planned first, read by StackReference: ${plan.referenced.join(", ")})`);
    if (plan.caHandoff) {
        lines.push(`  managed CA handoff carried out: the first run exported the CSRs of ${plan.caHandoff.clusters.join(", ")}; ${plan.caHandoff.pkiStack} was planned again signing them,` +
            " and this plan imports the certificates (a real deployment takes the same three runs; --no-ca-handoff shows the first)");
    }

    const root = plan.policyGraph.resources.find((r) => r.type === "pulumi:pulumi:Stack");
    const outputs = redact(root?.outputs ?? {});
    const shown = Object.entries(outputs).filter(([k]) => !TABLED_OUTPUTS.has(k));
    if (shown.length) {
        lines.push("", paint("bold", "Stack outputs:"));
        for (const [k, v] of shown) {
            const list = Array.isArray(v) && v.every((x) => typeof x === "string");
            lines.push(list ? `  ${k}:${v.map((x: string) => `\n    - ${x}`).join("")}` : `  ${k}: ${oneLine(v)}`);
        }
    }
    // Tables from the emulated create, where every value is known: what the stack would build.
    const model = reportModel(plan, undefined);
    if (model.clusters.length) {
        lines.push("", paint("bold", "Clusters:"), ...textTable(["cluster", "cloud", "region", "network", "trust domain", "east-west gateway*", "API allow-list*"],
            model.clusters.map((c) => [c.name, c.cloud, c.region, c.network, c.trustDomain, c.eastWestIps.join(", "), c.apiAllowList.join(", ")])), `  * ${EMULATED}`);
    }
    if (Object.keys(model.chartVersions).length) lines.push("", paint("bold", "Chart versions:"), ...textTable(["chart", "version"], Object.entries(model.chartVersions)));
    if (model.cas.length) {
        lines.push("", paint("bold", "PKI inventory:"), ...textTable(["name", "role", "key", "not after", "days left", "constraints"],
            model.cas.map((c) => [c.name, c.role, c.keyAlgorithm, c.notAfter.slice(0, 10), c.daysToExpiry, c.constraints.join("; ")])));
    }

    const byUrn = new Map(resources.map((r) => [r.urn, r]));
    const topComponent = (r: CapturedResource): CapturedResource | undefined => {
        let cur: CapturedResource | undefined = r;
        let top: CapturedResource | undefined;
        while (cur) {
            if (!cur.custom) top = cur;
            cur = byUrn.get(cur.parent);
        }
        return top;
    };
    const perComponent = countBy(custom, (r) => { const c = topComponent(r); return c ? `${c.type} "${c.name}"` : "(top level)"; });
    lines.push("", paint("bold", "Resources per component:"), ...[...perComponent].map(([k, n]) => `  ${String(n).padStart(4)}  ${k}`));
    const perProvider = countBy(custom, (r) => byUrn.get(r.provider)?.name ?? r.provider);
    if (perProvider.size) lines.push("", paint("bold", "Resources per provider (cluster or cloud account; default_<version>: the package's default provider):"), ...[...perProvider].map(([k, n]) => `  ${String(n).padStart(4)}  ${k}`));
    if (style.verbose) {
        const perType = countBy(custom, (r) => r.type);
        lines.push("", paint("bold", "Resources per type:"), ...[...perType].map(([k, n]) => `  ${String(n).padStart(4)}  ${k}`));
    }

    const policies = plan.packs.reduce((n, p) => n + p.policies.length, 0);
    lines.push("", paint("bold", `Policy: ${plan.packs.length} pack(s), ${policies} polic${policies === 1 ? "y" : "ies"}: ${plan.packs.map((p) => `${p.name}@${p.version}`).join(", ") || "none found"}`));
    if (plan.violations.length === 0) lines.push(`  ${paint("green", "no violations")}`);
    // Grouped by policy, mandatory first: one fix (often one stack setting) clears a whole group.
    const groups = [...new Set(plan.violations.map((v) => `${v.pack}/${v.policy}`))]
        .map((name) => plan.violations.filter((v) => `${v.pack}/${v.policy}` === name))
        .sort((a, b) => Number(b[0].enforcementLevel === "mandatory") - Number(a[0].enforcementLevel === "mandatory"));
    for (const group of groups) {
        const v0 = group[0];
        const cause = causingKey(plan.project.name, v0.policy, plan.settings.config);
        lines.push(paint(v0.enforcementLevel === "mandatory" ? "red" : "yellow", `${v0.pack}/${v0.policy}: ${group.length} violation(s)${cause ? `, caused by ${cause}` : ""}`));
        for (const v of group) {
            const when = v.at === "up" ? " (not visible to a first preview: refused during pulumi up, once the value exists)" : "";
            lines.push(`  ${v.enforcementLevel.toUpperCase()} ${v.pack}/${v.policy}: ${v.message}${when}${v.urn ? `\n      at ${v.urn}` : ""}`);
        }
    }
    if (plan.notRun.length) {
        lines.push("", paint("yellow", `Could not run at preview (${plan.notRun.length}; \`pulumi preview\` reports each as an advisory and lets it pass):`));
        for (const n of plan.notRun) lines.push(`  ${n.enforcementLevel.toUpperCase()} ${n.pack}/${n.policy}: ${n.reason}${n.urn ? `\n      at ${n.urn}` : ""}`);
    }
    lines.push(...summarizeMesh(meshProof(plan)));
    return lines.join("\n");
}

/** One line per caller and callee: its verdict on every cluster path, each path spelt out only where they differ. */
function summarizeMesh(proof: MeshProof | undefined): string[] {
    if (!proof) return [];
    const lines = ["", `Mesh reachability (declared service graph${proof.enforced ? "" : ", not enforced before stage 3"}): ${proof.cells.length} caller x callee x cluster paths, ${proof.mismatches.length} differ from the graph`];
    const groups = new Map<string, typeof proof.cells[number][]>();
    for (const c of proof.cells) {
        const key = `${c.caller} -> ${c.callee}:${c.port}`;
        groups.set(key, [...(groups.get(key) ?? []), c]);
    }
    for (const [key, cells] of groups) {
        const bad = cells.filter((c) => c.mismatch);
        const verdicts = [...new Set(cells.map((c) => `${c.verdict}${c.step ? ` at ${c.step}` : ""}`))];
        lines.push(`  ${bad.length ? "DIFFERS" : "ok     "} ${key} (${cells[0].declared ? "declared" : "not declared"}): ${verdicts.length === 1 ? `${verdicts[0]} on ${cells.length} path(s)` : "mixed"}`);
        for (const c of verdicts.length === 1 && !bad.length ? [] : cells) {
            lines.push(`          ${c.from} -> ${c.to}: ${c.verdict}${c.step ? ` at ${c.step}` : ""}${c.mismatch ? ` [${c.mismatch}]` : ""}${c.reason && (c.mismatch || c.verdict === "refused") ? `: ${c.reason}` : ""}`);
        }
    }
    return lines;
}

function countBy<T>(items: readonly T[], key: (t: T) => string): Map<string, number> {
    const m = new Map<string, number>();
    for (const i of items) m.set(key(i), (m.get(key(i)) ?? 0) + 1);
    return new Map([...m].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])));
}

function oneLine(v: unknown): string {
    // Flags (the stack's capabilities) read better as what is on and what is off.
    if (v && typeof v === "object" && !Array.isArray(v) && Object.keys(v).length && Object.values(v).every((x) => typeof x === "boolean")) {
        const on = Object.entries(v).filter(([, x]) => x).map(([k]) => k);
        const off = Object.entries(v).filter(([, x]) => !x).map(([k]) => k);
        return `on: ${on.join(", ") || "none"}; off: ${off.join(", ") || "none"}`;
    }
    const text = typeof v === "string" ? v : JSON.stringify(v);
    return text.length > 160 ? `${text.slice(0, 157)}...` : text;
}
