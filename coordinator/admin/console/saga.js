/* dtx console — a Saga's plan, drawn from GET /api/v1/transactions/{gid}
 * (its branches are the steps: compensation, pivot, after; docs/sagas.md).
 *
 *   dtxSagaPlan(detail)   the plan as a graph (steps in columns by their
 *                         dependencies, arrows from each step to the ones
 *                         waiting for it), the direction the Saga runs in,
 *                         the current step(s), each step's action and
 *                         compensation state, and the compensation progress
 *
 * What a step's row says, from its state (txn.h's Saga steps) and the
 * Saga's direction (forward while active or committing; backward once the
 * decision is abort):
 *
 *   action        waiting (a step it waits for is not done) · running ·
 *                 retrying (failed attempts) · done · refused ·
 *                 not run (backward, never done) · done or skipped (compensated:
 *                 the log keeps no more; the barrier made a skipped one a no-op)
 *   compensation  — (forward) · pivot (never compensated) · pending ·
 *                 running / retrying (its turn: every step after it undone) ·
 *                 done
 *
 * Every text from the server goes in as text, never markup. Uses svg()
 * from plot.js. */
"use strict";

function sagaDirection(t) {
  const d = t.state === "stuck" ? t.decision : t.state;
  if (t.state === "committed") return "committed: every step done";
  if (t.state === "aborted") return "compensated: every step undone";
  const stuck = t.state === "stuck" ? " — stuck: an operator must resume it" : "";
  if (d === "aborting") return "compensating, last steps first" + stuck;
  if (d === "committing") return "forward only (past the pivot, or every step done)" + stuck;
  return "running forward" + stuck;
}

/* Each step with what it is doing: { no, b, level, action, comp, current }. */
function sagaSteps(d) {
  const t = d.transaction, bs = d.branches;
  const byNo = new Map(bs.map((b) => [b.branch, b]));
  const dir = t.state === "stuck" ? t.decision : t.state;
  const backward = dir === "aborting" || dir === "aborted";
  const level = new Map();
  const steps = bs.map((b) => {
    const after = b.after || [];
    const lv = after.reduce((m, n) => Math.max(m, (level.get(n) ?? -1) + 1), 0);
    level.set(b.branch, lv);
    const depsDone = after.every((n) => (byNo.get(n) || {}).state === "confirmed");
    const dependentsUndone = bs.every((o) => !(o.after || []).includes(b.branch) || o.state === "cancelled");
    let action, comp = "—", current = false;
    if (b.state === "confirmed") action = "done";
    else if (b.state === "refused") action = "refused";
    else if (b.state === "cancelled") action = b.vote === "no" ? "refused" : "done or skipped";
    else if (backward) action = "not run";
    else if (!depsDone) action = "waiting";
    else { action = b.attempts > 0 ? "retrying" : "running"; current = true; }
    if (b.pivot) comp = "pivot";
    else if (b.state === "cancelled") comp = "done";
    else if (backward && dependentsUndone) { comp = b.attempts > 0 ? "retrying" : "running"; current = true; }
    else if (backward) comp = "pending";
    if (t.state === "committed" || t.state === "aborted") current = false;
    return { no: b.branch, b, level: lv, action, comp, current };
  });
  return steps;
}

const SAGA_W = 190, SAGA_H = 70, SAGA_GX = 60, SAGA_GY = 16, SAGA_PAD = 10;

