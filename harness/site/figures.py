"""The board's charts as plotly figure JSON, rendered in the browser by the one shipped plotly.min.js.

Figures are written as plain dicts in plotly's JSON schema, with plotly's default template, as
`plotly.io.to_json` would write them: building them through `plotly.graph_objects` validated every
property and cost more than rendering all the pages of a 50-entry board.
"""

from __future__ import annotations

import functools
import json
from typing import Any

import pandas as pd

SOURCE_LABELS = {"run": "our run", "imported": "imported outputs", "reported": "reported"}
SOURCE_COLOURS = {"run": "#1f6feb", "imported": "#8250df", "reported": "#9a6700"}


@functools.cache
def _template() -> Any:
    import plotly.graph_objects as go
    import plotly.io

    return json.loads(plotly.io.to_json(go.Figure(), pretty=False))["layout"]["template"]


def _figure_json(traces: list[dict[str, Any]], layout: dict[str, Any]) -> dict[str, Any]:
    return {"data": traces, "layout": {**layout, "template": _template()}}


def _layout(**extra: Any) -> dict[str, Any]:
    layout: dict[str, Any] = {
        "margin": {"l": 10, "r": 20, "t": 30, "b": 40},
        "font": {"family": "system-ui, sans-serif", "size": 12},
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "rgba(0,0,0,0)",
        "legend": {"orientation": "h", "y": -0.15},
    }
    layout.update(extra)
    return layout


def scores_figure(rows: list[dict[str, Any]], names: dict[str, str]) -> Any:
    """Horizontal bars of score with CI error bars, one trace per source (best at the top)."""
    rows = sorted((r for r in rows if r["score"] is not None), key=lambda r: r["score"])
    traces: list[dict[str, Any]] = []
    for source in ("run", "imported", "reported"):
        mine = [r for r in rows if r["source"] == source]
        if not mine:
            continue
        x = [r["score"] * 100 for r in mine]
        high = [
            (r["ci_high"] * 100 - xv) if r["ci_high"] is not None else 0
            for r, xv in zip(mine, x, strict=True)
        ]
        low = [
            (xv - r["ci_low"] * 100) if r["ci_low"] is not None else 0 for r, xv in zip(mine, x, strict=True)
        ]
        traces.append(
            dict(
                type="bar",
                x=x,
                y=[names[r["entry"]] for r in mine],
                orientation="h",
                name=SOURCE_LABELS[source],
                marker={"color": SOURCE_COLOURS[source]},
                error_x={"type": "data", "symmetric": False, "array": high, "arrayminus": low},
                hovertemplate="%{y}: %{x:.1f}<extra>" + SOURCE_LABELS[source] + "</extra>",
            )
        )
    order = [names[r["entry"]] for r in rows]
    return _figure_json(
        traces,
        _layout(
            height=max(160, 60 + 26 * len(rows)),
            xaxis={"title": {"text": "score (%) with 95% CI"}, "rangemode": "tozero"},
            yaxis={"categoryorder": "array", "categoryarray": order, "automargin": True},
            barmode="overlay",
        ),
    )


def categories_figure(categories: pd.DataFrame, names: dict[str, str]) -> Any | None:
    if categories.empty:
        return None
    table = categories.pivot_table(index="entry", columns="category", values="score", aggfunc="first")
    table = table.loc[table.mean(axis=1).sort_values().index]
    z = [[None if pd.isna(v) else round(float(v) * 100, 1) for v in row] for row in table.to_numpy()]
    traces = [
        dict(
            type="heatmap",
            z=z,
            x=[str(c) for c in table.columns],
            y=[names[e] for e in table.index],
            colorscale="Blues",
            zmin=0,
            zmax=100,
            text=[["" if v is None else f"{v:.1f}" for v in row] for row in z],
            texttemplate="%{text}",
            hovertemplate="%{y} · %{x}: %{z:.1f}%<extra></extra>",
            colorbar={"title": {"text": "%"}},
        )
    ]
    return _figure_json(
        traces,
        _layout(
            height=max(200, 90 + 28 * len(table.index)),
            xaxis={"tickangle": -30, "automargin": True},
            yaxis={"automargin": True},
        ),
    )


def pareto_front(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """The points no other point beats on both cost (lower) and score (higher), cheapest first."""
    front: list[tuple[float, float]] = []
    for cost, score in sorted(points, key=lambda p: (p[0], -p[1])):
        if not front or score > front[-1][1]:
            front.append((cost, score))
    return front


def cost_figure(rows: list[dict[str, Any]], names: dict[str, str]) -> Any | None:
    priced = [r for r in rows if r["score"] is not None and r["cost_per_sample_usd"] is not None]
    if not priced:
        return None
    traces: list[dict[str, Any]] = []
    for source in ("run", "imported"):
        mine = [r for r in priced if r["source"] == source]
        if mine:
            traces.append(
                dict(
                    type="scatter",
                    x=[r["cost_per_sample_usd"] for r in mine],
                    y=[r["score"] * 100 for r in mine],
                    mode="markers+text",
                    text=[names[r["entry"]] for r in mine],
                    textposition="top center",
                    name=SOURCE_LABELS[source],
                    marker={"size": 10, "color": SOURCE_COLOURS[source]},
                    hovertemplate="%{text}: %{y:.1f}% at $%{x:.5f}/sample<extra></extra>",
                )
            )
    front = pareto_front([(r["cost_per_sample_usd"], r["score"] * 100) for r in priced])
    traces.append(
        dict(
            type="scatter",
            x=[p[0] for p in front],
            y=[p[1] for p in front],
            mode="lines",
            line={"shape": "hv", "dash": "dot", "color": "#57606a"},
            name="Pareto front",
            hoverinfo="skip",
        )
    )
    log = all(r["cost_per_sample_usd"] > 0 for r in priced)
    return _figure_json(
        traces,
        _layout(
            height=380,
            xaxis={"title": {"text": "cost per sample (USD)"}, "type": "log" if log else "linear"},
            yaxis={"title": {"text": "score (%)"}},
        ),
    )


def entry_figure(rows: list[dict[str, Any]], titles: dict[str, str]) -> Any | None:
    shown = [r for r in rows if r["score"] is not None]
    if not shown:
        return None
    traces: list[dict[str, Any]] = []
    for source in ("run", "imported", "reported"):
        mine = [r for r in shown if r["source"] == source]
        if not mine:
            continue
        x = [titles[r["task"]] for r in mine]
        y = [r["score"] * 100 for r in mine]
        traces.append(
            dict(
                type="bar",
                x=x,
                y=y,
                name=SOURCE_LABELS[source],
                marker={"color": SOURCE_COLOURS[source]},
                error_y={
                    "type": "data",
                    "symmetric": False,
                    "array": [
                        (r["ci_high"] * 100 - v) if r["ci_high"] is not None else 0
                        for r, v in zip(mine, y, strict=True)
                    ],
                    "arrayminus": [
                        (v - r["ci_low"] * 100) if r["ci_low"] is not None else 0
                        for r, v in zip(mine, y, strict=True)
                    ],
                },
            )
        )
    published = [r for r in shown if r["source"] != "reported" and r["reported_value"] is not None]
    if published:
        traces.append(
            dict(
                type="scatter",
                x=[titles[r["task"]] for r in published],
                y=[r["reported_value"] * 100 for r in published],
                mode="markers",
                name="reported elsewhere",
                marker={"symbol": "diamond", "size": 12, "color": SOURCE_COLOURS["reported"]},
            )
        )
    return _figure_json(
        traces, _layout(height=320, yaxis={"title": {"text": "score (%)"}, "rangemode": "tozero"})
    )
