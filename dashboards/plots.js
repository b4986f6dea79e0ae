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

// One colour per width (or depth) on every page and in every sweep: the palette index is log2 of the scale.
function scaleColor(value) {
  return COLORS[Math.round(Math.log2(value)) % COLORS.length];
}
// One marker per parameterization (the optimum is always a large diamond).
const PARAM_SYMBOLS = { sp: "square", mup: "circle", "depth-mup": "triangle-up", completep: "cross" };
function paramSymbol(name) {
  const base = String(name).split(": ").pop().split("(")[0];
  return PARAM_SYMBOLS[base] || "circle";
}

// The loss axis of the transfer curves: "log" (default), or "clipped": linear, cut at twice the spread
// between the best optimum and the worst optimum's loss so the optima are not squashed by high-LR losses.
function lossAxis(transfer, mode) {
  const finite = transfer.curves.flatMap((c) => c.points.filter((p) => p.loss !== null).map((p) => p.loss));
  if (!finite.length) return { range: undefined, top: 1, type: "linear" };
  const low = Math.min(...finite);
  const high = Math.max(...finite);
  const optima = transfer.optima.map((o) => o.loss).filter((v) => v !== null && Number.isFinite(v));
  if (mode === "clipped") {
    const worst = optima.length ? Math.max(...optima) : high;
    const cut = Math.min(high, worst + 2 * Math.max(worst - low, 0.05 * worst));
    const pad = 0.05 * (cut - low);
    return { type: "linear", range: [low - pad, cut + 3 * pad], top: cut + 2 * pad, cut };
  }
  return { type: "log", range: [Math.log10(low * 0.97), Math.log10(high * 1.25)], top: high * 1.12, cut: Infinity };
}

