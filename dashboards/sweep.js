// The sweep page: transfer curves and η* vs scale (plots.js), sharpness vs step, running trials.
"use strict";

const sweepId = param("id");

const OPERATORS = { raw: "raw Hessian", lr: "LR-scaled (per-layer LR ratios)", adam: "Adam-preconditioned" };
const view = { transfer: null, series: [], lossAxis: "log" };

function seedMean(group) {
  // the seeds of one (scale, LR) probe at the same steps; a step missing in a seed is averaged over the rest
  const steps = [...new Set(group.flatMap((s) => s.steps))].sort((a, b) => a - b);
  const mean = (key, op) => steps.map((step) => {
    const vals = group.map((s) => { const i = s.steps.indexOf(step); return i < 0 ? null : (s[key][op] || [])[i]; })
      .filter((v) => v !== null && v !== undefined);
    return vals.length ? vals.reduce((a, b) => a + b, 0) / vals.length : null;
  });
  return { steps, mean, n: group.length };
}

function fillSharpnessControls(series) {
  const lrSelect = document.getElementById("sharp-lr");
  const opSelect = document.getElementById("sharp-op");
  const lrs = [...new Set(series.map((s) => Math.log2(s.lr).toFixed(4)))].sort((a, b) => a - b);
  const haveLr = new Set([...lrSelect.options].map((o) => o.value));
  for (const lr of lrs) {
    if (!haveLr.has(lr)) lrSelect.append(el("option", { value: lr, text: `2^${Number(lr).toFixed(2).replace(/\.?0+$/, "")}` }));
  }
  const ops = Object.keys(OPERATORS).filter((op) => series.some((s) => s.sharpness[op]));
  if (opSelect.options.length !== ops.length) {
    opSelect.replaceChildren(...ops.map((op) => el("option", { value: op, text: OPERATORS[op] })));
    if (ops.includes("adam")) opSelect.value = "adam";
  }
}

function drawSharpness() {
  const transfer = view.transfer;
  const series = view.series;
  const axis = scaleAxis(transfer.curves);
  const best = new Map(transfer.optima.map((o) => [`${o.parameterization}|${o.width}|${o.depth}`, o.grid_log2_lr]));
  const lrChoice = document.getElementById("sharp-lr").value;
  const op = document.getElementById("sharp-op").value || "raw";
  // the super-consistency statistic of the chosen operator, beside the plots (the full table is below)
  const spread = (transfer.consistency || []).filter((c) => c.operator === op && c.cv_final !== null);
  const cv = [...byParam(spread)].map(([name, rows]) => {
    const at = (mode) => rows.find((c) => c.mode === mode);
    const best = at("best-lr");
    const common = at("fixed-lr");
    return `${name} ${best ? best.cv_final.toFixed(2) : "—"} at each scale's best LR` +
      (common ? `, ${common.cv_final.toFixed(2)} at a common LR` : "");
  });
  document.getElementById("sharp-cv").textContent = cv.length
    ? `spread of λ_max across scales (CV, last common step): ${cv.join(" · ")}` : "";
  const groups = byParam(series);
  for (const name of groups.keys()) {
    container("sharpness", `sharpness-raw-${name}`);
    container("sharpness", `sharpness-eos-${name}`);
  }
  for (const [name, all] of groups) {
    const chosen = all.filter((s) => (lrChoice === "best"
      ? Math.abs(Math.log2(s.lr) - best.get(`${name}|${s.width}|${s.depth}`)) < 1e-6
      : Math.abs(Math.log2(s.lr) - Number(lrChoice)) < 1e-6));
    const byScale = new Map();
    for (const s of chosen) {
      const key = `${s.width}|${s.depth}`;
      if (!byScale.has(key)) byScale.set(key, []);
      byScale.get(key).push(s);
    }
    const raw = [];
    const eos = [];
    const steps = [];
    for (const group of [...byScale.values()].sort((a, b) => a[0].width - b[0].width || a[0].depth - b[0].depth)) {
      const s = group[0];
      const color = scaleColor(axis === "width" ? s.width : s.depth);
      const m = seedMean(group);
      const x = m.steps.map((v) => v + 1);
      steps.push(...x);
      const label = `${scaleLabel(s, axis)} (η=2^${Math.log2(s.lr).toFixed(1)}, ${m.n} seed${m.n > 1 ? "s" : ""})`;
      raw.push({ x, y: m.mean("sharpness", op), mode: "lines+markers", type: "scatter", name: label, line: { color },
        meta: "sharpness" });
      eos.push({ x, y: m.mean("eos", op), mode: "lines+markers", type: "scatter", name: label, line: { color }, meta: "eos" });
      const threshold = (op === "adam" ? 38 : 2) / s.lr;   // λ at the edge of stability for this LR
      raw.push({ x: [Math.min(...x), Math.max(...x)], y: [threshold, threshold], mode: "lines", type: "scatter",
        line: { color, dash: "dash", width: 1 }, name: `${scaleLabel(s, axis)} EoS ${op === "adam" ? "38" : "2"}/η`,
        meta: "threshold", showlegend: byScale.size <= 4 });
    }
    if (steps.length) {
      eos.push({ x: [Math.min(...steps), Math.max(...steps)], y: [1, 1], mode: "lines", type: "scatter",
        line: { color: "#444", dash: "dash" }, name: "edge of stability", meta: "threshold" });
    }
    const logX = { type: "log", dtick: 1, title: { text: "step + 1 (log axis)" } };
    draw(`sharpness-raw-${name}`, raw, layout(`${name}: λ_max, ${OPERATORS[op]}`, "step", "λ_max",
      { xaxis: logX, yaxis: { type: "log", dtick: 1, title: { text: "λ_max (dashed: its EoS value)" } } }));
    draw(`sharpness-eos-${name}`, eos, layout(`${name}: η·λ / EoS threshold, ${OPERATORS[op]}`, "step", "ratio",
      { xaxis: logX, yaxis: { type: "log", dtick: 1, title: { text: "η·λ / threshold" } } }));
  }
}

