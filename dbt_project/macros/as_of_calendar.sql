{#-
  Every dashboard day joined to the latest row of `relation` on or before it (an as-of join): weekends,
  holidays and late days carry the newest reading, and its date column says which day that was
  (the dashboard's source_as_of; int_signals__unioned judges staleness from it).
      as_of as ({{ as_of_calendar('daily', 'flow_date') }})
-#}
{% macro as_of_calendar(relation, date_column) -%}
    select
        calendar.as_of_date,
        daily.*
    from {{ ref('int_calendar__days') }} as calendar
    asof left join {{ relation }} as daily
        on calendar.as_of_date >= daily.{{ date_column }}
{%- endmacro %}
