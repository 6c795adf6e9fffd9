"""The daily report: one self-contained HTML file for a day of the signal dashboard.

It holds the dashboard table of that day (status, reading, rule, source, freshness and, where the
dashboard has the column, whether the reading is derived rather than observed), the regime with its
conditions, and the key series with the status heatmap around the day (a matplotlib PNG, inlined as a
data URI). No script, no stylesheet or image is fetched: the file opens offline, mailed or archived.

    btc-signals report [--date 2026-02-05] [--out FILE]

The ``reports/daily_report`` asset writes the latest day's report under ``warehouse/reports/`` after
each dashboard build and links it in its metadata.
"""

from __future__ import annotations

import html
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb

from pipelines.charts import data_uri, load_chart_data, overview_png

STATUS_CLASS = {"bull_confirmation": "bull", "bear_continuation": "bear", "neutral": "neutral", "no_data": "nodata"}
# Read when the dashboard has them; the report works without the optional ones.
COLUMNS = ("indicator", "category", "status", "reading_text", "rule", "source", "source_as_of", "is_stale", "is_derived")
DAYS_BEFORE, DAYS_AFTER = 60, 14


class ReportError(Exception):
    """The report cannot be written (no warehouse, no dashboard row for the day); the message says why."""


def read_day(con: duckdb.DuckDBPyConnection, day: date) -> list[dict[str, Any]]:
    """The dashboard rows of one day, indicators first (by category) and the regime last."""
    present = {
        name
        for name, in con.execute(
            "select column_name from information_schema.columns where table_schema = 'marts' and table_name = 'signal_dashboard'"
        ).fetchall()
    }
    cols = [c for c in COLUMNS if c in present]
    rows = con.execute(
        f"""select {", ".join(cols)} from marts.signal_dashboard where as_of_date = ?
            order by indicator = 'regime', category, indicator""",
        [day],
    ).fetchall()
    return [dict(zip(cols, r, strict=True)) for r in rows]


def freshness(row: dict[str, Any]) -> str:
    as_of = row.get("source_as_of")
    if as_of is None:
        return "no data"
    return f"stale (data of {as_of})" if row.get("is_stale") else f"fresh (data of {as_of})"


def derived(row: dict[str, Any]) -> str:
    return "derived" if row.get("is_derived") else "observed"


def markdown_table(rows: list[dict[str, Any]]) -> str:
    """The day's rows as a markdown table (the dashboard asset's `latest_readings` metadata)."""
    has_derived = any("is_derived" in r for r in rows)
    head = ["indicator", "status", "reading", "rule", "source", "freshness"] + (["observed / derived"] if has_derived else [])

    def cell(text: Any) -> str:
        return str(text if text is not None else "n/a").replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        values = [r["indicator"], r["status"], r.get("reading_text"), r.get("rule"), r.get("source"), freshness(r)]
        if has_derived:
            values.append(derived(r))
        lines.append("| " + " | ".join(cell(v) for v in values) + " |")
    return "\n".join(lines)


def regime_conditions(rule: str | None) -> list[str]:
    """The regime's rule text lists its conditions and tallies separated by '; '."""
    return [part.strip() for part in (rule or "").split(";") if part.strip()]


CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px auto;max-width:1200px;color:#24292f;padding:0 16px}
h1{font-size:1.6em;margin-bottom:4px} h2{font-size:1.2em;margin-top:28px;border-bottom:1px solid #d0d7de;padding-bottom:4px}
.meta{color:#57606a;font-size:.9em} table{border-collapse:collapse;width:100%;font-size:.88em}
th,td{border:1px solid #d0d7de;padding:6px 8px;text-align:left;vertical-align:top} th{background:#f6f8fa}
.status{font-weight:600;white-space:nowrap;padding:2px 6px;border-radius:4px}
.bull{background:#dafbe1;color:#116329} .bear{background:#ffebe9;color:#a40e26} .neutral{background:#eaeef2;color:#424a53}
.nodata{background:#fff;color:#6e7781;border:1px dashed #8c959f} .stale{color:#9a6700;font-weight:600}
ul.conditions li{margin:4px 0} img{max-width:100%;height:auto;border:1px solid #d0d7de}
"""


def render_html(day: date, rows: list[dict[str, Any]], chart_png: bytes, span: tuple[date, date], dashboard_span: tuple[date, date]) -> str:
    e = html.escape
    regime = next((r for r in rows if r["indicator"] == "regime"), None)
    indicators = [r for r in rows if r["indicator"] != "regime"]
    has_derived = any("is_derived" in r for r in rows)

    def status(s: str | None) -> str:
        return f'<span class="status {STATUS_CLASS.get(s or "", "nodata")}">{e(s or "n/a")}</span>'

    head = "<tr><th>indicator</th><th>status</th><th>reading</th><th>rule</th><th>source</th><th>freshness</th>"
    head += "<th>observed / derived</th></tr>" if has_derived else "</tr>"
    body = []
    for r in indicators:
        fresh = freshness(r)
        cells = [
            f"<td><b>{e(r['indicator'])}</b><br><span class=meta>{e(r.get('category') or '')}</span></td>",
            f"<td>{status(r['status'])}</td>",
            f"<td>{e(r.get('reading_text') or 'n/a')}</td>",
            f"<td>{e(r.get('rule') or '')}</td>",
            f"<td>{e(r.get('source') or 'n/a')}</td>",
            f"<td{' class=stale' if r.get('is_stale') else ''}>{e(fresh)}</td>",
        ]
        if has_derived:
            cells.append(f"<td>{e(derived(r))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    if regime is not None:
        conditions = "".join(f"<li>{e(c)}</li>" for c in regime_conditions(regime.get("rule")))
        regime_html = (
            f"<p>{status(regime['status'])} <b>{e(regime.get('reading_text') or '')}</b></p>"
            f"<ul class=conditions>{conditions}</ul>"
        )
    else:
        regime_html = "<p>No regime row for this day.</p>"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>btc-signals report {day}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><style>{CSS}</style></head>
<body>
<h1>BTC market regime — {day}</h1>
<p class=meta>btc-signals daily report. The dashboard covers {dashboard_span[0]} .. {dashboard_span[1]}; thresholds from
dbt_project/seeds/signal_rules.csv.</p>
<h2 id="regime">Regime</h2>
{regime_html}
<h2 id="dashboard">Dashboard on {day}</h2>
<table><thead>{head}</thead><tbody>
{"".join(body)}
</tbody></table>
<h2 id="series">Key series and statuses, {span[0]} .. {span[1]}</h2>
<p class=meta>The dotted line marks {day}. Heatmap rows: each indicator's status per day (white: no data).</p>
<img alt="BTC close with key levels, ETF net flows and the status heatmap, {span[0]} .. {span[1]}" src="{data_uri(chart_png)}">
</body></html>
"""


def build_report(con: duckdb.DuckDBPyConnection, day: date | None = None) -> tuple[date, str]:
    """(the day, the report's HTML) for ``day`` (default: the dashboard's latest day)."""
    first, last = con.execute("select min(as_of_date), max(as_of_date) from marts.signal_dashboard").fetchone()
    if last is None:
        raise ReportError("the dashboard is empty: run `btc-signals run` first")
    day = day or last
    rows = read_day(con, day)
    if not rows:
        raise ReportError(f"no dashboard rows for {day}: the dashboard covers {first} .. {last}")
    data = load_chart_data(con, day - timedelta(days=DAYS_BEFORE), day + timedelta(days=DAYS_AFTER))
    png = overview_png(data, f"Around {day}: {data.days[0]} .. {data.days[-1]}", mark=day)
    return day, render_html(day, rows, png, (data.days[0], data.days[-1]), (first, last))


def report_path(reports_dir: Path, day: date) -> Path:
    return reports_dir / f"btc_signals_report_{day.isoformat()}.html"


def write_report(db_path: Path, reports_dir: Path, day: date | None = None, out: Path | None = None) -> tuple[date, Path]:
    """Write the report of ``day`` (default: the latest) to ``out`` or ``reports_dir``; return (day, path)."""
    if not db_path.exists():
        raise ReportError(f"no warehouse at {db_path}: run `btc-signals run` first")
    with duckdb.connect(str(db_path), read_only=True) as con:
        day, text = build_report(con, day)
    path = out or report_path(reports_dir, day)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return day, path


def reports_dir(db_path: Path) -> Path:
    """Reports go beside the warehouse: warehouse/reports/."""
    return db_path.parent / "reports"


def main(day: date | None, out: Path | None) -> int:
    """`btc-signals report`: write the report from the read-only copy of the warehouse."""
    import sys

    from pipelines.settings import load_settings
    from pipelines.snapshot import path_for_reading

    settings = load_settings()
    try:
        _, path = write_report(path_for_reading(settings.duckdb_path, settings.reader_path),
                            reports_dir(settings.duckdb_path), day, out)
    except ReportError as exc:
        print(f"btc-signals report: {exc}", file=sys.stderr)
        return 1
    print(path)
    return 0
