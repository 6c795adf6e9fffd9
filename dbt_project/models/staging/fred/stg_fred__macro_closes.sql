-- FRED daily closes (SP500, NASDAQCOM, DJIA, DGS10), typed; the latest revision (macro latest_revision) per (day, series).
{{ stg_macro_closes('fred') }}
