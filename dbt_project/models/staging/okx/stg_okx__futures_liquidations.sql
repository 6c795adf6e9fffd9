-- okx BTC-USDT-SWAP liquidations per day (USD at the bankruptcy price), summed from the recent orders a live
-- collector fetched (OKX keeps ~24 h, so the history starts when collecting starts); the latest revision
-- (macro latest_revision) per (day, venue).
{{ stg_futures_liquidations('okx') }}
