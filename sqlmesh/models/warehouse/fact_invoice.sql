MODEL (
  name warehouse.fact_invoice,
  kind INCREMENTAL_BY_TIME_RANGE (
    time_column invoice_date,
    lookback 92
  ),
  owner analytics_engineering,
  cron '@daily',
  grain invoice_id,
  description 'Monthly invoices, one row per valid invoice, processed by invoice_date. The last 92 days are re-processed on each run so late payment-status changes are picked up.',
  column_descriptions (
    invoice_id = 'Invoice id',
    customer_id = 'Billed customer (dim_customer.customer_id)',
    invoice_date = 'Issue date (first day of the billing month)',
    billing_period_start_date = 'First day billed',
    billing_period_end_date = 'Last day billed',
    payment_status = 'Paid, Unpaid or Overdue',
    is_paid = 'payment_status is Paid',
    gross_amount = 'Recurring and usage charges before credits and discounts',
    credit_amount = 'Credits granted (e.g. for outages)',
    discount_amount = 'Discounts applied',
    discount_end_date = 'Last day of the promotional discount running on this invoice, as printed on the bill (null = no promotion running)',
    revenue_amount = 'Billed revenue net of credits and discounts: gross - credit - discount'
  ),
  audits (
    not_null(columns := (
      invoice_id, customer_id, invoice_date, billing_period_start_date, billing_period_end_date,
      payment_status, gross_amount, credit_amount, discount_amount, revenue_amount
    )),
    unique_values(columns := (invoice_id)),
    accepted_values(column := payment_status, is_in := ('Paid', 'Unpaid', 'Overdue')),
    assert_non_negative(columns := (gross_amount, credit_amount, discount_amount)),
    assert_foreign_key(
      column := customer_id, ref_model := warehouse.dim_customer, ref_column := customer_id
    )
  )
);

-- Spark: empty the interval's day partitions first (macros/partitions.py)
@drop_interval_partitions(invoice_date);

with invoices as (
  select *
  from staging.stg_billing__invoices
  where
    invoice_date between @start_date and @end_date
    and @is_loadable(billing__invoices)
)

select
  invoice_id,
  customer_id,
  invoice_date,
  billing_period_start_date,
  billing_period_end_date,
  payment_status,
  payment_status = 'Paid' as is_paid,
  gross_amount,
  credit_amount,
  discount_amount,
  discount_end_date,
  gross_amount - credit_amount - discount_amount as revenue_amount
from invoices
