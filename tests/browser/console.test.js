// The console, driven like an operator would: find the stuck transaction,
// resume it with a reason, see it end committed. Screenshots go to
// $DTX_SHOTS (docs/img by default) for docs/console.md.
//
// Environment (tests/browser/run.sh sets it): DTX_URL, DTX_TOKEN, DTX_GID
// (the stuck transaction), DTX_GID2 (a committed one of two branches),
// DTX_SAGA1 (a Saga stuck compensating), DTX_SAGA2 (a committed Saga
// with a pivot), DTX_SHOTS, CHROMIUM (default /usr/bin/chromium).
"use strict";
const { chromium } = require("playwright-core");
const fs = require("fs");
const os = require("os");
const path = require("path");

const url = process.env.DTX_URL;
const tok = process.env.DTX_TOKEN;
const gid = process.env.DTX_GID;
const gid2 = process.env.DTX_GID2;
const saga1 = process.env.DTX_SAGA1;
const saga2 = process.env.DTX_SAGA2;
const shots = process.env.DTX_SHOTS || path.join(__dirname, "..", "..", "docs", "img");

function check(cond, what) {
  if (!cond) throw new Error("check failed: " + what);
  console.log("ok - " + what);
}

async function main() {
  if (!url || !tok || !gid || !gid2 || !saga1 || !saga2)
    throw new Error("DTX_URL, DTX_TOKEN, DTX_GID, DTX_GID2, DTX_SAGA1 and DTX_SAGA2 are required");
  fs.mkdirSync(shots, { recursive: true });
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "dtx-chromium-"));
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    viewport: { width: 1280, height: 800 },
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  try {
    const page = ctx.pages()[0] || await ctx.newPage();
    page.on("pageerror", (e) => { console.error("page error: " + e.message); process.exitCode = 1; });
    // Nothing but dtxd itself may be fetched (no CDN).
    const foreign = [];
    page.on("request", (r) => { if (!r.url().startsWith(url)) foreign.push(r.url()); });

    await page.goto(url + "/");
    await page.waitForSelector("#count-stuck");
    const stuck = Number(await page.textContent("#count-stuck .n"));
    check(stuck >= 1, `overview counts ${stuck} stuck transaction(s)`);
    check(await page.locator(`tr[data-gid="${gid}"]`).count() === 1, "the stuck transaction is listed first thing");
    await page.fill("#token", tok);
    await page.click("#token-form button");
    await page.waitForSelector("#token-state:has-text('token set')");
    await page.screenshot({ path: path.join(shots, "console-overview.png") });

    // The plots of the last hour, from dtxd's per-second rings: the
    // transactions run.sh made are there.
    await page.waitForSelector("#chart-outcomes");
    const num = async (sel, attr) => Number(await page.getAttribute(sel, attr));
    check(await num("#chart-outcomes", "data-total") >= 3, "the throughput plot counts the commits and aborts that ran");
    check(await page.locator("#chart-outcomes path[data-series='commits']").count() === 1 &&
      await page.locator("#chart-outcomes path[data-series='aborts']").count() === 1, "commits and aborts are two lines");
    check(await num("#chart-latency", "data-points") >= 1, "the latency plot has p50/p99 points");
    // Gauges are sampled once a second: wait for a refresh that has some.
    for (let i = 0; i < 20 && await num("#chart-inflight", "data-points") < 1; i++) {
      await page.waitForTimeout(1000);
      await page.evaluate(() => window.dispatchEvent(new HashChangeEvent("hashchange")));
      await page.waitForSelector("#chart-inflight");
    }
    check(await num("#chart-inflight", "data-points") >= 1, "the in-flight plot has samples");
    check(await num("#chart-stuck", "data-total") >= 1, "the stuck plot shows the stuck transaction");
    const ticks = await page.locator("#chart-outcomes text.tick").allTextContents();
    check(ticks.some((t) => /^\d\d:\d\d$/.test(t)), "the time axis reads as clock times: " + ticks.join(" "));
    const box = await page.locator("#chart-latency").boundingBox();
    await page.mouse.move(box.x + box.width * 0.98, box.y + box.height / 2);
    check(/p50 .*ms|p50 no sample/.test(await page.textContent("#chart-latency text.hover")), "hovering shows the values");
    await page.click("#window-5m");
    await page.waitForSelector("#window-5m.active");
    await page.waitForSelector("#chart-outcomes");
    check(await num("#chart-outcomes", "data-points") >= 10, "the 5-minute window plots each second since dtxd started");
    await page.locator(".charts").screenshot({ path: path.join(shots, "console-plots.png") });
    await page.click("#window-1h");
    await page.waitForSelector("#window-1h.active");

    await page.click("#count-stuck");
    await page.waitForSelector(`#filters`);
    await page.waitForSelector(`tr[data-gid="${gid}"]`);
    check(await page.locator("tr[data-state]:not([data-state='stuck'])").count() === 0, "the list filtered by state shows only stuck ones");
    await page.screenshot({ path: path.join(shots, "console-list.png") });

    await page.click(`tr[data-gid="${gid}"] a.gid-link`);
    await page.waitForSelector("#tx-state[data-state='stuck']");
    check(await page.locator("#attempts tbody tr").count() >= 2, "the attempt history shows the failed confirms");
    check(await page.isEnabled("#act-resume"), "resume is offered for a stuck transaction");
    check(await page.isDisabled("#act-force-rollback"), "force rollback is not offered after a commit decision");
    check(/^[0-9a-f]{32}$/.test((await page.textContent("#tx-trace")).trim()),
          "the transaction page shows its trace-id");
    await page.screenshot({ path: path.join(shots, "console-stuck.png"), fullPage: true });

    await page.click("#act-resume");
    await page.waitForSelector("#act-dialog[open]");
    await page.click("#act-confirm"); // no reason: refused in the page
    check((await page.textContent("#act-error")).includes("reason"), "a reason is required");
    await page.fill("#act-reason", "inventory service fixed (browser test)");
    await page.fill("#act-operator", "browser-test");
    await page.screenshot({ path: path.join(shots, "console-resume-dialog.png") });
    await page.click("#act-confirm");
    await page.waitForSelector("#act-result");
    const banner = await page.textContent("#act-result");
    check(/resume: ok/.test(banner), "resume accepted: " + banner.trim());

    const until = Date.now() + 20000;
    let st = "";
    while (Date.now() < until) {
      st = await page.getAttribute("#tx-state", "data-state");
      if (st === "committed") break;
      await page.waitForTimeout(500);
      await page.reload();
      await page.waitForSelector("#tx-state");
    }
    check(st === "committed", "the transaction ends committed");
    const timeline = await page.textContent("#timeline");
    check(timeline.includes("operator resume") && timeline.includes("inventory service fixed"),
      "the timeline shows the operator's action and reason");
    await page.screenshot({ path: path.join(shots, "console-committed.png"), fullPage: true });
    check(await page.locator("#waterfall .wf-row").count() === 1, "the waterfall has one row for the one branch");
    check(await page.locator("#waterfall .wf-row line.attempt").count() >= 2, "the failed confirms are marked on it");

    await page.goto(url + "/#/tx/" + encodeURIComponent(gid2)); // a hash change: no reload
    await page.waitForSelector(`h1:has-text("${gid2}")`);
    await page.waitForSelector("#tx-state[data-state='committed']");
    check(await page.locator("#waterfall .wf-row").count() === 2, "a two-branch transaction has two waterfall rows");
    check(await page.locator("#waterfall .wf-row rect.bar").count() === 4, "each branch shows its try and its confirm");
    await page.locator("#waterfall").screenshot({ path: path.join(shots, "console-waterfall.png") });

    // A Saga's plan: steps in columns, an arrow per dependency, what each
    // step's action and compensation are doing, the current step, the
    // compensation progress; then resumed until every step is undone.
    await page.goto(url + "/#/tx/" + encodeURIComponent(saga1));
    await page.waitForSelector(`h1:has-text("${saga1}")`);
    await page.waitForSelector("#saga-plan");
    const step = (n, attr) => page.getAttribute(`#saga-plan g.step[data-step='${n}']`, attr);
    check(await page.getAttribute("#saga-plan", "data-steps") === "3" &&
      await page.locator("#saga-plan g.step").count() === 3, "the plan draws the Saga's three steps");
    check(await page.locator("#saga-plan path.edge").count() === 2 &&
      await page.locator("#saga-plan path.edge[data-from='1'][data-to='3']").count() === 1 &&
      await page.locator("#saga-plan path.edge[data-from='2'][data-to='3']").count() === 1,
      "step 3 waits for steps 1 and 2: one arrow from each");
    check(await step(3, "data-action") === "refused", "step 3's action is shown refused");
    check(await step(1, "data-action") === "done" && await step(2, "data-action") === "done",
      "steps 1 and 2 are shown done");
    check(await step(3, "data-compensation") === "retrying" && (await step(3, "class")).includes("current"),
      "step 3's failing compensation is the current step");
    check(await step(1, "data-compensation") === "pending" && await step(2, "data-compensation") === "pending",
      "steps 1 and 2 wait for their compensation (reverse order)");
    check(await page.getAttribute("#saga-current", "data-current") === "3", "the page names step 3 current");
    check(/compensating/.test(await page.textContent("#saga-direction")), "the Saga is shown compensating");
    check(await page.getAttribute("#saga-progress", "data-undone") === "0" &&
      await page.getAttribute("#saga-progress", "data-undoable") === "3", "compensation progress: 0 of 3");
    check((await page.textContent("#saga-steps tr[data-step='3']")).includes("restock"),
      "the steps table lists each compensation");
    await page.screenshot({ path: path.join(shots, "console-saga-stuck.png"), fullPage: true });
    await page.click("#act-resume");
    await page.waitForSelector("#act-dialog[open]");
    await page.fill("#act-reason", "restock fixed (browser test)");
    await page.click("#act-confirm");
    await page.waitForSelector("#act-result");
    const until2 = Date.now() + 20000;
    st = "";
    while (Date.now() < until2) {
      st = await page.getAttribute("#tx-state", "data-state");
      if (st === "aborted") break;
      await page.waitForTimeout(500);
      await page.reload();
      await page.waitForSelector("#tx-state");
    }
    check(st === "aborted", "the resumed Saga ends compensated");
    await page.waitForSelector("#saga-plan");
    check(await page.getAttribute("#saga-progress", "data-undone") === "3", "compensation progress: 3 of 3");
    check(await page.locator("#saga-plan g.step[data-compensation='done']").count() === 3 &&
      await page.locator("#saga-plan g.step.current").count() === 0, "every step compensated, none current");
    await page.locator(".saga").screenshot({ path: path.join(shots, "console-saga-plan.png") });

    await page.goto(url + "/#/tx/" + encodeURIComponent(saga2));
    await page.waitForSelector(`h1:has-text("${saga2}")`);
    await page.waitForSelector("#tx-state[data-state='committed']");
    await page.waitForSelector("#saga-plan");
    check((await step(2, "class")).includes("pivot") && await step(2, "data-compensation") === "pivot",
      "the pivot is marked and has no compensation");
    check(await page.locator("#saga-plan g.step[data-action='done']").count() === 3 &&
      await page.getAttribute("#saga-progress", "data-done") === "3", "a committed Saga: every action done");
    check(await page.locator("#saga-plan path.edge").count() === 2, "a sequential plan: each step after the one before");

    await page.click("a[data-nav='participants']");
    await page.waitForSelector("#participants tbody tr");
    await page.screenshot({ path: path.join(shots, "console-participants.png") });
    check(foreign.length === 0, "no request left dtxd " + (foreign.length ? foreign.join(" ") : ""));
  } finally {
    await ctx.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
}

main().then(() => console.log("browser test passed"), (e) => {
  console.error("browser test FAILED: " + (e && e.stack || e));
  process.exit(1);
});
