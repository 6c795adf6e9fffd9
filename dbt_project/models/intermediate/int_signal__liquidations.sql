-- Dashboard rows for futures liquidations, one per calendar day. Context only: there is no bull rule.
-- Bear continuation on a cascade day: total liquidations >= the cascade total, or long liquidations >=
-- the multiple of their median over the previous N days. Sources: CoinGlass (key), or OKX's recent orders
-- collected live without a key (OKX keeps ~24 h, so that history starts when collecting starts; replay has
-- none). Without data the row reads no_data and says so, never neutral.
with

daily as (select * from {{ ref('int_futures_liquidations__daily') }}),

as_of as ({{ as_of_calendar('daily', 'liquidation_date') }}),

rules as (
    select
        {{ rule('liquidations', 'cascade_total_usd') }}      as cascade_total_usd,
        {{ rule('liquidations', 'cascade_long_multiple') }}  as cascade_long_multiple,
        {{ rule('liquidations', 'median_window_days') }}     as median_window_days
),

classified as (
    select
        as_of.*,
        rules.*,
        case
            when as_of.liquidation_date is null then 'no_data'
            when as_of.is_total_cascade or as_of.is_long_cascade then 'bear_continuation'
            else 'neutral'
        end                                                     as status
    from as_of
    cross join rules
),

final as (
    select
        as_of_date,
        'liquidations'                                          as indicator,
        'leverage'                                              as category,
        total_liquidation_usd                                   as reading,
        'usd'                                                   as reading_unit,
        case when liquidation_date is null then 'no data'
             else {{ fmt_musd('total_liquidation_usd', signed=false) }} || ' USD on ' || {{ fmt_date('liquidation_date') }}
                  || ' (long ' || {{ fmt_musd('long_liquidation_usd', signed=false) }} || ', short '
                  || {{ fmt_musd('short_liquidation_usd', signed=false) }} || '; long '
                  || {{ fmt_num('long_multiple_of_median', 1, false) }} || 'x its '
                  || {{ fmt_int('median_window_days') }} || 'd median; ' || venue || ')'
        end                                                     as reading_text,
        status,
        case
            when liquidation_date is null then 'no liquidation data on or before this day: keyless liquidation history starts when you start collecting live '
                 || '(OKX liquidation orders, kept ~24 h, collected daily after 00:00 UTC); or set a CoinGlass API key'
            when is_total_cascade then
                'cascade day: total liquidations ' || {{ fmt_musd('total_liquidation_usd', signed=false) }} || ' USD >= '
                || {{ fmt_musd('cascade_total_usd', signed=false, decimals=0) }}
            when is_long_cascade then
                'cascade day: long liquidations ' || {{ fmt_musd('long_liquidation_usd', signed=false) }} || ' USD = '
                || {{ fmt_num('long_multiple_of_median', 1, false) }} || 'x their ' || {{ fmt_int('median_window_days') }}
                || '-day median (' || {{ fmt_musd('long_median_prior_usd', signed=false) }} || ') >= '
                || {{ fmt_num('cascade_long_multiple', 0, false) }} || 'x'
            else
                'no cascade (context only): total ' || {{ fmt_musd('total_liquidation_usd', signed=false) }} || ' < '
                || {{ fmt_musd('cascade_total_usd', signed=false, decimals=0) }} || ' and long '
                || {{ fmt_num('long_multiple_of_median', 1, false) }} || 'x < '
                || {{ fmt_num('cascade_long_multiple', 0, false) }} || 'x the ' || {{ fmt_int('median_window_days') }}
                || '-day median'
        end                                                     as rule,
        source,
        liquidation_date                                        as source_as_of,
        'futures_liquidations'                                  as freshness_key,
        coalesce(is_derived, false)                                     as is_derived,
        case when is_derived then 'CoinGlass liquidations' end  as derived_inputs,
        case when liquidation_date is null then 'futures liquidations (no data: keyless history starts with live OKX collection, or set a CoinGlass API key)' end
                                                                as missing_inputs
    from classified
)

select * from final
