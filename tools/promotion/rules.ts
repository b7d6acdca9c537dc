import { Capability, capabilitiesFor, ChartVersions, CONFIG_NAMESPACE, MeshConfig, Stage } from "../../config";

/** The promotion rules: the order of stacks, what a promotion carries, and what refuses one. */

/** Stacks in promotion order: a setting reaches one only after the one before it ran it. */
export const PROMOTION_ORDER = ["dev", "staging", "prod"] as const;

export const STAGE_KEY = `${CONFIG_NAMESPACE}:stage`;

/**
 * The settings a promotion carries: what is deployed (stage, chart versions, Istio images, workload certificate
 * policy), as opposed to where (clusters, sizes, regions, CIDRs, secrets, PKI source, ingress hosts,
 * highAvailability, protectResources), which belongs to each environment and never moves. The PKI source above all:
 * each environment reads its own pki stack (`pki-<environment>`), and carrying dev's would hand staging dev's keys
 * (the config gate refuses a result that points at another environment's pki stack). Settings added later that
 * describe what is deployed belong here.
 */
export const PROMOTABLE_KEYS: readonly string[] = [STAGE_KEY, `${CONFIG_NAMESPACE}:charts`, `${CONFIG_NAMESPACE}:mesh`];

/**
 * The `mesh` settings a promotion carries: the Istio images and the workload certificate policy, as docs/promotion.md
 * promises. Trust-domain aliases (a migration of one environment) and the outbound traffic policy (what one
 * environment's workloads may reach) stay with their environment.
 */
export const PROMOTABLE_MESH_KEYS: readonly string[] = ["istioHub", "istioTag", "keyAlgorithm", "workloadCertificateTtlMinutes"];

/**
 * The capability that deploys each chart, `undefined` for charts every stage deploys. A pin of a chart the source's
 * stage does not deploy never ran there, so it is not carried, and the target's own pin of it stays.
 */
export const CHART_CAPABILITY: Readonly<Record<keyof ChartVersions, Capability | undefined>> = {
    istio: undefined,
    certManager: undefined,
    awsLoadBalancerController: undefined,
    istioCsr: "enterpriseMeshCa",
    // Deployed by clusters whose caBackend is a managed CA, from the stage istio-csr takes over the mesh CA.
    awsPrivateCaIssuer: "enterpriseMeshCa",
    googleCasIssuer: "enterpriseMeshCa",
    approverPolicy: "issuancePolicy",
    prometheus: "observability",
    kiali: "observability",
};

/** The promotable key paths a source at `stage` has run, as `pulumi config set --path` writes them. */
export function promotablePaths(stage: Stage): string[] {
    const on = capabilitiesFor(stage);
    const charts = Object.entries(CHART_CAPABILITY).filter(([, cap]) => cap === undefined || on[cap]).map(([chart]) => `${CONFIG_NAMESPACE}:charts.${chart}`);
    return [...charts, ...PROMOTABLE_MESH_KEYS.map((k) => `${CONFIG_NAMESPACE}:mesh.${k}`)];
}

/** A promotion a rule forbids: skipping a stack, a source with mandatory violations, a config the gate refuses. */
export class PromotionRefused extends Error {
    constructor(message: string) {
        super(message);
        this.name = "PromotionRefused";
    }
}

/** The stack files cannot be read as stack files. */
export class PromotionInputError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "PromotionInputError";
    }
}

/** One setting of the target as the promotion leaves it. `undefined` means unset (the program's default applies). */
export interface Change {
    /** Key path as `pulumi config set --path` writes it, e.g. `istio-production:charts.istio`. */
    readonly key: string;
    readonly before: unknown;
    readonly after: unknown;
    /** Why a promotable setting was not carried as it is. */
    readonly note?: string;
}

/**
 * An edit of the source's stack file that was never deployed is not what ran there: the stage and the chart
 * versions the program exports (`stage`, `chartVersions`: program/mesh.ts) must equal the file's.
 */
export function checkDeployed(from: string, config: MeshConfig, outputs: Record<string, unknown>): void {
    const problems: string[] = [];
    if (outputs.stage !== config.stage) problems.push(`stage: the stack file sets ${config.stage}, ${from} deployed ${JSON.stringify(outputs.stage ?? null)}`);
    const deployed = isPlainObject(outputs.chartVersions) ? outputs.chartVersions : {};
    for (const path of promotablePaths(config.stage).filter((p) => p.startsWith(`${CONFIG_NAMESPACE}:charts.`))) {
        const chart = path.slice(`${CONFIG_NAMESPACE}:charts.`.length) as keyof ChartVersions;
        if (deployed[chart] !== config.charts[chart]) problems.push(`charts.${chart}: the stack file pins ${config.charts[chart]}, ${from} deployed ${JSON.stringify(deployed[chart] ?? null)}`);
    }
    if (problems.length > 0) {
        throw new PromotionRefused(`refusing to promote ${from}: its stack file is not what it deployed (run \`pulumi up\` on ${from} first, or promote what ran):\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    }
}

export function checkOrder(from: string, to: string): void {
    const order: readonly string[] = PROMOTION_ORDER;
    const known = order.join(" → ");
    for (const stack of [from, to]) {
        if (!order.includes(stack)) throw new PromotionRefused(`${stack} is not in the promotion order ${known}`);
    }
    const next = order[order.indexOf(from) + 1];
    if (to !== next) {
        throw new PromotionRefused(next === undefined
            ? `${from} is the last stack of the promotion order ${known}: there is nothing to promote it to`
            : `refusing to promote ${from} → ${to}: promotion goes one stack at a time (${known}), so ${from} promotes to ${next}`);
    }
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
    return typeof v === "object" && v !== null && !Array.isArray(v);
}
