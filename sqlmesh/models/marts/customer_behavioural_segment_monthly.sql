/*
  Behavioural segments by month (seed 002): how the High-Value Active, Discount-Driven,
  At-Risk / Dormant and Core customers did during each month.

  Cohorts: a customer belongs to the segment they had at the month's first day, i.e. the
  behavioural_segment of their churn_prediction_features snapshot (computed from data before the
  month only). The month's outcomes of each cohort follow: revenue, orders, tickets and how many
  churned during the month. Because the cohort is fixed at the month start, the churn rate is a
  plain share of the cohort, and the rule-based segments can be validated against what happened
  (churned_within_90d_rate). Months start at marts.data_as_of.first_snapshot_date.
*/
MODEL (
  name marts.customer_behavioural_segment_monthly,
  kind FULL,
  cron '@daily',
  owner customer_analytics,
  grain (month_start_date, behavioural_segment),
  description 'One row per month and behavioural segment of the customer base at the month start (status Active or Inactive): cohort size, activity, risk, churn during the month and within 90 days, revenue, ARPU, orders, health, service adoption, support load, share of the month''s revenue and the change on the previous month. Column dictionary: sqlmesh/models/marts/README.md.',
  column_descriptions (
    month_start_date = 'First day of the month (the snapshot date of the cohort)',
    behavioural_segment = 'High-Value Active, Discount-Driven, At-Risk / Dormant or Core at the month start',
    is_complete_month = 'The data covers the whole month',
    customers = 'Customers in the segment at the month start (status Active or Inactive)',
    active_customers_30d = 'Of those, with a usage day, order or portal login in the 30 days before the month',
    active_rate = 'active_customers_30d / customers',
    at_risk_customers = 'Of those, Active and meeting the inactivity rule at the month start',
    at_risk_rate = 'at_risk_customers / customers',
    churned_customers = 'Cohort customers whose status became Churned during the month',
    churn_rate = 'churned_customers / customers',
    labelled_customers = 'Cohort customers whose 90-day churn label is known',
    churned_within_90d_rate = 'Share of labelled_customers who churned within 90 days of the month start (null: no label known yet)',
    revenue_amount = 'Invoice revenue of the cohort dated in the month',
    arpu_amount = 'revenue_amount / active_customers_30d (glossary ARPU: revenue per active customer); null without active customers',
    share_of_total_revenue = 'revenue_amount / revenue of all cohorts in the month',
    orders_count = 'Completed orders of the cohort placed in the month',
    order_revenue_amount = 'Net revenue of those orders',
    avg_health_score = 'Mean health score of the cohort at the month start',
    avg_discount_share_12m = 'Mean discount share (12 months) of the cohort at the month start',
    internet_adoption_rate = 'Share of the cohort with an Internet service at the month start',
    tv_adoption_rate = 'Share with a TV service',
    mobile_adoption_rate = 'Share with a Mobile service',
    voice_adoption_rate = 'Share with a Voice service',
    tickets_count = 'Support tickets the cohort opened in the month',
    tickets_per_100_customers = '100 x tickets_count / customers',
    customers_change = 'customers minus the previous month''s customers (null: no previous row)',
    revenue_change_pct = 'revenue_amount / previous month''s revenue_amount - 1',
    churn_rate_change = 'churn_rate minus the previous month''s churn_rate (rate points)'
  ),
  audits (
    not_null(columns := (month_start_date, behavioural_segment, customers, revenue_amount)),
    unique_combination_of_columns(columns := (month_start_date, behavioural_segment)),
    accepted_values(
      column := behavioural_segment,
      is_in := ('High-Value Active', 'Discount-Driven', 'At-Risk / Dormant', 'Core')
    ),
    accepted_range(column := avg_health_score, min_v := 0, max_v := 100),
    marts_unit_interval(columns := (
      active_rate, at_risk_rate, churn_rate, churned_within_90d_rate, share_of_total_revenue,
      internet_adoption_rate, tv_adoption_rate, mobile_adoption_rate, voice_adoption_rate,
      avg_discount_share_12m
    )),
    marts_shares_sum_to_one(share := share_of_total_revenue, partition_by := month_start_date)
  )
);

