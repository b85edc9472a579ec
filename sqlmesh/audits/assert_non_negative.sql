/*
  Amounts and measures are never negative.
  assert_non_negative(columns := (gross_amount, discount_amount))
*/
AUDIT (
  name assert_non_negative,
  blocking true
);

select *
from @this_model
where @reduce(@each(@columns, c -> c < 0), (l, r) -> l or r)
