{#- One test per model for all its required columns (one scan), instead of one not_null test per column:
    every dbt test node costs dbt's overhead and a Dagster asset check. Returns one row per column that
    has nulls, with the number of null rows; dbt's failure count is therefore the number of failing
    columns, and the rows (`dbt test --store-failures`, or the compiled SQL) say which and how many. -#}
{% test not_null_columns(model, columns) %}
with null_counts as (
    select
    {%- for column in columns %}
        count(*) - count({{ column }}) as null_rows_{{ loop.index }}{{ "," if not loop.last }}
    {%- endfor %}
    from {{ model }}
),

per_column as (
    {%- for column in columns %}
    select '{{ column }}' as column_name, null_rows_{{ loop.index }} as null_rows from null_counts
    {%- if not loop.last %} union all{% endif %}
    {%- endfor %}
)

select * from per_column where null_rows > 0
{% endtest %}
