/*
  A forward-looking label is known exactly when its horizon is covered by the data: null when
  snapshot_date + @horizon_days days is after marts.data_as_of.as_of_date, set otherwise.
  marts_label_horizon(label := churned_within_90d, horizon_days := 90)
*/
AUDIT (
  name marts_label_horizon,
  blocking true
);

select rows.*
from @this_model as rows
cross join marts.data_as_of as as_of
where
  (rows.@label is null)
  <> (rows.snapshot_date + interval @horizon_days day > as_of.as_of_date)
