/**
 * `npm run bench`: plan speed, the modelled deployment critical path, and key-material cost, each as a ratio measured
 * side by side in the same run, printed with its target and written to out/bench/results.json.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { performance } from "node:perf_hooks";
import { pkiConfigSchema } from "../config/pkiSchema";
import { planStack, PROJECT_ROOT } from "../engine/plan";
import { PathStep } from "./criticalPath";
import { DeploymentReport, deploymentReport } from "./deployment";
import { ISTIO_TOOLS_CERTS, measureProfiles, Profile } from "./keyMaterial";
import { measurePlanSpeed } from "./planSpeed";
import { measurePolicy } from "./policyEval";
import { atLeast, atMost, meets, round, Target } from "./stats";
import { tenClusterSpec } from "./tenClusters";

const PLAN_RUNS = 3;
const POLICY_RUNS = 3;
const POLICY_BUDGET_MS = 10_000;
const POLICY_DEADLINE_MS = 90_000;
const POLICY_SIZES = [1_000, 10_000];
const HANDSHAKES = 150;
const HANDSHAKE_ROUNDS = 5;
const ISSUANCE = 300;
const ISSUANCE_BUDGET_MS = 3_000;

interface Metric {
    readonly name: string;
    readonly value: number;
    readonly unit: string;
    readonly target: Target;
    readonly met: boolean;
    readonly note?: string;
}

const metrics: Metric[] = [];
const say = (...lines: string[]) => lines.forEach((l) => console.log(l));

function metric(name: string, value: number, target: Target, note?: string): void {
    const met = meets(value, target);
    metrics.push({ name, value: round(value, 3), unit: target.unit, target, met, note });
    const shown = Number.isFinite(value) ? `${round(value, 3)}${target.unit}` : "n/a";
    say(`  ${met ? "MET   " : "MISSED"} ${name}: ${shown} (target ${target.comparison === "<=" ? "≤" : "≥"} ${target.value}${target.unit})${note ? ` — ${note}` : ""}`);
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const minutes = (s: number) => `${(s / 60).toFixed(1)} min`;

/** The project's default profile: the pki stack's schema defaults, and P-256 leaves as Istio proxies make them with ECC. */
function defaultProfile(): Profile {
    const defaults = pkiConfigSchema.parse({ role: "pki", environment: "bench", organization: "bench", clusters: [{ name: "bench-1", trustDomain: "bench.mesh.acme.example" }] });
    return { label: "project default", leaf: { algorithm: "ECDSA", ecdsaCurve: "P256" }, intermediate: defaults.intermediateKey, root: defaults.rootKey };
}

/** For the trade-off only: what the root's curve costs. The config refuses P-256 roots. */
const ALL_P256: Profile = {
    label: "P-256 root (not allowed as a root by the pki config)",
    leaf: { algorithm: "ECDSA", ecdsaCurve: "P256" },
    intermediate: { algorithm: "ECDSA", ecdsaCurve: "P256" },
    root: { algorithm: "ECDSA", ecdsaCurve: "P256" },
};

const nameOf = (urn: string) => urn.slice(urn.lastIndexOf("::") + 2);

function printDeployment(d: DeploymentReport) {
    say(`  ${d.resources} resources to create or read across ${d.clusters.length} clusters (${d.clusters.join(", ")})`);
    say(`  critical path ${minutes(d.criticalPathSeconds)}, ideal ${minutes(d.idealSeconds)}, sequential ${minutes(d.sequentialSeconds)}`);
    say("  critical path:");
    if (d.criticalPath.steps.length === 0) say("    (nothing takes time)");
    d.criticalPath.steps.forEach(printStep);
    say(`  ideal = slowest cluster chain (${d.ideal.perCluster.map((c) => `${c.cluster} ${minutes(c.chain.seconds)}`).join(", ") || "no clusters"}) + cross-cluster chain ${minutes(d.ideal.crossCluster.seconds)}`);
    say(`  sequential = ${d.sequentialPhases.map((p) => `${p.layer}/${p.cluster ?? "shared"} ${minutes(p.seconds)}`).join(" + ") || "nothing"}`);
    const onPath = d.crossClusterEdges.filter((e) => e.onCriticalPath);
    say(`  waits across clusters: ${d.crossClusterEdges.length}${onPath.length ? `; on the critical path: ${onPath.map((e) => `"${nameOf(e.to)}" (${e.toCluster}) waits for "${nameOf(e.from)}" (${e.fromCluster})`).join("; ")}` : ""}`);
    if (d.unknownTypes.length) say(`  types not in the table (default estimate): ${d.unknownTypes.join(", ")}`);
}

