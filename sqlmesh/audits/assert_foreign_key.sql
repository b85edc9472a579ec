/*
  Referential integrity: every non-null value of @column exists in @ref_column of @ref_model.
  assert_foreign_key(column := customer_id, ref_model := warehouse.dim_customer,
                     ref_column := customer_id)
*/
AUDIT (
  name assert_foreign_key,
  blocking true
);

select *
from @this_model
where
  @column is not null
  and @column not in (select @ref_column from @ref_model)
