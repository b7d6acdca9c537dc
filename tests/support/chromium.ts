import { ChildProcess, execFileSync, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

/** The distribution's Chromium (Debian's `chromium`), or `CHROMIUM` when set; undefined when none is installed. */
export function findChromium(): string | undefined {
    if (process.env.CHROMIUM) return process.env.CHROMIUM;
    for (const name of ["chromium", "chromium-browser"]) {
        try {
            return execFileSync("sh", ["-c", `command -v ${name}`], { encoding: "utf8" }).trim() || undefined;
        } catch {
            // not this name
        }
    }
    return undefined;
}

type Handler = (params: any, sessionId?: string) => void;

/**
 * Headless Chromium driven over the Chrome DevTools Protocol on a pipe, so no port, no WebSocket and no driver package
 * are needed: with `--remote-debugging-pipe` Chromium reads requests from fd 3 and writes responses and events to fd 4
 * (chromium/chromium components/devtools/devtools_pipe/devtools_pipe.h, kReadFD and kWriteFD), each message JSON
 * ended by a NUL byte (content/browser/devtools/devtools_pipe_handler.cc).
 */
export class Browser {
    private readonly proc: ChildProcess;
    private readonly profile = fs.mkdtempSync(path.join(os.tmpdir(), "chromium-"));
    private nextId = 1;
    private readonly pending = new Map<number, { resolve: (v: any) => void; reject: (e: Error) => void }>();
    private readonly handlers: Array<[string, Handler]> = [];
    private buffered = "";

    constructor(executable: string) {
        this.proc = spawn(executable, [
            "--headless", "--remote-debugging-pipe", "--no-sandbox", "--disable-gpu", "--no-first-run", "--no-default-browser-check",
            "--disable-extensions", "--disable-background-networking", "--disable-component-update", "--disable-sync",
            `--user-data-dir=${this.profile}`, "about:blank",
        ], { stdio: ["ignore", "ignore", "ignore", "pipe", "pipe"] });
        const output = this.proc.stdio[4] as NodeJS.ReadableStream;
        output.setEncoding("utf8");
        output.on("data", (chunk: string) => {
            const parts = (this.buffered + chunk).split("\0");
            this.buffered = parts.pop()!;
            for (const text of parts) this.dispatch(JSON.parse(text));
        });
    }

    private dispatch(msg: any) {
        if (msg.id !== undefined) {
            const p = this.pending.get(msg.id);
            this.pending.delete(msg.id);
            if (msg.error) p?.reject(new Error(`${msg.error.message} (${msg.error.code})`));
            else p?.resolve(msg.result);
            return;
        }
        for (const [method, handler] of this.handlers) if (method === msg.method) handler(msg.params, msg.sessionId);
    }

    send(method: string, params: Record<string, unknown> = {}, sessionId?: string): Promise<any> {
        const id = this.nextId++;
        const input = this.proc.stdio[3] as NodeJS.WritableStream;
        return new Promise((resolve, reject) => {
            this.pending.set(id, { resolve, reject });
            input.write(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }) + "\0");
        });
    }

    on(method: string, handler: Handler): void {
        this.handlers.push([method, handler]);
    }

    once(method: string): Promise<any> {
        return new Promise((resolve) => {
            let done = false;
            this.on(method, (params) => {
                if (!done) resolve(params);
                done = true;
            });
        });
    }

    /** A new page (tab), attached with a flat session. */
    async page(): Promise<string> {
        const { targetId } = await this.send("Target.createTarget", { url: "about:blank" });
        const { sessionId } = await this.send("Target.attachToTarget", { targetId, flatten: true });
        return sessionId;
    }

    async close(): Promise<void> {
        await this.send("Browser.close").catch(() => undefined);
        await new Promise((resolve) => (this.proc.exitCode !== null ? resolve(undefined) : this.proc.once("exit", resolve)));
        fs.rmSync(this.profile, { recursive: true, force: true });
    }
}
