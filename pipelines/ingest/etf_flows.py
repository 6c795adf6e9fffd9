"""Spot bitcoin ETF net flows, total and per issuer: CoinGlass with a key, Farside's table as keyless fallback."""

from collections.abc import Iterator

import polars as pl
from dagster import Config, MetadataValue
from pydantic import Field

from pipelines.calendar import trading_days
from pipelines.ingest import fallback
from pipelines.ingest.factory import Fetch, RawAsset, build
from pipelines.landing.load import Landed, Part
from pipelines.landing.tables import ETF_FLOWS
from pipelines.sources import coinglass, farside

TOTAL_ISSUER = farside.TOTAL_ISSUER
MAX_ABS_DAILY_FLOW_USD = 5e9  # the largest day on record is about 1.4bn USD


class EtfFlowsConfig(Config):
    source: str = Field(
        default="auto",
        description="auto: CoinGlass when COINGLASS_API_KEY is set, else (or when CoinGlass fails) Farside; "
        "or force 'coinglass' / 'farside'.",
    )


def _coinglass(f: Fetch) -> Part:
    records = coinglass.CoinGlassClient(f.http, f.settings.coinglass_api_key).etf_flow_history()
    return Part(coinglass.SOURCE, coinglass.ETF_FLOW_HISTORY, coinglass.parse_etf_flow_history(records))


def _farside(f: Fetch) -> Part:
    return Part(farside.SOURCE, farside.FLOW_TABLE_PATH, farside.parse_flow_table(farside.fetch_flow_table(f.http)))


def fetch(f: Fetch) -> Iterator[Part]:
    chain = fallback.plan(f.config.source, bool(f.settings.coinglass_api_key), ["coinglass"], ["farside"], "etf_flows")
    options = {"coinglass": lambda: _coinglass(f), "farside": lambda: _farside(f)}
    _, part, notes = fallback.first_that_works([(n, options[n]) for n in chain], f.log, "ETF flows")
    f.notes.extend(notes)
    yield part


def expectations() -> list:
    import great_expectations.expectations as gxe

    bound = MAX_ABS_DAILY_FLOW_USD
    return [
        gxe.ExpectColumnValuesToNotBeNull(column="payload"),
        gxe.ExpectColumnValuesToBeBetween(column="net_flow_usd", min_value=-bound, max_value=bound),
        gxe.ExpectColumnValuesToBeInSet(column="source", value_set=["coinglass", "farside"]),
    ]


def trading_day_batch(con) -> list:
    """Every US trading day between the first and last day with a total present."""
    import great_expectations.expectations as gxe

    days = con.sql(f"select distinct flow_date from raw.{ETF_FLOWS.name} "
                   f"where issuer = '{TOTAL_ISSUER}' and net_flow_usd is not null").df()
    expected = trading_days(min(days["flow_date"]).date(), max(days["flow_date"]).date()) if len(days) else []
    days["flow_date"] = days["flow_date"].dt.date
    return [("trading_days", days, [gxe.ExpectColumnDistinctValuesToContainSet(column="flow_date", value_set=expected)])]


def metadata(landed: Landed, f: Fetch) -> dict:
    frame = landed.frame
    totals = frame.filter((pl.col("issuer") == TOTAL_ISSUER) & pl.col("net_flow_usd").is_not_null())
    last = totals.sort("flow_date").tail(5)
    part = landed.parts[0]
    return {
        "source": part.source,
        "endpoint": part.endpoint,
        "days_with_flows": totals.height,
        "issuers": MetadataValue.json(sorted(set(frame["issuer"].to_list()) - {TOTAL_ISSUER})),
        "first_date": str(totals["flow_date"].min()) if totals.height else "none",
        "last_date": str(totals["flow_date"].max()) if totals.height else "none",
        "last_totals_musd": MetadataValue.md(
            "| date | net flow (US$m) |\n|---|---|\n"
            + "\n".join(f"| {d} | {v / 1e6:,.1f} |" for d, v in last.select("flow_date", "net_flow_usd").iter_rows())
        ),
    }


RAW_ASSETS = [
    RawAsset(
        ETF_FLOWS, fetch, config=EtfFlowsConfig, expectations=expectations, extra_batches=trading_day_batch,
        metadata=metadata, records_sql="select flow_date, issuer, net_flow_usd, source, payload, is_derived from raw.{table}",
        check_description="Great Expectations on raw.etf_flows: not empty, one row per (day, issuer), flows within "
        "±5bn USD, and every US trading day between the first and last day present.",
    )
]
raw_etf_flows, raw_etf_flows_gx = build(RAW_ASSETS[0])