async function loadSharpness() {
  const all = [];
  for (let offset = 0; ; offset += 1000) {
    const page = await getJSON(`${API}/sweeps/${sweepId}/sharpness?offset=${offset}&limit=1000`);
    all.push(...page.series);
    if (page.series.length < 1000) break;
  }
  view.series = all.filter((s) => s.steps.length);
  const none = !view.series.length;
  document.getElementById("sharpness-controls").hidden = none;
  document.getElementById("sharpness-none").hidden = !none;
  if (none) return;
  fillSharpnessControls(view.series);
  drawSharpness();
}

async function drawLive() {
  const { data } = await getJSON(`${API}/sweeps/${sweepId}/trials?status=running&limit=16`);
  document.getElementById("live-section").hidden = data.length === 0;
  if (!data.length) return;
  const traces = [];
  for (const [i, trial] of data.entries()) {
    const { series } = await getJSON(`${API}/sweeps/${sweepId}/trials/${trial.id}/metrics`);
    const loss = series.train_loss || { steps: [], values: [] };
    traces.push({ x: loss.steps, y: loss.values, mode: "lines", type: "scatter", meta: "live",
      line: { color: COLORS[i % COLORS.length] },
      name: `${trial.parameterization} width ${trial.width} depth ${trial.depth} η=2^${Math.log2(trial.lr).toFixed(1)}` });
  }
  draw("live", traces, layout("running trials", "step", "train loss"));
}

// Failed trials (not diverged: those are data): each with its public error line, so a red sweep says why.
async function drawFailed(sweep) {
  const section = document.getElementById("failed-section");
  const n = sweep.counts.failed || 0;
  section.hidden = n === 0;
  if (!n) return;
  const page = await getJSON(`${API}/sweeps/${sweepId}/trials?status=failed&limit=50`);
  const head = el("tr", {}, ...["trial", "parameterization", "width×depth", "log2 LR", "seed", "error"]
    .map((t) => el("th", { text: t })));
  const rows = page.data.map((t) => el("tr", {}, el("td", { text: t.id }), el("td", { text: t.parameterization }),
    el("td", { text: `${t.width}×${t.depth}` }), el("td", { class: "num", text: Math.log2(t.lr).toFixed(2) }),
    el("td", { class: "num", text: String(t.seed) }), el("td", { class: "error", text: t.error || "" })));
  document.getElementById("failed").replaceChildren(
    el("p", {}, `${n} trial${n > 1 ? "s" : ""} failed${n > 50 ? " (the first 50)" : ""}; the server log has each trace; `,
      el("a", { href: `trials.html?id=${encodeURIComponent(sweepId)}&status=failed`, text: "all failed trials" })),
    el("table", {}, head, ...rows));
}

async function refresh() {
  try {
    const sweep = await getJSON(`${API}/sweeps/${sweepId}`);
    document.getElementById("sweep-id").textContent = `${sweep.name} · ${sweep.id}`;
    const counts = Object.entries(sweep.counts).map(([k, v]) => `${k} ${v}`).join(" · ");
    document.getElementById("summary").replaceChildren(el("span", { class: `status-${sweep.status}`,
      text: sweep.status }), ` · ${Math.round(sweep.progress * 100)}% of ${sweep.n_trials} trials · ${counts}` +
      (sweep.adaptive ? " · adaptive LR search" : ""), ...(sweep.counts.failed ? [" · ", el("a", { class: "error",
      href: `trials.html?id=${encodeURIComponent(sweepId)}&status=failed`, text: `${sweep.counts.failed} failed: why` })] : []));
    await drawFailed(sweep);
    const transfer = await getJSON(`${API}/sweeps/${sweepId}/transfer`);
    view.transfer = transfer;
    drawCurves(transfer, view.lossAxis);
    drawOptimum(transfer);
    drawConsistency(transfer);
    await loadSharpness();
    await drawLive();
    markReady();
    if (LIVE.has(sweep.status)) setTimeout(refresh, 3000);
  } catch (error) {
    showError("error", error);
  }
}

function setUp() {
  document.getElementById("trials-link").href = `trials.html?id=${encodeURIComponent(sweepId)}`;
  document.getElementById("csv-link").href = `${API}/sweeps/${encodeURIComponent(sweepId)}/trials?format=csv`;
  for (const radio of document.querySelectorAll("input[name=loss-axis]")) {
    radio.addEventListener("change", () => { view.lossAxis = radio.value; if (view.transfer) drawCurves(view.transfer, view.lossAxis); });
  }
  for (const id of ["sharp-lr", "sharp-op"]) {
    document.getElementById(id).addEventListener("change", () => { if (view.transfer) drawSharpness(); });
  }
  refresh();
}

if (!sweepId) showError("error", new Error("no sweep id: open this page as sweep.html?id=SWEEP_ID"));
else setUp();
