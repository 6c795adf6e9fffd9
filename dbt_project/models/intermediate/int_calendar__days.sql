-- The dashboard's date spine: every calendar day from dashboard_start_date to the newest day any source has.
with

source_last_dates as (
    select max(flow_date) as last_date from {{ ref('int_etf_flows__daily') }}
),

bounds as (
    select
        cast('{{ var("dashboard_start_date") }}' as date)   as first_date,
        max(last_date)                                     as last_date
    from source_last_dates
),

final as (
    select cast(unnest(generate_series(first_date, last_date, interval 1 day)) as date) as as_of_date
    from bounds
    where last_date is not null
)

select * from final
