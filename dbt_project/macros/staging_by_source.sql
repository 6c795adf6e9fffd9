{#
  Raw tables that several source systems land into (ETF flows, macro closes, futures) have one staging
  shape per table, filtered to one source: each staging model is a one-line call of these macros, so a
  column added to such a raw table is typed in one place.
#}

{% macro stg_futures_open_interest(source_name) -%}
with

source as (
    select * from {{ source('raw', 'futures_open_interest') }}
    where source = '{{ source_name }}'
),

latest as ({{ latest_revision('source', ['oi_date', 'venue']) }}),

final as (
    select
        cast(oi_date as date)           as oi_date,
        venue,
        symbol,
        cast(oi_open_usd as double)     as oi_open_usd,
        cast(oi_high_usd as double)     as oi_high_usd,
        cast(oi_low_usd as double)      as oi_low_usd,
        cast(oi_close_usd as double)    as oi_close_usd,
        cast(oi_close_btc as double)    as oi_close_btc,
        source,
        cast(is_derived as boolean)     as is_derived,
        ingested_at,
        payload_id
    from latest
)

select * from final
{%- endmacro %}

{% macro stg_futures_funding_8h(source_name) -%}
with

source as (
    select * from {{ source('raw', 'futures_funding') }}
    where source = '{{ source_name }}'
),

latest as ({{ latest_revision('source', ['funding_time', 'venue']) }}),

final as (
    select
        cast(funding_date as date)          as funding_date,
        cast(funding_time as timestamptz)   as funding_at,
        venue,
        symbol,
        cast(funding_rate_pct as double)    as funding_rate_pct_8h,
        source,
        cast(is_derived as boolean)         as is_derived,
        ingested_at,
        payload_id
    from latest
)

select * from final
{%- endmacro %}

{% macro stg_futures_liquidations(source_name) -%}
with

source as (
    select * from {{ source('raw', 'futures_liquidations') }}
    where source = '{{ source_name }}'
),

latest as ({{ latest_revision('source', ['liquidation_date', 'venue']) }}),

final as (
    select
        cast(liquidation_date as date)          as liquidation_date,
        venue,
        cast(long_liquidation_usd as double)    as long_liquidation_usd,
        cast(short_liquidation_usd as double)   as short_liquidation_usd,
        source,
        cast(is_derived as boolean)             as is_derived,
        ingested_at,
        payload_id
    from latest
)

select * from final
{%- endmacro %}


{% macro stg_etf_flows(source_name) -%}
with

source as (
    select * from {{ source('raw', 'etf_flows') }}
    where source = '{{ source_name }}'
),

latest as ({{ latest_revision('source', ['flow_date', 'issuer']) }}),

final as (
    select
        cast(flow_date as date)        as flow_date,
        upper(issuer)                  as issuer,
        issuer = 'TOTAL'               as is_total,
        cast(net_flow_usd as double)   as net_flow_usd,
        '{{ source_name }}'            as source,
        cast(is_derived as boolean)    as is_derived,
        ingested_at                    as ingested_at,
        payload_id                     as payload_id
    from latest
)

select * from final
{%- endmacro %}

{% macro stg_macro_closes(source_name) -%}
with

source as (
    select * from {{ source('raw', 'macro_daily_closes') }}
    where source = '{{ source_name }}'
),

latest as ({{ latest_revision('source', ['obs_date', 'series']) }}),

final as (
    select
        cast(obs_date as date)          as obs_date,
        series                          as series,
        symbol                          as symbol,
        cast(close_value as double)     as close_value,
        '{{ source_name }}'             as source,
        cast(is_derived as boolean)     as is_derived,
        ingested_at                     as ingested_at,
        payload_id                      as payload_id
    from latest
)

select * from final
{%- endmacro %}
