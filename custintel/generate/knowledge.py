"""Knowledge-base articles (support/kb_articles): 60 articles, 12 per ticket category.

Three quarters are published before the history starts; one more is published in each of the
first 15 months. An article only exists in the landing data once it is published.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from custintel.generate import columns, vocab
from custintel.generate.timeline import SECONDS_PER_DAY, Timeline

ARTICLES = 60
PUBLISHED_BEFORE_HISTORY = 45
_MAX_UPDATES = 40


@dataclass(frozen=True)
class KnowledgeBase:
    category: np.ndarray
    title: tuple[str, ...]
    author: np.ndarray
    published_second: np.ndarray
    update_seconds: np.ndarray  # (articles x updates), ascending

    @classmethod
    def draw(cls, rng: np.random.Generator, timeline: Timeline) -> KnowledgeBase:
        k = np.arange(ARTICLES)
        category = k % len(vocab.TICKET_CATEGORIES)
        titles = tuple(
            vocab.KB_TITLES[c][i // len(vocab.TICKET_CATEGORIES)] for i, c in enumerate(category)
        )
        start = timeline.start_day
        month = np.datetime64(timeline.start, "M") + (k - PUBLISHED_BEFORE_HISTORY + 1)
        later = month.astype("datetime64[D]").astype(np.int64) + rng.integers(0, 28, ARTICLES)
        earlier = start - rng.integers(30, 1100, ARTICLES)
        day = np.where(k < PUBLISHED_BEFORE_HISTORY, earlier, later)
        published = day * SECONDS_PER_DAY + columns.seconds_in_day(rng, ARTICLES, 9, 17)
        gaps = rng.exponential(240.0 * SECONDS_PER_DAY, size=(ARTICLES, _MAX_UPDATES))
        updates = published[:, None] + np.cumsum(gaps, axis=1).astype(np.int64)
        return cls(
            category=category,
            title=titles,
            author=rng.integers(0, len(vocab.KB_AUTHORS), ARTICLES),
            published_second=published,
            update_seconds=updates,
        )

    def available(self, before_second: int) -> np.ndarray:
        return self.published_second < before_second

    def pick(
        self, rng: np.random.Generator, categories: np.ndarray, before_second: int
    ) -> np.ndarray:
        """For each requested category, a random article of it published before the cut-off."""
        result = np.empty(len(categories), dtype=np.int64)
        ready = self.available(before_second)
        for category in range(len(vocab.TICKET_CATEGORIES)):
            rows = np.flatnonzero(categories == category)
            pool = np.flatnonzero(ready & (self.category == category))
            result[rows] = pool[rng.integers(0, len(pool), len(rows))]
        return result

    def table_columns(self, timeline: Timeline) -> dict[str, pa.Array | np.ndarray]:
        end = (timeline.end_day + 1) * SECONDS_PER_DAY
        keep = np.flatnonzero(self.published_second < end)
        done = self.update_seconds[keep] < end
        versions = 1 + done.sum(axis=1)
        last = np.where(done, self.update_seconds[keep], self.published_second[keep, None])
        return {
            "kb_article_id": article_ids(keep),
            "title": pa.array([self.title[i] for i in keep]),
            "category": columns.labels(vocab.TICKET_CATEGORIES, self.category[keep]),
            "version_number": versions.astype(np.int64),
            "article_author": columns.labels(vocab.KB_AUTHORS, self.author[keep]),
            "published_at": columns.timestamps(self.published_second[keep]),
            "updated_at": columns.timestamps(last.max(axis=1)),
        }


def article_ids(articles: np.ndarray, null: np.ndarray | None = None) -> pa.Array:
    return columns.ids("KB", np.asarray(articles) + 1, 4, null=null)
