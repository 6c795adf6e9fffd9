"""Raw landing: partition replacement is atomic and idempotent; payloads are archived once per content."""

from datetime import date

import duckdb
import polars as pl
import pytest

from pipelines.landing import archive_payload, replace_window

DDL = "create schema if not exists raw; create table if not exists raw.t (d date not null, v double)"


def frame(days, value):
    return pl.DataFrame({"d": days, "v": [value] * len(days)}, schema={"d": pl.Date, "v": pl.Float64})


def test_replace_window_is_idempotent_and_only_touches_its_window():
    con = duckdb.connect()
    jan = [date(2026, 1, d) for d in range(1, 11)]
    replace_window(con, table="t", date_column="d", frame=frame(jan, 1.0), window=(date(2026, 1, 1), date(2026, 1, 11)), ddl=DDL)
    for _ in range(3):
        replace_window(
            con, table="t", date_column="d", frame=frame(jan[2:5], 2.0), window=(date(2026, 1, 3), date(2026, 1, 6)), ddl=DDL
        )
    rows = dict(con.execute("select d, v from raw.t order by d").fetchall())
    assert len(rows) == 10
    assert [rows[d] for d in jan] == [1.0, 1.0, 2.0, 2.0, 2.0, 1.0, 1.0, 1.0, 1.0, 1.0]


def test_failed_insert_rolls_back_and_keeps_the_previous_rows():
    con = duckdb.connect()
    days = [date(2026, 1, 1), date(2026, 1, 2)]
    replace_window(con, table="t", date_column="d", frame=frame(days, 1.0), window=(date(2026, 1, 1), date(2026, 1, 3)), ddl=DDL)
    bad = pl.DataFrame({"d": [date(2026, 1, 1), None], "v": [5.0, 5.0]}, schema={"d": pl.Date, "v": pl.Float64})
    with pytest.raises(duckdb.ConstraintException):
        # a NULL date violates NOT NULL after the delete ran: the whole transaction must roll back
        replace_window(con, table="t", date_column="d", frame=bad, window=(date(2026, 1, 1), date(2026, 1, 3)), ddl=DDL)
    assert con.execute("select count(*), sum(v) from raw.t").fetchone() == (2, 2.0)


def test_rows_outside_the_window_are_refused():
    con = duckdb.connect()
    with pytest.raises(ValueError, match="outside the window"):
        replace_window(con, table="t", date_column="d", frame=frame([date(2026, 2, 1)], 1.0),
                       window=(date(2026, 1, 1), date(2026, 1, 2)), ddl=DDL)


def test_archive_keeps_each_distinct_payload_once():
    con = duckdb.connect()
    a1 = archive_payload(con, source="s", endpoint="/e", body="{}", request_params={"q": 1})
    a2 = archive_payload(con, source="s", endpoint="/e", body="{}", request_params={"q": 1})
    b = archive_payload(con, source="s", endpoint="/e", body='{"revised": true}', request_params={"q": 1})
    assert a1 == a2 != b
    assert con.execute("select count(*) from raw.landing_payloads").fetchone()[0] == 2
