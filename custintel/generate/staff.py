"""Account managers (crm/account_managers): about one per 150 business customers, at least 3.

Managers are spread over the regions in turn; business customers get a manager of their region.
"""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from custintel.generate import columns, vocab

CUSTOMERS_PER_MANAGER = 150
MIN_MANAGERS = 3
#: expected share of business customers in the opening base and signups
BUSINESS_SHARE = 1.0 - vocab.SEGMENT_SHARES[vocab.RESIDENTIAL]


def manager_count(customers: int) -> int:
    return max(MIN_MANAGERS, math.ceil(BUSINESS_SHARE * customers / CUSTOMERS_PER_MANAGER))


def manager_regions(count: int) -> np.ndarray:
    return np.arange(count) % len(vocab.REGIONS)


def table_columns(rng: np.random.Generator, count: int) -> dict[str, pa.Array]:
    first = columns.labels(vocab.FIRST_NAMES, rng.integers(0, len(vocab.FIRST_NAMES), count))
    last = columns.labels(vocab.LAST_NAMES, rng.integers(0, len(vocab.LAST_NAMES), count))
    number = columns.padded(np.arange(1, count + 1), 4)
    local = columns.join(pc.utf8_lower(first), ".", pc.utf8_lower(last), number)
    return {
        "account_manager_id": columns.ids("AM", np.arange(1, count + 1), 4),
        "full_name": columns.join(first, last, separator=" "),
        "email": columns.join(local, "@novacom.example.com"),
        "region": columns.labels(vocab.REGIONS, manager_regions(count)),
    }
