import { describeWhy } from "./changes";
import { DiagramEdge, DiagramNode, renderDiagram } from "./diagram";
import { escapeHtml as e } from "./html-escape";
import { ReportModel } from "./model";

/** The topology: clouds hold regions, regions hold clusters; arrows are remote secrets (watcher → watched). */
export function topologyGraph(m: ReportModel): { nodes: DiagramNode[]; edges: DiagramEdge[] } {
    const nodes: DiagramNode[] = [];
    for (const cloud of [...new Set(m.clusters.map((c) => c.cloud))]) {
        nodes.push({ id: `cloud:${cloud}`, lines: [cloud === "aws" ? "AWS (EKS)" : cloud === "gcp" ? "Google Cloud (GKE)" : cloud], group: true, kind: cloud });
        for (const region of [...new Set(m.clusters.filter((c) => c.cloud === cloud).map((c) => c.region))]) {
            nodes.push({ id: `region:${cloud}:${region}`, lines: [region], group: true, parent: `cloud:${cloud}`, kind: "region" });
        }
    }
    for (const c of m.clusters) {
        nodes.push({
            id: `cluster:${c.name}`, parent: `region:${c.cloud}:${c.region}`, kind: c.cloud,
            // One address per line keeps boxes narrow enough to read without scaling the diagram down.
            lines: [
                c.name,
                `network ${c.network}`,
                `trust domain ${c.trustDomain}`,
                `east-west gateway (15443, ${EMULATED}):`, ...indented(c.eastWestIps),
                `egress (NAT, ${EMULATED}):`, ...indented(c.egressIps),
                `API allow-list (${EMULATED}):`, ...indented(c.apiAllowList, "none: private endpoint"),
            ],
        });
    }
    const edges = m.remoteSecrets.filter((s) => s.watcher && s.watched).map((s) => ({ from: `cluster:${s.watcher}`, to: `cluster:${s.watched}`, label: "remote secret", dashed: true }));
    return { nodes, edges };
}

/**
 * The addresses a cloud assigns on create (gateway and NAT addresses, allow-lists holding peers' egress addresses):
 * the offline plan shows the emulator's, never the real ones.
 */
export const EMULATED = "emulated: known after create";

const indented = (items: readonly string[], none = "none"): string[] => (items.length ? items : [none]).map((x) => `  ${x}`);
const time = (iso: string): string => iso.slice(0, 16).replace("T", " ");

/** The PKI: root → intermediate → issuers of the cluster it signs for. */
export function pkiGraph(m: ReportModel): { nodes: DiagramNode[]; edges: DiagramEdge[] } {
    const nodes: DiagramNode[] = [];
    const edges: DiagramEdge[] = [];
    for (const ca of m.cas) {
        nodes.push({
            id: `ca:${ca.serialNumber}`, kind: ca.role,
            lines: [ca.subject, `${ca.role}, ${ca.keyAlgorithm}`, `valid ${ca.notBefore.slice(0, 10)} → ${ca.notAfter.slice(0, 10)} (${ca.daysToExpiry} days left)`,
                ...ca.constraints.flatMap((c) => {
                    const [kind, values] = c.split(": ", 2);
                    return values === undefined ? [c] : [`${kind}:`, ...indented(values.split(", "))];
                })],
        });
    }
    for (const ca of m.cas.filter((c) => c.role === "intermediate")) {
        const root = m.cas.find((r) => r.role === "root" && r.subject === ca.issuer);
        if (root) edges.push({ from: `ca:${root.serialNumber}`, to: `ca:${ca.serialNumber}`, label: "signs" });
        for (const [i, issuer] of m.issuers.filter((x) => x.cluster === ca.cluster && /\bca\b/.test(x.signs)).entries()) {
            const id = `issuer:${ca.cluster}:${issuer.kind}:${issuer.name}:${i}`;
            nodes.push({ id, kind: "issuer", lines: [`${issuer.kind} ${issuer.name}`, `cluster ${issuer.cluster}`] });
            edges.push({ from: `ca:${ca.serialNumber}`, to: id });
        }
    }
    return { nodes, edges };
}

function table(headers: readonly string[], rows: readonly (readonly unknown[])[], attrs = ""): string {
    return `<div class="scroll"><table${attrs}><thead><tr>${headers.map((h) => `<th>${e(h)}</th>`).join("")}</tr></thead><tbody>` +
        rows.map((r) => `<tr>${r.map((c) => `<td>${e(c)}</td>`).join("")}</tr>`).join("") + "</tbody></table></div>";
}

