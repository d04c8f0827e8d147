// The crawl serve page: a jobs list, a start form and a job page with live
// charts, over the JSON API under /api/v1. No library: the DOM, fetch and
// a canvas. The token, when the server wants one, is asked once and kept
// in sessionStorage (this tab only).
"use strict";

const TOKEN_KEY = "crawl-token";
const $ = (sel) => document.querySelector(sel);

// view is what the page shows: it is rebuilt at each change of the hash.
let view = { stop() {} };

// Unauthorized is thrown by api when the server wants a (better) token.
class Unauthorized extends Error {}

// api calls the API with the token, and returns the response; a JSON
// error body becomes an Error with the server's message.
async function api(path, opts = {}) {
  const headers = Object.assign({}, opts.headers);
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) headers["Authorization"] = "Bearer " + token;
  const resp = await fetch(path, Object.assign({}, opts, { headers }));
  if (resp.status === 401) throw new Unauthorized();
  if (!resp.ok) {
    let msg = resp.status + " " + resp.statusText;
    try { msg = (await resp.json()).error || msg; } catch (e) { /* not JSON */ }
    throw new Error(msg);
  }
  return resp;
}

async function apiJSON(path, opts) {
  return (await api(path, opts)).json();
}

// follow reads the job's Server-Sent Events (fetch, since EventSource
// cannot send the token) and calls onEvent(name, job) for each, until the
// stream ends or signal aborts.
async function follow(id, onEvent, signal) {
  const resp = await api(`/api/v1/jobs/${id}/events`, { signal });
  const reader = resp.body.getReader();
  const dec = new TextDecoder();
  let buf = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buf += dec.decode(value, { stream: true });
    let i;
    while ((i = buf.indexOf("\n\n")) >= 0) {
      const block = buf.slice(0, i);
      buf = buf.slice(i + 2);
      let name = "message", data = "";
      for (const line of block.split("\n")) {
        if (line.startsWith("event: ")) name = line.slice(7);
        else if (line.startsWith("data: ")) data += line.slice(6);
      }
      if (data) onEvent(name, JSON.parse(data));
    }
  }
}

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") e.className = v;
    else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c);
  return e;
}

const fmt = (n) => (n < 0 ? "?" : Number(n).toLocaleString("en"));
const jobLabel = (j) => j.name || j.seeds[0] || j.id;

function show(section) {
  for (const id of ["token-view", "list-view", "job-view"]) $("#" + id).hidden = id !== section;
  $("#forget-token").hidden = !sessionStorage.getItem(TOKEN_KEY);
}

// handle shows the token form on Unauthorized, and other errors where.
function handle(err, where) {
  if (err instanceof Unauthorized) {
    askToken();
    return;
  }
  if (err.name === "AbortError") return;
  if (where) where.textContent = err.message;
}

function askToken() {
  view.stop();
  view = { stop() {} };
  $("#token-error").textContent = sessionStorage.getItem(TOKEN_KEY) ? "That token was refused." : "";
  show("token-view");
  $("#token-input").focus();
}

// ---- jobs list and start form ----

function listView() {
  show("list-view");
  let timer = 0, stopped = false;
  const tbody = $("#jobs tbody");
  async function refresh() {
    try {
      const { jobs } = await apiJSON("/api/v1/jobs");
      if (stopped) return;
      tbody.replaceChildren(...jobs.slice().reverse().map((j) => {
        const c = j.counters;
        const tr = el("tr", { "data-id": j.id, "data-status": j.status },
          el("td", {}, el("a", { href: "#/jobs/" + j.id }, jobLabel(j))),
          el("td", {}, el("span", { class: "status " + j.status }, j.status)),
          el("td", { class: "num done" }, fmt(c.done)),
          el("td", { class: "num failed" }, fmt(c.failed)),
          el("td", { class: "num queued" }, fmt(c.queued)),
          el("td", { class: "num inflight" }, fmt(c.in_flight)),
          el("td", { class: "num rate" }, c.pages_per_second.toFixed(1)),
          el("td", { class: "muted" }, new Date(j.created).toLocaleString()));
        tr.querySelector(".done").dataset.value = c.done;
        return tr;
      }));
      $("#no-jobs").hidden = jobs.length > 0;
    } catch (err) {
      handle(err);
      if (err instanceof Unauthorized) return;
    }
    if (!stopped) timer = setTimeout(refresh, 1000);
  }
  refresh();
  return { stop() { stopped = true; clearTimeout(timer); } };
}

