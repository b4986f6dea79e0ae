// The sweep page: transfer curves and η* vs scale (plots.js), sharpness vs step, running trials.
"use strict";

const sweepId = param("id");

async function drawSharpness(transfer) {
  const { series } = await getJSON(`${API}/sweeps/${sweepId}/sharpness?limit=1000`);
  const axis = scaleAxis(transfer.curves);
  const best = new Map(transfer.optima.map((o) => [`${o.parameterization}|${o.width}|${o.depth}`, o.grid_log2_lr]));
  const groups = byParam(series);
  for (const name of groups.keys()) {
    container("sharpness", `sharpness-raw-${name}`);
    container("sharpness", `sharpness-eos-${name}`);
  }
  for (const [name, all] of groups) {
    const chosen = all.filter((s) => s.seed === Math.min(...all.map((t) => t.seed)) &&
      Math.abs(Math.log2(s.lr) - best.get(`${name}|${s.width}|${s.depth}`)) < 1e-6);
    const raw = [];
    const eos = [];
    chosen.forEach((s, i) => {
      const color = COLORS[i % COLORS.length];
      const label = `${scaleLabel(s, axis)} (η=2^${Math.log2(s.lr).toFixed(1)})`;
      raw.push({ x: s.steps, y: s.sharpness.raw || [], mode: "lines+markers", type: "scatter", name: label,
        line: { color }, meta: "sharpness" });
      const variant = s.eos.adam && s.eos.adam.some((v) => v !== null) ? "adam" : "lr";
      eos.push({ x: s.steps, y: s.eos[variant] || [], mode: "lines+markers", type: "scatter", name: `${label} ${variant}`,
        line: { color }, meta: "eos" });
    });
    const steps = chosen.flatMap((s) => s.steps);
    if (steps.length) {
      eos.push({ x: [Math.min(...steps), Math.max(...steps)], y: [1, 1], mode: "lines", type: "scatter",
        line: { color: "#444", dash: "dash" }, name: "EoS (2/η, 38/η for Adam)", meta: "threshold" });
    }
    draw(`sharpness-raw-${name}`, raw, layout(`${name}: λ_max (raw)`, "step", "λ_max", { yaxis: { type: "log",
      title: { text: "λ_max" } } }));
    draw(`sharpness-eos-${name}`, eos, layout(`${name}: η·λ / EoS threshold`, "step", "ratio",
      { yaxis: { type: "log", title: { text: "η·λ / threshold" } } }));
  }
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
    el("p", { text: `${n} trial${n > 1 ? "s" : ""} failed${n > 50 ? " (the first 50)" : ""}; the server log has each trace.` }),
    el("table", {}, head, ...rows));
}

async function refresh() {
  try {
    const sweep = await getJSON(`${API}/sweeps/${sweepId}`);
    document.getElementById("sweep-id").textContent = `${sweep.name} · ${sweep.id}`;
    const counts = Object.entries(sweep.counts).map(([k, v]) => `${k} ${v}`).join(" · ");
    document.getElementById("summary").replaceChildren(el("span", { class: `status-${sweep.status}`,
      text: sweep.status }), ` · ${Math.round(sweep.progress * 100)}% of ${sweep.n_trials} trials · ${counts}` +
      (sweep.adaptive ? " · adaptive LR search" : ""));
    await drawFailed(sweep);
    const transfer = await getJSON(`${API}/sweeps/${sweepId}/transfer`);
    drawCurves(transfer);
    drawOptimum(transfer);
    drawConsistency(transfer);
    await drawSharpness(transfer);
    await drawLive();
    markReady();
    if (LIVE.has(sweep.status)) setTimeout(refresh, 3000);
  } catch (error) {
    showError("error", error);
  }
}

if (!sweepId) showError("error", new Error("no sweep id: open this page as sweep.html?id=SWEEP_ID"));
else refresh();
