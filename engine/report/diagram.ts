import { Graph, layout } from "@dagrejs/dagre";
import { escapeHtml } from "./html-escape";

/** A box of the diagram: its lines of text (the first bold), inside `parent` when it has one. */
export interface DiagramNode {
    readonly id: string;
    readonly lines: readonly string[];
    /** A group box (a cloud, a region) drawn around its children. */
    readonly group?: boolean;
    readonly parent?: string;
    /** A CSS class for its colour: `aws`, `gcp`, `root`, `intermediate`, `issuer`... */
    readonly kind?: string;
}

export interface DiagramEdge {
    readonly from: string;
    readonly to: string;
    readonly label?: string;
    readonly dashed?: boolean;
}

const FONT_PX = 12;
const LINE_PX = 16;
// Monospace-free width estimate: wide enough for the report's sans-serif at 12px.
const CHAR_PX = 7.8;
const BOLD_CHAR_PX = 8.4;
const PAD = 10;

/**
 * A static SVG of a graph laid out by dagre (@dagrejs/dagre 3.1.3, github.com/dagrejs/dagre at v3.1.3: a compound
 * multigraph; `layout` reads a node's width and height and an edge's label width, height and labelpos, and writes
 * x and y of every node, width and height of every group, the points of every edge and the centre of its label). Laid out at plan time, so the report ships no layout code and no script.
 */
export function renderDiagram(title: string, nodes: readonly DiagramNode[], edges: readonly DiagramEdge[], direction: "TB" | "LR" = "TB"): string {
    // Ids are global to the page that holds both diagrams: each diagram's arrow head is its own.
    const arrow = `arrow-${title.replace(/[^A-Za-z0-9]/g, "-")}`;
    const g = new Graph({ compound: true, multigraph: true });
    g.setGraph({ rankdir: direction, nodesep: 30, ranksep: 60, marginx: 16, marginy: 16 });
    g.setDefaultEdgeLabel(() => ({}));
    for (const n of nodes) {
        // A group has no size of its own: dagre sizes it around its children (removeBorderNodes in lib/layout.ts).
        if (n.group) g.setNode(n.id, {});
        else g.setNode(n.id, { width: Math.max(...n.lines.map((l, i) => l.length * (i === 0 ? BOLD_CHAR_PX : CHAR_PX))) + 2 * PAD, height: n.lines.length * LINE_PX + 2 * PAD });
    }
    for (const n of nodes) if (n.parent) g.setParent(n.id, n.parent);
    edges.forEach((e, i) => g.setEdge(e.from, e.to, e.label ? { label: e.label, width: e.label.length * CHAR_PX, height: LINE_PX, labelpos: "c" } : {}, `e${i}`));
    layout(g);

    const { width = 0, height = 0 } = g.graph();
    const parts: string[] = [];
    // Groups first, outermost first, so that nested boxes and nodes draw on top of them.
    const depth = (id: string): number => (g.parent(id) ? 1 + depth(g.parent(id) as string) : 0);
    for (const n of [...nodes].filter((x) => x.group).sort((a, b) => depth(a.id) - depth(b.id))) {
        const box = g.node(n.id);
        const x = box.x - box.width / 2;
        const y = box.y - box.height / 2;
        parts.push(`<g class="group ${n.kind ?? ""}"><rect x="${r(x)}" y="${r(y)}" width="${r(box.width)}" height="${r(box.height)}" rx="8"/>` +
            `<text x="${r(x + PAD)}" y="${r(y + LINE_PX)}" class="group-label">${escapeHtml(n.lines.join(" · "))}</text></g>`);
    }
    edges.forEach((e, i) => {
        const edge = g.edge(e.from, e.to, `e${i}`);
        const points: { x: number; y: number }[] = edge.points ?? [];
        const d = points.map((p, j) => `${j ? "L" : "M"}${r(p.x)},${r(p.y)}`).join(" ");
        parts.push(`<g class="edge${e.dashed ? " dashed" : ""}"><path d="${d}" marker-end="url(#${arrow})"/>` +
            (e.label && edge.x !== undefined ? `<text x="${r(edge.x)}" y="${r(edge.y! + FONT_PX / 3)}" text-anchor="middle" class="edge-label">${escapeHtml(e.label)}</text>` : "") + "</g>");
    });
    for (const n of nodes.filter((x) => !x.group)) {
        const box = g.node(n.id);
        const x = box.x - box.width / 2;
        const y = box.y - box.height / 2;
        const text = n.lines.map((l, j) => `<tspan x="${r(x + PAD)}" y="${r(y + PAD + (j + 1) * LINE_PX - 4)}"${j === 0 ? ' class="title"' : ""} xml:space="preserve">${escapeHtml(l)}</tspan>`).join("");
        parts.push(`<g class="node ${n.kind ?? ""}"><rect x="${r(x)}" y="${r(y)}" width="${r(box.width)}" height="${r(box.height)}" rx="6"/><text>${text}</text></g>`);
    }
    return `<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="${escapeHtml(title)}" viewBox="0 0 ${r(width)} ${r(height)}" width="${r(width)}" height="${r(height)}">` +
        `<title>${escapeHtml(title)}</title><defs><marker id="${arrow}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z"/></marker></defs>` +
        parts.join("") + "</svg>";
}

/** Coordinates rounded to a tenth: stable text for byte-identical reports. */
const r = (n: number): string => String(Math.round(n * 10) / 10);
