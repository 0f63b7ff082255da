/* dtx console — plain JavaScript over the admin API (/api/v1). No framework,
 * no network access beyond dtxd itself. Every text from the server goes
 * into the page as text (never as HTML). */
"use strict";

const $ = (sel) => document.querySelector(sel);
const main = () => $("#main");
let timer = null;

function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") e.className = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? "" : v);
  }
  for (const k of kids.flat()) {
    if (k === null || k === undefined) continue;
    e.append(k instanceof Node ? k : document.createTextNode(String(k)));
  }
  return e;
}

function token() { return sessionStorage.getItem("dtx-token") || ""; }

async function api(method, path, body) {
  const headers = {};
  if (token()) headers["Authorization"] = "Bearer " + token();
  if (body) headers["Content-Type"] = "application/json";
  const r = await fetch(path, { method, headers, body: body ? JSON.stringify(body) : undefined });
  let data = {};
  try { data = await r.json(); } catch (e) { data = { error: "the server's answer is not JSON" }; }
  return { status: r.status, ok: r.ok, data };
}

function age(ms) {
  if (!ms) return "-";
  let s = Math.max(0, Math.round((Date.now() - ms) / 1000));
  if (s < 120) return s + "s";
  if (s < 7200) return Math.round(s / 60) + "m";
  if (s < 172800) return Math.round(s / 3600) + "h";
  return Math.round(s / 86400) + "d";
}

function when(ms) { return ms ? new Date(ms).toISOString().replace("T", " ").replace("Z", "") : "-"; }
function state(s) { return el("span", { class: "state " + (s || "") }, s || "-"); }
function txLink(gid) { return el("a", { href: "#/tx/" + encodeURIComponent(gid), class: "gid-link" }, gid); }

function failure(res) {
  return el("p", { class: "banner bad" }, `HTTP ${res.status}: ${res.data.error || "error"}`);
}

function txTable(items, empty) {
  if (!items.length) return el("p", { class: "muted" }, empty || "Nothing here.");
  return el("table", { class: "tx-table" },
    el("thead", {}, el("tr", {}, ["Transaction", "State", "Mode", "Age", "Branches", "Resources",
      "Attempts", "Last error"].map((h) => el("th", {}, h)))),
    el("tbody", {}, items.map((t) => el("tr", { "data-gid": t.gid, "data-state": t.state },
      el("td", { class: "gid" }, txLink(t.gid)),
      el("td", {}, state(t.state), t.decision && t.state === "stuck" ? el("span", { class: "muted" }, " → " + t.decision) : null),
      el("td", {}, t.mode), el("td", { title: when(t.created_ms) }, age(t.created_ms)),
      el("td", {}, t.branches), el("td", {}, (t.resources || []).join(", ")),
      el("td", {}, t.attempts), el("td", { class: "err-text" }, t.last_error || "")))));
}

/* --- pages --- */

const WINDOWS = { "5m": "5 min", "15m": "15 min", "1h": "1 hour" };

async function overview(params) {
  const win = WINDOWS[params.window] ? params.window : "1h";
  const [res, ser] = await Promise.all([api("GET", "/api/v1/overview"),
    api("GET", "/api/v1/series?window=" + win)]);
  if (!res.ok) return [failure(res)];
  const d = res.data;
  $("#node").textContent = "node " + d.node;
  const order = ["stuck", "active", "committing", "aborting", "committed", "aborted"];
  return [
    el("h1", {}, "Overview"),
    el("div", { class: "cards" }, order.map((s) => el("a", {
      class: "card " + s + (s === "stuck" && d.counts[s] > 0 ? " hot" : ""), href: "#/list?state=" + s,
      id: "count-" + s },
      el("div", { class: "n" }, d.counts[s]), el("div", { class: "muted" },
        s + (s === "committed" || s === "aborted" ? " (" + d.finished_window + ")" : ""))))),
    el("h2", {}, "Last " + WINDOWS[win] + " ",
      el("span", { class: "windows" }, Object.keys(WINDOWS).map((w) => el("a", {
        href: "#/?window=" + w, id: "window-" + w, class: w === win ? "active" : null }, WINDOWS[w])))),
    ser.ok ? dtxPlots(ser.data) : failure(ser),
    el("h2", {}, "Stuck transactions (oldest first)"),
    txTable(d.stuck, "No stuck transaction."),
    d.stuck_more ? el("p", {}, el("a", { href: "#/list?state=stuck&order=oldest" }, "All stuck transactions…")) : null,
    el("p", { class: "muted" }, `${d.in_memory} in flight on this node; ${d.participant_instances} live participant instance(s).`),
  ];
}

