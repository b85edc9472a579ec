/*
  A one-row model (e.g. marts.data_as_of) has exactly one row, never two.
  marts_single_row()
*/
AUDIT (
  name marts_single_row,
  blocking true
);

select count(*) as row_count
from @this_model
having count(*) <> 1
