"""Nightly pictures of the marts (matplotlib) as PNGs, Dagster markdown and one HTML page: RFM
grid, cohort retention triangle, lifecycle funnel, identity cluster sizes, hygiene rates over time.

Pictures are drawn from the published serving catalogue (schema ``bi``) by default: it is the
night BI sees, it is PII-free, and reading it never waits for a running build.
"""

from __future__ import annotations

import base64
import html
import io
import logging
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from orchestration.config import get_settings

log = logging.getLogger(__name__)

DPI = 90
LIFECYCLE_ORDER = ["prospect", "one_time", "returning", "regular", "sleeping", "lost"]
FUNNEL_ORDER = ["in_selection", "customer", "uninterested", "refuser"]


@dataclass
class Picture:
    name: str
    title: str
    mart: str
    png: bytes | None = None
    summary: str = ""
    skipped: str | None = None  # why there is no picture (missing mart, no rows)
    facts: dict = field(default_factory=dict)

    @property
    def data_uri(self) -> str:
        return "data:image/png;base64," + base64.b64encode(self.png or b"").decode()

    def markdown(self) -> str:
        """Dagster shows markdown metadata in the UI; an inline data URI needs no file server."""
        if self.png is None:
            return f"**{self.title}**: not drawn ({self.skipped})"
        return f"**{self.title}**\n\n![{self.name}]({self.data_uri})\n\n{self.summary}"


class _Missing(Exception):
    """The mart (or a column the picture needs) is not there; the picture is skipped."""


