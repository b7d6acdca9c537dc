import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { PROJECT_ROOT } from "../engine/plan";

const USAGE = `usage: npm run up -- <stack> [pulumi up flags]
       npm run preview -- <stack> [pulumi preview flags]

Runs \`pulumi up\` or \`pulumi preview\` on the stack with every policy pack under policy/ (one --policy-pack each), as
CI does: no documented command deploys ungated. Refuses --policy-pack and --policy-pack-config of its own (the packs
are all of policy/, configured by their defaults), and refuses \`up\` of staging or prod outside CI, whose protected
environments hold their approvals.`;

/** Stacks deployed only by the deploy workflow, behind a protected GitHub environment's approval. */
export const APPROVED_IN_CI: readonly string[] = ["staging", "prod"];

/** Every policy pack of the project, as `--policy-pack` takes them (a folder with a PulumiPolicy.yaml). */
export function policyPacks(root = PROJECT_ROOT): string[] {
    const dir = path.join(root, "policy");
    return fs.readdirSync(dir).filter((p) => fs.existsSync(path.join(dir, p, "PulumiPolicy.yaml"))).sort().map((p) => `policy/${p}`);
}

/**
 * The `pulumi` arguments of a gated run. `--stack` takes the short name, which the CLI resolves in the current
 * organization (a DIY backend's literal `organization`), or a fully qualified `<org>/istio-production/<stack>`.
 */
export function gatedArgs(command: "up" | "preview", argv: readonly string[], env: NodeJS.ProcessEnv = process.env, root = PROJECT_ROOT): string[] {
    const [stack, ...rest] = argv;
    if (!stack || stack.startsWith("-")) throw new Error(`expected a stack name first\n\n${USAGE}`);
    const own = rest.find((a) => /^--policy-pack(-config)?(=|$)/.test(a));
    if (own) throw new Error(`${own}: the gate runs every pack of policy/; a run with a subset or other packs is not the gate`);
    const short = stack.split("/").pop()!;
    if (command === "up" && APPROVED_IN_CI.includes(short) && env.GITHUB_ACTIONS !== "true") {
        throw new Error(`refusing \`pulumi up\` of ${stack} outside CI: ${short} deploys from the deploy workflow, after the approval of its ` +
            `protected environment (docs/promotion.md#ci). Preview it with \`npm run preview -- ${stack}\`.`);
    }
    return [command, "--stack", stack, ...policyPacks(root).flatMap((p) => ["--policy-pack", p]), ...rest];
}

export function main(command: "up" | "preview", argv: string[]): number {
    let args: string[];
    try {
        args = gatedArgs(command, argv);
    } catch (e) {
        console.error((e as Error).message);
        return 2;
    }
    console.error(`pulumi ${args.join(" ")}`);
    const run = spawnSync("pulumi", args, { cwd: PROJECT_ROOT, stdio: "inherit" });
    if (run.error) {
        console.error(`could not run pulumi: ${run.error.message}`);
        return 2;
    }
    return run.status ?? 1;
}

if (require.main === module) {
    const [command, ...rest] = process.argv.slice(2);
    if (command !== "up" && command !== "preview") {
        console.error(USAGE);
        process.exit(2);
    }
    process.exit(main(command, rest));
}
