"""Great Expectations 1.x on DuckDB tables, through pandas (GX's SQL datasource does not work on DuckDB).

GX (and pandas, ≈ 0.75 s) is imported lazily: it costs seconds and hundreds of MB, and only checks need it
(a process that loads the code location or only rebuilds dbt never runs one).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from dagster import AssetCheckResult, AssetCheckSeverity, MetadataValue

if TYPE_CHECKING:
    import pandas as pd

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")


def run_suite(name: str, frames: list[tuple[str, pd.DataFrame, list[Any]]]) -> AssetCheckResult:
    """Validate each (label, dataframe, expectations) batch; one check result for all of them.

    The metadata lists every expectation with its outcome and, for failures, the unexpected count
    and examples, so the UI says which rows failed.
    """
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    ctx = gx.get_context(mode="ephemeral")
    ctx.variables.progress_bars = ProgressBarsConfig(globally=False)
    source = ctx.data_sources.add_pandas(name)
    lines: list[str] = []
    failed: list[str] = []
    evaluated = 0
    rows = {}
    for label, frame, expectations in frames:
        rows[label] = len(frame)
        batch_def = source.add_dataframe_asset(label).add_batch_definition_whole_dataframe("all")
        suite = gx.ExpectationSuite(name=f"{name}.{label}", expectations=expectations)
        batch = batch_def.get_batch(batch_parameters={"dataframe": frame})
        # A passing suite needs no more than pass/fail; GX's SUMMARY format computes each expectation's
        # unexpected counts and examples, ≈ 50 % more time for every suite of every run. Only a suite that
        # failed is validated again for them (the UI's table and the run's failure lines show them).
        result = batch.validate(suite, result_format="BOOLEAN_ONLY")
        if not result.success:
            result = batch.validate(suite, result_format="SUMMARY")
        for r in result.results:
            evaluated += 1
            cfg = r.expectation_config
            kwargs = {k: v for k, v in cfg.kwargs.items() if k not in ("batch_id", "value_set")}
            desc = f"{label}: {cfg.type}({', '.join(f'{k}={v}' for k, v in kwargs.items())})"
            if r.success:
                lines.append(f"| {desc} | pass | |")
                continue
            res = r.result or {}
            detail = (
                f"unexpected {res.get('unexpected_count', '?')}: {res.get('partial_unexpected_list', [])[:5]}"
                if "unexpected_count" in res
                else str({k: v for k, v in res.items() if k in ("observed_value", "details")})[:300]
            )
            if r.exception_info and r.exception_info.get("raised_exception"):
                detail = f"error: {r.exception_info.get('exception_message')}"
            failed.append(f"{desc}: {detail}")
            lines.append(f"| {desc} | **FAIL** | {detail} |")
    table = "| expectation | result | detail |\n|---|---|---|\n" + "\n".join(lines)
    return AssetCheckResult(
        passed=not failed,
        severity=AssetCheckSeverity.ERROR,
        description=("; ".join(failed))[:1000] if failed else f"{evaluated} expectations passed",
        metadata={
            "expectations_evaluated": evaluated,
            "expectations_failed": len(failed),
            "rows_validated": MetadataValue.json(rows),
            "results": MetadataValue.md(table),
        },
    )
