// Every trial of a sweep: sortable and filterable, states coloured, errors in full; a click on a row
// draws that trial's loss curves and sharpness series above the table.
"use strict";

const sweepId = param("id");
const COLUMNS = [
  ["parameterization", "parameterization", (t) => t.parameterization],
  ["width", "width", (t) => t.width],
  ["depth", "depth", (t) => t.depth],
  ["log2_lr", "log2 LR", (t) => Math.log2(t.lr)],
  ["seed", "seed", (t) => t.seed],
  ["status", "status", (t) => t.status],
  ["final_eval_loss", "final loss", (t) => t.final_eval_loss],
  ["final_train_loss", "train loss", (t) => t.final_train_loss],
  ["diverged_step", "diverged at", (t) => t.diverged_step],
  ["seconds", "time (s)", (t) => t.seconds],
  ["worker", "worker", (t) => t.worker],
  ["error", "error", (t) => t.error],
];
const NUMERIC = new Set(["width", "depth", "log2_lr", "seed", "final_eval_loss", "final_train_loss", "diverged_step",
  "seconds"]);
const view = { sort: "parameterization", desc: false, trials: [], selected: null };

function cell(key, value) {
  if (value === null || value === undefined) return el("td", { class: NUMERIC.has(key) ? "num" : "", text: "—" });
  if (key === "status") return el("td", { class: `status-${value}`, text: value });
  if (key === "error") return el("td", { class: "error", text: value });
  if (key === "log2_lr") return el("td", { class: "num", text: value.toFixed(2) });
  if (key === "final_eval_loss" || key === "final_train_loss") return el("td", { class: "num", text: value.toFixed(4) });
  if (key === "seconds") return el("td", { class: "num", text: value.toFixed(1) });
  return el("td", { class: NUMERIC.has(key) ? "num" : "", text: String(value) });
}

function shown() {
  const text = document.getElementById("filter").value.trim().toLowerCase();
  const status = document.getElementById("status").value;
  const chosen = document.getElementById("param").value;
  const get = COLUMNS.find((c) => c[0] === view.sort)[2];
  const sign = view.desc ? -1 : 1;
  // the default order within equal keys: scale, then LR, then seed
  const tie = (a, b) => a.parameterization.localeCompare(b.parameterization) || a.width - b.width ||
    a.depth - b.depth || a.lr - b.lr || a.seed - b.seed;
  return view.trials
    .filter((t) => (!status || t.status === status) && (!chosen || t.parameterization === chosen))
    .filter((t) => !text || COLUMNS.some(([, , f]) => String(f(t) ?? "").toLowerCase().includes(text)))
    .sort((a, b) => {
      const x = get(a);
      const y = get(b);
      if (x === y || (x === null && y === null)) return tie(a, b);
      if (x === null || x === undefined) return 1;      // missing values last, either direction
      if (y === null || y === undefined) return -1;
      return (x < y ? -1 : 1) * sign;
    });
}

function render() {
  const rows = shown();
  document.querySelector("#trials thead tr").replaceChildren(...COLUMNS.map(([key, title]) =>
    el("th", { "data-key": key, text: title + (key === view.sort ? (view.desc ? " ▼" : " ▲") : "") })));
  document.querySelector("#trials tbody").replaceChildren(...rows.map((t) => el("tr", {
    "data-trial": t.id, class: t.id === view.selected ? "selected" : "" }, ...COLUMNS.map(([key, , f]) => cell(key, f(t))))));
  document.getElementById("shown").textContent = `${rows.length} of ${view.trials.length} trials`;
}

async function showTrial(id) {
  view.selected = id;
  render();
  const t = view.trials.find((x) => x.id === id);
  const { series } = await getJSON(`${API}/sweeps/${sweepId}/trials/${id}/metrics`);
  document.getElementById("detail").hidden = false;
  document.getElementById("detail-title").textContent =
    `${t.parameterization} · width ${t.width} · depth ${t.depth} · log2 LR ${Math.log2(t.lr).toFixed(2)} · seed ${t.seed} · ${t.status}`;
  const loss = ["train_loss", "eval_loss"].filter((n) => series[n]).map((n, i) => ({ x: series[n].steps.map((s) => s + 1),
    y: series[n].values, mode: "lines+markers", type: "scatter", name: n.replace("_", " "), meta: n,
    line: { color: COLORS[i] }, marker: { size: 4 } }));
  const sharp = Object.keys(series).filter((n) => n.startsWith("sharpness/")).map((n, i) => ({
    x: series[n].steps.map((s) => s + 1), y: series[n].values, mode: "lines+markers", type: "scatter",
    name: `λ_max ${n.split("/")[1]}`, meta: n, line: { color: COLORS[i + 2] } }));
  draw("trial-loss", loss, layout("loss", "step + 1 (log axis)", "loss", {
    xaxis: { type: "log", dtick: 1, title: { text: "step + 1 (log axis)" } }, yaxis: { type: "log", title: { text: "loss" } } }));
  draw("trial-sharpness", sharp, layout(sharp.length ? "sharpness probes" : "no sharpness probes in this trial",
    "step + 1 (log axis)", "λ_max", { xaxis: { type: "log", dtick: 1, title: { text: "step + 1 (log axis)" } },
      yaxis: { type: "log", dtick: 1, title: { text: "λ_max" } } }));
  markReady();
}

async function load() {
  try {
    const sweep = await getJSON(`${API}/sweeps/${sweepId}`);
    const link = document.getElementById("sweep-link");
    link.textContent = `${sweep.name} · ${sweep.id}`;
    link.href = `sweep.html?id=${encodeURIComponent(sweep.id)}`;
    document.getElementById("summary").replaceChildren(el("span", { class: `status-${sweep.status}`, text: sweep.status }),
      " · " + Object.entries(sweep.counts).map(([k, v]) => `${k} ${v}`).join(" · "));
    const trials = [];
    for (let offset = 0; ; offset += 1000) {
      const page = await getJSON(`${API}/sweeps/${sweepId}/trials?offset=${offset}&limit=1000`);
      trials.push(...page.data);
      if (trials.length >= page.count || !page.data.length) break;
    }
    view.trials = trials;
    const params = document.getElementById("param");
    if (params.options.length === 1) {
      for (const p of [...new Set(trials.map((t) => t.parameterization))]) params.append(el("option", { value: p, text: p }));
    }
    render();
    markReady();
    if (LIVE.has(sweep.status)) setTimeout(load, 5000);
  } catch (error) {
    showError("error", error);
  }
}

function setUp() {
  if (!sweepId) {
    showError("error", new Error("no sweep id: open this page as trials.html?id=SWEEP_ID"));
    return;
  }
  document.getElementById("csv").href = `${API}/sweeps/${encodeURIComponent(sweepId)}/trials?format=csv`;
  const status = document.getElementById("status");
  for (const s of STATES.trial) status.append(el("option", { value: s, text: s }));
  const wanted = param("status");
  if (wanted) status.value = wanted;
  document.getElementById("filters").addEventListener("submit", (e) => e.preventDefault());
  for (const id of ["filter", "status", "param"]) document.getElementById(id).addEventListener("input", render);
  document.querySelector("#trials thead").addEventListener("click", (e) => {
    const key = e.target.closest("th")?.dataset.key;
    if (!key) return;
    view.desc = view.sort === key ? !view.desc : false;
    view.sort = key;
    render();
  });
  document.querySelector("#trials tbody").addEventListener("click", (e) => {
    const row = e.target.closest("tr[data-trial]");
    if (row) showTrial(row.dataset.trial).catch((err) => showError("error", err));
  });
  load();
}

setUp();