async function startJob(ev) {
  ev.preventDefault();
  const out = $("#form-error");
  out.textContent = "";
  const seeds = $("#start-seeds").value.split("\n").map((s) => s.trim()).filter((s) => s && !s.startsWith("#"));
  const body = { seeds, config: $("#start-config").value };
  const name = $("#start-name").value.trim();
  if (name) body.name = name;
  try {
    const job = await apiJSON("/api/v1/jobs", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
    });
    location.hash = "#/jobs/" + job.id;
  } catch (err) {
    handle(err, out);
  }
}

// ---- job page ----

const COLORS = ["#dc2626", "#ea580c", "#ca8a04", "#7c3aed", "#0891b2", "#db2777", "#4b5563", "#65a30d"];
const HISTORY = 300; // points kept per chart: five minutes of events

// drawChart draws series ([{color, points}], points one a second) on the
// canvas, scaled to the largest value.
function drawChart(canvas, series) {
  const ctx = canvas.getContext("2d");
  const w = canvas.width, h = canvas.height, pad = 26;
  ctx.clearRect(0, 0, w, h);
  let top = 1;
  for (const s of series) for (const v of s.points) top = Math.max(top, v);
  ctx.strokeStyle = "#e5e7eb";
  ctx.fillStyle = "#6b7280";
  ctx.font = "11px system-ui, sans-serif";
  ctx.lineWidth = 1;
  for (const f of [0, 0.5, 1]) {
    const y = h - pad + 0.5 - f * (h - 2 * pad);
    ctx.beginPath(); ctx.moveTo(pad, y); ctx.lineTo(w - 4, y); ctx.stroke();
    ctx.fillText(fmtShort(top * f), 2, y + 4);
  }
  const n = Math.max(2, ...series.map((s) => s.points.length));
  const x = (i) => pad + (i * (w - pad - 4)) / (n - 1);
  const y = (v) => h - pad - (v / top) * (h - 2 * pad);
  for (const s of series) {
    if (s.points.length === 0) continue;
    ctx.strokeStyle = s.color;
    ctx.lineWidth = 2;
    ctx.beginPath();
    s.points.forEach((v, i) => (i === 0 ? ctx.moveTo(x(i), y(v)) : ctx.lineTo(x(i), y(v))));
    ctx.stroke();
  }
  ctx.fillStyle = "#6b7280";
  if (series.length === 0) ctx.fillText("none so far", w / 2 - 30, h / 2);
  else ctx.fillText(n + " events", w - 60, h - 6);
  canvas.dataset.points = Math.max(0, ...series.map((s) => s.points.length));
}

function fmtShort(v) {
  if (v >= 1000) return (v / 1000).toFixed(1) + "k";
  return v >= 10 ? Math.round(v).toString() : v.toFixed(1);
}

