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