async function list(params) {
  const q = new URLSearchParams(params);
  const res = await api("GET", "/api/v1/transactions?" + q.toString());
  const form = el("form", { class: "filters", id: "filters" },
    el("label", {}, "State", el("select", { name: "state" },
      ["", "stuck", "unfinished", "active", "committing", "aborting", "committed", "aborted"].map((s) =>
        el("option", { value: s, selected: q.get("state") === s }, s || "any")))),
    el("label", {}, "Mode", el("select", { name: "mode" },
      ["", "tcc", "2pc", "saga", "msg"].map((s) => el("option", { value: s, selected: q.get("mode") === s }, s || "any")))),
    el("label", {}, "Resource", el("input", { name: "resource", value: q.get("resource") || "", size: 14 })),
    el("label", {}, "Gid starts with", el("input", { name: "q", value: q.get("q") || "", size: 20 })),
    el("label", {}, "Older than", el("input", { name: "min_age", value: q.get("min_age") || "", size: 6, placeholder: "5m" })),
    el("label", {}, "Newer than", el("input", { name: "max_age", value: q.get("max_age") || "", size: 6, placeholder: "1d" })),
    el("label", {}, "Order", el("select", { name: "order" },
      ["newest", "oldest"].map((s) => el("option", { value: s, selected: q.get("order") === s }, s)))),
    el("button", { type: "submit", class: "primary" }, "Filter"));
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const p = new URLSearchParams();
    for (const [k, v] of new FormData(form)) if (v) p.set(k, v);
    location.hash = "#/list?" + p.toString();
  });
  if (!res.ok) return [el("h1", {}, "Transactions"), form, failure(res)];
  const next = res.data.next_cursor;
  const more = new URLSearchParams(q);
  if (next) more.set("cursor", next);
  return [el("h1", {}, "Transactions"), form, txTable(res.data.items, "No transaction matches."),
    el("div", { class: "pager" },
      q.get("cursor") ? el("a", { href: "#/list?" + (() => { const p = new URLSearchParams(q); p.delete("cursor"); return p; })() }, "« first page") : null,
      next ? el("a", { href: "#/list?" + more.toString(), id: "next-page" }, "next page »") : el("span", { class: "muted" }, "end of list"))];
}

const ACTIONS = {
  resume: ["Resume", "The stuck transaction goes back to its decision with a fresh retry budget."],
  retry: ["Retry now", "Every pending Confirm/Cancel is sent now instead of waiting for its backoff."],
  "force-commit": ["Force commit", "Allowed only when the decision was commit or every branch voted yes."],
  "force-rollback": ["Force rollback", "Allowed only before a commit decision."],
};

function allowed(t) {
  const s = t.state, d = t.decision;
  // An undecided message is its service's to decide (its submit or its check-back).
  const undecidedMsg = t.mode === "msg" && (s === "active" || (s === "stuck" && d === "active"));
  return {
    resume: s === "stuck",
    retry: s === "committing" || s === "aborting",
    "force-commit": !undecidedMsg && (s === "committing" || (s === "stuck" && d === "committing") || s === "active"),
    "force-rollback": !undecidedMsg && (s === "active" || s === "aborting" || (s === "stuck" && d === "aborting")),
  };
}

function openAction(gid, action) {
  const dlg = $("#act-dialog");
  $("#act-title").textContent = ACTIONS[action][0] + " " + gid;
  $("#act-explain").textContent = ACTIONS[action][1];
  $("#act-error").textContent = "";
  $("#act-reason").value = "";
  dlg.dataset.gid = gid;
  dlg.dataset.action = action;
  dlg.showModal();
  $("#act-reason").focus();
}

