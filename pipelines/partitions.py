"""One daily partitioning shared by every raw source, from the ETFs' first trading day."""

from dagster import DailyPartitionsDefinition

HISTORY_START = "2024-01-11"
daily_partitions = DailyPartitionsDefinition(start_date=HISTORY_START, end_offset=0)
