/** Text made safe for HTML and SVG content and attribute values. */
export function escapeHtml(text: unknown): string {
    return String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}
