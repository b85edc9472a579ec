"""The service catalogue (provisioning/services): what can be sold when, and at what price."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from custintel.generate import columns, vocab
from custintel.generate.timeline import Timeline

#: relative popularity of each service in a new bundle, for Residential and business customers
_RES_WEIGHT = np.array([1.0, 1.0, 0.8, 0.0, 0.6, 0.8, 0.6, 1.0, 0.8, 0.0, 1.0, 0.0])
_BIZ_WEIGHT = np.array([0.0, 0.5, 0.3, 1.2, 0.0, 0.0, 1.0, 0.0, 0.3, 1.0, 0.0, 1.0])
#: 0 = entry, 1 = mid, 2 = premium: higher tiers lean towards premium services
_RANK = np.array([0, 1, 2, 2, 0, 1, 2, 0, 2, 1, 1, 1])
#: probability that a new customer takes a service of each type (Internet, TV, Mobile, Voice)
TYPE_TAKE_RES = np.array([0.85, 0.35, 0.45, 0.15])
TYPE_TAKE_BIZ = np.array([0.90, 0.10, 0.65, 0.55])


@dataclass(frozen=True)
class Catalogue:
    timeline: Timeline

    @property
    def size(self) -> int:
        return len(vocab.SERVICES)

    @property
    def service_type(self) -> np.ndarray:
        return np.array([s[2] for s in vocab.SERVICES], dtype=np.int8)

    @property
    def base_price(self) -> np.ndarray:
        return np.array([s[4] for s in vocab.SERVICES])

    @property
    def launch_month(self) -> np.ndarray:
        return np.array([s[5] for s in vocab.SERVICES])

    @property
    def discontinued_month(self) -> np.ndarray:
        return np.array([10_000 if s[6] is None else s[6] for s in vocab.SERVICES])

    @property
    def is_fleet(self) -> np.ndarray:
        return np.array([s[0] == "S010" for s in vocab.SERVICES])

    @property
    def usage_means(self) -> np.ndarray:
        """(services x 3): daily data MB, voice minutes, sessions."""
        return np.array([u[:3] for u in vocab.SERVICE_USAGE])

    @property
    def business_hours(self) -> np.ndarray:
        return np.array([u[3] for u in vocab.SERVICE_USAGE])

    @property
    def allowance_mb(self) -> np.ndarray:
        return np.array([vocab.DATA_ALLOWANCE_MB.get(s[0], np.inf) for s in vocab.SERVICES])

    def offered(self, month: int) -> np.ndarray:
        """Services that can be newly sold in `month`."""
        return (self.launch_month <= month) & (month < self.discontinued_month)

    def list_price(self, month: int) -> np.ndarray:
        return self.base_price * self.timeline.list_price_factor(month)

    def bundle_weights(self, segment: np.ndarray, tier: np.ndarray, month: int) -> np.ndarray:
        """(customers x services) weights of choosing each service, 0 where not on offer."""
        business = (segment != vocab.RESIDENTIAL)[:, None]
        base = np.where(business, _BIZ_WEIGHT[None, :], _RES_WEIGHT[None, :])
        tilt = np.exp(0.8 * (tier[:, None] - 1.5) * (_RANK[None, :] - 1))
        return base * tilt * self.offered(month)[None, :]

    def table_columns(self) -> dict[str, pa.Array | np.ndarray]:
        """Rows of provisioning/services as of the end of the history."""
        last = self.timeline.months - 1
        launched = self.launch_month <= last
        start = np.datetime64(self.timeline.start, "M")
        launch_days = (start + self.launch_month).astype("datetime64[D]").astype(np.int64)
        keep = np.flatnonzero(launched)
        return {
            "service_id": pa.array([vocab.SERVICES[i][0] for i in keep]),
            "service_name": pa.array([vocab.SERVICES[i][1] for i in keep]),
            "service_type": columns.labels(vocab.SERVICE_TYPES, self.service_type[keep]),
            "monthly_cost_amount": columns.money(self.list_price(last)[keep]),
            "is_active": (last < self.discontinued_month)[keep],
            "launched_date": columns.dates(launch_days[keep]),
        }
