// The dashboard's whole lifecycle in Debian's Chromium, driven by playwright-core:
// create a chronicle, tail it live, publish, provoke a 409, run a query; screenshots.
// Usage: BASE_URL=http://127.0.0.1:8000 SCREENSHOTS=dir node dashboard_flow.mjs
import { createRequire } from "node:module";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";

const require = createRequire(new URL("../../frontend/package.json", import.meta.url));
const { chromium } = require("playwright-core");

const base = process.env.BASE_URL;
const shots = process.env.SCREENSHOTS ?? "screenshots";
const timeout = 10_000 * Number(process.env.CHRONICLE_TEST_TIME_SCALE ?? "1");
const chronicle = `e2e-${Date.now().toString(36)}`;
mkdirSync(shots, { recursive: true });

const step = (what) => console.log(`step: ${what}`);

// The driver (tests/e2e/test_dashboard.py) stops and restarts the server when asked.
const lines = createInterface({ input: process.stdin });
const driver = lines[Symbol.asyncIterator]();
async function ask(request) {
  console.log(request);
  const { value, done } = await driver.next();
  if (done || value !== `${request} done`) throw new Error(`driver answered ${value} to ${request}`);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
  ],
  timeout,
});
const problems = [];
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  page.setDefaultTimeout(timeout);
  // Chromium logs every 4xx response to the console; the one 409 we provoke is expected.
  // So does every refused WebSocket connection while the server is down.
  let expected409 = false;
  let outage = false;
  page.on("console", (m) => {
    if (m.type() !== "error") return;
    if (expected409 && m.text().includes("status of 409")) return;
    if (outage && m.text().includes("WebSocket connection to")) return;
    problems.push(`console: ${m.text()}`);
  });
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));

  step("open the dashboard, hub connected");
  await page.goto(base);
  await page.getByTestId("connection").getByText("connected", { exact: true }).waitFor();

  step("create a chronicle");
  await page.getByPlaceholder("new chronicle name").fill(chronicle);
  await page.getByRole("button", { name: "Create" }).press("Enter");
  await page.getByText(`Created ${chronicle}`).waitFor();
  await page.getByRole("heading", { name: `Publish to ${chronicle}` }).waitFor();

  step("start a live tail of the chronicle from the end");
  await page.getByRole("button", { name: "Start" }).click();
  await page.getByTestId("tail-status").getByText("live", { exact: true }).waitFor();

  step("publish an event; it arrives in the live tail");
  await page.locator("input[name=stream]").fill("room1");
  await page.locator("input[name=type]").fill("sensor/temp/room1");
  await page.locator("textarea[name=body]").fill('{"celsius": 21.5}');
  await page.locator("textarea[name=metadata]").fill('{"correlation_id": "e2e"}');
  await page.getByRole("button", { name: "Publish" }).click();
  await page.getByText("Published to room1: version 0").waitFor();
  const tail = page.getByTestId("live-tail");
  await tail.locator('article[data-type="sensor/temp/room1"]').waitFor();
  await tail.getByText('"celsius": 21.5').waitFor();

  step("the stream is listed with its version and count");
  const row = page.getByRole("table", { name: "streams" }).getByRole("row", { name: /room1/ });
  await row.getByRole("cell", { name: "0", exact: true }).waitFor();
  await row.getByRole("cell", { name: "1", exact: true }).waitFor();

  step("publish with a wrong expected version: the 409 is reported");
  await page.locator("select[name=expected]").selectOption("number");
  await page.locator("input[name=expected-number]").fill("5");
  expected409 = true;
  await page.getByRole("button", { name: "Publish" }).click();
  const conflict = page.getByTestId("conflict");
  await conflict.getByText("409 Conflict: wrong expected version").waitFor();
  await conflict.getByText("Expected 5, but the stream is at 0").waitFor();
  expected409 = false;
  await page.screenshot({ path: join(shots, "dashboard-conflict.png") });

  step("query the latest event per type with a pattern");
  await page.locator("input[name=query-types]").fill("sensor/*");
  await page.getByRole("button", { name: "Run query" }).click();
  const result = page.getByTestId("query-result");
  await result.getByText("1 event", { exact: true }).waitFor();
  await result.locator('article[data-type="sensor/temp/room1"]').waitFor();

  step("a time series with a pattern that matches nothing");
  await page.locator("select[name=query-kind]").selectOption("timeseries");
  await page.locator("input[name=query-types]").fill("door/?");
  await page.getByRole("button", { name: "Run query" }).click();
  await result.getByText("0 events", { exact: true }).waitFor();
  await page.locator("input[name=query-types]").fill("sensor/?/room1");
  await page.getByRole("button", { name: "Run query" }).click();
  await result.getByText("1 event", { exact: true }).waitFor();

  step("the stream's events, paged");
  await page.getByRole("table", { name: "streams" }).getByRole("button", { name: "room1" }).click();
  await page.getByRole("heading", { name: "Events of room1" }).waitFor();
  await page.getByLabel("stream events").locator('article[data-type="sensor/temp/room1"]').waitFor();
  await page.screenshot({ path: join(shots, "dashboard.png"), fullPage: true });

  step("the server restarts: reconnecting, then the tail resumes after the last event seen");
  await page.locator("select[name=expected]").selectOption("any");
  outage = true;
  await ask("stop-server");
  await page.getByTestId("connection").getByText("reconnecting…", { exact: true }).waitFor();
  await ask("start-server");
  await page.getByTestId("connection").getByText("connected", { exact: true }).waitFor();
  await page.getByTestId("tail-status").getByText("live", { exact: true }).waitFor();
  outage = false;
  await page.locator("textarea[name=body]").fill('{"celsius": 22}');
  await page.getByRole("button", { name: "Publish" }).click();
  await page.getByText("Published to room1: version 1").waitFor();
  await tail.getByText('"celsius": 22').waitFor();
  const shown = await tail.locator("article").count();
  if (shown !== 2) problems.push(`the tail shows ${shown} events after the reconnect, not 2`);

  step("events written elsewhere: Refresh lists them; paging; binary shown as size + type");
  const publish = async (stream, events) => {
    const url = `${base}/chronicles/${chronicle}/streams/${stream}/events`;
    const response = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ events }),
    });
    if (response.status !== 201) throw new Error(`publish to ${stream}: ${response.status}`);
  };
  await publish("ticks", Array.from({ length: 25 }, (_, i) => ({ type: "counter/tick", data: { i } })));
  await publish("camera", [
    { type: "camera/frame", data_base64: "AAECAwQFBgc=", content_type: "image/png" },
    { type: "camera/meta", data: { exposure: 0.01 } },
  ]);
  await tail.getByText('"i": 24').waitFor();
  await page.getByRole("button", { name: "Refresh" }).click();
  const streams = page.getByRole("table", { name: "streams" });
  await streams.getByRole("button", { name: "ticks" }).click();
  const events = page.getByLabel("stream events");
  await events.getByText("#24", { exact: true }).waitFor();
  await page.getByRole("button", { name: "Older →" }).click();
  await events.getByText("#4", { exact: true }).waitFor();
  await events.getByText("#0", { exact: true }).waitFor();
  await page.getByRole("button", { name: "← Newer" }).click();
  await events.getByText("#24", { exact: true }).waitFor();
  await streams.getByRole("button", { name: "camera" }).click();
  await events.getByText("binary: 8 bytes, image/png").waitFor();
  await events.getByText('"exposure": 0.01').waitFor();
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: join(shots, "dashboard-live.png"), fullPage: true });

  step("narrow window");
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.setViewportSize({ width: 420, height: 900 });
  await page.getByRole("heading", { name: "Live tail" }).waitFor();
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  if (overflow > 0) problems.push(`narrow window scrolls sideways by ${overflow}px`);
  await page.screenshot({ path: join(shots, "dashboard-narrow.png") });
} finally {
  await browser.close();
  lines.close();
}
if (problems.length > 0) {
  console.error(problems.join("\n"));
  process.exit(1);
}
console.log("ok");
process.exit(0); // stdin stays open: do not wait for the driver to close it
