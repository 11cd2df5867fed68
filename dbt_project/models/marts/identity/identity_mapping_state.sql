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
    {{ clientbase.identity_build_id() }} as build_id,
    {{ clientbase.identity_built_at() }} as built_at
from resolved
