"""The dbt project as Dagster assets; dbt tests surface as asset checks."""

import contextlib
import io
import re
import sys
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

import duckdb
from dagster import (
    AssetCheckResult,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetSpec,
    Config,
    MaterializeResult,
    MetadataValue,
    Output,
)
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, DbtProject, dbt_assets
from pydantic import Field

from pipelines.charts import as_markdown, load_chart_data, overview_png
from pipelines.progress import ANSI
from pipelines.dbt_invocation import dbt_build_args
from pipelines.project import dbt_project
from pipelines.report import markdown_table, read_day
from pipelines.resources import SourcesResource
from pipelines.snapshot import publish_reader_copy

LAYER_GROUPS = {"staging": "staging", "intermediate": "intermediate", "marts": "marts"}


MODEL_CHECKS = "model_checks"  # dbt_project/tests/generic/model_checks.sql


def check_description(test: Mapping[str, Any]) -> str:
    """A dbt test's description; for ``model_checks`` followed by each of its row rules."""
    text = " ".join(test.get("description", "").split())
    meta = test.get("test_metadata") or {}
    if meta.get("name") != MODEL_CHECKS or not meta.get("kwargs", {}).get("rules"):
        return text
    return f"{text} Rules: " + "; ".join(r["name"] for r in meta["kwargs"]["rules"]) + "."


class Translator(DagsterDbtTranslator):
    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "seed":
            return "rules"
        fqn = dbt_resource_props.get("fqn", [])
        for part in fqn[1:-1]:
            if part in LAYER_GROUPS:
                return LAYER_GROUPS[part]
        return super().get_group_name(dbt_resource_props)

    def get_asset_check_spec(self, asset_spec: AssetSpec, manifest: Mapping[str, Any], unique_id: str,
                             project: DbtProject | None) -> AssetCheckSpec | None:
        """dagster-dbt takes a check's description from the test's ``meta`` only: the UI would show none of
        the tests' descriptions. Use the test's own description, and for ``model_checks`` every rule it checks."""
        spec = super().get_asset_check_spec(asset_spec, manifest, unique_id, project)
        test = manifest.get("nodes", {}).get(unique_id, {})
        if spec is None or spec.description or not test.get("description"):
            return spec
        return spec._replace(description=check_description(test))


class DbtBuildConfig(Config):
    """How much of the dbt project a run rebuilds."""

    full_refresh: bool = Field(
        default=False,
        description="false (the daily run): every model, seed and data test, incremental models over their "
        "look-back only, no unit tests. true: everything from scratch, unit tests included "
        "(`btc-signals run --dbt-only --full-refresh`).",
    )


@dbt_assets(
    manifest=dbt_project.manifest_path,
    dagster_dbt_translator=Translator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True)),
)
def btc_signals_dbt(context: AssetExecutionContext, dbt: DbtCliResource, sources: SourcesResource,
                    config: DbtBuildConfig):
    """`dbt build` of the selected models, seeds and tests (``pipelines.dbt_invocation.dbt_build_args``). A
    failing test fails its asset check (recorded, with the rules it found broken) and dbt skips everything
    downstream of it, so bad data never reaches the dashboard; the step then fails with dbt's own error."""
    # dbt holds the DuckDB write lock until it exits: collect its events, then add the metadata
    # that needs a read of the warehouse (row counts, date ranges, the latest readings).
    # dagster-dbt echoes every dbt log line to stdout (the `make dev` terminal, the run's stdout): keep
    # dbt's summary and its problems there; the whole log is dbt_project/target/<invocation>/dbt.log.
    with contextlib.redirect_stdout(DbtLogSummary(sys.stdout)):
        args = dbt_build_args(full_refresh=config.full_refresh, settings=sources.settings())
        invocation = dbt.cli(args, context=context, raise_on_error=False)
        events = list(invocation.stream())
    error = invocation.get_error()  # raised below, once every result dbt reported is recorded
    settings = sources.settings()
    db_path = str(settings.duckdb_path)
    if error is None:  # readers keep the last good build until a build passes
        published = publish_reader_copy(settings.duckdb_path, settings.reader_path)
        context.log.info(f"published the read-only copy for readers: {published}")
    keys_by_output = context.assets_def.keys_by_output_name
    with contextlib.ExitStack() as stack:
        con = None  # one read-only connection for every model (a connect costs ≈ 30 ms of CPU)
        for event in events:
            key = keys_by_output.get(event.output_name) if isinstance(event, Output) else getattr(event, "asset_key", None)
            if isinstance(event, AssetCheckResult) and not event.passed:
                try:
                    con = con or stack.enter_context(duckdb.connect(db_path, read_only=True))
                    event = with_broken_rules(con, event, invocation.manifest, invocation.target_path)
                except duckdb.Error as exc:
                    context.log.warning(f"could not list the broken rules of {event.check_name}: {exc}")
            if isinstance(event, (Output, MaterializeResult)) and key is not None and len(key.path) == 2:
                try:
                    con = con or stack.enter_context(duckdb.connect(db_path, read_only=True))
                    extra = model_metadata(con, key)
                except duckdb.Error as exc:  # the warehouse is busy or the relation is a view of a missing table
                    context.log.warning(f"no metadata for {key.to_user_string()}: {exc}")
                    extra = {}
                if extra:
                    event = event.with_metadata({**(event.metadata or {}), **extra})
            yield event
    if error is not None:  # a failed test (its check is recorded above, failed), a model's error, …: dbt's own lines
        raise error


