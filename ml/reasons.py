"""Churn reasons in the retention team's words, from the scoring model's SHAP values.

The playbook (`ml/playbook.yaml`, a reviewed file) groups features into driver families (usage
decline, service problems, price and discount, contract end, support experience, ...), gives a
sentence template per feature and a playbook action per family. For each customer:
1. SHAP contributions (log-odds) are summed per family;
2. only families whose sum RAISES the risk (> 0) are reasons, largest first, at most `n`;
3. a reason's sentence is taken from the family's feature with the largest positive
   contribution whose template applies, filled with the customer's own values ("Usage down 82%
   from its 12-month peak"); its action is the family's playbook action. A family whose sum is
   below MIN_CONTRIBUTION or none of whose templates applies is not given (no sentence that the
   customer's numbers do not back); the next family moves up.
Features outside every family never give a reason (their contributions are left out).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

PLAYBOOK_FILE = "playbook.yaml"
CONDITIONS = ("above", "below", "at_least", "at_most", "equals")
#: smallest summed contribution (log-odds) given as a reason: ~1% more odds of churning
MIN_CONTRIBUTION = 0.01


class PlaybookError(ValueError):
    """The playbook file is malformed; the message names the file and the entry."""


@dataclass(frozen=True)
class Template:
    text: str
    when: dict[str, Any]

    def applies(self, value: object) -> bool:
        if value is None or pd.isna(value):  # None, NaN, NaT and pandas' NA
            return False
        for condition, bound in self.when.items():
            if condition == "equals":
                if str(value).lower() != str(bound).lower():
                    return False
                continue
            number = float(value)  # type: ignore[arg-type]
            if not {
                "above": number > bound,
                "below": number < bound,
                "at_least": number >= bound,
                "at_most": number <= bound,
            }[condition]:
                return False
        return True

    def render(self, value: object) -> str:
        if isinstance(value, bool | np.bool_) or not isinstance(value, int | float | np.number):
            return self.text.format(value=value)
        number = float(value)
        return self.text.format(
            value=number,
            pct=100 * number,
            pct_down=100 * (1 - number),
            neg_pct=-100 * number,
            neg=-number,
            hours=number / 60,
        )


@dataclass(frozen=True)
class Family:
    name: str
    label: str
    action: str
    templates: dict[str, tuple[Template, ...]]


@dataclass(frozen=True)
class Playbook:
    families: tuple[Family, ...]
    not_reasons: frozenset[str]
    source: str

    def family_of(self) -> dict[str, str]:
        return {f: family.name for family in self.families for f in family.templates}

    def unclassified(self, columns: list[str]) -> list[str]:
        """Columns neither in a family nor listed under `not_reasons`."""
        known = set(self.family_of()) | self.not_reasons
        return [c for c in columns if c not in known]


def load_playbook(path: Path | str | None = None) -> Playbook:
    """Read and check the playbook (default: the one shipped in ml/)."""
    if path is None:
        text = resources.files("ml").joinpath(PLAYBOOK_FILE).read_text()
        source = f"ml/{PLAYBOOK_FILE}"
    else:
        text, source = Path(path).read_text(), str(path)
    raw = yaml.safe_load(text) or {}
    if not isinstance(raw.get("families"), dict) or not raw["families"]:
        raise PlaybookError(f"{source}: needs a non-empty `families` mapping")
    families = []
    seen: dict[str, str] = {}
    for name, entry in raw["families"].items():
        where = f"{source}: families.{name}"
        for key in ("label", "action", "features"):
            if not entry or not entry.get(key):
                raise PlaybookError(f"{where}: missing `{key}`")
        templates: dict[str, tuple[Template, ...]] = {}
        for feature, variants in entry["features"].items():
            if feature in seen:
                raise PlaybookError(f"{where}.{feature}: already in family {seen[feature]}")
            seen[feature] = name
            templates[feature] = tuple(
                _template(variant, f"{where}.features.{feature}") for variant in variants
            )
        families.append(Family(name, entry["label"], entry["action"].strip(), templates))
    return Playbook(tuple(families), frozenset(raw.get("not_reasons") or ()), source)


def _template(variant: Any, where: str) -> Template:
    if not isinstance(variant, dict) or not isinstance(variant.get("text"), str):
        raise PlaybookError(f"{where}: each template needs a `text`")
    when = variant.get("when") or {}
    unknown = [c for c in when if c not in CONDITIONS]
    if unknown:
        raise PlaybookError(f"{where}: unknown condition(s) {unknown}; use {list(CONDITIONS)}")
    return Template(variant["text"], dict(when))


def family_reasons(
    contributions: np.ndarray,
    frame: pd.DataFrame,
    features: list[str],
    playbook: Playbook,
    n: int = 3,
) -> pd.DataFrame:
    """reason_<i> (sentence), reason_<i>_driver (family label), reason_<i>_action and
    reason_<i>_contribution (the family's summed SHAP, log-odds, > 0), i = 1..n; null where a
    customer has fewer risk-raising families. Indexed like `frame`."""
    families = [f for f in playbook.families if any(x in features for x in f.templates)]
    position = {feature: i for i, feature in enumerate(features)}
    members = np.zeros((len(features), len(families)))
    for j, family in enumerate(families):
        for feature in family.templates:
            if feature in position:
                members[position[feature], j] = 1.0
    sums = contributions @ members
    order = np.argsort(-sums, axis=1, kind="stable")
    values = frame[features].to_numpy(dtype=object)
    columns: dict[str, list[Any]] = {
        f"reason_{i + 1}{suffix}": []
        for i in range(n)
        for suffix in ("", "_driver", "_action", "_contribution")
    }
    for row in range(len(frame)):
        given: list[tuple[Family, str, float]] = []
        for j in order[row]:
            if len(given) == n or sums[row, j] < MIN_CONTRIBUTION:
                break
            sentence = _sentence(families[j], contributions[row], values[row], position)
            if sentence is not None:
                given.append((families[j], sentence, float(sums[row, j])))
        for i in range(n):
            driver, sentence, total = given[i] if i < len(given) else (None, None, np.nan)
            columns[f"reason_{i + 1}"].append(sentence)
            columns[f"reason_{i + 1}_driver"].append(driver.label if driver else None)
            columns[f"reason_{i + 1}_action"].append(driver.action if driver else None)
            columns[f"reason_{i + 1}_contribution"].append(total)
    return pd.DataFrame(columns, index=frame.index)


def _sentence(
    family: Family, contributions: np.ndarray, values: np.ndarray, position: dict[str, int]
) -> str | None:
    present = [f for f in family.templates if f in position]
    ranked = sorted(present, key=lambda f: -contributions[position[f]])
    for feature in ranked:
        if contributions[position[feature]] <= 0:
            break
        value = values[position[feature]]
        for template in family.templates[feature]:
            if template.applies(value):
                return template.render(value)
    return None
