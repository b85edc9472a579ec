MODEL (
  name warehouse.fact_order,
  kind INCREMENTAL_BY_TIME_RANGE (
    time_column ordered_at,
    lookback 31,
    -- partitioned by the day below, not by the timestamp (one Spark folder per day)
    partition_by_time_column false
  ),
  partitioned_by ordered_date,
  owner analytics_engineering,
  cron '@daily',
  grain order_id,
  description 'One-off orders of devices, add-ons and new services, one row per valid order, processed by ordered_at. The last 31 days are re-processed on each run so returns and cancellations are picked up.',
  column_descriptions (
    order_id = 'Order id',
    customer_id = 'Ordering customer (dim_customer.customer_id)',
    ordered_at = 'When the order was placed',
    ordered_date = 'Day the order was placed (date of ordered_at): the Spark partition',
    order_type = 'Device, Add-on or New Service',
    product_name = 'Product ordered',
    order_status = 'Completed, Cancelled or Returned',
    quantity = 'Units ordered',
    gross_amount = 'Order value before discount',
    discount_amount = 'Discount given',
    net_amount = 'Order revenue: gross - discount',
    is_discounted = 'A discount was given (discount_amount > 0)'
  ),
  audits (
    not_null(columns := (
      order_id, customer_id, ordered_at, ordered_date, order_type, product_name, order_status,
      quantity, gross_amount, discount_amount, net_amount, is_discounted
    )),
    unique_values(columns := (order_id)),
    accepted_values(column := order_type, is_in := ('Device', 'Add-on', 'New Service')),
    accepted_values(column := order_status, is_in := ('Completed', 'Cancelled', 'Returned')),
    assert_non_negative(columns := (gross_amount, discount_amount, net_amount)),
    accepted_range(column := quantity, min_v := 1),
    assert_foreign_key(
      column := customer_id, ref_model := warehouse.dim_customer, ref_column := customer_id
    )
  )
);

-- Spark: empty the interval's day partitions first (macros/partitions.py)
@drop_interval_partitions(ordered_date);

with orders as (
  select *
  from staging.stg_billing__orders
  where
    ordered_at between @start_dtntz and @end_dtntz
    and @is_loadable(billing__orders)
)

select
  order_id,
  customer_id,
  ordered_at,
  cast(ordered_at as date) as ordered_date,
  order_type,
  product_name,
  order_status,
  quantity,
  gross_amount,
  discount_amount,
  gross_amount - discount_amount as net_amount,
  discount_amount > 0 as is_discounted
from orders
