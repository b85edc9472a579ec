MODEL (
  name quarantine.landing_reconciliation,
  kind FULL,
  owner analytics_engineering,
  cron '@daily',
  grain (source_table, target_model),
  description 'Every landed row is either loaded into its dimension or fact or rejected with a reason: per landing table and target model, the landed, loaded and rejected row counts. The blocking audit fails the build when landed_rows <> loaded_rows + rejected_rows.',
  column_descriptions (
    source_table = 'Landing table <system>__<table>',
    target_model = 'Dimension or fact the valid rows are loaded into (warehouse schema)',
    landed_rows = 'Rows in landing.<source_table>',
    loaded_rows = 'Rows in warehouse.<target_model>',
    rejected_rows = 'Rows in quarantine.rejects_<source_table>'
  ),
  audits (
    not_null(columns := (source_table, target_model, landed_rows, loaded_rows, rejected_rows)),
    unique_combination_of_columns(columns := (source_table, target_model)),
    number_of_rows(threshold := 14), -- fails at 14 rows or fewer: all 15 pairs present
    forall(criteria := (landed_rows = loaded_rows + rejected_rows))
  )
);

select
  'crm__account_managers' as source_table,
  'dim_account_manager' as target_model,
  (select count(*) from landing.crm__account_managers) as landed_rows,
  (select count(*) from warehouse.dim_account_manager) as loaded_rows,
  (select count(*) from quarantine.rejects_crm__account_managers) as rejected_rows

union all

select
  'crm__customers' as source_table,
  'dim_customer' as target_model,
  (select count(*) from landing.crm__customers) as landed_rows,
  (select count(*) from warehouse.dim_customer) as loaded_rows,
  (select count(*) from quarantine.rejects_crm__customers) as rejected_rows

union all

select
  'crm__opportunities' as source_table,
  'dim_opportunity' as target_model,
  (select count(*) from landing.crm__opportunities) as landed_rows,
  (select count(*) from warehouse.dim_opportunity) as loaded_rows,
  (select count(*) from quarantine.rejects_crm__opportunities) as rejected_rows

union all

select
  'marketing__campaigns' as source_table,
  'dim_campaign' as target_model,
  (select count(*) from landing.marketing__campaigns) as landed_rows,
  (select count(*) from warehouse.dim_campaign) as loaded_rows,
  (select count(*) from quarantine.rejects_marketing__campaigns) as rejected_rows

union all

select
  'marketing__campaign_targets' as source_table,
  'fact_campaign_target' as target_model,
  (select count(*) from landing.marketing__campaign_targets) as landed_rows,
  (select count(*) from warehouse.fact_campaign_target) as loaded_rows,
  (select count(*) from quarantine.rejects_marketing__campaign_targets) as rejected_rows

union all

select
  'marketing__retention_offers' as source_table,
  'fact_retention_offer' as target_model,
  (select count(*) from landing.marketing__retention_offers) as landed_rows,
  (select count(*) from warehouse.fact_retention_offer) as loaded_rows,
  (select count(*) from quarantine.rejects_marketing__retention_offers) as rejected_rows

union all

select
  'support__tickets' as source_table,
  'dim_support_ticket' as target_model,
  (select count(*) from landing.support__tickets) as landed_rows,
  (select count(*) from warehouse.dim_support_ticket) as loaded_rows,
  (select count(*) from quarantine.rejects_support__tickets) as rejected_rows

union all

select
  'support__tickets' as source_table,
  'fact_support_ticket' as target_model,
  (select count(*) from landing.support__tickets) as landed_rows,
  (select count(*) from warehouse.fact_support_ticket) as loaded_rows,
  (select count(*) from quarantine.rejects_support__tickets) as rejected_rows

union all

select
  'support__kb_articles' as source_table,
  'dim_kb_article' as target_model,
  (select count(*) from landing.support__kb_articles) as landed_rows,
  (select count(*) from warehouse.dim_kb_article) as loaded_rows,
  (select count(*) from quarantine.rejects_support__kb_articles) as rejected_rows

union all

select
  'support__kb_article_views' as source_table,
  'fact_kb_article_view' as target_model,
  (select count(*) from landing.support__kb_article_views) as landed_rows,
  (select count(*) from warehouse.fact_kb_article_view) as loaded_rows,
  (select count(*) from quarantine.rejects_support__kb_article_views) as rejected_rows

union all

select
  'provisioning__services' as source_table,
  'dim_service' as target_model,
  (select count(*) from landing.provisioning__services) as landed_rows,
  (select count(*) from warehouse.dim_service) as loaded_rows,
  (select count(*) from quarantine.rejects_provisioning__services) as rejected_rows

union all

select
  'provisioning__service_assignments' as source_table,
  'fact_service_assignment' as target_model,
  (select count(*) from landing.provisioning__service_assignments) as landed_rows,
  (select count(*) from warehouse.fact_service_assignment) as loaded_rows,
  (select count(*) from quarantine.rejects_provisioning__service_assignments) as rejected_rows

union all

select
  'billing__invoices' as source_table,
  'fact_invoice' as target_model,
  (select count(*) from landing.billing__invoices) as landed_rows,
  (select count(*) from warehouse.fact_invoice) as loaded_rows,
  (select count(*) from quarantine.rejects_billing__invoices) as rejected_rows

union all

select
  'billing__orders' as source_table,
  'fact_order' as target_model,
  (select count(*) from landing.billing__orders) as landed_rows,
  (select count(*) from warehouse.fact_order) as loaded_rows,
  (select count(*) from quarantine.rejects_billing__orders) as rejected_rows

union all

select
  'network__usage' as source_table,
  'fact_network_usage' as target_model,
  (select count(*) from landing.network__usage) as landed_rows,
  (select count(*) from warehouse.fact_network_usage) as loaded_rows,
  (select count(*) from quarantine.rejects_network__usage) as rejected_rows
