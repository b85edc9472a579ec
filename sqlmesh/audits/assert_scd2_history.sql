/*
  A type-2 history is well formed: per @key the versions are ordered by @valid_from, each
  period is non-empty (valid_from < valid_to), each version ends exactly where the next one
  starts (no gaps, no overlaps), only the last version is open-ended (valid_to null) and
  @is_current is true exactly for that version.
  assert_scd2_history(key := customer_id, valid_from := valid_from, valid_to := valid_to,
                      is_current := is_current)
*/
AUDIT (
  name assert_scd2_history,
  blocking true
);

with versions as (
  select
    @key as entity_key,
    @valid_from as valid_from,
    @valid_to as valid_to,
    @is_current as is_current,
    lead(@valid_from) over (partition by @key order by @valid_from) as next_valid_from
  from @this_model
)

select *
from versions
where
  valid_to <= valid_from
  or valid_to is distinct from next_valid_from
  or is_current is distinct from (valid_to is null)
