{#-
    Money divided by a count (average order value, revenue per customer), rounded to `scale`
    decimals half away from zero, exactly and the same on both engines; null when the
    denominator is 0 or null.

    Why a macro: DuckDB divides decimals in DOUBLE, so cast(19834.725-exactly as decimal(18, 2))
    becomes 19834.72 (the double is 19834.72499...), while Spark divides decimals exactly and
    gives 19834.73. Here DuckDB works in integers instead: numerator in units of 10^-scale
    (exact for a numerator with at most `scale` decimals, such as a sum of decimal(18, 2)
    amounts), rounded integer division, then scaled back by a decimal multiplication.
-#}
{% macro decimal_divide(numerator, denominator, scale=2) %}
    {{- return(adapter.dispatch('decimal_divide', 'clientbase')(numerator, denominator, scale)) -}}
{% endmacro %}

{% macro duckdb__decimal_divide(numerator, denominator, scale=2) -%}
    {%- set units = 'cast((' ~ numerator ~ ') * ' ~ (10 ** scale) ~ ' as hugeint)' -%}
    {%- set divisor = 'cast(nullif(' ~ denominator ~ ', 0) as hugeint)' -%}
    cast(
        cast(
            sign({{ units }}) * sign({{ divisor }})
            * ((2 * abs({{ units }}) + abs({{ divisor }})) // (2 * abs({{ divisor }})))
            as decimal(38, 0)
        ) * cast({{ '%.*f' | format(scale, 10 ** (-scale)) }} as decimal(38, {{ scale }}))
        as decimal(38, {{ scale }})
    )
{%- endmacro %}

{% macro spark__decimal_divide(numerator, denominator, scale=2) -%}
    {#- Exact decimal division, cast to the scale: HALF_UP, away from zero. The operand types
        are kept small on purpose: Spark gives a quotient of decimal(20, s) by decimal(10, 0)
        s + 11 decimals, enough for the single rounding to be exact; with decimal(38, s) it
        would keep only 6 and could round twice. -#}
    cast(
        cast({{ numerator }} as decimal(20, {{ scale }}))
        / cast(nullif({{ denominator }}, 0) as decimal(10, 0))
        as decimal(38, {{ scale }})
    )
{%- endmacro %}
