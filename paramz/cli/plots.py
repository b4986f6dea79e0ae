"""Plotly figures written as self-contained HTML (plotly.js embedded, no CDN)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from paramz.coordcheck import CoordResult


def coord_check_figure(results: Sequence[CoordResult]) -> go.Figure:
    """mean|x| against scale, one line per module; a row per parameterization, a column per step.

    Args:
        results: coordinate checks on the same axis (width or depth), e.g. SP next to μP.

    Returns:
        A log-log figure in the layout of TP V's coordinate-check plots.
    """
    steps_all = sorted({r.step for r in results[0].records})
    steps = sorted({steps_all[0], steps_all[1], steps_all[len(steps_all) // 2], steps_all[-1]})
    axis = results[0].axis
    titles = [f"{r.parameterization} ({'pass' if r.passed else 'FAIL'}) — step {t}" for r in results for t in steps]
    fig = make_subplots(rows=len(results), cols=len(steps), subplot_titles=titles, shared_xaxes=True)
    for row, result in enumerate(results, start=1):
        modules = sorted({r.module for r in result.records})
        for col, step in enumerate(steps, start=1):
            for i, module in enumerate(modules):
                pts = sorted(((r.width if axis == "width" else r.depth), r.mean_abs)
                             for r in result.records if r.module == module and r.step == step)
                fig.add_trace(go.Scatter(x=[p[0] for p in pts], y=[p[1] for p in pts], mode="lines+markers",
                                         name=module, legendgroup=module, showlegend=row == 1 and col == 1,
                                         line={"color": _color(i)}), row=row, col=col)
            fig.update_xaxes(type="log", title_text=axis, row=row, col=col)
            fig.update_yaxes(type="log", title_text="mean |x|" if col == 1 else None, row=row, col=col)
    fig.update_layout(height=320 * len(results), width=300 * len(steps) + 200,
                      title=f"Coordinate check: {results[0].model}, mean |x| vs {axis}")
    return fig


def _color(i: int) -> str:
    palette = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
               "#bcbd22", "#17becf")
    return palette[i % len(palette)]


def write_html(fig: go.Figure, path: str | Path) -> Path:
    """Writes ``fig`` as one self-contained HTML file (works offline) and returns its path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.write_html(path, include_plotlyjs=True, full_html=True)
    return path
