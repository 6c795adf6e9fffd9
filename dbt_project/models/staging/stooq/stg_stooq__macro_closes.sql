-- Stooq daily closes (^sox, xauusd, xagusd, dx.f), typed; the latest revision (macro latest_revision) per (day, series).
{{ stg_macro_closes('stooq') }}