class DbtLogSummary(io.TextIOBase):
    """A stdout filter for dbt's log lines: passes each node that failed or warned, and everything from
    dbt's closing summary on ("Finished running ...", the failures' details, "Done. PASS=..")."""

    PROBLEM = re.compile(r"\[(FAIL|ERROR|WARN)|^(Encountered an error|Runtime Error|Compilation Error|Database Error)")
    SUMMARY_START = re.compile(r"^Finished running ")

    def __init__(self, out) -> None:
        self.out = out
        self.in_summary = False
        self.dropped = 0

    def write(self, text: str) -> int:
        for line in ANSI.sub("", text).splitlines():
            if self.SUMMARY_START.search(line):
                self.in_summary = True
                self.out.write(f"dbt: {self.dropped} progress lines not shown (the whole log: dbt_project/target/<invocation>/dbt.log)\n")
            if self.in_summary or self.PROBLEM.search(line):
                self.out.write(f"dbt: {line}\n" if line.strip() else "\n")
            else:
                self.dropped += 1
        return len(text)

    def flush(self) -> None:
        self.out.flush()


def with_broken_rules(con: duckdb.DuckDBPyConnection, result: AssetCheckResult, manifest: Mapping[str, Any],
                      target_path: Path) -> AssetCheckResult:
    """A failed ``model_checks`` test, with the rules it found broken and their failing rows as its description
    and metadata (``broken_rules``). dbt reports only how many rows the test returned (one per broken rule);
    the test's compiled SQL, read-only, after dbt has exited, says which. Other results are returned as they are."""
    meta = result.metadata or {}
    unique_id = getattr(meta.get("unique_id"), "value", meta.get("unique_id"))
    node = manifest.get("nodes", {}).get(unique_id or "", {})
    if (node.get("test_metadata") or {}).get("name") != MODEL_CHECKS:
        return result
    compiled = target_path / "compiled" / node["package_name"] / node["original_file_path"] / f"{node['name']}.sql"
    if not compiled.exists():
        return result
    broken = con.execute(f"select rule, failing_rows from ({compiled.read_text()}) order by rule").fetchall()
    if not broken:
        return result
    table = "| rule | failing rows |\n|---|---|\n" + "\n".join(f"| {rule} | {rows} |" for rule, rows in broken)
    return AssetCheckResult(
        passed=False, asset_key=result.asset_key, check_name=result.check_name, severity=result.severity,
        description="broken: " + "; ".join(f"{rule} ({rows} row{'' if rows == 1 else 's'})" for rule, rows in broken),
        metadata={**meta, "broken_rules": MetadataValue.md(table)},
    )


DASHBOARD = AssetKey(["marts", "signal_dashboard"])
RECENT_DAYS = 90


def model_metadata(con: duckdb.DuckDBPyConnection, key: AssetKey) -> dict[str, Any]:
    """Row count for every model; for the dashboard also its date range, the latest readings and the charts."""
    schema, name = key.path
    rows = con.execute(f'select count(*) from "{schema}"."{name}"').fetchone()[0]
    meta: dict[str, Any] = {"dagster/row_count": rows}
    if key != DASHBOARD or rows == 0:
        return meta
    first, last, n_ind = con.execute(
        "select min(as_of_date), max(as_of_date), count(distinct indicator) from marts.signal_dashboard"
    ).fetchone()
    latest = read_day(con, last)
    recent = load_chart_data(con, last - timedelta(days=RECENT_DAYS - 1), last)
    window = load_chart_data(con)
    return {
        **meta,
        "first_date": str(first),
        "last_date": str(last),
        "indicators": n_ind,
        "latest_readings": MetadataValue.md(f"**Signal dashboard for {last}**\n\n{markdown_table(latest)}"),
        "chart_last_90_days": MetadataValue.md(as_markdown(
            overview_png(recent, f"Last {RECENT_DAYS} days: {recent.days[0]} .. {last}"),
            f"BTC close with the key levels, daily ETF net flows and each indicator's status, {recent.days[0]} .. {last}",
        )),
        "chart_whole_window": MetadataValue.md(as_markdown(
            overview_png(window, f"Whole window: {first} .. {last}"),
            f"BTC close with the key levels, daily ETF net flows and each indicator's status, {first} .. {last}",
        )),
    }
