/*
  Segment performance by month (seed 000): customers, activity, churn, risk, revenue, service
  adoption and support load per customer segment x tier, with the change on the previous month.

  Each customer-month (marts.customer_monthly_activity) is counted in the segment and tier of
  the CRM version in effect at the month end (SCD2), so a customer who moved from Silver to
  Gold during March counts as Gold in March, Silver in February. Rates use the glossary:
  churn rate = churned customers who were Active at the month start / customers Active at the
  month start; at-risk rate = customers Active at the month end meeting the inactivity rule
  (historical churn scores are not kept, so the rule stands in for the high-risk band) /
  customers Active at the month end. Behavioural segments have their own monthly model,
  customer_behavioural_segment_monthly.
*/
MODEL (
  name marts.customer_segmentation_analysis,
  kind FULL,
  cron '@daily',
  owner customer_analytics,
  grain (month_start_date, customer_segment, customer_tier),
  description 'One row per month, customer segment and customer tier (as of the month end, SCD2): customers, active customers, churn, at-risk, revenue, ARPU, orders, service adoption, support load, share of the month''s revenue and the change on the previous month. Column dictionary: sqlmesh/models/marts/README.md.',
  column_descriptions (
    month_start_date = 'First day of the month',
    customer_segment = 'Residential, SMB, Enterprise or Government at the month end',
    customer_tier = 'Bronze, Silver, Gold or Platinum at the month end',
    is_complete_month = 'The data covers the whole month (false for the current month)',
    customers_at_month_start = 'Customers with status Active at the month start',
    customers = 'Customers with status Active at the month end',
    new_customers = 'Customers who signed up in the month',
    churned_customers = 'Customers whose status became Churned in the month',
    churned_customers_from_base = 'Of those, the ones Active at the month start (churn-rate numerator)',
    churn_rate = 'churned_customers_from_base / customers_at_month_start',
    active_customers_30d = 'Customers Active at the month end with a usage day, order or portal login in the 30 days before it',
    active_rate = 'active_customers_30d / customers',
    at_risk_customers = 'Customers Active at the month end who meet the inactivity rule',
    at_risk_rate = 'at_risk_customers / customers',
    revenue_amount = 'Invoice revenue (gross - credits - discounts) dated in the month',
    arpu_amount = 'revenue_amount / active_customers_30d: the month''s revenue per customer active at its end (glossary ARPU, as the semantic layer''s engagement.arpu by month); null without active customers',
    share_of_total_revenue = 'revenue_amount / revenue of all segments and tiers in the month',
    orders_count = 'Completed orders placed in the month',
    order_revenue_amount = 'Net revenue of those orders (gross - discount)',
    aov_amount = 'order_revenue_amount / orders_count',
    internet_adoption_rate = 'Share of customers with an Internet service at the month end',
    tv_adoption_rate = 'Share of customers with a TV service at the month end',
    mobile_adoption_rate = 'Share of customers with a Mobile service at the month end',
    voice_adoption_rate = 'Share of customers with a Voice service at the month end',
    avg_services_per_customer = 'Services in service per customer at the month end',
    avg_active_days = 'Mean activity days in the month of the customers Active at the month end',
    tickets_count = 'Support tickets opened in the month by the segment''s customers',
    tickets_per_100_customers = '100 x tickets_count / average of customers_at_month_start and customers',
    customers_change = 'customers minus the previous month''s customers (null: no previous row)',
    revenue_change_pct = 'revenue_amount / previous month''s revenue_amount - 1',
    arpu_change_pct = 'arpu_amount / previous month''s arpu_amount - 1',
    churn_rate_change = 'churn_rate minus the previous month''s churn_rate (rate points)'
  ),
  audits (
    not_null(columns := (
      month_start_date, customer_segment, customer_tier, customers, customers_at_month_start,
      churned_customers, revenue_amount, tickets_count
    )),
    unique_combination_of_columns(columns := (month_start_date, customer_segment, customer_tier)),
    marts_unit_interval(columns := (
      churn_rate, active_rate, at_risk_rate, share_of_total_revenue, internet_adoption_rate,
      tv_adoption_rate, mobile_adoption_rate, voice_adoption_rate
    )),
    marts_shares_sum_to_one(share := share_of_total_revenue, partition_by := month_start_date),
    forall(criteria := (
      churned_customers_from_base <= churned_customers,
      active_customers_30d <= customers,
      at_risk_customers <= customers
    ))
  )
);

