-- Farside ETF flows (US$m converted to USD at landing), typed; the latest revision (macro latest_revision) per (day, issuer).
{{ stg_etf_flows('farside') }}
