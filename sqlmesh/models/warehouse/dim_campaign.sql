MODEL (
  name warehouse.dim_campaign,
  kind FULL,
  owner analytics_engineering,
  cron '@daily',
  grain campaign_id,
  description 'DimCampaign: marketing campaigns, one row per valid campaign.',
  column_descriptions (
    campaign_id = 'Campaign id',
    campaign_name = 'Name',
    campaign_type = 'Channel: Email, SMS, Social, Direct Mail or Telemarketing',
    campaign_objective = 'Acquisition, Upsell, Retention or Win-back',
    target_audience = 'Intended audience (a segment name or All)',
    budget_amount = 'Campaign spend',
    start_date = 'First day of the campaign',
    end_date = 'Last day of the campaign',
    duration_days = 'Days the campaign runs, start and end day included'
  ),
  audits (
    not_null(columns := (
      campaign_id, campaign_name, campaign_type, campaign_objective, budget_amount, start_date,
      end_date
    )),
    unique_values(columns := (campaign_id)),
    accepted_values(
      column := campaign_type, is_in := ('Email', 'SMS', 'Social', 'Direct Mail', 'Telemarketing')
    ),
    accepted_values(
      column := campaign_objective, is_in := ('Acquisition', 'Upsell', 'Retention', 'Win-back')
    ),
    assert_non_negative(columns := (budget_amount)),
    accepted_range(column := duration_days, min_v := 1)
  )
);

with campaigns as (
  select *
  from staging.stg_marketing__campaigns
  where @is_loadable(marketing__campaigns)
)

select
  campaign_id,
  campaign_name,
  campaign_type,
  campaign_objective,
  target_audience,
  budget_amount,
  start_date,
  end_date,
  date_diff('day', start_date, end_date) + 1 as duration_days
from campaigns