function jobView(id) {
  show("job-view");
  const abort = new AbortController();
  const rate = [], inflight = [], failures = new Map(); // class -> points
  let lastFailed = null, pagesAfter = -1, loadingPages = false;
  const pages = [];

  for (const [btn, op] of [["#btn-pause", "pause"], ["#btn-resume", "resume"], ["#btn-cancel", "cancel"]]) {
    $(btn).onclick = async () => {
      $("#action-error").textContent = "";
      try {
        render(await apiJSON(`/api/v1/jobs/${id}/${op}`, { method: "POST" }));
      } catch (err) {
        handle(err, $("#action-error"));
      }
    };
  }
  for (const s of ["pages", "items", "log"]) $("#link-" + s).href = `/api/v1/jobs/${id}/${s}`;

  function render(j) {
    const c = j.counters;
    $("#job-title").textContent = jobLabel(j);
    const st = $("#job-status");
    st.textContent = j.stopping ? j.status + " (" + j.stopping + "…)" : j.status;
    st.className = "status " + j.status;
    st.dataset.status = j.status;
    $("#job-error").textContent = j.error || "";
    $("#c-done").textContent = fmt(c.done);
    $("#c-failed").textContent = fmt(c.failed);
    $("#c-blocked").textContent = fmt(c.blocked);
    $("#c-queued").textContent = fmt(c.queued);
    $("#c-inflight").textContent = fmt(c.in_flight);
    $("#c-rate").textContent = c.pages_per_second.toFixed(1);
    const active = j.status === "running" && !j.stopping;
    $("#btn-pause").disabled = !(active || j.status === "pending");
    $("#btn-resume").disabled = j.status !== "paused";
    $("#btn-cancel").disabled = !(active || j.status === "pending" || j.status === "paused");
  }

  function sample(j) {
    const c = j.counters;
    const push = (arr, v) => { arr.push(v); if (arr.length > HISTORY) arr.shift(); };
    push(rate, c.pages_per_second);
    push(inflight, c.in_flight);
    // Failures per event, by class: the differences of the counts.
    const now = c.failed_fetches || {};
    for (const cls of Object.keys(now)) if (!failures.has(cls)) failures.set(cls, rate.slice(0, -1).map(() => 0));
    for (const [cls, pts] of failures) {
      const before = lastFailed ? (lastFailed[cls] || 0) : (now[cls] || 0);
      push(pts, Math.max(0, (now[cls] || 0) - before));
    }
    lastFailed = now;
    drawChart($("#chart-rate"), [{ color: "#2563eb", points: rate }]);
    drawChart($("#chart-inflight"), [{ color: "#059669", points: inflight }]);
    const classes = [...failures.keys()].sort();
    drawChart($("#chart-failures"), classes.map((cls, i) => ({ color: COLORS[i % COLORS.length], points: failures.get(cls) })));
    $("#failure-legend").replaceChildren(...classes.map((cls, i) => {
      const sw = el("span");
      sw.style.background = COLORS[i % COLORS.length];
      return el("li", {}, sw, cls + " " + fmt(now[cls]));
    }));
  }

  // loadPages appends the records written since the last call, keeping
  // the last 20; the first call starts near the end.
  async function loadPages(j) {
    if (loadingPages) return;
    loadingPages = true;
    try {
      const c = j.counters;
      if (pagesAfter < 0) pagesAfter = Math.max(0, c.done + c.failed + c.blocked - 20);
      const text = await (await api(`/api/v1/jobs/${id}/pages?after=${pagesAfter}`, { signal: abort.signal })).text();
      const lines = text.split("\n").filter(Boolean);
      pagesAfter += lines.length;
      for (const l of lines) {
        try { pages.push(JSON.parse(l)); } catch (e) { /* not a record */ }
      }
      pages.splice(0, Math.max(0, pages.length - 20));
      $("#pages tbody").replaceChildren(...pages.slice().reverse().map((p) =>
        el("tr", {}, el("td", { class: "url" }, p.url || ""), el("td", { class: "num" }, String(p.status || "")),
          el("td", { class: "err" }, p.error || ""))));
    } catch (err) {
      handle(err);
    } finally {
      loadingPages = false;
    }
  }

  follow(id, (name, j) => {
    render(j);
    sample(j);
    loadPages(j);
  }, abort.signal).catch((err) => handle(err, $("#job-error")));
  return { stop() { abort.abort(); } };
}

// ---- routing ----

function route() {
  view.stop();
  const m = location.hash.match(/^#\/jobs\/([0-9a-f]+)$/);
  view = m ? jobView(m[1]) : listView();
}

document.addEventListener("DOMContentLoaded", () => {
  $("#start-form").addEventListener("submit", startJob);
  $("#token-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, $("#token-input").value.trim());
    $("#token-input").value = "";
    route();
  });
  $("#forget-token").addEventListener("click", () => {
    sessionStorage.removeItem(TOKEN_KEY);
    route();
  });
  window.addEventListener("hashchange", route);
  route();
});
