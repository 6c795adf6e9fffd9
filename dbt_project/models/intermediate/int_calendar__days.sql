-- The dashboard's date spine: every calendar day from dashboard_start_date to dashboard_end_date
-- (default: today, UTC).
with

bounds as (
    select
        cast('{{ var("dashboard_start_date") }}' as date)   as first_date,
        {% if var("dashboard_end_date", none) %}
        cast('{{ var("dashboard_end_date") }}' as date)     as last_date
        {% else %}
        cast(current_date as date)                          as last_date
        {% endif %}
),

final as (
    select cast(unnest(generate_series(first_date, last_date, interval 1 day)) as date) as as_of_date
    from bounds
)

select * from final