const CSS = `
:root{--fg:#1c2430;--muted:#5b6675;--line:#d6dbe3;--bg:#fff;--aws:#fff4e5;--gcp:#e8f1fe;--bad:#b3261e;--ok:#1e7a3c}
*{box-sizing:border-box}body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
header,main{max-width:1200px;margin:0 auto;padding:12px 16px}h1{font-size:22px;margin:8px 0}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid var(--line)}
.muted{color:var(--muted)}.badge{display:inline-block;padding:1px 8px;border-radius:10px;background:#eef1f5;margin:2px}
.bad{color:var(--bad);font-weight:600}.ok{color:var(--ok);font-weight:600}
.scroll{overflow-x:auto;max-width:100%}table{border-collapse:collapse;width:100%;font-size:13px}th,td{border:1px solid var(--line);padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f4f6f9;position:sticky;top:0}td{word-break:break-word}
figure{margin:8px 0;overflow-x:auto;border:1px solid var(--line);border-radius:6px;padding:4px}figure svg{display:block;max-width:100%;height:auto}
svg text{font:12px system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;fill:var(--fg)}svg .title{font-weight:700}
svg .node rect{fill:#fff;stroke:#7d8896}svg .node.aws rect{fill:var(--aws);stroke:#c77d00}svg .node.gcp rect{fill:var(--gcp);stroke:#1a63c9}
svg .node.root rect{fill:#f3e8fd;stroke:#6b3fa0}svg .node.intermediate rect{fill:#e9f7ef;stroke:#2f7d4a}svg .node.issuer rect{fill:#fff;stroke:#7d8896}
svg .group rect{fill:none;stroke:#aab3bf;stroke-dasharray:4 3}svg .group.aws>rect,svg .group.gcp>rect{stroke-width:2;stroke-dasharray:none}svg .group-label{font-weight:700;fill:var(--muted)}
svg .edge path{fill:none;stroke:#56616f;stroke-width:1.4}svg .edge.dashed path{stroke-dasharray:6 4}svg marker path{fill:#56616f}svg .edge-label{fill:var(--muted);font-size:11px}
input[type=search]{width:100%;max-width:420px;padding:6px 8px;font:inherit;border:1px solid var(--line);border-radius:4px}
@media (max-width:600px){header,main{padding:8px}table{font-size:12px}h1{font-size:19px}figure svg{max-width:none}}
`;

// Filters the resource table by the text typed: the report's only script, inline, with no network access.
const SCRIPT = `
document.getElementById("filter").addEventListener("input", function (ev) {
  var q = ev.target.value.toLowerCase();
  var rows = document.querySelectorAll("#resources tbody tr");
  var shown = 0;
  for (var i = 0; i < rows.length; i++) {
    var hit = rows[i].textContent.toLowerCase().indexOf(q) !== -1;
    rows[i].hidden = !hit;
    if (hit) shown++;
  }
  document.getElementById("shown").textContent = shown + " of " + rows.length;
});
`;

/**
 * `report.html`: one self-contained page (inline CSS, static SVG, one inline script for the filter; no request of
 * any kind, so it opens from disk and as a CI artifact). Content-Security-Policy forbids every fetch besides the page's
 * own inline style and script.
 */
