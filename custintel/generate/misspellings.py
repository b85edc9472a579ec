"""Misspelt categorical values for `invalid_value` defects, and case/whitespace variants that
staging must standardise (not defects)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

#: hand-picked misspellings; any other allowed value gets its middle letter doubled
KNOWN = {
    "Residential": "Residental",
    "SMB": "SBM",
    "Enterprise": "Enterprize",
    "Government": "Goverment",
    "Bronze": "Bronse",
    "Silver": "Silvr",
    "Gold": "Golld",
    "Platinum": "Platnum",
    "Active": "Actve",
    "Inactive": "Inactve",
    "Churned": "Churnd",
    "North": "Nort",
    "South": "Soutth",
    "Central": "Centrel",
    "Closed Won": "Closed-Wonn",
    "Paid": "Piad",
    "Overdue": "Overdeu",
    "Completed": "Completd",
}


def misspell(value: str) -> str:
    """A misspelling of `value` that trimming and case-folding cannot repair."""
    if value in KNOWN:
        return KNOWN[value]
    middle = len(value) // 2
    return value[:middle] + value[middle] + value[middle:]


def misspelt(values: pa.Array, allowed: tuple[str, ...]) -> pa.Array:
    """Replace each (allowed) value by its misspelling."""
    codes = pc.index_in(values, value_set=pa.array(list(allowed)))
    if codes.null_count:
        raise ValueError(f"cannot misspell values outside {allowed}")
    return pc.take(pa.array([misspell(v) for v in allowed]), codes)


def variants(rng: np.random.Generator, values: pa.Array) -> pa.Array:
    """Case and whitespace variants ('residential ', 'SMB ', ' Gold', 'PLATINUM')."""
    forms = [
        pc.binary_join_element_wise(pc.utf8_lower(values), " ", ""),
        pc.utf8_upper(values),
        pc.binary_join_element_wise(" ", values, ""),
        pc.binary_join_element_wise(values, " ", ""),
    ]
    pick = pa.array(rng.integers(0, len(forms), len(values)), pa.int8())
    chosen = pc.choose(pick, *forms)
    return pc.if_else(pc.equal(chosen, values), forms[3], chosen)
