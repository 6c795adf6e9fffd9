-- Dashboard rows for BTC's daily close against the day's levels (int_btc_price__key_levels: dated levels
-- from the key_levels seed where valid, else the previous N days' closing range), one per calendar day.
-- Bull: close above the key level. Bear: close below the bottom of the support band. Else neutral.
with

levels as (select * from {{ ref('int_btc_price__key_levels') }}),

as_of as ({{ as_of_calendar('levels', 'price_date') }}),

classified as (
    select
        *,
        case
            when price_date is null or not has_levels then 'no_data'
            when close_usd > key_level_usd then 'bull_confirmation'
            when close_usd < support_band_low_usd then 'bear_continuation'
            else 'neutral'
        end                                                             as status
    from as_of
),

final as (
    select
        as_of_date,
        'price_vs_key_levels'                                           as indicator,
        'price'                                                         as category,
        close_usd                                                       as reading,
        'usd'                                                           as reading_unit,
        case when price_date is null then 'no data'
             else 'close ' || {{ fmt_usd('close_usd') }} || ' USD on ' || {{ fmt_date('price_date') }}
                  || ' (' || {{ fmt_pct('100 * return_1d', 2) }} || ' d/d; high ' || {{ fmt_usd('high_usd') }}
                  || ', low ' || {{ fmt_usd('low_usd') }} || '); key level ' || {{ fmt_usd('key_level_usd') }}
                  || ', support band ' || {{ fmt_usd('support_band_low_usd') }} || '-'
                  || {{ fmt_usd('support_band_high_usd') }}
                  || case when is_dated_level then ' (dated)' else ' (derived)' end
        end                                                             as reading_text,
        status,
        case
            when price_date is null then 'no BTC price on or before this day'
            when not has_levels then 'no levels yet: the derived range needs the previous days'' closes'
            when status = 'bull_confirmation' then
                'close ' || {{ fmt_usd('close_usd') }} || ' above the key level ' || {{ fmt_usd('key_level_usd') }}
                || '; levels: ' || level_origin
            when status = 'bear_continuation' then
                'close ' || {{ fmt_usd('close_usd') }} || ' below the support band '
                || {{ fmt_usd('support_band_low_usd') }} || '-' || {{ fmt_usd('support_band_high_usd') }}
                || '; levels: ' || level_origin
            else
                'neutral: close ' || {{ fmt_usd('close_usd') }} || ' between the band bottom '
                || {{ fmt_usd('support_band_low_usd') }} || ' and the key level ' || {{ fmt_usd('key_level_usd') }}
                || '; levels: ' || level_origin
        end                                                             as rule,
        source,
        price_date                                                      as source_as_of,
        'btc_price'                                                     as freshness_key,
        false                                                           as is_derived,
        cast(null as varchar)                                           as derived_inputs,
        case when price_date is null then 'BTC price (no close on or before this day)'
             when not has_levels then 'price levels (not enough prior closes)' end
                                                                        as missing_inputs
    from classified
)

select * from final
