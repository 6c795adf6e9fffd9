{#-
  Staging dedup: the latest revision of each key, i.e. the row landed last (greatest ingested_at).
  The raw landing is append-only per window, so a re-fetched day can hold an earlier and a revised row.
      latest as ({{ latest_revision('source', ['oi_date', 'venue']) }})
-#}
{% macro latest_revision(relation, key_columns) -%}
    select *
    from {{ relation }}
    qualify row_number() over (partition by {{ key_columns | join(', ') }} order by ingested_at desc) = 1
{%- endmacro %}
