MODEL (
  name warehouse.fact_retention_offer,
  kind INCREMENTAL_BY_TIME_RANGE (
    time_column offer_date
  ),
  owner analytics_engineering,
  cron '@daily',
  grain offer_id,
  description 'Retention-offer experiment: one row per valid entry, the customer assigned at random to the offer (treatment) or held out (control) on the offer date. The uplift model (ml/uplift.py) joins it to churn_prediction_features at snapshot_date = offer_date.',
  column_descriptions (
    offer_id = 'Experiment entry id',
    customer_id = 'Customer entered into the experiment (dim_customer.customer_id)',
    offer_date = 'Day the customer was entered (and offered, if treated)',
    offer_type = 'The offer made to the treatment arm: Loyalty Discount, Service Credit or Free Upgrade',
    is_treatment = 'True = offer made (treatment); false = held out (control)',
    experiment_arm = 'Treatment or Control'
  ),
  audits (
    not_null(columns := (
      offer_id, customer_id, offer_date, offer_type, is_treatment, experiment_arm
    )),
    unique_values(columns := (offer_id)),
    accepted_values(
      column := offer_type, is_in := ('Loyalty Discount', 'Service Credit', 'Free Upgrade')
    ),
    accepted_values(column := experiment_arm, is_in := ('Treatment', 'Control')),
    assert_foreign_key(
      column := customer_id, ref_model := warehouse.dim_customer, ref_column := customer_id
    )
  )
);

-- Spark: empty the interval's day partitions first (macros/partitions.py)
@drop_interval_partitions(offer_date);

with offers as (
  select *
  from staging.stg_marketing__retention_offers
  where
    offer_date between @start_date and @end_date
    and @is_loadable(marketing__retention_offers)
)

select
  offer_id,
  customer_id,
  offer_date,
  offer_type,
  is_treatment,
  case when is_treatment then 'Treatment' else 'Control' end as experiment_arm
from offers
