{#-
    int_orders_unioned, kept by order.

    One row per shop order and POS receipt (size L: 5.66M rows). A row is a function of its own
    record's inputs and of a few related ones, so instead of recomputing every order each night
    (size L: ~14 s of node time) the model is kept by key like the two identity dimensions
    (dimensions_incremental.sql): a pre-hook deletes the held rows whose inputs changed since the
    newest stamp the table holds (`_staged_at`), and the body computes every order that has no
    held row.

    What changed, for a shop order (by source_order_id):
    - the order was restaged since (its status, amounts, contact), or it is gone;
    - the CRM contact it was placed by (`user_id`) was restaged since: its time zone is the
      order's local clock;
    - its resolved record (int_source_records_resolved, shop_order) was written since, or the
      held customer has no resolved record any more.

    What changed, for a POS receipt (by source_order_id):
    - the receipt was restaged since, or it is gone;
    - for a sale: a return referencing it was staged since (its netted amount, status and
      source_updated_at), or it holds a returned amount and no return references it any more;
    - for a return: the sale it references was staged since (whether it matches), or it was
      matched and that sale is gone;
    - the time zone of its store, or of the store a return of it was made at (the sale's
      source_updated_at is its last return's UTC time), differs from the one the held rows of
      that store were computed with (stg_reference__stores is a table rebuilt every run,
      without stamps);
    - its resolved record (pos_receipt) was written since, as for shop orders.

    Gone rows come from erasure (orchestration/erasure.py), which deletes a person's records,
    receipts that reference them included, and every row holding them. The var `pos_currency`
    is read at build time: changing it needs --full-refresh of this model, like any change of
    the model's code.
-#}

{#- Filter of int_orders_unioned's body: the source records of `source_system` (`alias`.`column`
    holding their id) without a held row, on an incremental run; every record otherwise. -#}
{% macro order_key_missing(source_system, alias, column) -%}
    {%- if is_incremental() -%}
        not exists (
            select 1
            from {{ this }} as held
            where
                held.source_system = '{{ source_system }}'
                and held.source_order_id = {{ alias }}.{{ column }}
        )
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}


{#- The held rows of int_orders_unioned to recompute (alias `held`): see above. -#}
{% macro orders_stale_rows(since) -%}
    {%- set receipts = ref('stg_pos__receipts') -%}
    {%- set changed_stores -%}
        select computed.store_id
        from {{ this }} as computed
        left join {{ ref('stg_reference__stores') }} as stores
            on computed.store_id = stores.store_id
        where
            computed.source_system = 'pos'
            and computed.order_time_zone is distinct from stores.time_zone
    {%- endset -%}
    (
        held.source_system = 'shop'
        and (
            -- gone, or restaged since
            not exists (
                select 1
                from {{ ref('stg_shop__orders') }} as orders
                where
                    orders.order_id = held.source_order_id
                    and not {{ clientbase.newer_than('orders._staged_at', since) }}
            )
            -- the contact who placed it was restaged since (its time zone)
            or exists (
                select 1
                from {{ ref('stg_shop__orders') }} as orders
                inner join {{ ref('stg_crm__contacts') }} as contacts
                    on orders.user_id = contacts.contact_id
                where
                    {{ clientbase.newer_than('contacts._staged_at', since) }}
                    and orders.order_id = held.source_order_id
            )
            or {{ clientbase.order_resolution_changed('shop_order', since) }}
        )
    )
    or (
        held.source_system = 'pos'
        and (
            -- gone, or restaged since
            not exists (
                select 1
                from {{ receipts }} as receipts
                where
                    receipts.receipt_id = held.source_order_id
                    and not {{ clientbase.newer_than('receipts._staged_at', since) }}
            )
            -- a sale: a return of it was staged since
            or exists (
                select 1
                from {{ receipts }} as receipts
                where
                    receipts.original_receipt_id = held.source_order_id
                    and {{ clientbase.newer_than('receipts._staged_at', since) }}
            )
            -- a sale netting returns that are gone
            or (
                held.order_type = 'sale'
                and held.returned_amount <> 0
                and not exists (
                    select 1
                    from {{ receipts }} as receipts
                    where receipts.original_receipt_id = held.source_order_id
                )
            )
            -- a return: the sale it references was staged since, or it matched one that is gone
            or exists (
                select 1
                from {{ receipts }} as receipts
                where
                    {{ dbt.concat(["'pos-'", "receipts.receipt_id"]) }} = held.original_order_id
                    and {{ clientbase.newer_than('receipts._staged_at', since) }}
            )
            or (
                held.order_type = 'return'
                and held.order_status = 'completed'
                and not exists (
                    select 1
                    from {{ receipts }} as receipts
                    where
                        {{ dbt.concat(["'pos-'", "receipts.receipt_id"]) }} = held.original_order_id
                        and receipts.receipt_type = 'sale'
                )
            )
            -- the time zone of its store, or of the store a return of it was made at, is not
            -- the one the rows were computed with (the store table carries no stamps)
            or held.store_id in ({{ changed_stores }})
            or exists (
                select 1
                from {{ receipts }} as receipts
                where
                    receipts.original_receipt_id = held.source_order_id
                    and receipts.store_id in ({{ changed_stores }})
            )
            or {{ clientbase.order_resolution_changed('pos_receipt', since) }}
        )
    )
{%- endmacro %}


{#- A held order (alias `held`) whose resolved record (`record_type`) was written since `since`,
    or that no longer resolves to the held customer. -#}
{% macro order_resolution_changed(record_type, since) -%}
    not exists (
        select 1
        from {{ ref('int_source_records_resolved') }} as records
        where
            records.record_type = '{{ record_type }}'
            and records.record_id = held.source_order_id
            and records.customer_id is not distinct from held.customer_id
            and not {{ clientbase.newer_than('records._staged_at', since) }}
    )
{%- endmacro %}
