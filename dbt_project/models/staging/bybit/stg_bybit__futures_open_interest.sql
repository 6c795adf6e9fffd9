-- bybit futures open interest per day, typed; the latest revision (macro latest_revision) per (day, venue).
{{ stg_futures_open_interest('bybit') }}