export function renderHtml(m: ReportModel): string {
    const topo = topologyGraph(m);
    const pki = pkiGraph(m);
    const mandatory = m.violations.filter((v) => v.enforcementLevel === "mandatory").length;
    const sections: string[] = [];
    sections.push(`<section id="stage"><h2>Stage</h2><p>${m.stage !== undefined ? `Stage <strong>${m.stage}</strong>` : "No stage (a pki stack)"}${m.environment ? ` · environment <strong>${e(m.environment)}</strong>` : ""} · mode ${e(m.mode)} · clock ${e(m.now)}</p>` +
        (m.enabled.length ? `<ul>${m.enabled.map((x) => `<li>${e(x)}</li>`).join("")}</ul>` : "") + "</section>");
    if (m.changes) {
        const c = m.changes;
        sections.push(`<section id="changes"><h2>Changes against ${e(c.baseline)}</h2><p>${c.counts.create} to create · ${c.counts.update} to update · ${c.counts.replace} to replace · ${c.counts.delete} to delete</p>` +
            c.notices.map((n) => `<p class="muted">Note: ${e(n)}</p>`).join("") +
            table(["action", "resource", "why"], [...c.changes.map((x) => [x.action, x.urn, describeWhy(x).replace(/^ \((.*)\)$/, "$1")]),
                ...c.ignored.map((i) => ["none", i.urn, `ignored by ignoreChanges: ${i.paths.join(", ")}`])]) + "</section>");
    }
    sections.push(`<section id="topology"><h2>Topology</h2>` + (m.clusters.length
        ? `<figure>${renderDiagram(`Topology of ${m.stack}`, topo.nodes, topo.edges, "TB")}</figure>` +
          table(["cluster", "cloud", "region", "network", "trust domain", `east-west gateway (${EMULATED})`, `egress (${EMULATED})`, `API allow-list (${EMULATED})`],
              m.clusters.map((c) => [c.name, c.cloud, c.region, c.network, c.trustDomain, c.eastWestIps.join(", "), c.egressIps.join(", "), c.apiAllowList.join(", ")]))
        : "<p class=\"muted\">This stack builds no cluster.</p>") + "</section>");
    sections.push(`<section id="pki"><h2>PKI</h2>` + (m.cas.length
        ? `<figure>${renderDiagram(`PKI of ${m.stack}`, pki.nodes, pki.edges, "TB")}</figure>` +
          table(["name", "role", "subject", "issuer", "key", "not before", "not after", "days to expiry", "constraints"],
              m.cas.map((c) => [c.name, c.role, c.subject, c.issuer, c.keyAlgorithm, time(c.notBefore), time(c.notAfter), c.daysToExpiry, c.constraints.join("; ")]))
        : "<p class=\"muted\">No certificate authority in this plan.</p>") +
        (m.issuers.length ? table(["cluster", "kind", "issuer", "signs with"], m.issuers.map((i) => [i.cluster, i.kind, i.name, i.signs])) : "") + "</section>");
    sections.push(`<section id="policy"><h2>Policy</h2><p>${e(m.packs.join(", "))}: ` +
        (m.violations.length ? `<span class="${mandatory ? "bad" : ""}">${m.violations.length} violation(s), ${mandatory} mandatory</span>` : `<span class="ok">no violations</span>`) +
        (m.notRun.length ? ` · ${m.notRun.length} could not run at preview` : "") + "</p>" +
        (m.violations.length ? table(["level", "pack/policy", "message", "resource", "when"], m.violations.map((v) => [v.enforcementLevel, `${v.pack}/${v.policy}`, v.message, v.urn, v.at === "up" ? "pulumi up" : "preview"])) : "") +
        (m.notRun.length ? `<h3>Could not run at preview</h3>` + table(["level", "pack/policy", "reason", "resource"], m.notRun.map((n) => [n.enforcementLevel, `${n.pack}/${n.policy}`, n.reason, n.urn])) : "") + "</section>");
    if (m.mesh) {
        const mesh = m.mesh;
        sections.push(`<section id="mesh"><h2>Mesh reachability</h2><p>${mesh.cells.length} caller × callee × cluster paths, ` +
            `<span class="${mesh.mismatches.length ? "bad" : "ok"}">${mesh.mismatches.length} differ from the declared graph</span>${mesh.enforced ? "" : " (not enforced before stage 3)"}</p>` +
            table(["caller", "callee", "from → to", "declared", "verdict", "refused at", "mismatch"],
                mesh.cells.map((c) => [c.caller, `${c.callee}:${c.port}`, `${c.from} → ${c.to}`, c.declared ? "yes" : "no", c.verdict, c.step ?? "", c.mismatch ?? ""])) + "</section>");
    }
    if (Object.keys(m.chartVersions).length) sections.push(`<section id="charts"><h2>Chart versions</h2>${table(["chart", "version"], Object.entries(m.chartVersions))}</section>`);
    sections.push(`<section id="resource-list"><h2>Resources by component and cluster</h2>` +
        `<p><label>Filter <input type="search" id="filter" placeholder="type, name, component or cluster"></label> <span id="shown" class="muted">${m.resources.length} of ${m.resources.length}</span></p>` +
        table(["component", "cluster", "type", "name"], [...m.resources].sort((a, b) => a.component.localeCompare(b.component) || a.cluster.localeCompare(b.cluster) || a.type.localeCompare(b.type) || a.name.localeCompare(b.name)).map((r) => [r.component, r.cluster, r.type, r.name]), ' id="resources"') +
        "</section>");
    return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<title>Plan of ${e(m.project)}/${e(m.stack)}</title><style>${CSS}</style></head>
<body><header><h1>Plan of ${e(m.project)}/${e(m.stack)}</h1><p class="muted">${m.clusters.length} cluster(s) · ${m.resources.length} resources · ` +
        `${mandatory ? `<span class="bad">${mandatory} mandatory violation(s)</span>` : `<span class="ok">no mandatory violation</span>`}</p></header>
<main>${sections.join("\n")}</main><script>${SCRIPT}</script></body></html>
`;
}
