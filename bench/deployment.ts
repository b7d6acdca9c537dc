/** The deployment model applied to a planned stack: what the plan captured, timed with the creation-time table. */
import { Plan } from "../engine/plan";
import { Chain, DeploymentModel, modelDeployment } from "./criticalPath";
import { creationTime } from "./durations";

export interface DeploymentReport {
    readonly stack: string;
    readonly clusters: readonly string[];
    /** Custom resources `pulumi up` would create or read. */
    readonly resources: number;
    readonly criticalPathSeconds: number;
    readonly idealSeconds: number;
    readonly sequentialSeconds: number;
    readonly criticalPath: Chain;
    readonly ideal: DeploymentModel["ideal"];
    readonly sequentialPhases: DeploymentModel["sequential"]["phases"];
    readonly crossClusterEdges: DeploymentModel["crossClusterEdges"];
    readonly unknownTypes: readonly string[];
    /** Every type the stack creates, with the seconds and source the model used for it. */
    readonly durations: ReadonlyArray<{ readonly type: string; readonly count: number; readonly seconds: number; readonly basis: string }>;
}

/** The stack's clusters, in config order, from the config the plan ran with. */
function clusterNames(plan: Plan): string[] {
    const raw = plan.settings.config[`${plan.project.name}:clusters`];
    return raw ? (JSON.parse(raw) as Array<{ name: string }>).map((c) => c.name) : [];
}

export function deploymentReport(plan: Plan): DeploymentReport {
    const clusters = clusterNames(plan);
    const model = modelDeployment(plan.graph.resources, { clusters, estimate: creationTime });
    const created = plan.graph.resources.filter((r) => r.custom);
    // Keyed by type and estimate: Helm releases of different charts and LoadBalancer Services get their own rows.
    const rows = new Map<string, { type: string; count: number; seconds: number; basis: string }>();
    for (const r of created) {
        const { seconds, basis } = creationTime(r);
        const key = `${r.type}\n${basis}`;
        const row = rows.get(key) ?? { type: r.type, count: 0, seconds, basis };
        rows.set(key, { ...row, count: row.count + 1 });
    }
    return {
        stack: plan.settings.stack,
        clusters,
        resources: created.length,
        criticalPathSeconds: model.criticalPath.seconds,
        idealSeconds: model.ideal.seconds,
        sequentialSeconds: model.sequential.seconds,
        criticalPath: model.criticalPath,
        ideal: model.ideal,
        sequentialPhases: model.sequential.phases,
        crossClusterEdges: model.crossClusterEdges,
        unknownTypes: model.unknownTypes,
        durations: [...rows.values()].sort((a, b) => a.type.localeCompare(b.type) || b.seconds - a.seconds),
    };
}
