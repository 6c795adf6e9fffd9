{#-
  A threshold from the signal_rules seed, as a scalar SQL expression:
      {{ rule('etf_net_flow', 'bear_outflow_day_usd') }}
  The seed is the one place thresholds live; the test `signal_rules_referenced_exist` fails the
  build when a model asks for a rule the seed does not define.
-#}
{% macro rule(indicator, parameter) -%}
    (select value from {{ ref('signal_rules') }} where indicator = '{{ indicator }}' and parameter = '{{ parameter }}')
{%- endmacro %}