with customer_months as (
  select * from marts.customer_monthly_activity
),

invoices as (
  select
    customer_id,
    cast(date_trunc('month', invoice_date) as date) as month_start_date,
    revenue_amount
  from warehouse.fact_invoice
),

orders as (
  select
    customer_id,
    cast(date_trunc('month', ordered_at) as date) as month_start_date,
    net_amount
  from warehouse.fact_order
  where order_status = 'Completed'
),

tickets as (
  select
    customer_id,
    cast(date_trunc('month', created_at) as date) as month_start_date
  from warehouse.fact_support_ticket
),

revenue_by_customer_month as (
  select customer_id, month_start_date, sum(revenue_amount) as revenue_amount
  from invoices
  group by customer_id, month_start_date
),

orders_by_customer_month as (
  select
    customer_id,
    month_start_date,
    count(*) as orders_count,
    sum(net_amount) as order_revenue_amount
  from orders
  group by customer_id, month_start_date
),

tickets_by_customer_month as (
  select customer_id, month_start_date, count(*) as tickets_count
  from tickets
  group by customer_id, month_start_date
),

customer_month_measures as (
  select
    customer_months.*,
    coalesce(revenue_by_customer_month.revenue_amount, 0) as revenue_amount,
    coalesce(orders_by_customer_month.orders_count, 0) as orders_count,
    coalesce(orders_by_customer_month.order_revenue_amount, 0) as order_revenue_amount,
    coalesce(tickets_by_customer_month.tickets_count, 0) as tickets_count
  from customer_months
  left join revenue_by_customer_month
    on customer_months.customer_id = revenue_by_customer_month.customer_id
    and customer_months.month_start_date = revenue_by_customer_month.month_start_date
  left join orders_by_customer_month
    on customer_months.customer_id = orders_by_customer_month.customer_id
    and customer_months.month_start_date = orders_by_customer_month.month_start_date
  left join tickets_by_customer_month
    on customer_months.customer_id = tickets_by_customer_month.customer_id
    and customer_months.month_start_date = tickets_by_customer_month.month_start_date
),

segment_months as (
  select
    month_start_date,
    customer_segment,
    customer_tier,
    bool_and(is_complete_month) as is_complete_month,
    count(case when is_customer_at_month_start then 1 end) as customers_at_month_start,
    count(case when is_customer_at_month_end then 1 end) as customers,
    count(case when is_new_customer then 1 end) as new_customers,
    count(case when has_churned_in_month then 1 end) as churned_customers,
    count(case when has_churned_in_month and is_customer_at_month_start then 1 end)
      as churned_customers_from_base,
    count(case when is_active_30d_at_month_end then 1 end) as active_customers_30d,
    count(case when is_at_risk_at_month_end then 1 end) as at_risk_customers,
    sum(revenue_amount) as revenue_amount,
    sum(orders_count) as orders_count,
    sum(order_revenue_amount) as order_revenue_amount,
    count(case when is_customer_at_month_end and has_internet_at_month_end then 1 end)
      as internet_customers,
    count(case when is_customer_at_month_end and has_tv_at_month_end then 1 end)
      as tv_customers,
    count(case when is_customer_at_month_end and has_mobile_at_month_end then 1 end)
      as mobile_customers,
    count(case when is_customer_at_month_end and has_voice_at_month_end then 1 end)
      as voice_customers,
    sum(case when is_customer_at_month_end then active_services_count_at_month_end else 0 end)
      as services_of_customers,
    sum(case when is_customer_at_month_end then active_days else 0 end)
      as active_days_of_customers,
    sum(tickets_count) as tickets_count
  from customer_month_measures
  group by month_start_date, customer_segment, customer_tier
),

