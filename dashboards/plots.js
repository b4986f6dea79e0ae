// Plots shared by the sweep and compare pages: transfer curves per parameterization, η* vs scale.
"use strict";

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
          error_x: { type: "data", symmetric: false, array: [upper(opt)], arrayminus: [lower(opt)], color },
          meta: "optimum", name: `${scaleLabel(curve, axis)} optimum`, hovertext: intervalText(opt) });
      }
    });
    draw(`curves-${name}`, traces, layout(name, "log2 LR", "final held-out loss"));
  }
}

// An edge optimum's interval is half-open (null end): drawn one octave long on that side, and said in words.
const OPEN = 1.0;
function upper(o) { return o.log2_high === null ? OPEN : o.log2_high - o.log2_lr; }
function lower(o) { return o.log2_low === null ? OPEN : o.log2_lr - o.log2_low; }
function intervalText(o) {
  const end = (v, inf) => (v === null ? inf : v.toFixed(2));
  const how = { seeds: `t over ${o.n_seeds} seeds, ${o.dof} dof`, pooled: "one seed; other scales' scatter",
    assumed: "one seed; ½-octave scatter assumed", edge: "edge of the grid: half-open" }[o.method] || o.method;
  return `log2 η* ${o.log2_lr.toFixed(2)}, 95% [${end(o.log2_low, "−∞")}, ${end(o.log2_high, "+∞")}] (${how})` +
    (o.flags.length ? `; ${o.flags.join(", ")}` : "");
}

// One parameterization's verdicts with everything the analysis says about them: the outcome, what would
// settle it, the optima left out and why, points the law leans on, and why there is no law.
function verdictBlock(name, transfer) {
  const nodes = [];
  const details = (transfer.verdict_details || {})[name] || {};
  for (const [ax, v] of Object.entries(details)) {
    nodes.push(el("p", {}, el("span", { class: `badge outcome-${v.outcome}`, text: v.outcome }),
      el("b", { text: ` ${name} ${ax}: ` }), v.text));
    if (v.settle.length) nodes.push(el("ul", { class: "notes" }, ...v.settle.map((s) => el("li", { text: `would settle it: ${s}` }))));
  }
  const fit = transfer.fits[name];
  const notes = [];
  if (fit) {
    for (const [w, d, why] of fit.left_out) notes.push(`left out ${w}×${d}: ${why}`);
    for (const [w, d, why] of fit.influential) notes.push(`${w}×${d} ${why}`);
  }
  if ((transfer.no_law || {})[name]) notes.push(`no law: ${transfer.no_law[name]}`);
  if (notes.length) nodes.push(el("ul", { class: "notes" }, ...notes.map((n) => el("li", { text: n }))));
  return nodes;
}

function drawOptimum(transfer) {
  const axis = scaleAxis(transfer.curves);
  const traces = [];
  const verdicts = [];
  const groups = byParam(transfer.optima);
  const scales = [...new Set(transfer.optima.map((o) => (axis === "width" ? o.width : o.depth)))].sort((a, b) => a - b);
  let i = 0;
  for (const [name, optima] of groups) {
    const dodge = (i - (groups.size - 1) / 2) * 0.05;   // side by side, so equal optima do not hide each other
    const color = COLORS[i++ % COLORS.length];
    const x = optima.map((o) => Math.log2(axis === "width" ? o.width : o.depth) + dodge);
    traces.push({ x, y: optima.map((o) => o.log2_lr), mode: "markers", type: "scatter", name, meta: "optima",
      marker: { color, size: 9, symbol: optima.map((o) => (o.flags.includes("edge") ? "circle-open" : "circle")) },
      hovertext: optima.map(intervalText),
      error_y: { type: "data", symmetric: false, array: optima.map(upper), arrayminus: optima.map(lower), color } });
    const fit = transfer.fits[name];
    if (fit) {
      const base = axis === "width" ? fit.base_width : fit.base_depth;
      const slope = axis === "width" ? fit.a : fit.b;
      const xs = [Math.min(...x) - dodge, Math.max(...x) - dodge];
      traces.push({ x: xs, y: xs.map((v) => fit.c + slope * (v - Math.log2(base))), mode: "lines", type: "scatter",
        line: { color, dash: "dot" }, name: `${name} fit: ${slope >= 0 ? "+" : ""}${slope.toFixed(2)} oct/doubling`,
        meta: "fit" });
    }
    verdicts.push(...verdictBlock(name, transfer));
  }
  for (const name of Object.keys(transfer.no_law || {})) {   // parameterizations with no optimum at all
    if (!byParam(transfer.optima).has(name)) verdicts.push(...verdictBlock(name, transfer));
  }
  draw("optimum", traces, layout("optimal LR per scale (95% interval; open = edge of the grid, half-open interval)",
    axis, "log2 η*", { xaxis: { title: { text: `${axis} (log2 axis)` }, zeroline: false,
      tickvals: scales.map(Math.log2), ticktext: scales.map(String) } }));
  document.getElementById("verdicts").replaceChildren(...(verdicts.length ? verdicts
    : [el("p", { text: "no transfer law yet: it needs interior optima at 2 or more scales" })]));
}

// Super consistency: the spread (coefficient of variation) of λ_max across scales at the last common step.
function drawConsistency(transfer) {
  const rows = (transfer.consistency || []).map((c) => el("tr", {},
    el("td", { text: c.parameterization }), el("td", { text: c.operator }),
    el("td", { text: c.mode === "best-lr" ? "each scale's best" : (c.lr ? `${c.lr.toExponential(2)} (common)` : "common") }),
    el("td", { class: "num", text: c.cv_final === null ? "—" : c.cv_final.toFixed(2) }),
    el("td", { class: "num", text: c.steps.length ? String(c.steps[c.steps.length - 1]) : "" }),
    el("td", { text: c.reason || `${c.scales.length} scales` })));
  const head = el("tr", {}, ...["parameterization", "operator", "LR", "CV of λ_max", "step", ""].map((t) => el("th", { text: t })));
  document.getElementById("consistency").replaceChildren(rows.length ? el("table", {}, head, ...rows)
    : el("p", { text: "no sharpness probes yet" }));
}

