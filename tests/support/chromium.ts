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

/** A call Chromium does not answer in this time fails, instead of holding the test to mocha's timeout. */
const CALL_TIMEOUT_MS = 30_000;

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
    /** Set once the browser cannot answer any more: it failed to start, exited, or its pipe broke. */
    private gone?: Error;

    constructor(executable: string) {
        this.proc = spawn(executable, [
            // --disable-dev-shm-usage: containers often give /dev/shm 64 MB, which renderers outgrow and crash on.
            "--headless", "--remote-debugging-pipe", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run", "--no-default-browser-check",
            "--disable-extensions", "--disable-background-networking", "--disable-component-update", "--disable-sync",
            `--user-data-dir=${this.profile}`, "about:blank",
        ], { stdio: ["ignore", "ignore", "ignore", "pipe", "pipe"] });
        // A missing executable, a stub that exits, a broken pipe: every pending and later call fails at once.
        const fail = (why: string) => {
            this.gone ??= new Error(`chromium (${executable}) ${why}`);
            for (const p of this.pending.values()) p.reject(this.gone);
            this.pending.clear();
        };
        this.proc.on("error", (e) => fail(`could not run: ${e.message}`));
        this.proc.on("exit", (code, signal) => fail(`exited (${signal ?? `code ${code}`})`));
        (this.proc.stdio[3] as NodeJS.WritableStream).on("error", (e: Error) => fail(`pipe broke: ${e.message}`));
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
        if (this.gone) return Promise.reject(this.gone);
        return new Promise((resolve, reject) => {
            const timer = setTimeout(() => {
                this.pending.delete(id);
                reject(new Error(`chromium did not answer ${method} within ${CALL_TIMEOUT_MS / 1000} s`));
            }, CALL_TIMEOUT_MS);
            const settle = <T>(f: (v: T) => void) => (v: T) => {
                clearTimeout(timer);
                f(v);
            };
            this.pending.set(id, { resolve: settle(resolve), reject: settle(reject) });
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
        const exited = this.proc.exitCode !== null || this.proc.signalCode !== null || this.gone !== undefined;
        if (!exited) await new Promise((resolve) => this.proc.once("exit", resolve));
        fs.rmSync(this.profile, { recursive: true, force: true });
    }
}
