-- CoinGlass BTC futures liquidations per day (USD), summed over the requested exchanges (venue);
-- the latest revision (macro latest_revision) per (day, venue).
{{ stg_futures_liquidations('coinglass') }}