async function submitAction(ev) {
  ev.preventDefault();
  const dlg = $("#act-dialog");
  const reason = $("#act-reason").value.trim();
  if (!reason) { $("#act-error").textContent = "A reason is required."; return; }
  if (!token()) { $("#act-error").textContent = "Enter a token in the header first."; return; }
  const body = { reason };
  if ($("#act-operator").value.trim()) body.operator = $("#act-operator").value.trim();
  const res = await api("POST", `/api/v1/transactions/${encodeURIComponent(dlg.dataset.gid)}/${dlg.dataset.action}`, body);
  dlg.close();
  sessionStorage.setItem("dtx-last-action", JSON.stringify({
    ok: res.ok, text: res.ok ? `${res.data.action}: ${res.data.result} — ${res.data.detail} (now ${res.data.state})`
      : `${dlg.dataset.action} refused (HTTP ${res.status}): ${res.data.error || res.data.detail}` }));
  render();
}

async function tx(gid) {
  const res = await api("GET", "/api/v1/transactions/" + encodeURIComponent(gid));
  if (!res.ok) return [el("h1", {}, "Transaction " + gid), failure(res)];
  const d = res.data, t = d.transaction;
  const last = sessionStorage.getItem("dtx-last-action");
  sessionStorage.removeItem("dtx-last-action");
  const banner = last ? (() => { const a = JSON.parse(last); return el("p", { class: "banner " + (a.ok ? "ok" : "bad"), id: "act-result" }, a.text); })() : null;
  const ok = allowed(t);
  return [
    el("h1", {}, "Transaction ", el("span", { class: "mono" }, t.gid)),
    banner,
    el("dl", { class: "kv" },
      el("dt", {}, "state"), el("dd", { id: "tx-state", "data-state": t.state }, state(t.state),
        t.decision ? el("span", { class: "muted" }, " decision: " + t.decision) : null),
      el("dt", {}, "mode"), el("dd", {}, t.mode),
      t.checkback ? el("dt", {}, "check-back") : null,
      t.checkback ? el("dd", { class: "mono" }, t.checkback) : null,
      el("dt", {}, "created"), el("dd", {}, when(t.created_ms) + " (" + age(t.created_ms) + " ago)"),
      el("dt", {}, "deadline"), el("dd", {}, when(t.deadline_ms)),
      el("dt", {}, "owner"), el("dd", {}, t.owner + (t.owner_alive ? "" : " (not alive)")),
      el("dt", {}, "trace"), el("dd", { id: "tx-trace" }, t.trace_id
        ? el("span", { class: "mono", title: "traceparent " + t.traceparent }, t.trace_id)
        : el("span", { class: "muted" }, "none recorded"))),
    el("div", { class: "actions" }, Object.keys(ACTIONS).map((a) => el("button", {
      id: "act-" + a, class: a === "resume" ? "primary" : "", disabled: !ok[a],
      title: ok[a] ? ACTIONS[a][1] : "not possible in state " + t.state,
      onclick: () => openAction(t.gid, a) }, ACTIONS[a][0]))),
    t.mode === "saga" ? el("h2", {}, "Plan") : null,
    t.mode === "saga" ? dtxSagaPlan(d) : null,
    el("h2", {}, t.mode === "saga" ? "Steps as branches" : "Branches"),
    el("table", {}, el("thead", {}, el("tr", {}, ["#", "Resource", "Action", "State", "Vote", "Attempts", "Last error", "Updated"].map((h) => el("th", {}, h)))),
      el("tbody", {}, d.branches.map((b) => el("tr", {},
        el("td", {}, b.branch), el("td", {}, b.resource), el("td", {}, b.action), el("td", {}, state(b.state)),
        el("td", {}, b.vote || "-"), el("td", {}, b.attempts), el("td", { class: "err-text" }, b.last_error),
        el("td", {}, when(b.updated_ms)))))),
    el("h2", {}, "Waterfall"),
    el("p", { class: "muted" }, "Each bar runs from the log's record that precedes a call (the branch recorded before its " +
      (t.mode === "2pc" ? "PREPARE" : "TRY") + "; the decision before Confirm/Cancel) to the logged answer. Red ticks: failed attempts. Hover for durations."),
    dtxWaterfall(d),
    el("h2", {}, "Failed attempts"),
    d.attempts.length ? el("table", { id: "attempts" }, el("thead", {}, el("tr", {}, ["Time", "Branch", "Attempt", "Error"].map((h) => el("th", {}, h)))),
      el("tbody", {}, d.attempts.map((a) => el("tr", {}, el("td", {}, when(a.at_ms)), el("td", {}, a.branch),
        el("td", {}, a.attempt), el("td", { class: "err-text" }, a.error))))) : el("p", { class: "muted" }, "None."),
    el("h2", {}, "Timeline"),
    el("table", { id: "timeline" }, el("thead", {}, el("tr", {}, ["Time", "Event", "Branch", "Detail"].map((h) => el("th", {}, h)))),
      el("tbody", {}, d.timeline.map((e) => el("tr", {}, el("td", { class: "mono" }, when(e.at_ms)), el("td", {}, e.event),
        el("td", {}, e.branch || ""), el("td", {}, e.detail))))),
  ];
}

