// The dashboard's whole lifecycle in Debian's Chromium, driven by playwright-core:
// sign in (a wrong key first), create a chronicle, tail it live, publish, provoke a 409,
// run a query, survive a server restart, see a hard-deleted stream, sign out; screenshots.
// Usage: BASE_URL=http://127.0.0.1:8000 CHRONICLE_KEY=chr_... SCREENSHOTS=dir node dashboard_flow.mjs
import { createRequire } from "node:module";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";

const require = createRequire(new URL("../../frontend/package.json", import.meta.url));
const { chromium } = require("playwright-core");

const base = process.env.BASE_URL;
const key = process.env.CHRONICLE_KEY;
if (!key) throw new Error("CHRONICLE_KEY (the server admin key) is not set");
// Shaped like a key, but no such key exists: the server refuses it.
const wrongKey = `chr_${"0".repeat(16)}_${"A".repeat(43)}`;
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
  // Chromium logs every 4xx response to the console; the 401s while signed out or refused,
  // and the 403, 409 and 410 we provoke, are expected. So does every refused WebSocket
  // connection while the server is down.
  let expected401 = true;
  let expected409 = false;
  let expected403 = false;
  let expected410 = false;
  let outage = false;
  page.on("console", (m) => {
    if (m.type() !== "error") return;
    if (expected401 && m.text().includes("status of 401")) return;
    if (expected403 && m.text().includes("status of 403")) return;
    if (expected409 && m.text().includes("status of 409")) return;
    if (expected410 && m.text().includes("status of 410")) return;
    if (outage && m.text().includes("WebSocket connection to")) return;
    problems.push(`console: ${m.text()}`);
  });
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));

  if (process.env.FLOW === "auth-off") {
    // CHRONICLE_AUTH_ENABLED=false: no prompt, no sign-out, the hub needs no auth frame.
    expected401 = false;
    step("auth off: no prompt, the hub connects");
    await page.goto(base);
    await page.getByTestId("principal").getByText("auth off", { exact: true }).waitFor();
    await page.getByTestId("connection").getByText("connected", { exact: true }).waitFor();
    if ((await page.getByRole("heading", { name: "Sign in" }).count()) !== 0) problems.push("auth off, yet a prompt");
    if ((await page.getByRole("button", { name: "Sign out" }).count()) !== 0) problems.push("auth off, yet a sign-out");

    step("auth off: create a chronicle, tail it, publish; the event arrives");
    await page.getByPlaceholder("new chronicle name").fill(chronicle);
    await page.getByRole("button", { name: "Create" }).press("Enter");
    await page.getByText(`Created ${chronicle}`).waitFor();
    await page.getByRole("button", { name: "Start" }).click();
    await page.getByTestId("tail-status").getByText("live", { exact: true }).waitFor();
    await page.locator("input[name=stream]").fill("room1");
    await page.getByRole("button", { name: "Publish" }).click();
    await page.getByText("Published to room1: version 0").waitFor();
    await page.getByTestId("live-tail").locator('article[data-type="sensor/temp/room1"]').waitFor();
  } else {
    const signInHeading = page.getByRole("heading", { name: "Sign in" });
    const signInError = page.getByTestId("sign-in-error");

    step("open the dashboard: it asks for a key");
    await page.goto(base);
    await signInHeading.waitFor();
    if ((await page.getByTestId("connection").count()) !== 0) problems.push("the hub runs before signing in");

    step("a wrong key is refused with the server's reason, and the form stays");
    await page.locator("input[name=api-key]").fill(wrongKey);
    await page.getByRole("button", { name: "Sign in" }).click();
    await signInError.getByText("The server did not accept this key").waitFor();
    await signInError.getByText("is not valid: check it was copied whole").waitFor();
    await signInHeading.waitFor();
    if ((await page.locator("input[name=api-key]").inputValue()) !== "")
      problems.push("the refused key is still in the form");
    await page.screenshot({ path: join(shots, "dashboard-signin.png") });

    step("the right key: signed in as admin, hub connected");
    await page.locator("input[name=api-key]").fill(key);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByTestId("principal").getByText("admin", { exact: true }).waitFor();
    await page.getByTestId("connection").getByText("connected", { exact: true }).waitFor();
    expected401 = false;
    const kept = await page.evaluate(() => ({
      session: sessionStorage.getItem("chronicle.apiKey"),
      local: localStorage.length,
      url: location.href,
    }));
    if (kept.session !== key) problems.push("the key is not kept in sessionStorage");
    if (kept.local !== 0) problems.push(`localStorage holds ${kept.local} items`);
    if (kept.url.includes(key.slice(0, 20))) problems.push("the key is in the address");

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
    // "connected" only once the new connection's auth frame is acked and the tail resubscribed.
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
    const auth = { Authorization: `Bearer ${key}` };
    const publish = async (stream, events) => {
      const url = `${base}/chronicles/${chronicle}/streams/${stream}/events`;
      const response = await fetch(url, {
        method: "POST",
        headers: { "Content-Type": "application/json", ...auth },
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

    step("the shown stream is hard-deleted elsewhere: Refresh says it is gone for good");
    const deleted = await fetch(`${base}/chronicles/${chronicle}/streams/camera?mode=hard`, {
      method: "DELETE",
      headers: auth,
    });
    if (deleted.status !== 204) throw new Error(`hard delete of camera: ${deleted.status}`);
    expected410 = true;
    await page.getByRole("button", { name: "Refresh" }).click();
    const gone = page.getByTestId("stream-deleted");
    await gone.getByText("This stream was deleted for good (410 Gone).").waitFor();
    await gone.getByText("was hard-deleted").waitFor();
    await streams.getByRole("button", { name: "camera" }).waitFor({ state: "detached" });
    expected410 = false;

    step("narrow window");
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.setViewportSize({ width: 420, height: 900 });
    await page.getByRole("heading", { name: "Live tail" }).waitFor();
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    if (overflow > 0) problems.push(`narrow window scrolls sideways by ${overflow}px`);
    await page.screenshot({ path: join(shots, "dashboard-narrow.png") });
    await page.setViewportSize({ width: 1280, height: 800 });

    step("a reload keeps the session: no prompt, connected again");
    await page.reload();
    await page.getByTestId("principal").getByText("admin", { exact: true }).waitFor();
    await page.getByTestId("connection").getByText("connected", { exact: true }).waitFor();
    if ((await signInHeading.count()) !== 0) problems.push("a reload asked for the key again");

    step("sign out: the key is forgotten and the prompt is back, also after a reload");
    await page.getByRole("button", { name: "Sign out" }).click();
    await signInHeading.waitFor();
    if ((await page.getByTestId("connection").count()) !== 0) problems.push("the hub indicator stays after signing out");
    if ((await page.evaluate(() => sessionStorage.length)) !== 0) problems.push("sessionStorage still holds the key");
    expected401 = true;
    await page.reload();
    await signInHeading.waitFor();

    step("a reader signs in with username and password; a publish is refused (403) plainly");
    const viewer = `viewer-${Date.now().toString(36)}`;
    const password = "correct horse battery";
    const admin = async (method, path, body) => {
      const response = await fetch(`${base}${path}`, {
        method,
        headers: { "Content-Type": "application/json", ...auth },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
      return response.json();
    };
    await admin("POST", "/principals", { name: viewer, password });
    const viewerKey = await admin("POST", `/principals/${viewer}/keys`, { label: "e2e" });
    await admin("PUT", `/chronicles/${chronicle}/grants/${viewer}`, { role: "read" });
    await page.getByText("Use a username and password instead").click();
    await page.locator("input[name=username]").fill(viewer);
    await page.locator("input[name=password]").fill(password);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByTestId("principal").getByText(viewer, { exact: true }).waitFor();
    await page.getByTestId("connection").getByText("connected", { exact: true }).waitFor();
    expected401 = false;
    if ((await page.evaluate(() => sessionStorage.length)) !== 0) problems.push("a password went to sessionStorage");
    await page.getByRole("list", { name: "chronicles" }).getByRole("button", { name: chronicle }).click();
    await page.getByRole("button", { name: "Start" }).click(); // the hub took the password too
    await page.getByTestId("tail-status").getByText("live", { exact: true }).waitFor();
    await page.locator("input[name=stream]").fill("room1");
    expected403 = true;
    await page.getByRole("button", { name: "Publish" }).click();
    await page.getByRole("alert").getByText(/needs the write role on chronicle .* \(has read\).*\(forbidden\)/).waitFor();
    expected403 = false;

    step("signed in with a key that is then revoked: the next call signs out and says why");
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.locator("input[name=api-key]").fill(viewerKey.key);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByTestId("principal").getByText(viewer, { exact: true }).waitFor();
    await page.getByRole("list", { name: "chronicles" }).getByRole("button", { name: chronicle }).click();
    await page.getByRole("heading", { name: "Streams of " + chronicle }).waitFor();
    await admin("DELETE", `/principals/${viewer}/keys/${viewerKey.key_id}`);
    expected401 = true;
    // The next call made with the revoked key signs out: this Refresh, or one the page
    // makes by itself first (then the button is gone before the click lands).
    await Promise.race([
      page.getByRole("button", { name: "Refresh" }).click().catch(() => {}),
      signInHeading.waitFor(),
    ]);
    await signInHeading.waitFor();
    await signInError.getByText("the server no longer accepts the credentials").waitFor();
    await signInError.getByText("was revoked").waitFor();
    if ((await page.evaluate(() => sessionStorage.length)) !== 0) problems.push("the revoked key is still kept");
  }
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
