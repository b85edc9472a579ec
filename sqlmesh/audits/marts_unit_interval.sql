/*
  Rates, shares and score components lie in 0..1 (null allowed: "not defined").
  marts_unit_interval(columns := (churn_rate, at_risk_rate))
*/
AUDIT (
  name marts_unit_interval,
  blocking true
);

select *
from @this_model
where @reduce(@each(@columns, c -> c < 0 or c > 1), (l, r) -> l or r)
