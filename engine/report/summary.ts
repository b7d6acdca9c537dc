import { describeChanges } from "./changes";
import { ReportModel } from "./model";

/**
 * Mermaid ids: letters, digits and underscores only, prefixed by what they name, so that no cluster is called like a
 * keyword (`end`) or like a subgraph (`cloud_aws`).
 */
const id = (kind: "cloud" | "cluster", s: string): string => `${kind}_${s.replace(/[^A-Za-z0-9_]/g, "_")}`;
/** Mermaid label text: quotes and markup characters would end the label. */
const label = (s: string): string => s.replace(/["<>#]/g, "'");
/** Markdown table cells: a pipe would split the cell. */
const cell = (s: unknown): string => String(s).replace(/\|/g, "\\|").replace(/\n/g, " ");

/**
 * `summary.md`: what a pull request's job summary and comment show of a plan (GitHub renders the Mermaid block). No
 * address a cloud assigns on create: the plan's are the emulator's, and a summary is read without the report's labels.
 */
export function renderSummary(m: ReportModel): string {
    const mandatory = m.violations.filter((v) => v.enforcementLevel === "mandatory");
    const lines = [
        `### Plan of \`${m.stack}\`${m.stage !== undefined ? `: stage ${m.stage}` : ""}`,
        "",
        `${m.clusters.length} cluster(s), ${m.resources.length} resources; policy ${mandatory.length ? `**${mandatory.length} mandatory violation(s)**` : "passes"}` +
            `${m.notRun.length ? `, ${m.notRun.length} could not run at preview` : ""}` +
            `${m.mesh ? `; mesh: ${m.mesh.mismatches.length} path(s) differ from the declared graph` : ""}.`,
    ];
    if (m.clusters.length) {
        lines.push("", "```mermaid", "flowchart LR");
        for (const cloud of [...new Set(m.clusters.map((c) => c.cloud))]) {
            lines.push(`  subgraph ${id("cloud", cloud)}["${label(cloud.toUpperCase())}"]`);
            for (const c of m.clusters.filter((x) => x.cloud === cloud)) {
                lines.push(`    ${id("cluster", c.name)}["${label(c.name)}<br/>${label(c.region)} · ${label(c.trustDomain)}"]`);
            }
            lines.push("  end");
        }
        for (const s of m.remoteSecrets) lines.push(`  ${id("cluster", s.watcher)} -. remote secret .-> ${id("cluster", s.watched)}`);
        lines.push("```");
    }
    if (m.changes) lines.push("", "#### Changes", "", "```", ...describeChanges(m.changes), "```");
    lines.push("", "#### Policy", "");
    if (!m.violations.length && !m.notRun.length) lines.push("No violations.");
    if (m.violations.length) {
        lines.push("| level | policy | message | at |", "|---|---|---|---|");
        for (const v of m.violations) lines.push(`| ${v.enforcementLevel} | ${cell(`${v.pack}/${v.policy}`)} | ${cell(v.message)} | ${v.at === "up" ? "pulumi up" : "preview"} |`);
    }
    if (m.notRun.length) {
        lines.push("", "Could not run at preview:", "", "| level | policy | reason |", "|---|---|---|");
        for (const n of m.notRun) lines.push(`| ${n.enforcementLevel} | ${cell(`${n.pack}/${n.policy}`)} | ${cell(n.reason)} |`);
    }
    return lines.join("\n") + "\n";
}
