/*
  Rejection reasons use the shared vocabulary (sqlmesh/README.md): a bare code or
  '<code>:<landing column>[,<landing column>..]'. Null means the row is valid.
  assert_rejection_reasons(column := rejection_reason)
*/
AUDIT (
  name assert_rejection_reasons,
  blocking true
);

select *
from @this_model
where
  @column is not null
  and not regexp_matches(
    @column,
    '^(duplicate_row|(missing_key|missing_value|non_finite|invalid_value|negative_amount|malformed_email|future_date|before_start|duplicate_key|orphan_key):[a-z_]+(,[a-z_]+)*)$'
  )