function sagaGraph(steps) {
  const cols = [];
  for (const s of steps) (cols[s.level] = cols[s.level] || []).push(s);
  const rows = Math.max(...cols.map((c) => c.length));
  const W = SAGA_PAD * 2 + cols.length * SAGA_W + (cols.length - 1) * SAGA_GX;
  const H = SAGA_PAD * 2 + rows * SAGA_H + (rows - 1) * SAGA_GY;
  const at = new Map();
  cols.forEach((c, x) => c.forEach((s, y) => at.set(s.no, {
    x: SAGA_PAD + x * (SAGA_W + SAGA_GX),
    y: SAGA_PAD + y * (SAGA_H + SAGA_GY) + (rows - c.length) * (SAGA_H + SAGA_GY) / 2 })));
  const g = svg("svg", { id: "saga-plan", class: "saga-plan", viewBox: `0 0 ${W} ${H}`,
    width: W, "data-steps": steps.length });
  g.append(svg("defs", {}, svg("marker", { id: "saga-arrow", viewBox: "0 0 10 10", refX: 9, refY: 5,
    markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" }, svg("path", { d: "M0,0 L10,5 L0,10 z", class: "arrow" }))));
  for (const s of steps)
    for (const n of s.b.after || []) {
      const a = at.get(n), b = at.get(s.no);
      if (!a || !b) continue;
      const x1 = a.x + SAGA_W, y1 = a.y + SAGA_H / 2, x2 = b.x, y2 = b.y + SAGA_H / 2, mx = (x1 + x2) / 2;
      g.append(svg("path", { class: "edge", "data-from": n, "data-to": s.no,
        d: `M${x1},${y1} C${mx},${y1} ${mx},${y2} ${x2 - 2},${y2}`, "marker-end": "url(#saga-arrow)" }));
    }
  for (const s of steps) {
    const p = at.get(s.no), b = s.b;
    const cls = "step" + (s.current ? " current" : "") + (b.pivot ? " pivot" : "") + " st-" + b.state;
    g.append(svg("g", { class: cls, "data-step": s.no, "data-action": s.action, "data-compensation": s.comp,
      transform: `translate(${p.x},${p.y})` },
      svg("title", {}, `step ${s.no}: ${b.resource} ${b.action}` +
        (b.pivot ? " (pivot)" : ` / ${b.compensation}`) + `; ${b.attempts} attempt(s)` +
        (b.last_error ? "; last error: " + b.last_error : "")),
      svg("rect", { class: "box", width: SAGA_W, height: SAGA_H, rx: 6 }),
      svg("text", { x: 8, y: 16, class: "step-title" }, `${s.no}. ${b.resource}`),
      svg("text", { x: 8, y: 33, class: "step-op" }, `${b.action} → ${b.pivot ? "(pivot)" : b.compensation}`),
      svg("text", { x: 8, y: 50, class: "step-state act-" + s.action.replace(/ /g, "-") }, "action: " + s.action),
      svg("text", { x: 8, y: 64, class: "step-state comp-" + (s.comp === "—" ? "none" : s.comp) }, "undo: " + s.comp)));
  }
  return g;
}

function dtxSagaPlan(d) {
  const t = d.transaction;
  const steps = sagaSteps(d);
  if (!steps.length) return null;
  const undoable = steps.filter((s) => !s.b.pivot).length;
  const undone = steps.filter((s) => s.comp === "done").length;
  const done = steps.filter((s) => s.b.state === "confirmed").length;
  const current = steps.filter((s) => s.current).map((s) => s.no);
  const dir = t.state === "stuck" ? t.decision : t.state;
  const backward = dir === "aborting" || dir === "aborted";
  const progress = backward
    ? el("p", { id: "saga-progress", "data-undone": undone, "data-undoable": undoable },
        `Compensated ${undone} of ${undoable} compensable step(s) `,
        el("progress", { max: undoable || 1, value: undone }))
    : el("p", { id: "saga-progress", "data-done": done, "data-steps": steps.length },
        `Done ${done} of ${steps.length} step(s) `, el("progress", { max: steps.length, value: done }));
  return el("div", { class: "saga" },
    el("p", { id: "saga-direction" }, sagaDirection(t),
      current.length ? el("span", { id: "saga-current", "data-current": current.join(",") },
        " · current step" + (current.length > 1 ? "s " : " ") + current.join(", ")) : null),
    progress,
    el("div", { class: "saga-scroll" }, sagaGraph(steps)),
    el("table", { id: "saga-steps" },
      el("thead", {}, el("tr", {}, ["Step", "Resource", "Action", "Compensation", "After", "Action state",
        "Compensation state", "Attempts", "Last error"].map((h) => el("th", {}, h)))),
      el("tbody", {}, steps.map((s) => el("tr", { "data-step": s.no, class: s.current ? "current" : null },
        el("td", {}, s.no), el("td", {}, s.b.resource), el("td", {}, s.b.action),
        el("td", {}, s.b.pivot ? "(pivot)" : s.b.compensation),
        el("td", {}, (s.b.after || []).join(", ") || "—"),
        el("td", { class: "act" }, s.action), el("td", { class: "comp" }, s.comp),
        el("td", {}, s.b.attempts), el("td", { class: "err-text" }, s.b.last_error || ""))))));
}
