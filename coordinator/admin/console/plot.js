/* dtx console — plots as inline SVG, drawn here (no chart library).
 *
 *   dtxPlots(series)          the overview's charts of the last hour, from
 *                             GET /api/v1/series
 *   dtxWaterfall(detail)      a transaction's branches × phases, from
 *                             GET /api/v1/transactions/{gid}
 *
 * Every text from the server goes in as text (textContent), never markup. */
"use strict";

const SVGNS = "http://www.w3.org/2000/svg";

function svg(tag, attrs, ...kids) {
  const e = document.createElementNS(SVGNS, tag);
  for (const [k, v] of Object.entries(attrs || {}))
    if (v !== null && v !== undefined) e.setAttribute(k, String(v));
  for (const k of kids.flat()) {
    if (k === null || k === undefined) continue;
    e.append(k instanceof Node ? k : document.createTextNode(String(k)));
  }
  return e;
}

/* A round upper bound for an axis (1, 2, 5 × 10^n), at least 1. */
function niceMax(v) {
  if (!(v > 0)) return 1;
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function hhmm(ms) {
  const d = new Date(ms);
  return String(d.getHours()).padStart(2, "0") + ":" + String(d.getMinutes()).padStart(2, "0");
}

function fmt(v, unit) {
  if (v === null || v === undefined) return "no sample";
  const n = Math.abs(v) >= 100 ? Math.round(v) : Math.round(v * 10) / 10;
  return n + (unit ? " " + unit : "");
}

/* One chart: lines over time, a gap where a value is null.
 * opts: { id, title, unit, startMs, stepS, lines: [{ name, cls, values }],
 * total (optional: data-total, else the sum of the values) }. The svg's
 * data-points and data-total attributes are what the browser test reads. */
function lineChart(opts) {
  const W = 560, H = 170, L = 44, R = 10, T = 22, B = 22;
  const n = Math.max(1, ...opts.lines.map((l) => l.values.length));
  let max = 0, total = 0;
  for (const l of opts.lines)
    for (const v of l.values) if (v !== null) { max = Math.max(max, v); total += v; }
  const top = niceMax(max);
  const x = (i) => L + (W - L - R) * (n > 1 ? i / (n - 1) : 0);
  const y = (v) => T + (H - T - B) * (1 - v / top);
  const root = svg("svg", { class: "chart", id: opts.id, viewBox: `0 0 ${W} ${H}`, role: "img",
    "aria-label": opts.title, "data-points": 0, "data-total": opts.total !== undefined ? opts.total : total });
  root.append(svg("text", { x: L, y: 14, class: "chart-title" }, opts.title + " (" + opts.unit + ")"));
  for (const f of [0, 0.5, 1]) {
    root.append(svg("line", { x1: L, x2: W - R, y1: y(top * f), y2: y(top * f), class: "grid" }));
    root.append(svg("text", { x: L - 4, y: y(top * f) + 4, class: "tick", "text-anchor": "end" }, fmt(top * f, "")));
  }
  const span = (n - 1) * opts.stepS * 1000;
  for (const f of [0, 0.25, 0.5, 0.75, 1])
    root.append(svg("text", { x: x((n - 1) * f), y: H - 6, class: "tick",
      "text-anchor": f === 0 ? "start" : f === 1 ? "end" : "middle" }, hhmm(opts.startMs + span * f)));
  let points = 0;
  opts.lines.forEach((l, k) => {
    let d = "", pen = false;
    const dots = [];
    l.values.forEach((v, i) => {
      if (v === null) { pen = false; return; }
      d += (pen ? "L" : "M") + x(i).toFixed(1) + " " + y(v).toFixed(1);
      /* A value alone between gaps draws no line: a dot shows it. */
      const prev = i > 0 ? l.values[i - 1] : null, next = i + 1 < l.values.length ? l.values[i + 1] : null;
      if (prev === null && next === null) dots.push(svg("circle", { cx: x(i), cy: y(v), r: 2.5, class: "dot " + l.cls }));
      pen = true;
      points++;
    });
    root.append(svg("path", { d: d || "M0 0", class: "line " + l.cls, "data-series": l.name }), dots);
    root.append(svg("text", { x: W - R - 120 * (opts.lines.length - k) + 10, y: 14, class: "legend " + l.cls }, "— " + l.name));
  });
  root.setAttribute("data-points", points);
  /* Hover: a cursor line and the values under it. */
  const cursor = svg("line", { y1: T, y2: H - B, class: "cursor", visibility: "hidden" });
  const label = svg("text", { y: T + 12, class: "hover", visibility: "hidden" });
  root.append(cursor, label);
  root.addEventListener("mousemove", (ev) => {
    const box = root.getBoundingClientRect();
    const px = (ev.clientX - box.left) * W / box.width;
    const i = Math.max(0, Math.min(n - 1, Math.round((px - L) / (W - L - R) * (n - 1))));
    cursor.setAttribute("x1", x(i)); cursor.setAttribute("x2", x(i));
    label.setAttribute("x", Math.min(x(i) + 4, W - 200));
    label.textContent = hhmm(opts.startMs + i * opts.stepS * 1000) + "  " +
      opts.lines.map((l) => l.name + " " + fmt(l.values[i], opts.unit)).join(", ");
    cursor.setAttribute("visibility", "visible"); label.setAttribute("visibility", "visible");
  });
  root.addEventListener("mouseleave", () => {
    cursor.setAttribute("visibility", "hidden"); label.setAttribute("visibility", "hidden");
  });
  return root;
}

/* Sums of k consecutive values (per-second counts → per k seconds), so an
 * hour of seconds fits the width; a bucket is null only when all are. */
function rebin(values, k) {
  const out = [];
  for (let i = 0; i < values.length; i += k) {
    let s = null;
    for (const v of values.slice(i, i + k)) if (v !== null) s = (s || 0) + v;
    out.push(s);
  }
  return out;
}

/* The last sample of each group of k (gauges). */
function lastOf(values, k) {
  const out = [];
  for (let i = 0; i < values.length; i += k) {
    const g = values.slice(i, i + k).filter((v) => v !== null);
    out.push(g.length ? g[g.length - 1] : null);
  }
  return out;
}

function dtxPlots(s) {
  const k = s.window_s > 900 ? 10 : 1; /* 10 s points over an hour, seconds over 15 min */
  const rate = (v) => v === null ? null : v / k;
  const wrap = document.createElement("div");
  wrap.className = "charts";
  wrap.append(
    lineChart({ id: "chart-outcomes", title: "Finished per second", unit: "txn/s", startMs: s.start_ms, stepS: k,
      total: [...s.commits, ...s.aborts].reduce((a, v) => a + (v || 0), 0),
      lines: [{ name: "commits", cls: "ok", values: rebin(s.commits, k).map(rate) },
        { name: "aborts", cls: "bad", values: rebin(s.aborts, k).map(rate) }] }),
    lineChart({ id: "chart-latency", title: "Phase call latency", unit: "ms", startMs: s.latency.start_ms,
      stepS: s.latency.step_s,
      lines: [{ name: "p50", cls: "ok", values: s.latency.p50_ms },
        { name: "p99", cls: "warn", values: s.latency.p99_ms }] }),
    lineChart({ id: "chart-stuck", title: "Stuck transactions", unit: "txn", startMs: s.start_ms, stepS: k,
      lines: [{ name: "stuck", cls: "bad", values: lastOf(s.stuck, k) }] }),
    lineChart({ id: "chart-inflight", title: "In flight on this node", unit: "txn", startMs: s.start_ms, stepS: k,
      lines: [{ name: "in flight", cls: "info", values: lastOf(s.in_flight, k) }] }));
  return wrap;
}

/* --- waterfall --- */

/* Bars of one branch from what the log keeps: [from, to, kind, label]. */
function branchBars(t, b, now) {
  const vote = t.mode === "2pc" ? "prepare" : "try";
  const second = t.mode === "2pc" ? (t.decision === "committing" ? "commit" : "abort")
    : (t.decision === "committing" ? "confirm" : "cancel");
  const bars = [];
  const voted = b.voted_ms || (b.state === "trying" ? null : b.updated_ms);
  bars.push([b.created_ms, voted || now, voted ? (b.vote === "no" ? "no" : "yes") : "open",
    vote + (voted ? (b.vote ? " → " + b.vote : "") : " (no answer yet)")]);
  if (t.decided_ms) {
    const done = b.state === "confirmed" || b.state === "cancelled";
    const end = done ? b.updated_ms : (t.finished_ms || now);
    bars.push([t.decided_ms, Math.max(end, t.decided_ms), done ? "done" : "open",
      second + (done ? " → " + b.state : " (not answered)") +
      (b.attempts > 1 ? ", " + b.attempts + " attempts" : "")]);
  }
  return bars;
}

function dtxWaterfall(d) {
  const t = d.transaction, now = Date.now();
  const t0 = t.created_ms;
  let t1 = t0 + 1;
  for (const b of d.branches)
    for (const [, to] of branchBars(t, b, now)) t1 = Math.max(t1, to);
  for (const a of d.attempts) t1 = Math.max(t1, a.at_ms);
  if (t.finished_ms) t1 = Math.max(t1, t.finished_ms);
  const W = 900, L = 210, R = 20, RH = 26, T = 24, H = T + RH * Math.max(1, d.branches.length) + 24;
  const x = (ms) => L + (W - L - R) * ((ms - t0) / (t1 - t0));
  const root = svg("svg", { class: "waterfall", id: "waterfall", viewBox: `0 0 ${W} ${H}`, role: "img",
    "aria-label": "branches × phases" });
  const total = t1 - t0;
  for (const f of [0, 0.25, 0.5, 0.75, 1]) {
    const xx = L + (W - L - R) * f;
    root.append(svg("line", { x1: xx, x2: xx, y1: T - 6, y2: H - 20, class: "grid" }));
    root.append(svg("text", { x: xx, y: H - 6, class: "tick", "text-anchor": f === 0 ? "start" : f === 1 ? "end" : "middle" },
      "+" + fmt(total * f, "ms")));
  }
  root.append(svg("text", { x: 4, y: 14, class: "chart-title" }, "Branch"));
  /* Moments of the whole transaction: its decision, when it went stuck,
   * operators' actions. */
  const marks = [];
  if (t.decided_ms) marks.push([t.decided_ms, "decision", "decided " + (t.decision === "committing" ? "commit" : "abort")]);
  if (t.stuck_ms) marks.push([t.stuck_ms, "stuck-mark", "stuck"]);
  for (const a of d.actions || []) marks.push([a.at_ms, "operator", "operator " + a.action]);
  let lastLabel = -1e9;
  for (const [at, cls, label] of marks.sort((a, b) => a[0] - b[0])) {
    root.append(svg("line", { x1: x(at), x2: x(at), y1: T - 6, y2: H - 20, class: cls },
      svg("title", {}, label + " at +" + fmt(at - t0, "ms"))));
    if (x(at) - lastLabel > 90) { /* no label over the previous one */
      root.append(svg("text", { x: Math.min(x(at) + 3, W - R - 90), y: 14, class: "tick" }, label));
      lastLabel = x(at);
    }
  }
  d.branches.forEach((b, row) => {
    const y = T + row * RH;
    const g = svg("g", { class: "wf-row", "data-branch": b.branch });
    g.append(svg("text", { x: 4, y: y + 16, class: "wf-label" }, `#${b.branch} ${b.resource} ${b.action}`));
    for (const [from, to, kind, label] of branchBars(t, b, now)) {
      const x0 = x(from), w = Math.max(2, x(to) - x0);
      g.append(svg("rect", { x: x0, y: y + 4, width: w, height: RH - 10, class: "bar " + kind },
        svg("title", {}, `${label}: ${fmt(to - from, "ms")}`)));
      g.append(svg("text", { x: Math.min(x0 + 3, W - R - 160), y: y + 16, class: "bar-label" }, label));
    }
    for (const a of d.attempts.filter((a) => a.branch === b.branch)) {
      g.append(svg("line", { x1: x(a.at_ms), x2: x(a.at_ms), y1: y + 1, y2: y + RH - 3, class: "attempt" },
        svg("title", {}, `attempt ${a.attempt} failed: ${a.error}`)));
    }
    root.append(g);
  });
  return root;
}
