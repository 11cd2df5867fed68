-- depends_on: {{ ref('identity_changes') }}
-- This build's identifier → customer mapping, kept so that the next build's identity_changes
-- can compare against it. It is rebuilt after identity_changes has read it (the depends_on
-- above orders the two), so between builds it always holds the last published mapping.

with

resolved as (
    select * from {{ ref('int_identifiers_resolved') }}
    where customer_id is not null
)

select
    identifier,
    identifier_type,
    identifier_value,
    customer_id,
    '{{ invocation_id }}' as build_id,
    cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S") }}' as {{ dbt.type_timestamp() }}) as built_at
from resolved
