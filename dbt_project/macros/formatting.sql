{#-
  Number formatting for reading_text and rule, one macro per unit so every row writes a unit the same
  way. Each returns a varchar expression and 'n/a' for null.
    fmt_musd(-434.1e6)  -> '-434.1M'        fmt_bnusd(49.2e9) -> '49.2bn'      fmt_usd(70000) -> '70,000'
    fmt_pct(-13.4)      -> '-13.4 %'  (space=false: '-13.4%')        fmt_num(-13.1, 1) -> '-13.1'       fmt_int(3.0)   -> '3'
    fmt_date(d)         -> '2026-02-05'
  `signed` (default true where a change is meant) prints the + of positive numbers.
-#}
{% macro fmt_printf(expr, pattern) -%}
    coalesce(printf('{{ pattern }}', {{ expr }}), 'n/a')
{%- endmacro %}

{% macro fmt_musd(expr, signed=true, decimals=1) -%}
    (case when {{ expr }} is null then 'n/a'
          else printf('{{ "%+," if signed else "%," }}.{{ decimals }}fM', ({{ expr }}) / 1e6) end)
{%- endmacro %}

{% macro fmt_bnusd(expr) -%}
    (case when {{ expr }} is null then 'n/a' else printf('%.1fbn', ({{ expr }}) / 1e9) end)
{%- endmacro %}

{% macro fmt_usd(expr) -%}
    {{ fmt_printf(expr, '%,.0f') }}
{%- endmacro %}

{% macro fmt_pct(expr, decimals=1, signed=true, space=true) -%}
    {{ fmt_printf(expr, ('%+.' if signed else '%.') ~ decimals ~ 'f' ~ (' %%' if space else '%%')) }}
{%- endmacro %}

{% macro fmt_num(expr, decimals=1, signed=true) -%}
    {{ fmt_printf(expr, ('%+.' if signed else '%.') ~ decimals ~ 'f') }}
{%- endmacro %}

{% macro fmt_int(expr) -%}
    coalesce(cast(cast({{ expr }} as bigint) as varchar), 'n/a')
{%- endmacro %}

{% macro fmt_date(expr) -%}
    coalesce(strftime({{ expr }}, '%Y-%m-%d'), 'n/a')
{%- endmacro %}
