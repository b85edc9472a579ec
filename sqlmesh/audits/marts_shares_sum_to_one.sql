/*
  Shares of a total add up to 1 within each partition (e.g. each segment's share of the
  month's revenue, per month); partitions whose shares are all null (a zero total) are skipped.
  marts_shares_sum_to_one(share := share_of_total_revenue, partition_by := month_start_date)
*/
AUDIT (
  name marts_shares_sum_to_one,
  blocking true
);

select
  @partition_by,
  sum(@share) as total_share
from @this_model
group by @partition_by
having count(@share) > 0 and abs(sum(@share) - 1.0) > 0.000001