function drawCurves(transfer, mode = "log") {
  const axis = scaleAxis(transfer.curves);
  const y = lossAxis(transfer, mode);
  const xs = transfer.curves.flatMap((c) => c.points.map((p) => p.log2_lr));
  const grid = xs.length ? [Math.min(...xs), Math.max(...xs)] : [0, 1];
  const optima = byParam(transfer.optima);
  const groups = byParam(transfer.curves);
  const scales = [...new Set(transfer.curves.map((c) => (axis === "width" ? c.width : c.depth)))].sort((a, b) => a - b);
  for (const name of groups.keys()) container("curves", `curves-${name}`);  // all first: the grid sizes them once
  for (const [name, curves] of groups) {
    const traces = [];
    for (const curve of curves) {
      const value = axis === "width" ? curve.width : curve.depth;
      const color = scaleColor(value);
      const label = scaleLabel(curve, axis);
      const ok = curve.points.filter((p) => !p.diverged);
      const bad = curve.points.filter((p) => p.diverged);
      const shown = ok.map((p) => Math.min(p.loss, y.cut));
      traces.push({ x: ok.map((p) => p.log2_lr), y: shown, mode: "lines+markers", type: "scatter", name: label,
        legendgroup: label, line: { color }, meta: "curve",   // ▲: above the clipped axis, drawn at its top
        marker: { symbol: ok.map((p) => (p.loss > y.cut ? "triangle-up" : paramSymbol(name))), size: 6 },
        hovertext: ok.map((p) => `${label}, log2 LR ${p.log2_lr.toFixed(2)}: loss ${p.loss.toPrecision(4)}` +
          (p.loss > y.cut ? " (above the clipped axis)" : "")) });
      if (bad.length) {   // at the top of the plot, one row per scale so the × of different scales do not stack
        const row = y.type === "log" ? y.top * (1 + 0.035 * scales.indexOf(value)) : y.top - 0.025 * (y.range[1] - y.range[0]) * scales.indexOf(value);
        traces.push({ x: bad.map((p) => p.log2_lr), y: bad.map(() => row), mode: "markers", type: "scatter",
          marker: { symbol: "x", color, size: 9 }, name: `${label} diverged`, legendgroup: label, meta: "diverged",
          hovertext: bad.map((p) => `${label}, log2 LR ${p.log2_lr.toFixed(2)}: diverged`) });
      }
      const opt = (optima.get(name) || []).find((o) => o.width === curve.width && o.depth === curve.depth);
      if (opt) {
        const lo = opt.log2_low === null ? grid[0] : Math.max(opt.log2_low, grid[0]);
        const hi = opt.log2_high === null ? grid[1] : Math.min(opt.log2_high, grid[1]);
        traces.push({ x: [opt.log2_lr], y: [Math.min(opt.loss, y.cut)], mode: "markers", type: "scatter", showlegend: false,
          legendgroup: label, marker: { symbol: "diamond", size: 12, color, line: { color: "#000", width: 1 } },
          error_x: { type: "data", symmetric: false, array: [hi - opt.log2_lr], arrayminus: [opt.log2_lr - lo], color },
          meta: "optimum", name: `${label} optimum`, hovertext: intervalText(opt) });
        for (const [end, open] of [[lo, opt.log2_low === null], [hi, opt.log2_high === null]]) {
          if (open) {     // the open side of an edge optimum: an arrow at the grid's edge
            traces.push({ x: [end], y: [Math.min(opt.loss, y.cut)], mode: "markers", type: "scatter", showlegend: false,
              legendgroup: label, marker: { symbol: end === lo ? "triangle-left" : "triangle-right", size: 10, color },
              meta: "open", name: `${label} interval open`, hovertext: `${label}: η* may lie beyond the grid` });
          }
        }
      }
    }
    draw(`curves-${name}`, traces, layout(name, "log2 LR", "final held-out loss", {
      xaxis: { title: { text: "log2 LR" }, zeroline: false, range: [grid[0] - 0.4, grid[1] + 0.4] },
      yaxis: { title: { text: y.type === "log" ? "final held-out loss (log axis)" : "final held-out loss (clipped)" },
        type: y.type, range: y.range, zeroline: false } }));
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
  if (!Object.keys(details).length) {   // a sweep of one scale: nothing to judge, but say whose notes follow
    nodes.push(el("p", {}, el("b", { text: `${name}: ` }), "one scale only, no transfer verdict"));
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
  const DASHES = ["dot", "dash", "dashdot", "longdash"];
  let i = 0;
  for (const [name, optima] of groups) {
    const dodge = (i - (groups.size - 1) / 2) * 0.05;   // side by side, so equal optima do not hide each other
    const dash = DASHES[i++ % DASHES.length];
    const x = optima.map((o) => Math.log2(axis === "width" ? o.width : o.depth) + dodge);
    // colour = the scale (as on every plot), marker = the parameterization, hollow = an edge optimum
    traces.push({ x, y: optima.map((o) => o.log2_lr), mode: "markers", type: "scatter", name, meta: "optima",
      marker: { color: optima.map((o) => scaleColor(axis === "width" ? o.width : o.depth)), size: 10,
        line: { color: "#333", width: 1 },
        symbol: optima.map((o) => paramSymbol(name) + (o.flags.includes("edge") ? "-open" : "")) },
      hovertext: optima.map(intervalText),
      error_y: { type: "data", symmetric: false, array: optima.map(upper), arrayminus: optima.map(lower), color: "#777" } });
    const fit = transfer.fits[name];
    if (fit) {
      const base = axis === "width" ? fit.base_width : fit.base_depth;
      const slope = axis === "width" ? fit.a : fit.b;
      const xs = [Math.min(...x) - dodge, Math.max(...x) - dodge];
      traces.push({ x: xs, y: xs.map((v) => fit.c + slope * (v - Math.log2(base))), mode: "lines", type: "scatter",
        line: { color: "#444", dash }, name: `${name} fit: ${slope >= 0 ? "+" : ""}${slope.toFixed(2)} oct/doubling`,
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

