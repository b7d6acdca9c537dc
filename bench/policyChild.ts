/**
 * Policy evaluation over synthetic graphs, in a child the parent can stop at a deadline.
 * Usage: policyChild.ts <options JSON> <result.json>
 */
import * as path from "node:path";
import { discoverPacks } from "../engine/policy";
import { planStack, PROJECT_ROOT } from "../engine/plan";
import { writeResult } from "./child";
import { PolicyOptions, timePolicyEvaluation } from "./policyEval";

async function main() {
    const opts = JSON.parse(process.argv[2]) as PolicyOptions;
    const prod = await planStack({ stack: "prod" });
    const packs = discoverPacks(path.join(PROJECT_ROOT, "policy"));
    await timePolicyEvaluation([...prod.referencedGraphs.values(), prod.graph], packs, opts, writeResult);
    process.exit(0);
}

main().catch((e) => {
    console.error(e);
    process.exit(1);
});
