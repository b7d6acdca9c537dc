import * as fs from "node:fs";
import * as path from "node:path";
import { Plan } from "../plan";
import { meshProof, planDocument } from "../report";
import { StackInputError } from "../project";
import { Changes, comparePlans } from "./changes";
import { renderHtml } from "./html";
import { reportModel } from "./model";
import { renderSummary } from "./summary";

export { Changes, describeChanges } from "./changes";

/** Compare the plan with an earlier plan.json of the same stack (`--baseline`). */
export function changesSince(plan: Plan, baselineFile: string): Changes {
    let baseline: { stack?: string; resources?: [] };
    try {
        baseline = JSON.parse(fs.readFileSync(baselineFile, "utf8"));
    } catch (e) {
        throw new StackInputError(`--baseline ${baselineFile}: ${(e as Error).message}`);
    }
    if (baseline.stack !== plan.settings.stack || !Array.isArray(baseline.resources)) {
        throw new StackInputError(`--baseline ${baselineFile}: not a plan.json of stack ${plan.settings.stack} (its stack: ${JSON.stringify(baseline.stack)})`);
    }
    return comparePlans(baseline, planDocument(plan), baselineFile);
}

/** `report.html`, `summary.md` and, with a baseline, `changes.json`, beside the plan's other files in `dir`. */
export function writeReports(plan: Plan, dir: string, changes?: Changes): void {
    const model = reportModel(plan, meshProof(plan), changes);
    fs.writeFileSync(path.join(dir, "report.html"), renderHtml(model));
    fs.writeFileSync(path.join(dir, "summary.md"), renderSummary(model));
    if (changes) fs.writeFileSync(path.join(dir, "changes.json"), JSON.stringify(changes, null, 2) + "\n");
}
