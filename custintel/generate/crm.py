"""crm/customers as a change log: one row per version of a customer, built from recorded states."""

from __future__ import annotations

from dataclasses import dataclass, field, fields

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from custintel.generate import columns, vocab
from custintel.generate.population import CITY_REGION, Population

_AREA_CODES = np.array([city[3] for city in vocab.CITIES])
_WORDS = [word for words in vocab.ORG_WORDS for word in words]
_WORD_OFFSET = np.cumsum([0] + [len(words) for words in vocab.ORG_WORDS])[:-1]
_WORD_COUNT = np.array([max(len(words), 1) for words in vocab.ORG_WORDS])


def _empty(dtype: type) -> np.ndarray:
    return np.zeros(0, dtype=dtype)


@dataclass
class ChangeLog:
    """Snapshots of customer state, one per CRM version (signup, change, churn)."""

    customer: np.ndarray = field(default_factory=lambda: _empty(np.int64))
    second: np.ndarray = field(default_factory=lambda: _empty(np.int64))
    segment: np.ndarray = field(default_factory=lambda: _empty(np.int8))
    tier: np.ndarray = field(default_factory=lambda: _empty(np.int8))
    status: np.ndarray = field(default_factory=lambda: _empty(np.int8))
    city: np.ndarray = field(default_factory=lambda: _empty(np.int16))
    account_manager: np.ndarray = field(default_factory=lambda: _empty(np.int32))
    contract_end_day: np.ndarray = field(default_factory=lambda: _empty(np.int64))
    consent: np.ndarray = field(default_factory=lambda: _empty(bool))
    contact_version: np.ndarray = field(default_factory=lambda: _empty(np.int16))

    @property
    def size(self) -> int:
        return len(self.customer)

    def record(self, pop: Population, customers: np.ndarray, seconds: np.ndarray) -> None:
        """Append the current state of `customers`, effective at `seconds`."""
        customers = np.asarray(customers, dtype=np.int64)
        for spec in fields(self):
            if spec.name == "customer":
                new = customers
            elif spec.name == "second":
                new = np.asarray(seconds, dtype=np.int64)
            else:
                new = getattr(pop, spec.name)[customers]
            setattr(self, spec.name, np.concatenate([getattr(self, spec.name), new]))

    def table_columns(self, pop: Population) -> dict[str, pa.Array | np.ndarray]:
        """Rows in chronological order (ties by customer id)."""
        order = np.lexsort((self.customer, self.second))
        c = self.customer[order]
        version = self.contact_version[order].astype(np.int64)
        city = self.city[order]
        manager = self.account_manager[order]
        contract_end = self.contract_end_day[order]
        return {
            "customer_id": columns.ids("C", c + 1, 7),
            "customer_name": customer_names(pop, c),
            "email": _emails(pop, c, version),
            "phone": _phones(pop, c, version, city),
            "customer_segment": columns.labels(vocab.SEGMENTS, self.segment[order]),
            "customer_tier": columns.labels(vocab.TIERS, self.tier[order]),
            "status": columns.labels(vocab.STATUSES, self.status[order]),
            "city": columns.labels([x[0] for x in vocab.CITIES], city, null=~pop.has_city[c]),
            "state": columns.labels([x[1] for x in vocab.CITIES], city, null=~pop.has_city[c]),
            "country": pa.array(np.full(len(c), vocab.COUNTRY)),
            "region": columns.labels(vocab.REGIONS, CITY_REGION[city]),
            "account_manager_id": columns.ids(
                "AM", np.maximum(manager, 0) + 1, 4, null=manager < 0
            ),
            "signup_date": columns.dates(pop.signup_day[c]),
            "contract_end_date": columns.dates(np.maximum(contract_end, 0), null=contract_end < 0),
            "has_marketing_consent": self.consent[order],
            "updated_at": columns.timestamps(self.second[order]),
        }


def organisation_names(pop: Population, customers: np.ndarray) -> pa.Array:
    kind = pop.name_kind[customers]
    word = _WORD_OFFSET[kind] + pop.org_word[customers] % _WORD_COUNT[kind]
    last = columns.labels(vocab.LAST_NAMES, pop.last_name[customers])
    words = columns.labels(_WORDS, np.where(kind == vocab.RESIDENTIAL, 0, word))
    county = pc.if_else(pa.array(kind == 3), " County ", " ")
    return pc.binary_join_element_wise(last, county, words, "")


def customer_names(pop: Population, customers: np.ndarray) -> pa.Array:
    first = columns.labels(vocab.FIRST_NAMES, pop.first_name[customers])
    last = columns.labels(vocab.LAST_NAMES, pop.last_name[customers])
    person = columns.join(first, last, separator=" ")
    return pc.if_else(
        pa.array(pop.name_kind[customers] == vocab.RESIDENTIAL),
        person,
        organisation_names(pop, customers),
    )


def _emails(pop: Population, customers: np.ndarray, version: np.ndarray) -> pa.Array:
    first = pc.utf8_lower(columns.labels(vocab.FIRST_NAMES, pop.first_name[customers]))
    last = pc.utf8_lower(columns.labels(vocab.LAST_NAMES, pop.last_name[customers]))
    number = pc.cast(pa.array((pop.email_number[customers] + 17 * version) % 100), pa.string())
    domain = columns.labels(
        vocab.EMAIL_DOMAINS, (pop.email_domain[customers] + version) % len(vocab.EMAIL_DOMAINS)
    )
    slug = pc.replace_substring_regex(
        pc.utf8_lower(organisation_names(pop, customers)), "[^a-z0-9]", ""
    )
    org_domain = columns.join(slug, ".example.com")
    domain = pc.if_else(pa.array(pop.name_kind[customers] == vocab.RESIDENTIAL), domain, org_domain)
    email = columns.join(first, ".", last, number, "@", domain)
    return pc.if_else(pa.array(pop.has_email[customers]), email, pa.scalar(None, pa.string()))


def _phones(
    pop: Population, customers: np.ndarray, version: np.ndarray, city: np.ndarray
) -> pa.Array:
    area = pc.cast(pa.array(_AREA_CODES[city]), pa.string())
    line = columns.padded((pop.phone_line[customers] + 1237 * version) % 10_000, 4)
    phone = columns.join("+1-", area, "-555-", line)
    return pc.if_else(pa.array(pop.has_phone[customers]), phone, pa.scalar(None, pa.string()))
