// Shared helpers of the paramz dashboards: fetch the REST API, draw with plotly.js (served locally).
"use strict";

const API = "/api/v1";
// STATES comes from states.js, which the service writes from sweeps.domain (one source of truth).
const LIVE = new Set(STATES.sweepActive);
const COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
  "#bcbd22", "#17becf"];

async function getJSON(path) {
  const response = await fetch(path, { headers: { Accept: "application/json" } });
  const body = await response.json();
  if (!response.ok) {
    const error = new Error(body.detail || response.statusText);
    error.status = response.status;
    throw error;
  }
  return body;
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child);
  return node;
}

function param(name) {
  return new URLSearchParams(window.location.search).get(name);
}

function showError(where, error) {
  const box = document.getElementById(where);
  box.textContent = `${error.status ? error.status + ": " : ""}${error.message}`;
  box.hidden = false;
}

// Plotly reads titles, legend names and hover text as HTML-like markup: user strings (sweep names,
// parameterization labels) are escaped so that they show as text, never as markup.
function plain(text) {
  return typeof text === "string" ? text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;") : text;
}

function layout(title, xTitle, yTitle, extra = {}) {
  return Object.assign({
    title: { text: plain(title), font: { size: 14 } },
    xaxis: { title: { text: xTitle }, zeroline: false },
    yaxis: { title: { text: yTitle }, zeroline: false },
    margin: { l: 60, r: 20, t: 40, b: 50 },
    legend: { font: { size: 11 } },
    height: 380,
  }, extra);
}

function draw(id, traces, plotLayout) {
  const safe = traces.map((t) => ({ ...t, name: plain(t.name),
    hovertext: Array.isArray(t.hovertext) ? t.hovertext.map(plain) : plain(t.hovertext) }));
  return Plotly.react(id, safe, plotLayout, { responsive: true, displaylogo: false });
}

// The axis that a sweep varies: one curve per width, or per depth when only depth varies.
function scaleAxis(curves) {
  const widths = new Set(curves.map((c) => c.width));
  const depths = new Set(curves.map((c) => c.depth));
  return widths.size === 1 && depths.size > 1 ? "depth" : "width";
}

function scaleLabel(item, axis) {
  return axis === "width" ? `width ${item.width}` + (item.depth ? "" : "") : `depth ${item.depth}`;
}

function markReady() {
  document.body.dataset.ready = String(Number(document.body.dataset.ready || 0) + 1);
}

// Ticks of a log axis spanning about a decade, at 1-2-5 values written out in full ("0.5", "1", "2"):
// plotly would otherwise label the minor ticks with bare digits ("7 8 9 1 2 3"). lo10/hi10 are log10 bounds.
function logTicks(lo10, hi10) {
  const tickvals = [];
  for (let decade = Math.floor(lo10); decade <= Math.ceil(hi10); decade++) {
    for (const m of [1, 2, 5]) {
      const v = m * 10 ** decade;
      if (Math.log10(v) >= lo10 && Math.log10(v) <= hi10) tickvals.push(v);
    }
  }
  return { tickvals, ticktext: tickvals.map((v) => String(Number(v.toPrecision(3)))) };
}