with as_of as (
  select reference_date from marts.data_as_of
),

cohorts as (
  select
    customer_id,
    snapshot_date as month_start_date,
    cast(snapshot_date + interval '1' month as date) as next_month_start_date,
    behavioural_segment,
    customer_status,
    is_active_30d,
    meets_inactivity_rule,
    health_score,
    discount_share_12m,
    has_internet,
    has_tv,
    has_mobile,
    has_voice,
    churned_within_90d
  from marts.churn_prediction_features
),

churn_events as (
  select customer_id, churn_date from marts.customer_churn_events
),

revenue_by_customer_month as (
  select
    customer_id,
    cast(date_trunc('month', invoice_date) as date) as month_start_date,
    -- money summed as exact decimals: a double sum depends on the rows' physical order (an
    -- incremental fact appends in another order than a clean build), and ARPU = sum / count
    -- lands on a half-unit of the 6th decimal often enough to differ after rounding
    sum(cast(revenue_amount as decimal(38, 6))) as revenue_amount
  from warehouse.fact_invoice
  group by customer_id, cast(date_trunc('month', invoice_date) as date)
),

orders_by_customer_month as (
  select
    customer_id,
    cast(date_trunc('month', ordered_at) as date) as month_start_date,
    count(*) as orders_count,
    sum(cast(net_amount as decimal(38, 6))) as order_revenue_amount
  from warehouse.fact_order
  where order_status = 'Completed'
  group by customer_id, cast(date_trunc('month', ordered_at) as date)
),

tickets_by_customer_month as (
  select
    customer_id,
    cast(date_trunc('month', created_at) as date) as month_start_date,
    count(*) as tickets_count
  from warehouse.fact_support_ticket
  group by customer_id, cast(date_trunc('month', created_at) as date)
),

churns_in_month as (
  select distinct
    cohorts.customer_id,
    cohorts.month_start_date
  from cohorts
  inner join churn_events
    on cohorts.customer_id = churn_events.customer_id
    and churn_events.churn_date >= cohorts.month_start_date
    and churn_events.churn_date < cohorts.next_month_start_date
),

cohort_outcomes as (
  select
    cohorts.*,
    cohorts.next_month_start_date <= as_of.reference_date as is_complete_month,
    churns_in_month.customer_id is not null as has_churned_in_month,
    coalesce(revenue_by_customer_month.revenue_amount, 0) as revenue_amount,
    coalesce(orders_by_customer_month.orders_count, 0) as orders_count,
    coalesce(orders_by_customer_month.order_revenue_amount, 0) as order_revenue_amount,
    coalesce(tickets_by_customer_month.tickets_count, 0) as tickets_count
  from cohorts
  cross join as_of
  left join churns_in_month
    on cohorts.customer_id = churns_in_month.customer_id
    and cohorts.month_start_date = churns_in_month.month_start_date
  left join revenue_by_customer_month
    on cohorts.customer_id = revenue_by_customer_month.customer_id
    and cohorts.month_start_date = revenue_by_customer_month.month_start_date
  left join orders_by_customer_month
    on cohorts.customer_id = orders_by_customer_month.customer_id
    and cohorts.month_start_date = orders_by_customer_month.month_start_date
  left join tickets_by_customer_month
    on cohorts.customer_id = tickets_by_customer_month.customer_id
    and cohorts.month_start_date = tickets_by_customer_month.month_start_date
),

