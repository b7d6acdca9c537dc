import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { PROJECT_ROOT } from "../engine/plan";
import { writeReports } from "../engine/report/index";
import { Browser, findChromium } from "./support/chromium";
import { shippedPlan, tempDir } from "./support/plan";

const SCREENSHOTS = path.join(PROJECT_ROOT, "out", "browser");

/** One page load per width: what a reviewer sees on a desktop and on a phone (≈390 CSS pixels wide). */
const WIDTHS = [{ name: "desktop", width: 1280, height: 900, mobile: false }, { name: "narrow", width: 390, height: 844, mobile: true }];

describe("report.html in a real browser (headless Chromium)", function () {
    const chromium = findChromium();
    let browser: Browser | undefined;
    let url = "";

    before(async function () {
        if (!chromium) {
            console.warn("SKIPPED: no Chromium is installed (`.ci/run` installs Debian's `chromium`; set CHROMIUM=<path> to use another)");
            this.skip();
        }
        const dir = tempDir("report-browser");
        writeReports(await shippedPlan("prod"), dir);
        url = `file://${path.join(dir, "report.html")}`;
        browser = new Browser(chromium!);
        fs.mkdirSync(SCREENSHOTS, { recursive: true });
    });

    after(async () => browser?.close());

    for (const view of WIDTHS) {
        it(`shows the diagrams and tables readably at ${view.width}px, with no console error and no network request`, async () => {
            const b = browser!;
            const session = await b.page();
            const errors: string[] = [];
            const requests: string[] = [];
            b.on("Runtime.consoleAPICalled", (p, s) => s === session && p.type === "error" && errors.push(p.args.map((a: any) => a.value ?? a.description).join(" ")));
            b.on("Runtime.exceptionThrown", (p, s) => s === session && errors.push(p.exceptionDetails.text));
            b.on("Log.entryAdded", (p, s) => s === session && p.entry.level === "error" && errors.push(p.entry.text));
            b.on("Network.requestWillBeSent", (p, s) => s === session && p.request.url !== url && requests.push(p.request.url));
            await Promise.all(["Runtime.enable", "Log.enable", "Network.enable", "Page.enable"].map((m) => b.send(m, {}, session)));
            await b.send("Emulation.setDeviceMetricsOverride", { width: view.width, height: view.height, deviceScaleFactor: 1, mobile: view.mobile }, session);
            const loaded = b.once("Page.loadEventFired");
            await b.send("Page.navigate", { url }, session);
            await loaded;

            const probe = async (expression: string) => (await b.send("Runtime.evaluate", { expression, returnByValue: true }, session)).result.value;
            const page = await probe(`(() => {
                const svgs = [...document.querySelectorAll("figure svg")];
                const texts = svgs.flatMap((s) => [...s.querySelectorAll("text")]);
                const filter = document.getElementById("filter");
                filter.value = "helm.sh/v3:Release";
                filter.dispatchEvent(new Event("input"));
                const rows = [...document.querySelectorAll("#resources tbody tr")];
                return {
                    svgs: svgs.map((s) => ({ label: s.getAttribute("aria-label"), width: s.getBoundingClientRect().width, nodes: s.querySelectorAll(".node").length })),
                    smallestSvgText: Math.min(...texts.map((t) => t.getBoundingClientRect().height).filter((h) => h > 0)),
                    tables: [...document.querySelectorAll("table")].map((t) => t.getBoundingClientRect().width),
                    headings: [...document.querySelectorAll("h2")].map((h) => h.textContent),
                    pageOverflow: document.documentElement.scrollWidth - window.innerWidth,
                    bodyFont: parseFloat(getComputedStyle(document.body).fontSize),
                    rows: rows.length, shown: rows.filter((r) => !r.hidden).length,
                };
            })()`);
            const { cssContentSize } = await b.send("Page.getLayoutMetrics", {}, session);
            const shot = await b.send("Page.captureScreenshot", { format: "png", captureBeyondViewport: true, clip: { x: 0, y: 0, width: view.width, height: Math.min(cssContentSize.height, 2400), scale: 1 } }, session);
            fs.writeFileSync(path.join(SCREENSHOTS, `report-prod-${view.name}.png`), Buffer.from(shot.data, "base64"));

            assert.deepEqual(errors, [], "console errors");
            assert.deepEqual(requests, [], "network requests besides the page itself");
            assert.deepEqual(page.svgs.map((s: any) => s.label), ["Topology of prod", "PKI of prod"]);
            for (const s of page.svgs) assert.ok(s.width > 200 && s.nodes >= 2, `diagram ${s.label}: ${JSON.stringify(s)}`);
            // Text in the diagrams is drawn at its own size (scrolled, not shrunk, on a phone), never below 9px.
            assert.ok(page.smallestSvgText >= (view.mobile ? 11 : 9), `smallest diagram text ${page.smallestSvgText}px`);
            assert.ok(page.tables.length >= 5 && page.tables.every((w: number) => w > 0), `tables: ${page.tables}`);
            assert.deepEqual(page.headings, ["Stage", "Topology", "PKI", "Policy", "Mesh reachability", "Chart versions", "Resources by component and cluster"]);
            // Wide content scrolls inside its own box; the page itself never scrolls sideways.
            assert.ok(page.pageOverflow <= 0, `the page is ${page.pageOverflow}px wider than the viewport`);
            assert.ok(page.bodyFont >= 14);
            assert.ok(page.shown >= 2 && page.shown < page.rows, `filter shows ${page.shown} of ${page.rows}`);
        });
    }
});

describe("the browser harness fails fast", () => {
    it("a browser that cannot start or exits at once fails its calls at once, not at the test's timeout", async () => {
        for (const [executable, why] of [["/nonexistent/chromium", /could not run/], ["/bin/false", /exited|pipe broke/]] as const) {
            const browser = new Browser(executable);
            const started = Date.now();
            await assert.rejects(browser.page(), why);
            assert.ok(Date.now() - started < 10_000, `${executable}: failed after ${Date.now() - started} ms`);
            await browser.close();
        }
    });
});
