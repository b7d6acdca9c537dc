/**
 * Measurements that need a fresh process run in a child: module loading and first-run compilation are part of what a
 * user waits for, and a warm parent would hide them. The child writes its findings as JSON to a file, so whatever the
 * program logs on stdout cannot corrupt them.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { performance } from "node:perf_hooks";

// Not imported from the engine: the floor's child must load nothing but @pulumi/pulumi.
const PROJECT_ROOT = path.resolve(__dirname, "..");

export interface ChildRun<T> {
    /** From spawn to exit (or to the deadline), as the parent saw it. */
    readonly wallMs: number;
    /** What the child last wrote; a child stopped at its deadline may have written part of its findings. */
    readonly result: T;
    /** The child was stopped at its deadline. */
    readonly stopped: boolean;
}

/**
 * Runs `bench/<script>` under the same TypeScript loader the plan command uses; the last argument is the result file.
 * With a deadline the child is killed when it passes it, and whatever it wrote so far is returned.
 */
export async function runChild<T>(script: string, args: readonly string[], deadlineMs?: number): Promise<ChildRun<T>> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bench-"));
    const resultFile = path.join(dir, "result.json");
    try {
        const started = performance.now();
        const { code, stderr, stopped } = await new Promise<{ code: number | null; stderr: string; stopped: boolean }>((resolve, reject) => {
            const child = spawn(process.execPath, ["-r", "tsx/cjs", path.join(__dirname, script), ...args, resultFile], {
                cwd: PROJECT_ROOT, stdio: ["ignore", "ignore", "pipe"],
            });
            let err = "";
            let killed = false;
            const timer = deadlineMs === undefined ? undefined : setTimeout(() => {
                killed = true;
                child.kill("SIGKILL");
            }, deadlineMs);
            child.stderr.on("data", (d) => (err += d));
            child.on("error", reject);
            child.on("close", (c) => {
                clearTimeout(timer);
                resolve({ code: c, stderr: err, stopped: killed });
            });
        });
        const wallMs = performance.now() - started;
        if (code !== 0 && !stopped) throw new Error(`bench/${script} ${args.join(" ")} exited with ${code}:\n${stderr.trim()}`);
        if (!fs.existsSync(resultFile)) throw new Error(`bench/${script} ${args.join(" ")} was stopped at its deadline before it found anything`);
        return { wallMs, result: JSON.parse(fs.readFileSync(resultFile, "utf8")) as T, stopped };
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

/** The child side: the result file is the last argument. Written whole and renamed, so a kill never leaves half a file. */
export function writeResult(result: unknown): void {
    const file = process.argv[process.argv.length - 1];
    fs.writeFileSync(`${file}.tmp`, JSON.stringify(result));
    fs.renameSync(`${file}.tmp`, file);
}