def _columns(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> list[str]:
    rows = con.execute(
        "select column_name from information_schema.columns "
        "where table_schema = ? and table_name = ? order by ordinal_position",
        [schema, table],
    ).fetchall()
    return [r[0] for r in rows]


def _need(con, schema: str, table: str, columns: list[str]) -> list[str]:
    present = _columns(con, schema, table)
    if not present:
        raise _Missing(f"{schema}.{table} does not exist")
    missing = [c for c in columns if c not in present]
    if missing:
        raise _Missing(f"{schema}.{table} lacks {', '.join(missing)}")
    return present


def _png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight")
    return buffer.getvalue()


def _annotated_heatmap(ax, matrix: pd.DataFrame, cmap: str, fmt: Callable[[float], str], title):
    values = matrix.to_numpy(dtype=float)
    image = ax.imshow(values, cmap=cmap, origin="lower", aspect="auto")
    ax.set_xticks(range(matrix.shape[1]), [str(c) for c in matrix.columns])
    ax.set_yticks(range(matrix.shape[0]), [str(i) for i in matrix.index])
    finite = values[np.isfinite(values)]
    threshold = (finite.max() + finite.min()) / 2 if finite.size else 0
    for (row, col), value in np.ndenumerate(values):
        if np.isfinite(value):
            colour = "white" if value > threshold else "black"
            ax.text(col, row, fmt(value), ha="center", va="center", fontsize=7, color=colour)
    ax.set_title(title, fontsize=10)
    return image


def _compact(value: float) -> str:
    if abs(value) >= 1e6:
        return f"{value / 1e6:.1f}M"
    if abs(value) >= 1e4:
        return f"{value / 1e3:.0f}k"
    return f"{value:.0f}"


def rfm_grid(con, schema: str) -> Picture:
    picture = Picture("rfm_grid", "RFM grid: recency × frequency", "customer_rfm")
    _need(con, schema, "customer_rfm", ["recency_score", "frequency_score", "monetary"])
    cells = con.execute(
        f"select recency_score, frequency_score, count(*) as customers, "
        f"sum(monetary) as revenue from {schema}.customer_rfm "
        "where recency_score is not null and frequency_score is not null group by all"
    ).df()
    if cells.empty:
        raise _Missing("customer_rfm has no scored customers")
    scores = range(1, 6)
    customers = cells.pivot(index="frequency_score", columns="recency_score", values="customers")
    customers = customers.reindex(index=scores, columns=scores).fillna(0)
    revenue = cells.pivot(index="frequency_score", columns="recency_score", values="revenue")
    revenue = revenue.reindex(index=scores, columns=scores).astype(float).fillna(0)
    fig = Figure(figsize=(10, 4.2), layout="constrained")
    left, right = fig.subplots(1, 2)
    for ax, matrix, cmap, fmt, title in (
        (left, customers, "Blues", lambda v: f"{v:.0f}", "customers"),
        (right, revenue, "Greens", _compact, "revenue"),
    ):
        image = _annotated_heatmap(ax, matrix, cmap, fmt, title)
        ax.set_xlabel("recency score (5 = bought most recently)")
        ax.set_ylabel("frequency score (5 = buys most often)")
        fig.colorbar(image, ax=ax, shrink=0.8)
    fig.suptitle(picture.title)
    picture.png = _png(fig)
    total_customers, total_revenue = (
        int(customers.to_numpy().sum()),
        float(revenue.to_numpy().sum()),
    )
    best = customers.loc[[4, 5], [4, 5]].to_numpy().sum() if total_customers else 0
    picture.facts = {"customers": total_customers, "revenue": round(total_revenue, 2)}
    picture.summary = (
        f"{total_customers} customers, revenue {total_revenue:,.0f}; "
        f"{best / max(total_customers, 1):.0%} sit in the top-right 2×2 (recent and frequent)."
    )
    return picture


def cohort_triangle(con, schema: str) -> Picture:
    picture = Picture("cohort_retention", "Cohort retention triangle", "cohort_retention")
    _need(
        con, schema, "cohort_retention",
        ["cohort_month", "months_since_acquisition", "cohort_customers", "active_customers"],
    )  # fmt: skip
    columns = _columns(con, schema, "cohort_retention")
    # Rows per acquisition channel add up to the cohort; an 'all' row (if any) already does.
    channel_filter = ""
    if "acquisition_channel" in columns:
        has_all = con.execute(
            f"select count(*) from {schema}.cohort_retention where acquisition_channel = 'all'"
        ).fetchone()[0]
        if has_all:
            channel_filter = "where acquisition_channel = 'all'"
    cells = con.execute(
        f"""
        with cells as (
            select cohort_month, months_since_acquisition,
                   sum(cohort_customers) as cohort_customers,
                   sum(active_customers) as active_customers
            from {schema}.cohort_retention {channel_filter}
            group by all
        )
        select strftime(cast(cohort_month as date), '%Y-%m') as cohort,
               months_since_acquisition as months,
               1.0 * active_customers / nullif(cohort_customers, 0) as retention
        from cells
        order by 1, 2
        """
    ).df()
    if cells.empty:
        raise _Missing("cohort_retention is empty")
    matrix = cells.pivot(index="cohort", columns="months", values="retention").astype(float)
    # The most recent cohorts keep it readable: one row per month, at most two years.
    matrix = matrix.tail(24)
    matrix = matrix.loc[:, [c for c in matrix.columns if c <= 24]]
    fig = Figure(figsize=(11, max(3.5, 0.28 * len(matrix) + 1.5)), layout="constrained")
    ax = fig.subplots()
    image = ax.imshow(matrix.to_numpy(), cmap="YlOrRd", aspect="auto", vmin=0, vmax=1)
    ax.set_yticks(range(len(matrix)), matrix.index)
    ax.set_xticks(range(matrix.shape[1]), [str(c) for c in matrix.columns])
    if matrix.shape[1] <= 13:
        for (row, col), value in np.ndenumerate(matrix.to_numpy()):
            if np.isfinite(value):
                ax.text(col, row, f"{value:.0%}", ha="center", va="center", fontsize=6)
    ax.set_xlabel("months since first order")
    ax.set_ylabel("cohort (month of first order)")
    fig.colorbar(image, ax=ax, label="share of the cohort buying that month")
    ax.set_title(picture.title)
    picture.png = _png(fig)
    month_one = matrix[1].dropna() if 1 in matrix.columns else pd.Series(dtype=float)
    picture.facts = {"cohorts": len(matrix)}
    picture.summary = f"{len(matrix)} cohorts shown" + (
        f"; median month-1 retention {month_one.median():.1%}." if not month_one.empty else "."
    )
    return picture


def lifecycle_funnel(con, schema: str) -> Picture:
    picture = Picture("lifecycle_funnel", "Lifecycle stages and funnel", "customer_lifecycle")
    columns = _need(con, schema, "customer_lifecycle", ["lifecycle_stage"])
    stages = con.execute(
        f"select lifecycle_stage, count(*) as customers from {schema}.customer_lifecycle "
        "group by all"
    ).df()
    if stages.empty:
        raise _Missing("customer_lifecycle is empty")
    order = [s for s in LIFECYCLE_ORDER if s in set(stages.lifecycle_stage)]
    order += sorted(set(stages.lifecycle_stage.dropna()) - set(order))
    stages = stages.set_index("lifecycle_stage").reindex(order).fillna(0)
    has_funnel = "funnel_stage" in columns
    fig = Figure(figsize=(10 if has_funnel else 6, 4), layout="constrained")
    axes = fig.subplots(1, 2 if has_funnel else 1)
    axes = list(np.atleast_1d(axes))
    total = int(stages.customers.sum())
    _hbar(axes[0], stages.customers, total, "lifecycle stage", "tab:blue")
    if has_funnel:
        funnel = con.execute(
            f"select funnel_stage, count(*) as customers from {schema}.customer_lifecycle "
            "group by all"
        ).df()
        funnel_order = [s for s in FUNNEL_ORDER if s in set(funnel.funnel_stage)]
        funnel_order += sorted(set(funnel.funnel_stage.dropna()) - set(funnel_order))
        funnel = funnel.set_index("funnel_stage").reindex(funnel_order).fillna(0)
        _hbar(axes[1], funnel.customers, total, "CRM funnel", "tab:purple")
    fig.suptitle(picture.title)
    picture.png = _png(fig)
    picture.facts = {"customers": total, **{k: int(v) for k, v in stages.customers.items()}}
    picture.summary = ", ".join(f"{k}: {int(v)}" for k, v in stages.customers.items())
    return picture


def _hbar(ax, series: pd.Series, total: int, title: str, colour: str) -> None:
    labels = list(series.index)[::-1]
    values = list(series.to_numpy())[::-1]
    bars = ax.barh(labels, values, color=colour)
    for bar, value in zip(bars, values, strict=True):
        label = f" {int(value)} ({value / max(total, 1):.0%})"
        ax.text(bar.get_width(), bar.get_y() + bar.get_height() / 2, label, va="center", fontsize=8)
    ax.set_title(title, fontsize=10)
    ax.set_xlabel("customers")
    ax.margins(x=0.25)


# Where the identity marts say how many source records make up one customer.
CLUSTER_SIZE_COLUMNS = ("source_record_count", "record_count", "cluster_size", "identifier_count")


def identity_clusters(con, schema: str) -> Picture:
    picture = Picture("identity_clusters", "Identity cluster sizes", "dim_customers")
    columns = _need(con, schema, "dim_customers", ["customer_id"])
    size_column = next((c for c in CLUSTER_SIZE_COLUMNS if c in columns), None)
    if size_column is None:
        raise _Missing(f"dim_customers has none of {', '.join(CLUSTER_SIZE_COLUMNS)}")
    sizes = con.execute(
        f'select "{size_column}" as size, count(*) as customers from {schema}.dim_customers '
        "group by all order by 1"
    ).df()
    if sizes.empty:
        raise _Missing("dim_customers is empty")
    fig = Figure(figsize=(8, 4), layout="constrained")
    ax = fig.subplots()
    ax.bar(sizes["size"].astype(int), sizes["customers"], color="tab:orange")
    ax.set_yscale("log")
    ax.set_xlabel(f"{size_column.replace('_', ' ')} per customer")
    ax.set_ylabel("customers (log scale)")
    ax.set_title(picture.title)
    picture.png = _png(fig)
    total = int(sizes.customers.sum())
    singletons = int(sizes.loc[sizes["size"] == 1, "customers"].sum())
    largest = int(sizes["size"].max())
    picture.facts = {"customers": total, "singletons": singletons, "largest": largest}
    picture.summary = (
        f"{total} customers; {singletons / max(total, 1):.0%} are a single record; "
        f"the largest cluster has {largest} — large ones are worth a steward's look."
    )
    return picture


def hygiene_rates(con, schema: str) -> Picture:
    picture = Picture("hygiene_rates", "Hygiene rates over time", "hygiene_daily")
    columns = _need(con, schema, "hygiene_daily", [])
    types = dict(
        con.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = ? and table_name = 'hygiene_daily'",
            [schema],
        ).fetchall()
    )
    date_column = next(
        (
            c
            for c in columns
            if types[c].upper() == "DATE" or types[c].upper().startswith("TIMESTAMP")
        ),
        None,
    )
    rates = [c for c in columns if c.endswith(("_share", "_rate")) and c != date_column]
    if date_column is None or not rates:
        raise _Missing("hygiene_daily needs a date column and *_share / *_rate columns")
    selected = ", ".join(f'"{c}"' for c in rates)
    frame = con.execute(
        f'select "{date_column}" as day, {selected} from {schema}.hygiene_daily order by 1'
    ).df()
    if frame.empty:
        raise _Missing("hygiene_daily is empty")
    fig = Figure(figsize=(10, 4.5), layout="constrained")
    ax = fig.subplots()
    if len(frame) == 1:
        # One build has no trend yet: show its rates as bars rather than dots on an empty axis.
        latest = frame.iloc[0]
        values = [float(latest[c]) * 100 for c in rates]
        ax.barh([c.replace("_", " ") for c in rates][::-1], values[::-1], color="tab:red")
        for row, value in enumerate(values[::-1]):
            ax.text(value, row, f" {value:.1f}%", va="center", fontsize=8)
        ax.set_xlabel("% of contacts")
        ax.margins(x=0.15)
        first_day = pd.Timestamp(latest["day"]).date()
        ax.set_title(f"{picture.title} (first build {first_day}; the trend starts next build)")
    else:
        for column in rates:
            ax.plot(frame["day"], frame[column].astype(float) * 100, marker="o", markersize=3,
                    label=column.replace("_", " "))  # fmt: skip
        ax.set_ylabel("% of contacts")
        ax.set_title(picture.title)
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1))
        fig.autofmt_xdate()
    picture.png = _png(fig)
    latest = frame.iloc[-1]
    picture.facts = {"days": len(frame)}
    picture.summary = f"{len(frame)} builds; latest: " + ", ".join(
        f"{c.replace('_', ' ')} {float(latest[c]):.1%}" for c in rates[:6] if pd.notna(latest[c])
    )
    return picture


