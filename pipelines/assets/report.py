"""The daily report as an asset: after each dashboard build, the latest day's report under warehouse/reports/."""

from dagster import AssetExecutionContext, AssetKey, MaterializeResult, MetadataValue, asset

from pipelines.report import reports_dir, write_report
from pipelines.resources import SourcesResource


@asset(
    key=["reports", "daily_report"],
    deps=[AssetKey(["marts", "signal_dashboard"])],
    group_name="reports",
    kinds={"html"},
    owners=["team:btc-signals"],
    description="One self-contained HTML file for the dashboard's latest day: the regime and its conditions, every "
    "indicator's status, reading, rule, source and freshness, and the key series with the status heatmap around the "
    "day. Any past day: `btc-signals report --date YYYY-MM-DD`.",
)
def daily_report(context: AssetExecutionContext, sources: SourcesResource) -> MaterializeResult:
    settings = sources.settings()
    day, path = write_report(settings.duckdb_path, reports_dir(settings.duckdb_path))
    context.log.info(f"wrote the report for {day}: {path}")
    return MaterializeResult(
        metadata={
            "as_of_date": str(day),
            "path": MetadataValue.path(str(path)),
            "open": MetadataValue.url(path.as_uri()),
            "size_bytes": path.stat().st_size,
        }
    )