function printStep(s: PathStep) {
    const where = s.cluster ?? "(shared)";
    say(`    ${`+${minutes(s.start)}`.padStart(10)}  ${`${s.seconds} s`.padStart(6)}  ${where.padEnd(16)} ${s.type} "${s.name}"${s.created ? "" : " (component: passes waits on)"}`);
}

async function main() {
    const started = performance.now();
    const cpus = os.cpus();
    const machine = {
        cpus: cpus.length, cpuModel: cpus[0]?.model ?? "unknown", platform: os.platform(), arch: os.arch(),
        memoryGiB: round(os.totalmem() / 2 ** 30, 1), node: process.version, openssl: process.versions.openssl,
    };
    say(`Benchmarks on ${machine.cpus} vCPU ${machine.platform} ${machine.arch} (${machine.cpuModel}), Node ${machine.node}, OpenSSL ${machine.openssl}`);

    say("", `1. Plan speed: offline plan in a fresh process over the floor (the same registrations under stock Pulumi mocks), median of ${PLAN_RUNS}`);
    const tenClusters = await tenClusterSpec();
    const speeds = await measurePlanSpeed([{ label: "prod", spec: { stack: "prod" } }, { label: "10 clusters", spec: tenClusters }], PLAN_RUNS);
    for (const s of speeds) {
        say(`  ${s.label}: ${s.registrations} registrations (referenced stacks included), ${s.mandatoryViolations} mandatory violation(s)`);
        say(`    plan ${seconds(s.planMs)} (startup ${seconds(s.plan.startupMs)}, then plan ${seconds(s.plan.workMs)}); floor ${seconds(s.floorMs)} (startup ${seconds(s.floor.startupMs)}, then registering ${seconds(s.floor.workMs)})`);
    }
    metric("plan speed, prod / floor", speeds[0].ratio, atMost(1.5));
    metric("plan speed, 10 clusters / floor", speeds[1].ratio, atMost(3));

    const policy = await measurePolicy({ sizes: POLICY_SIZES, runs: POLICY_RUNS, budgetMs: POLICY_BUDGET_MS }, POLICY_DEADLINE_MS);
    say("", `   Policy evaluation alone: ${policy.packs.map((p) => `${p.name} (${p.policies} policies)`).join(", ")} over copies of prod's plan (its pki stack included), median of up to ${POLICY_RUNS}`);
    for (const t of policy.timings) {
        say(`  ${t.resources} resources: ${t.complete ? `${seconds(t.ms)} (${t.runsMs.length} run(s), ${t.violations} violations)` : `stopped at the ${seconds(POLICY_DEADLINE_MS)} deadline after ${seconds(t.ms)}`}`);
    }
    const [small, large] = policy.timings;
    const lowerBound = large.complete ? undefined : "at least: stopped at the deadline";
    metric("policy evaluation, 10,000 resources", large.ms / 1000, atMost(3, " s"), lowerBound);
    metric("policy evaluation, 10,000 vs 1,000 resources (10× is linear)", large.ms / small.ms, atMost(13), lowerBound);

    const prod = await planStack({ stack: "prod" });
    const deployment = deploymentReport(prod);
    say("", `2. Deployment critical path of \`pulumi up\` for ${deployment.stack} (modelled; bench/durations.ts holds the times and their sources)`);
    printDeployment(deployment);
    const nothingYet = deployment.criticalPathSeconds === 0 ? "nothing in the graph takes time yet" : undefined;
    metric("critical path / ideal", deployment.criticalPathSeconds / deployment.idealSeconds, atMost(1.05), nothingYet);
    const clusterChains = deployment.ideal.perCluster.map((c) => c.chain.seconds);
    const sumOverSlowest = clusterChains.reduce((a, b) => a + b, 0) / Math.max(...clusterChains);
    const phasedRatio = deployment.sequentialSeconds / deployment.criticalPathSeconds;
    metric("sequential / critical path", phasedRatio, atLeast(2.5), nothingYet ?? (phasedRatio < 2.5
        ? `the ${clusterChains.length} cluster chains add up to only ${round(sumOverSlowest, 2)}× the slowest: there is little to serialize`
        : undefined));
    const wide = deploymentReport(await planStack({ stack: tenClusters.stack, config: tenClusters.config, secretKeys: tenClusters.secretKeys }));
    say(`  for comparison, the generated ${wide.clusters.length}-cluster stack: critical path ${minutes(wide.criticalPathSeconds)}, ideal ${minutes(wide.idealSeconds)}, ` +
        `sequential ${minutes(wide.sequentialSeconds)} (critical path / ideal ${round(wide.criticalPathSeconds / wide.idealSeconds, 3)}×, sequential / critical path ${round(wide.sequentialSeconds / wide.criticalPathSeconds, 2)}×)`);

    say("", `3. Key material: Istio tools/certs profile vs this project's default (handshake CPU median of ${HANDSHAKE_ROUNDS} rounds of ${HANDSHAKES})`);
    const [istio, ours, p256] = await measureProfiles([ISTIO_TOOLS_CERTS, defaultProfile(), ALL_P256], {
        handshakes: HANDSHAKES, rounds: HANDSHAKE_ROUNDS, issuance: ISSUANCE, issuanceBudgetMs: ISSUANCE_BUDGET_MS,
    });
    for (const c of [istio, ours, p256]) {
        say(`  ${c.label} (leaf / intermediate / root ${c.keys}): chain ${c.chainBytes} B, handshake ${c.handshakeCpuMs.toFixed(2)} ms CPU, issuance ${Math.round(c.issuancePerSecond)}/s`);
    }
    metric("chain bytes, default / istio", ours.chainBytes / istio.chainBytes, atMost(0.4));
    const rootCost = ours.handshakeCpuMs - p256.handshakeCpuMs;
    metric("handshake CPU, default / istio", ours.handshakeCpuMs / istio.handshakeCpuMs, atMost(1.0),
        `a P-256 root would take ${rootCost.toFixed(2)} ms less per handshake`);
    metric("leaf issuance throughput, default / istio", ours.issuancePerSecond / istio.issuancePerSecond, atLeast(2));

    const elapsedSeconds = round((performance.now() - started) / 1000, 1);
    say("", `${metrics.filter((m) => m.met).length} of ${metrics.length} targets met; ran in ${elapsedSeconds} s`);
    const out = path.join(PROJECT_ROOT, "out", "bench");
    fs.mkdirSync(out, { recursive: true });
    const results = {
        generatedAt: new Date().toISOString(), elapsedSeconds, machine, metrics, planSpeed: speeds, policy, deployment,
        deploymentTenClusters: { ...wide, criticalPath: undefined, ideal: undefined, durations: undefined }, keyMaterial: [istio, ours, p256],
    };
    fs.writeFileSync(path.join(out, "results.json"), JSON.stringify(results, null, 2) + "\n");
    say(`Wrote ${path.relative(process.cwd(), path.join(out, "results.json"))}`);
}

main().then(() => process.exit(0), (e) => {
    console.error(e);
    process.exit(1);
});