segment_months as (
  select
    month_start_date,
    behavioural_segment,
    bool_and(is_complete_month) as is_complete_month,
    count(*) as customers,
    count(case when is_active_30d then 1 end) as active_customers_30d,
    count(case when customer_status = 'Active' and meets_inactivity_rule then 1 end)
      as at_risk_customers,
    count(case when has_churned_in_month then 1 end) as churned_customers,
    count(churned_within_90d) as labelled_customers,
    count(case when churned_within_90d then 1 end) as churned_within_90d_customers,
    sum(revenue_amount) as revenue_amount,
    sum(orders_count) as orders_count,
    sum(order_revenue_amount) as order_revenue_amount,
    avg(health_score) as avg_health_score,
    avg(discount_share_12m) as avg_discount_share_12m,
    count(case when has_internet then 1 end) as internet_customers,
    count(case when has_tv then 1 end) as tv_customers,
    count(case when has_mobile then 1 end) as mobile_customers,
    count(case when has_voice then 1 end) as voice_customers,
    sum(tickets_count) as tickets_count
  from cohort_outcomes
  group by month_start_date, behavioural_segment
),

segment_rates as (
  select
    *,
    cast(churned_customers as double) / customers as churn_rate,
    /* ratios of the exact decimal sums in double on both engines: Spark divides decimals in
       decimal, rounded to 6 places, and four shares so rounded can miss 1 by 2e-6 (the
       shares-sum-to-one audit failed on 11 months of the 5,000 x 24 Spark build) */
    cast(revenue_amount as double)
    / nullif(cast(sum(revenue_amount) over (partition by month_start_date) as double), 0)
      as share_of_total_revenue
  from segment_months
)

select
  current_month.month_start_date,
  current_month.behavioural_segment,
  current_month.is_complete_month,
  cast(current_month.customers as bigint) as customers,
  cast(current_month.active_customers_30d as bigint) as active_customers_30d,
  cast(current_month.active_customers_30d as double) / current_month.customers as active_rate,
  cast(current_month.at_risk_customers as bigint) as at_risk_customers,
  cast(current_month.at_risk_customers as double) / current_month.customers as at_risk_rate,
  cast(current_month.churned_customers as bigint) as churned_customers,
  cast(current_month.churn_rate as double) as churn_rate,
  cast(current_month.labelled_customers as bigint) as labelled_customers,
  cast(current_month.churned_within_90d_customers as double)
    / nullif(current_month.labelled_customers, 0) as churned_within_90d_rate,
  cast(current_month.revenue_amount as double) as revenue_amount,
  cast(current_month.revenue_amount as double) / nullif(current_month.active_customers_30d, 0)
    as arpu_amount,
  cast(current_month.share_of_total_revenue as double) as share_of_total_revenue,
  cast(current_month.orders_count as bigint) as orders_count,
  cast(current_month.order_revenue_amount as double) as order_revenue_amount,
  cast(current_month.avg_health_score as double) as avg_health_score,
  cast(current_month.avg_discount_share_12m as double) as avg_discount_share_12m,
  cast(current_month.internet_customers as double) / current_month.customers
    as internet_adoption_rate,
  cast(current_month.tv_customers as double) / current_month.customers as tv_adoption_rate,
  cast(current_month.mobile_customers as double) / current_month.customers
    as mobile_adoption_rate,
  cast(current_month.voice_customers as double) / current_month.customers
    as voice_adoption_rate,
  cast(current_month.tickets_count as bigint) as tickets_count,
  100.0 * current_month.tickets_count / current_month.customers as tickets_per_100_customers,
  cast(current_month.customers - previous_month.customers as bigint) as customers_change,
  cast(current_month.revenue_amount as double)
  / nullif(cast(previous_month.revenue_amount as double), 0) - 1.0 as revenue_change_pct,
  cast(current_month.churn_rate - previous_month.churn_rate as double) as churn_rate_change
from segment_rates as current_month
left join segment_rates as previous_month
  on current_month.behavioural_segment = previous_month.behavioural_segment
  and previous_month.month_start_date
    = cast(current_month.month_start_date - interval '1' month as date)
