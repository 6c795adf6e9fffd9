// Drives the Dagster UI and the daily report in Debian's headless Chromium (playwright-core; no browser is
// downloaded). Run by tests/browser/test_ui.py, which starts `dagster dev` and asserts on what this prints.
//
//   DAGSTER_URL=http://127.0.0.1:PORT SCREENSHOT_DIR=... PROFILE_DIR=... REPORT_PATH=... RAW_ASSET=raw/btc_price_daily \
//     node tests/browser/ui.mjs
//
// Prints one JSON object: what each page showed (texts, image sizes, screenshot paths). Exits non-zero with the
// reason when a page never shows what it should.
import { chromium } from "playwright-core";
import path from "node:path";

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};
const base = env("DAGSTER_URL");
const shots = env("SCREENSHOT_DIR");
const report = env("REPORT_PATH");
const rawAsset = env("RAW_ASSET");
const timeout = Number(process.env.PAGE_TIMEOUT_MS || 120000);

const context = await chromium.launchPersistentContext(env("PROFILE_DIR"), {
  executablePath: "/usr/bin/chromium",
  headless: true,
  args: [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
  ],
  viewport: { width: 1600, height: 1100 },
});
context.setDefaultTimeout(timeout);
const page = context.pages()[0] || (await context.newPage());
const result = { screenshots: {} };
const shot = async (name, options = {}) => {
  const file = path.join(shots, `${name}.png`);
  await page.screenshot({ path: file, ...options });
  result.screenshots[name] = file;
};
const dismissWelcome = async () => {
  // dagster dev's first-visit "Join the Dagster community" dialog
  const skip = page.getByRole("button", { name: "Skip" });
  await skip.waitFor({ timeout: 5000 }).then(() => skip.click(), () => {});
};
const images = (selector) =>
  page.$$eval(selector, (els) => els.map((img) => ({ alt: img.alt, width: img.naturalWidth, height: img.naturalHeight })));

try {
  // 1. The code location loaded.
  await page.goto(`${base}/locations`);
  await dismissWelcome();
  await page.getByText("btc_signals", { exact: true }).first().waitFor();
  await page.getByText("Loaded", { exact: true }).waitFor();
  result.location = (await page.locator("main, body").first().innerText()).replace(/\s+/g, " ").trim();
  await shot("locations");

  // 2. The dashboard asset: its metadata's latest readings and charts (each opens in a dialog).
  await page.goto(`${base}/assets/marts/signal_dashboard`);
  await dismissWelcome();
  const openMarkdown = async (key) => {
    const cell = page.getByRole("row").filter({ hasText: key }).getByText("Show Markdown");
    await cell.first().scrollIntoViewIfNeeded();
    await cell.first().click();
    const dialog = page.getByRole("dialog");
    await dialog.waitFor();
    return dialog;
  };
  const closeDialog = async () => {
    await page.keyboard.press("Escape");
    await page.getByRole("dialog").waitFor({ state: "detached" });
  };
  await page.getByText("latest_readings").first().waitFor();
  result.dashboard = { metadata_keys: await page.getByRole("row").allInnerTexts() };
  await shot("signal_dashboard", { fullPage: true });
  let dialog = await openMarkdown("latest_readings");
  await dialog.getByText(/Signal dashboard for \d{4}-\d{2}-\d{2}/).waitFor();
  result.dashboard.heading = (await dialog.getByText(/Signal dashboard for \d{4}-\d{2}-\d{2}/).innerText()).trim();
  result.dashboard.readings = (await dialog.locator("tr").allInnerTexts()).map((r) => r.replace(/\s+/g, " ").trim());
  await shot("signal_dashboard_latest_readings");
  await closeDialog();
  result.dashboard.charts = [];
  for (const key of ["chart_last_90_days", "chart_whole_window"]) {
    dialog = await openMarkdown(key);
    const img = dialog.locator('img[alt^="BTC close with the key levels"]');
    await img.waitFor();
    await page.waitForFunction(() => {
      const i = document.querySelector('[role="dialog"] img');
      return i && i.complete && i.naturalWidth > 0;
    });
    result.dashboard.charts.push({ key, ...(await img.evaluate((i) => ({ alt: i.alt, width: i.naturalWidth, height: i.naturalHeight }))) });
    await shot(`signal_dashboard_${key}`);
    await closeDialog();
  }

  // 3. A raw asset: every partition materialised.
  await page.goto(`${base}/assets/${rawAsset}?view=partitions`);
  await page.getByText(/^Materialized \(\d+\)$/).waitFor();
  result.partitions = {
    selected: await page.getByText(/^[\d,]+ Partitions Selected$/).innerText(),
    states: await page.getByText(/^(Failed|Materialized|Materializing|Missing) \([\d,]+\)$/).allInnerTexts(),
  };
  await shot("raw_partitions");

  // 4. The daily report, opened from disk: self-contained, so it renders with no server.
  await page.goto(`file://${report}`);
  await page.getByRole("heading", { name: /BTC market regime/ }).waitFor();
  await page.waitForFunction(() => [...document.images].every((i) => i.complete && i.naturalWidth > 0));
  result.report = {
    title: await page.title(),
    headings: await page.$$eval("h1, h2", (hs) => hs.map((h) => h.innerText.trim())),
    rows: await page.$$eval("tbody tr", (rows) => rows.map((r) => r.innerText.replace(/\s+/g, " ").trim())),
    conditions: await page.$$eval("ul.conditions li", (lis) => lis.map((l) => l.innerText.trim())),
    images: await images("img"),
  };
  await shot("report", { fullPage: true });
} catch (error) {
  await shot("failure").catch(() => {});
  result.error = `${error.message.split("\n")[0]} (at ${page.url()})`;
}
await context.close();
console.log(JSON.stringify(result));
process.exit(result.error ? 1 : 0);
