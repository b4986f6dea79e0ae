// The sweep page: transfer curves, η* vs scale with the fitted law and verdict, sharpness vs step.
"use strict";

const sweepId = param("id");

function byParam(items) {
  const groups = new Map();
  for (const item of items) {
    if (!groups.has(item.parameterization)) groups.set(item.parameterization, []);
    groups.get(item.parameterization).push(item);
  }
  return groups;
}

function container(parent, id) {
  let node = document.getElementById(id);
  if (!node) {
    node = el("div", { class: "plot", id });
    document.getElementById(parent).append(node);
  }
  return node;
}

function drawCurves(transfer) {
  const axis = scaleAxis(transfer.curves);
  const finite = transfer.curves.flatMap((c) => c.points.filter((p) => p.loss !== null).map((p) => p.loss));
  const top = finite.length ? Math.max(...finite) * 1.05 : 1;
  const optima = byParam(transfer.optima);
  const groups = byParam(transfer.curves);
  for (const name of groups.keys()) container("curves", `curves-${name}`);  // all first: the grid sizes them once
  for (const [name, curves] of groups) {
    const traces = [];
    curves.forEach((curve, i) => {
      const color = COLORS[i % COLORS.length];
      const ok = curve.points.filter((p) => !p.diverged);
      const bad = curve.points.filter((p) => p.diverged);
      traces.push({ x: ok.map((p) => p.log2_lr), y: ok.map((p) => p.loss), mode: "lines+markers", type: "scatter",
        name: scaleLabel(curve, axis), legendgroup: scaleLabel(curve, axis), line: { color }, meta: "curve" });
      if (bad.length) {
        traces.push({ x: bad.map((p) => p.log2_lr), y: bad.map(() => top), mode: "markers", type: "scatter",
          marker: { symbol: "x", color, size: 9 }, name: `${scaleLabel(curve, axis)} diverged`, showlegend: false,
          legendgroup: scaleLabel(curve, axis), meta: "diverged" });
      }
      const opt = (optima.get(name) || []).find((o) => o.width === curve.width && o.depth === curve.depth);
      if (opt) {
        traces.push({ x: [opt.log2_lr], y: [opt.loss], mode: "markers", type: "scatter", showlegend: false,
          legendgroup: scaleLabel(curve, axis), marker: { symbol: "diamond", size: 11, color },
          error_x: { type: "data", symmetric: false, array: [opt.high - opt.log2_lr],
            arrayminus: [opt.log2_lr - opt.low], color }, meta: "optimum",
          name: `${scaleLabel(curve, axis)} optimum`, hovertext: opt.flags.join(", ") });
      }
    });
    draw(`curves-${name}`, traces, layout(name, "log2 LR", "final held-out loss"));
  }
}

function drawOptimum(transfer) {
  const axis = scaleAxis(transfer.curves);
  const traces = [];
  const verdicts = [];
  let i = 0;
  for (const [name, optima] of byParam(transfer.optima)) {
    const color = COLORS[i++ % COLORS.length];
    const x = optima.map((o) => Math.log2(axis === "width" ? o.width : o.depth));
    traces.push({ x, y: optima.map((o) => o.log2_lr), mode: "markers", type: "scatter", name, meta: "optima",
      marker: { color, size: 9, symbol: optima.map((o) => (o.flags.includes("edge") ? "circle-open" : "circle")) },
      error_y: { type: "data", symmetric: false, array: optima.map((o) => o.high - o.log2_lr),
        arrayminus: optima.map((o) => o.log2_lr - o.low), color } });
    const fit = transfer.fits[name];
    if (fit) {
      const base = axis === "width" ? fit.base_width : fit.base_depth;
      const slope = axis === "width" ? fit.a : fit.b;
      const xs = [Math.min(...x), Math.max(...x)];
      traces.push({ x: xs, y: xs.map((v) => fit.c + slope * (v - Math.log2(base))), mode: "lines", type: "scatter",
        line: { color, dash: "dot" }, name: `${name} fit: ${slope >= 0 ? "+" : ""}${slope.toFixed(2)} oct/doubling`,
        meta: "fit" });
    }
    for (const [ax, text] of Object.entries(transfer.verdicts[name] || {})) {
      verdicts.push(el("p", {}, el("b", { text: `${name} ${ax}: ` }), text));
    }
  }
  draw("optimum", traces, layout("optimal LR per scale (95% interval; open = edge of the grid)",
    `log2 ${axis}`, "log2 η*"));
  document.getElementById("verdicts").replaceChildren(...(verdicts.length ? verdicts
    : [el("p", { text: "no transfer law yet: it needs interior optima at 2 or more scales" })]));
}

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

async function refresh() {
  try {
    const sweep = await getJSON(`${API}/sweeps/${sweepId}`);
    document.getElementById("sweep-id").textContent = `${sweep.name} · ${sweep.id}`;
    const counts = Object.entries(sweep.counts).map(([k, v]) => `${k} ${v}`).join(" · ");
    document.getElementById("summary").replaceChildren(el("span", { class: `status-${sweep.status}`,
      text: sweep.status }), ` · ${Math.round(sweep.progress * 100)}% of ${sweep.n_trials} trials · ${counts}` +
      (sweep.adaptive ? " · adaptive LR search" : ""));
    const transfer = await getJSON(`${API}/sweeps/${sweepId}/transfer`);
    drawCurves(transfer);
    drawOptimum(transfer);
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
