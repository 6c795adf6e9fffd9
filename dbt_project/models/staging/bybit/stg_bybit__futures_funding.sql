-- bybit BTCUSDT perpetual funding, one row per 8h funding (% per 8h); the latest revision (macro latest_revision) per instant.
{{ stg_futures_funding_8h('bybit') }}
