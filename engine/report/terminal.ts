/** What the terminal summary looks like: colour only where a person reads it. */
export interface SummaryStyle {
    /** Per-type resource counts. @default false */
    readonly verbose?: boolean;
    /** ANSI colour. @default false */
    readonly color?: boolean;
}

/** Colour on a TTY unless NO_COLOR is set to anything (https://no-color.org). */
export function colorWanted(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
    return stream.isTTY === true && (env.NO_COLOR ?? "") === "";
}

const CODES = { bold: [1, 22], red: [31, 39], yellow: [33, 39], green: [32, 39], dim: [2, 22] } as const;

export function painter(color: boolean | undefined) {
    return (style: keyof typeof CODES, text: string): string => (color ? `\x1b[${CODES[style][0]}m${text}\x1b[${CODES[style][1]}m` : text);
}

/** A plain-text table: columns padded to their widest cell, a rule under the header. */
export function textTable(headers: readonly string[], rows: readonly (readonly unknown[])[], indent = "  "): string[] {
    const cells = rows.map((r) => r.map((c) => String(c ?? "")));
    const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i]?.length ?? 0)));
    const line = (r: readonly string[]) => indent + r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join("  ");
    return [line(headers), indent + widths.map((w) => "-".repeat(w)).join("  "), ...cells.map(line)];
}

/**
 * The stack setting behind a policy, where the program derives what the policy checks from one setting: the
 * violation is then fixed in the stack file, not in code. Each entry is read off the program: highAvailability sets
 * replicas and PodDisruptionBudgets of every release (components/mesh), protectResources sets `protect` and GKE's
 * deletionProtection (components/cloud), operatorCidrs makes the EKS and GKE API allow-lists
 * (program/clusters.ts), mesh.outboundTrafficPolicy istiod's mode, and traffic the VirtualServices' faults.
 */
const CAUSES: Readonly<Record<string, string>> = {
    "production-high-availability": "highAvailability",
    "protect-in-production": "protectResources",
    "gke-deletion-protection-in-production": "protectResources",
    "eks-endpoint-access-restricted": "operatorCidrs",
    "gke-control-plane-access": "operatorCidrs",
    "istiod-outbound-registry-only": "mesh.outboundTrafficPolicy",
    "no-fault-injection-in-production": "traffic",
};

/** `istio-production:highAvailability` for a policy the stack's config decides, in a project with that config. */
export function causingKey(project: string, policy: string, config: Readonly<Record<string, string>>): string | undefined {
    const key = CAUSES[policy];
    // Only this project's mesh stacks have these settings (not its pki stacks, not another program).
    return key && `${project}:stage` in config ? `${project}:${key}` : undefined;
}
