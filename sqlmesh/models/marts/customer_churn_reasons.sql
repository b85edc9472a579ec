/*
  Churn reasons of each customer's latest score, one row per reason (seed 004's retention
  playbook): the churn model writes up to three risk-raising drivers per score as columns
  (ml.churn_scores reason_1..3 with their driver family and playbook action); the Customer 360
  carries them for the latest score, and this mart lists them as rows, strongest first, so a
  report can show a customer's reasons as a list (or say there are none) and count customers
  by their main driver. Only risk-raising reasons exist: a score with none has no row.
*/
MODEL (
  name marts.customer_churn_reasons,
  kind FULL,
  cron '@daily',
  owner customer_analytics,
  grain (customer_id, reason_rank),
  description 'One row per risk-raising reason of each customer''s latest churn score (customer_360_view churn_reason_1..3): rank, driver family, the sentence with the customer''s own numbers and the playbook action. Column dictionary: sqlmesh/models/marts/README.md.',
  column_descriptions (
    customer_id = 'Customer (customer_360_view.customer_id)',
    score_date = 'Snapshot date of the latest score',
    model_version = 'Model version of the latest score',
    reason_rank = '1 = the driver that raises the risk most, then 2 and 3',
    churn_driver = 'Driver family (Usage decline, Service problems, Price and discount, ...); null for scores written before driver families existed',
    churn_reason = 'The reason in a sentence with the customer''s own numbers',
    playbook_action = 'What the retention playbook does about this driver'
  ),
  audits (
    not_null(columns := (customer_id, reason_rank, churn_reason)),  -- scores written before driver families have none
    unique_combination_of_columns(columns := (customer_id, reason_rank)),
    accepted_range(column := reason_rank, min_v := 1, max_v := 3)
  )
);

with reason_ranks as (
  select reason_rank from (values (1), (2), (3)) as ranks (reason_rank)
),

reasons as (
  select
    scores.customer_id,
    scores.score_date,
    scores.model_version,
    reason_ranks.reason_rank,
    case reason_ranks.reason_rank
      when 1 then scores.churn_driver_1 when 2 then scores.churn_driver_2
      else scores.churn_driver_3
    end as churn_driver,
    case reason_ranks.reason_rank
      when 1 then scores.churn_reason_1 when 2 then scores.churn_reason_2
      else scores.churn_reason_3
    end as churn_reason,
    case reason_ranks.reason_rank
      when 1 then scores.churn_action_1 when 2 then scores.churn_action_2
      else scores.churn_action_3
    end as playbook_action
  from marts.customer_360_view as scores
  cross join reason_ranks
)

select
  customer_id,
  score_date,
  model_version,
  cast(reason_rank as int) as reason_rank,
  churn_driver,
  churn_reason,
  playbook_action
from reasons
where churn_reason is not null
