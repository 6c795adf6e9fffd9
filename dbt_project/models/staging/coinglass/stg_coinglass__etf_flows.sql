-- CoinGlass ETF flows, typed; the latest revision (macro latest_revision) per (day, issuer).
{{ stg_etf_flows('coinglass') }}
