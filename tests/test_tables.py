"""Each raw table declared once: DDL, parser schema, publication and lag come from the declarations, and dbt's
source_freshness seed agrees with them (lateness has one source of truth)."""

import csv

import duckdb

from pipelines.landing.load import ensure_table
from pipelines.landing.tables import RECORD_COLUMNS, TABLES, publication_by_group, source_freshness
from pipelines.schedules import PUBLICATION
from pipelines.settings import DBT_PROJECT_DIR


def test_every_declared_table_creates_with_its_columns_and_is_derived():
    con = duckdb.connect()
    for table in TABLES:
        ensure_table(con, table)
        described = {name: (kind, null) for name, kind, null, *_ in con.execute(f"describe raw.{table.name}").fetchall()}
        assert list(described) == [c.name for c in table.all_columns]
        assert described["is_derived"] == ("BOOLEAN", "NO")
        assert set(table.key_columns) <= set(described) and table.date_column in described
        assert set(table.schema) == {c.name for c in table.columns} | {"payload"}
    assert "is_derived" in {c.name for c in RECORD_COLUMNS}


def test_schedules_read_publication_and_lateness_from_the_declarations():
    assert PUBLICATION == publication_by_group()
    assert PUBLICATION["etf_flows"].hour_utc == 13 and PUBLICATION["etf_flows"].max_lateness_hours == 4 * 24 + 13


def test_the_dbt_freshness_seed_agrees_with_the_declarations():
    with (DBT_PROJECT_DIR / "seeds" / "source_freshness.csv").open() as fh:
        seed = {row["source_key"]: int(row["max_lag_days"]) for row in csv.DictReader(fh)}
    assert seed == source_freshness()
