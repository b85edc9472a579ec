MODEL (
  name staging.stg_marketing__campaigns,
  kind FULL,
  owner analytics_engineering,
  cron '@daily',
  grain (_source_file, _source_row_number),
  -- the outer `select * from renamed` expands a CTE that lists every column
  ignored_rules noselectstar,
  description 'Marketing campaigns, one row per landed row: trimmed, typed, type and objective standardised; rejection_reason names the first row-level rule the row breaks (null = valid). Campaign dates may lie in the future (planned campaigns).',
  column_descriptions (
    campaign_id = 'Campaign id',
    campaign_name = 'Name',
    campaign_type = 'Channel: Email, SMS, Social, Direct Mail or Telemarketing',
    campaign_objective = 'Acquisition, Upsell, Retention or Win-back (landing column objective)',
    target_audience = 'Intended audience (a segment name or All)',
    budget_amount = 'Campaign spend',
    start_date = 'First day of the campaign',
    end_date = 'Last day of the campaign',
    rejection_reason = 'Why the row is quarantined (see sqlmesh/README.md); null = valid',
    _source_file = 'Landing file of the row',
    _source_row_number = '1-based row number in the landing file'
  ),
  audits (
    not_null(columns := (_source_file, _source_row_number)),
    unique_combination_of_columns(columns := (_source_file, _source_row_number)),
    assert_rejection_reasons(column := rejection_reason)
  )
);

with source as (
  select * from landing.marketing__campaigns
),

standardised as (
  select
    @clean_text(campaign_id) as campaign_id,
    @clean_text(campaign_name) as campaign_name,
    @canonical(campaign_type, marketing__campaigns) as campaign_type,
    @canonical(objective, marketing__campaigns) as objective,
    @clean_text(target_audience) as target_audience,
    cast(budget_amount as double) as budget_amount,
    cast(start_date as date) as start_date,
    cast(end_date as date) as end_date,
    _source_file,
    _source_row_number,
    @landed_copy_number(marketing__campaigns, source) as landed_copy_number
  from source
),

validated as (
  select
    *,
    coalesce(
      @duplicate_row(landed_copy_number),
      @missing_key(marketing__campaigns),
      @missing_value(marketing__campaigns),
      @non_finite(marketing__campaigns),
      @invalid_value(marketing__campaigns),
      @negative_amount(budget_amount),
      @out_of_range(end_date, start_date, null)
    ) as row_rejection_reason
  from standardised
),

deduplicated as (
  select
    *,
    coalesce(
      row_rejection_reason, @duplicate_key(marketing__campaigns, row_rejection_reason)
    ) as rejection_reason
  from validated
),

renamed as (
  select
    -- ids
    campaign_id,
    -- descriptive
    campaign_name,
    target_audience,
    -- categories
    campaign_type,
    objective as campaign_objective,
    -- numerics
    budget_amount,
    -- dates
    start_date,
    end_date,
    -- data quality and lineage
    rejection_reason,
    _source_file,
    _source_row_number
  from deduplicated
)

select * from renamed
