"""Named random streams.

Every random draw of the generator comes from one of these streams. Global streams depend only
on the seed (customer traits, catalogue); monthly streams on the seed and the month index, so
the rows of month m never depend on how many months are generated after it.
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np

_GLOBAL = 0
_MONTHLY = 1


class Stream(IntEnum):
    CATALOGUE = 1
    TRAITS = 2
    SIGNUPS = 3
    LIFECYCLE = 4
    SERVICES = 5
    OUTAGES = 6
    USAGE = 7
    INVOICES = 8
    ORDERS = 9
    TICKETS = 10
    KB_VIEWS = 11
    CAMPAIGNS = 12
    SALES = 13
    CRM = 14
    DEFECTS = 15
    OFFERS = 16


def global_rng(seed: int, stream: Stream, sub: int = 0) -> np.random.Generator:
    """A generator that depends only on the seed, the stream and `sub`."""
    return np.random.default_rng([seed, _GLOBAL, int(stream), sub])


def month_rng(seed: int, stream: Stream, month: int, sub: int = 0) -> np.random.Generator:
    """A generator for one month of one stream (month = 0-based index into the history)."""
    return np.random.default_rng([seed, _MONTHLY, int(stream), month, sub])
