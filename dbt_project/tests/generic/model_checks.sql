{#- Every data rule of one model in one test node, one scan (plus one per unique key): the required columns,
    the grain, and the row rules (ranges, accepted values, expressions). One test per model instead of one per
    rule, because each dbt test node costs ≈ 50 ms of dbt's overhead and a Dagster asset check whatever its SQL
    (docs/operations.md, "dbt: one test node per model"); the rules and their failures stay named one by one.

    not_null: columns that must be filled in on every row.
    unique:   keys (each a list of columns) with at most one row per value; a null in a key counts as a
              value (rows with the same key and nulls in the same places are duplicates), as the per-rule
              `unique_combination_of_columns` did.
    rules:    {name, check}: `check` is a SQL condition each row must satisfy; a row where it is null passes
              (as with dbt's accepted_values and a `where not (…)` expression test).

    Returns one row per broken rule: rule (its name), failing_rows (rows, or for a key the values that occur
    more than once). dbt's failure count is the number of broken rules; the compiled SQL, or
    pipelines/assets/dbt.py on a failed check, says which and how many. -#}
{% test model_checks(model, not_null=[], unique=[], rules=[]) %}
with source_rows as (
    select * from {{ model }}
),

row_failures as (
    select
    {%- for column in not_null %}
        count(*) - count({{ column }}) as not_null_{{ loop.index }},
    {%- endfor %}
    {%- for r in rules %}
        count(*) filter (where not ({{ r.check }})) as rule_{{ loop.index }},
    {%- endfor %}
        count(*) as total_rows  -- ends the list, and keeps it non-empty for a model with only keys
    from source_rows
),

{%- for key in unique %}

key_{{ loop.index }}_duplicates as (
    select count(*) as duplicated_values
    from (
        select {{ key | join(', ') }}
        from source_rows
        group by {{ key | join(', ') }}
        having count(*) > 1
    )
),
{%- endfor %}

broken as (
    {%- for column in not_null %}
    select '{{ ("not null: " ~ column) | replace("'", "''") }}' as rule, not_null_{{ loop.index }} as failing_rows from row_failures
    union all
    {%- endfor %}
    {%- for r in rules %}
    select '{{ (r.name) | replace("'", "''") }}' as rule, rule_{{ loop.index }} as failing_rows from row_failures
    union all
    {%- endfor %}
    {%- for key in unique %}
    select '{{ ("one row per " ~ key | join(", ")) | replace("'", "''") }}' as rule, duplicated_values as failing_rows from key_{{ loop.index }}_duplicates
    union all
    {%- endfor %}
    select null as rule, 0 as failing_rows
),

final as (
    select * from broken where failing_rows > 0
)

select * from final
{% endtest %}
