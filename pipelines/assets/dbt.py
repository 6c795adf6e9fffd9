"""The dbt project as Dagster assets; dbt tests surface as asset checks."""


import json
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

import duckdb
from dagster import AssetExecutionContext, AssetKey, MaterializeResult, MetadataValue, Output
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, dbt_assets

from pipelines.chart import as_markdown, dashboard_chart
from pipelines.project import dbt_project
from pipelines.resources import SourcesResource
from pipelines.snapshot import publish_reader_copy

LAYER_GROUPS = {"staging": "staging", "intermediate": "intermediate", "marts": "marts"}


class Translator(DagsterDbtTranslator):
    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "seed":
            return "rules"
        fqn = dbt_resource_props.get("fqn", [])
        for part in fqn[1:-1]:
            if part in LAYER_GROUPS:
                return LAYER_GROUPS[part]
        return super().get_group_name(dbt_resource_props)


@dbt_assets(
    manifest=dbt_project.manifest_path,
    dagster_dbt_translator=Translator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True)),
)
def btc_signals_dbt(context: AssetExecutionContext, dbt: DbtCliResource, sources: SourcesResource):
    """`dbt build` of the selected models, seeds and tests. A failing test fails its asset check
    and dbt skips everything downstream of it, so bad data never reaches the dashboard."""
    dbt_vars = {"dashboard_end_date": dashboard_end_date(sources).isoformat()}
    # dbt holds the DuckDB write lock until it exits: collect its events, then add the metadata
    # that needs a read of the warehouse (row counts, date ranges, the latest readings).
    events = list(dbt.cli(["build", "--vars", json.dumps(dbt_vars)], context=context).stream())
    settings = sources.settings()
    db_path = str(settings.duckdb_path)
    published = publish_reader_copy(settings.duckdb_path, settings.reader_path)
    context.log.info(f"published the read-only copy for readers: {published}")
    keys_by_output = context.assets_def.keys_by_output_name
    for event in events:
        key = keys_by_output.get(event.output_name) if isinstance(event, Output) else getattr(event, "asset_key", None)
        if isinstance(event, (Output, MaterializeResult)) and key is not None and len(key.path) == 2:
            try:
                extra = model_metadata(db_path, key)
            except duckdb.Error as exc:  # the warehouse is busy or the relation is a view of a missing table
                context.log.warning(f"no metadata for {key.to_user_string()}: {exc}")
                extra = {}
            if extra:
                event = event.with_metadata({**(event.metadata or {}), **extra})
        yield event


DASHBOARD = AssetKey(["marts", "signal_dashboard"])


def model_metadata(db_path: str, key: AssetKey) -> dict[str, Any]:
    """Row count for every model; for the dashboard also its date range and the latest readings."""
    schema, name = key.path
    with duckdb.connect(db_path, read_only=True) as con:
        rows = con.execute(f'select count(*) from "{schema}"."{name}"').fetchone()[0]
        meta: dict[str, Any] = {"dagster/row_count": rows}
        if key != DASHBOARD or rows == 0:
            return meta
        first, last, n_ind = con.execute(
            "select min(as_of_date), max(as_of_date), count(distinct indicator) from marts.signal_dashboard"
        ).fetchone()
        series = con.execute(
            """select m.btc_close_usd, m.etf_net_flow_usd, r.status
               from marts.fct_daily_market as m
               left join marts.signal_dashboard as r on r.as_of_date = m.as_of_date and r.indicator = 'regime'
               order by m.as_of_date"""
        ).fetchall()
        latest = con.execute(
            """select indicator, status, reading_text, source_as_of, is_stale
               from marts.signal_dashboard where as_of_date = ? order by indicator = 'regime', indicator""",
            [last],
        ).fetchall()
    table = "| indicator | status | reading | data as of | stale |\n|---|---|---|---|---|\n" + "\n".join(
        f"| {i} | {s} | {t} | {a} | {'yes' if st else ''} |" for i, s, t, a, st in latest
    )
    closes, flows, states = (list(col) for col in zip(*series, strict=True)) if series else ([], [], [])
    chart = as_markdown(
        dashboard_chart(closes, flows, states),
        f"{first} .. {last}: BTC close (orange line), daily ETF net flow (green in / red out bars), "
        "regime status strip (red bear, grey neutral, green bull)",
    )
    return {
        **meta,
        "chart": MetadataValue.md(chart),
        "first_date": str(first),
        "last_date": str(last),
        "indicators": n_ind,
        "latest_readings": MetadataValue.md(f"**{last}**\n\n{table}"),
    }


def dashboard_end_date(sources: SourcesResource) -> date:
    """Replay: the bundled dataset's last day. Live: today (UTC)."""
    settings = sources.settings()
    if settings.mode == "replay":
        manifest = json.loads((settings.replay_dir / "manifest.json").read_text())
        return date.fromisoformat(manifest["window_end"])
    return datetime.now(tz=UTC).date()
