{#-
    Generic data tests of the identity models.
-#}

{#- The latest build's value of `column_name` must not exceed `max_value` (older builds are
    history: a past alarm must not fail every later build). Used on identity_graph_health to
    block publishing when the customer count jumps between two builds. -#}
{% test identity_latest_build_at_most(model, column_name, max_value) %}
    with latest as (
        select
            build_id,
            {{ column_name }} as checked_value,
            row_number() over (order by built_at desc, build_id desc) as recency
        from {{ model }}
    )

    select
        build_id,
        checked_value,
        {{ max_value }} as max_value
    from latest
    where recency = 1 and checked_value > {{ max_value }}
{% endtest %}


{#- A steward's never_link pair must not end up in the same customer. The exclusion of common
    neighbours (never_link_bridge) handles direct bridges; a longer path between the two is
    reported here so the steward can add the decisive never_link pair. -#}
{% test identity_never_link_respected(model, overrides) %}
    with pairs as (
        select * from {{ overrides }}
        where override_type = 'never_link'
    )

    select
        pairs.override_id,
        side_a.identifier as identifier_a,
        side_b.identifier as identifier_b,
        side_a.customer_id
    from pairs
    inner join {{ model }} as side_a
        on
            pairs.identifier_type_a = side_a.identifier_type
            and pairs.identifier_value_a = side_a.identifier_value
    inner join {{ model }} as side_b
        on
            pairs.identifier_type_b = side_b.identifier_type
            and pairs.identifier_value_b = side_b.identifier_value
    where side_a.customer_id = side_b.customer_id
{% endtest %}


{#- Every override must name identifiers that exist: a typo in a steward's file would otherwise
    be ignored without a word. -#}
{% test identity_overrides_known(model, identifiers) %}
    {%- for side in ['a', 'b'] %}
    select
        overrides.override_id,
        '{{ side }}' as side,
        overrides.identifier_type_{{ side }} as identifier_type,
        overrides.identifier_value_{{ side }} as identifier_value
    from {{ model }} as overrides
    left join {{ identifiers }} as known
        on
            overrides.identifier_type_{{ side }} = known.identifier_type
            and overrides.identifier_value_{{ side }} = known.identifier_value
    where known.identifier_type is null
    {% if not loop.first %}{% endif %}
    {%- if side == 'a' %}
    union all
    {%- endif %}
    {%- endfor %}
{% endtest %}
