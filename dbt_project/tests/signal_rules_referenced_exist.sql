-- Every rule('indicator', 'parameter') a model uses must exist in the signal_rules seed.
{%- set used = [] -%}
{%- if execute -%}
  {%- for node in graph.nodes.values() if node.resource_type == 'model' -%}
    {%- for m in modules.re.findall("rule\\(\\s*'([a-z0-9_]+)'\\s*,\\s*'([a-z0-9_]+)'\\s*\\)", node.raw_code) -%}
      {%- do used.append(m) -%}
    {%- endfor -%}
  {%- endfor -%}
{%- endif %}
with used as (
  {%- for ind, par in used | unique %}
  select '{{ ind }}' as indicator, '{{ par }}' as parameter {% if not loop.last %}union all{% endif %}
  {%- else %}
  select null::varchar as indicator, null::varchar as parameter where false
  {%- endfor %}
)
select used.*
from used
left join {{ ref('signal_rules') }} as r using (indicator, parameter)
where r.value is null
