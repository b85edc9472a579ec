MODEL (
  name quarantine.rejects_marketing__retention_offers,
  kind FULL,
  owner analytics_engineering,
  cron '@daily',
  grain (_source_file, _source_row_number),
  -- `landed.*` is the rejected row exactly as landed: the landing contract's columns
  ignored_rules noselectstar,
  description 'Landed retention-offer experiment rows not loaded into fact_retention_offer: every rejected row with its reason and its values exactly as landed (columns of landing.marketing__retention_offers). Row-level reasons come from staging.stg_marketing__retention_offers; orphan_key reasons are decided here against the dimensions.',
  column_descriptions (
    rejection_reason = 'Why the row is rejected: <code> or <code>:<landing column> (see sqlmesh/README.md)',
    rejection_code = 'The reason without its column, e.g. orphan_key',
    _source_file = 'Landing file of the row',
    _source_row_number = '1-based row number in the landing file'
  ),
  audits (
    not_null(columns := (_source_file, _source_row_number, rejection_reason, rejection_code)),
    unique_combination_of_columns(columns := (_source_file, _source_row_number)),
    assert_rejection_reasons(column := rejection_reason)
  )
);

with staged as (
  select
    _source_file,
    _source_row_number,
    coalesce(rejection_reason, @orphan_reason(marketing__retention_offers)) as rejection_reason
  from staging.stg_marketing__retention_offers
),

rejected as (
  select *
  from staged
  where rejection_reason is not null
),

landed as (
  select *
  from landing.marketing__retention_offers
)

select
  rejected.rejection_reason,
  split_part(rejected.rejection_reason, ':', 1) as rejection_code,
  landed.*
from rejected
inner join landed
  on
    landed._source_file = rejected._source_file
    and landed._source_row_number = rejected._source_row_number