segment_rates as (
  select
    *,
    (customers_at_month_start + customers) / 2.0 as avg_customers,
    cast(churned_customers_from_base as double) / nullif(customers_at_month_start, 0)
      as churn_rate,
    cast(active_customers_30d as double) / nullif(customers, 0) as active_rate,
    cast(at_risk_customers as double) / nullif(customers, 0) as at_risk_rate,
    revenue_amount / nullif(active_customers_30d, 0) as arpu_amount,
    revenue_amount / nullif(sum(revenue_amount) over (partition by month_start_date), 0)
      as share_of_total_revenue,
    order_revenue_amount / nullif(orders_count, 0) as aov_amount,
    cast(internet_customers as double) / nullif(customers, 0) as internet_adoption_rate,
    cast(tv_customers as double) / nullif(customers, 0) as tv_adoption_rate,
    cast(mobile_customers as double) / nullif(customers, 0) as mobile_adoption_rate,
    cast(voice_customers as double) / nullif(customers, 0) as voice_adoption_rate,
    cast(services_of_customers as double) / nullif(customers, 0) as avg_services_per_customer,
    cast(active_days_of_customers as double) / nullif(customers, 0) as avg_active_days,
    100.0 * tickets_count / nullif((customers_at_month_start + customers) / 2.0, 0)
      as tickets_per_100_customers
  from segment_months
)

select
  current_month.month_start_date,
  current_month.customer_segment,
  current_month.customer_tier,
  current_month.is_complete_month,
  cast(current_month.customers_at_month_start as bigint) as customers_at_month_start,
  cast(current_month.customers as bigint) as customers,
  cast(current_month.new_customers as bigint) as new_customers,
  cast(current_month.churned_customers as bigint) as churned_customers,
  cast(current_month.churned_customers_from_base as bigint) as churned_customers_from_base,
  cast(current_month.churn_rate as double) as churn_rate,
  cast(current_month.active_customers_30d as bigint) as active_customers_30d,
  cast(current_month.active_rate as double) as active_rate,
  cast(current_month.at_risk_customers as bigint) as at_risk_customers,
  cast(current_month.at_risk_rate as double) as at_risk_rate,
  cast(current_month.revenue_amount as double) as revenue_amount,
  cast(current_month.arpu_amount as double) as arpu_amount,
  cast(current_month.share_of_total_revenue as double) as share_of_total_revenue,
  cast(current_month.orders_count as bigint) as orders_count,
  cast(current_month.order_revenue_amount as double) as order_revenue_amount,
  cast(current_month.aov_amount as double) as aov_amount,
  cast(current_month.internet_adoption_rate as double) as internet_adoption_rate,
  cast(current_month.tv_adoption_rate as double) as tv_adoption_rate,
  cast(current_month.mobile_adoption_rate as double) as mobile_adoption_rate,
  cast(current_month.voice_adoption_rate as double) as voice_adoption_rate,
  cast(current_month.avg_services_per_customer as double) as avg_services_per_customer,
  cast(current_month.avg_active_days as double) as avg_active_days,
  cast(current_month.tickets_count as bigint) as tickets_count,
  cast(current_month.tickets_per_100_customers as double) as tickets_per_100_customers,
  cast(current_month.customers - previous_month.customers as bigint) as customers_change,
  cast(
    current_month.revenue_amount / nullif(previous_month.revenue_amount, 0) - 1.0 as double
  ) as revenue_change_pct,
  cast(current_month.arpu_amount / nullif(previous_month.arpu_amount, 0) - 1.0 as double)
    as arpu_change_pct,
  cast(current_month.churn_rate - previous_month.churn_rate as double) as churn_rate_change
from segment_rates as current_month
left join segment_rates as previous_month
  on current_month.customer_segment = previous_month.customer_segment
  and current_month.customer_tier = previous_month.customer_tier
  and previous_month.month_start_date
    = cast(current_month.month_start_date - interval '1' month as date)