async function participants() {
  const res = await api("GET", "/api/v1/participants");
  if (!res.ok) return [failure(res)];
  const rows = [];
  for (const r of res.data.resources)
    for (const i of r.instances)
      rows.push(el("tr", {}, el("td", {}, r.resource), el("td", {}, i.instance),
        el("td", {}, i.last_heartbeat_ms_ago + " ms ago"), el("td", {}, i.in_flight), el("td", {}, i.calls),
        el("td", {}, age(Date.now() - i.registered_ms_ago))));
  return [el("h1", {}, "Live participants"),
    el("p", { class: "muted" }, `Heartbeat every ${res.data.heartbeat_ms} ms; an instance silent for three is dropped. Refreshes every 2 s.`),
    rows.length ? el("table", { id: "participants" }, el("thead", {}, el("tr", {}, ["Resource", "Instance", "Last heartbeat", "In flight", "Calls", "Registered"].map((h) => el("th", {}, h)))),
      el("tbody", {}, rows)) : el("p", { class: "muted" }, "No participant is connected to this coordinator.")];
}

/* --- routing --- */

async function render() {
  clearTimeout(timer);
  const h = location.hash || "#/";
  const [path, query] = h.slice(1).split("?");
  let nodes, refresh = 0, nav = "overview";
  try {
    if (path.startsWith("/tx/")) { nodes = await tx(decodeURIComponent(path.slice(4))); nav = "list"; refresh = 5000; }
    else if (path === "/list") { nodes = await list(Object.fromEntries(new URLSearchParams(query || ""))); nav = "list"; }
    else if (path === "/participants") { nodes = await participants(); nav = "participants"; refresh = 2000; }
    else { nodes = await overview(Object.fromEntries(new URLSearchParams(query || ""))); refresh = 5000; }
  } catch (e) {
    nodes = [el("p", { class: "banner bad" }, "Cannot reach dtxd: " + e.message)];
    refresh = 5000;
  }
  if ($("#act-dialog").open) refresh = 1000; /* never redraw under an open dialog */
  else main().replaceChildren(...nodes.filter((n) => n));
  document.querySelectorAll("[data-nav]").forEach((a) => a.classList.toggle("active", a.dataset.nav === nav));
  if (refresh) timer = setTimeout(render, refresh);
}

function tokenState() { $("#token-state").textContent = token() ? "token set" : "read-only"; }

document.addEventListener("DOMContentLoaded", () => {
  $("#token-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    sessionStorage.setItem("dtx-token", $("#token").value.trim());
    $("#token").value = "";
    tokenState();
  });
  $("#act-form").addEventListener("submit", submitAction);
  $("#act-cancel").addEventListener("click", () => $("#act-dialog").close());
  tokenState();
  window.addEventListener("hashchange", render);
  render();
});
