MODEL (
  name warehouse.fact_service_assignment,
  kind FULL,
  owner analytics_engineering,
  cron '@daily',
  grain service_assignment_id,
  description 'Services provisioned to customers, one row per valid assignment in its current state (FULL: an assignment changes when it ends).',
  column_descriptions (
    service_assignment_id = 'Assignment id',
    customer_id = 'Customer (dim_customer.customer_id)',
    service_id = 'Service (dim_service.service_id)',
    start_date = 'First day of service',
    end_date = 'Last day of service (null = open-ended)',
    monthly_charge_amount = 'Recurring charge agreed for this assignment',
    is_active = 'Still provisioned after the data''s as-of date: no end_date, or an end_date from the build''s execution date on'
  ),
  audits (
    not_null(columns := (
      service_assignment_id, customer_id, service_id, start_date, monthly_charge_amount, is_active
    )),
    unique_values(columns := (service_assignment_id)),
    assert_non_negative(columns := (monthly_charge_amount)),
    forall(criteria := (end_date is null or end_date >= start_date)),
    assert_foreign_key(
      column := customer_id, ref_model := warehouse.dim_customer, ref_column := customer_id
    ),
    assert_foreign_key(
      column := service_id, ref_model := warehouse.dim_service, ref_column := service_id
    )
  )
);

with assignments as (
  select *
  from staging.stg_provisioning__service_assignments
  where @is_loadable(provisioning__service_assignments)
)

select
  service_assignment_id,
  customer_id,
  service_id,
  start_date,
  end_date,
  monthly_charge_amount,
  end_date is null or end_date >= @execution_date as is_active
from assignments