# (picture name, its mart, how to draw it); names match Picture.name of the drawn picture.
PICTURES: list[tuple[str, str, Callable[[duckdb.DuckDBPyConnection, str], Picture]]] = [
    ("rfm_grid", "customer_rfm", rfm_grid),
    ("cohort_retention", "cohort_retention", cohort_triangle),
    ("lifecycle_funnel", "customer_lifecycle", lifecycle_funnel),
    ("identity_clusters", "dim_customers", identity_clusters),
    ("hygiene_rates", "hygiene_daily", hygiene_rates),
]


def render_all(con: duckdb.DuckDBPyConnection, schema: str = "bi") -> list[Picture]:
    """Draw every picture that the available marts allow; the others say why they are missing."""
    pictures = []
    for name, mart, draw in PICTURES:
        try:
            pictures.append(draw(con, schema))
        except _Missing as reason:
            log.warning("picture %s skipped: %s", name, reason)
            title = name.replace("_", " ").capitalize()
            pictures.append(Picture(name, title, mart, skipped=str(reason)))
    return pictures


def write_html(pictures: list[Picture], path: Path, *, build_id: str | None = None) -> Path:
    """One self-contained page (images inline), replaced atomically."""
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    sections = []
    for p in pictures:
        if p.png is None:
            sections.append(
                f"<section><h2>{html.escape(p.title)}</h2>"
                f"<p class='skipped'>Not drawn: {html.escape(p.skipped or '')}</p></section>"
            )
        else:
            sections.append(
                f"<section id='{p.name}'><h2>{html.escape(p.title)}</h2>"
                f"<p>{html.escape(p.summary)} <small>(mart <code>{html.escape(p.mart)}</code>)"
                f"</small></p><img alt='{html.escape(p.title)}' src='{p.data_uri}'></section>"
            )
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>clientbase nightly report</title>
<style>body{{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}}
img{{max-width:100%}} .skipped{{color:#a00}} section{{margin-bottom:2.5em}}</style></head>
<body><h1>clientbase nightly report</h1>
<p>Build {html.escape(build_id or "-")}, generated {generated}.</p>
{"".join(sections)}
</body></html>
"""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:6]}")
    temp.write_text(page, encoding="utf-8")
    os.replace(temp, path)
    return path


def render_report(
    catalogue: Path | None = None, reports_dir: Path | None = None, schema: str = "bi"
) -> tuple[list[Picture], Path]:
    """Draw from the serving catalogue, write PNGs and index.html; return pictures and page."""
    settings = get_settings()
    catalogue = Path(catalogue or settings.serving_dir / "clientbase.duckdb")
    reports_dir = Path(reports_dir or settings.reports_dir)
    con = duckdb.connect(str(catalogue), read_only=True)
    try:
        pictures = render_all(con, schema)
        build_id = None
        if schema == "bi":
            build_id = con.execute("select build_id from bi.build_info").fetchone()[0]
    finally:
        con.close()
    reports_dir.mkdir(parents=True, exist_ok=True)
    for p in pictures:
        if p.png is not None:
            temp = reports_dir / f".{p.name}.png.tmp"
            temp.write_bytes(p.png)
            os.replace(temp, reports_dir / f"{p.name}.png")
    page = write_html(pictures, reports_dir / "index.html", build_id=build_id)
    return pictures, page
