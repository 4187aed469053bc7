"""More like these / less like those: a Rocchio query over chosen photos, refined by
clicking results (relevance feedback), ranked by the search index, savable as an album
that stays current.

Rocchio (SMART's relevance feedback)::

    q = ALPHA * query + BETA * mean(positive vectors) - GAMMA * mean(negative vectors)

over L2-normalised CLIP vectors, then normalised; a photo's score is its cosine to ``q``.
With no text query and one positive photo, ``q`` is that photo's vector: plain "Find
similar". ``BETA``/``GAMMA`` are the classic 0.75 / 0.25 ratio of positive to negative
feedback (negatives are weaker evidence: "not this" says less than "this"); scores only
depend on their ratio.

A saved album stores the photo ids (and ``k``, how many it shows) in the album's spec; it
is re-ranked on every read, so a new photo that fits appears in it by itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from photoorg.core.groups import clusters as cl
from photoorg.core.search.engine import (
    Encoder,
    Filters,
    Query,
    QueryPart,
    SearchIndex,
    SearchResult,
)
from photoorg.core.store.catalog import Catalog

ALPHA = 1.0
BETA = 0.75
GAMMA = 0.25
ALBUM_K = 100

Item = int | Path
"""A library photo id, or an image file (outside the library: it is embedded)."""


def rocchio_vector(
    positive: np.ndarray,
    negative: np.ndarray | None = None,
    query: np.ndarray | None = None,
    *,
    alpha: float = ALPHA,
    beta: float = BETA,
    gamma: float = GAMMA,
) -> np.ndarray:
    """The normalised Rocchio direction from rows of positive / negative vectors."""

    def unit(x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, np.float64)
        n = np.linalg.norm(x, axis=-1, keepdims=True)
        return x / np.where(n == 0, 1, n)

    total = np.zeros(np.asarray(positive).shape[-1], np.float64)
    if query is not None:
        total += alpha * unit(query).reshape(-1)
    if len(positive):
        total += beta * unit(positive).mean(0)
    if negative is not None and len(negative):
        total -= gamma * unit(negative).mean(0)
    return unit(total).astype(np.float32)


@dataclass(frozen=True)
class Feedback:
    """What the user said: more like ``positive``, less like ``negative`` (and an optional
    text ``query`` they started from)."""

    positive: tuple[Item, ...]
    negative: tuple[Item, ...] = ()
    query: str | None = None

    def refine(self, more: Iterable[Item] = (), less: Iterable[Item] = ()) -> Feedback:
        """Clicked results: ``more`` become positives, ``less`` negatives (a photo moves
        from one side to the other if the user changes their mind)."""
        more_t, less_t = tuple(more), tuple(less)
        positive = [p for p in self.positive if p not in less_t]
        negative = [n for n in self.negative if n not in more_t]
        positive += [p for p in more_t if p not in positive]
        negative += [n for n in less_t if n not in negative]
        return replace(self, positive=tuple(positive), negative=tuple(negative))

    def to_query(self, alpha: float = ALPHA, beta: float = BETA, gamma: float = GAMMA
                 ) -> Query:
        """The Rocchio sum as search parts (the index embeds and sums them): each positive
        weighs ``beta / len(positive)``, each negative ``-gamma / len(negative)``; the sum
        is scaled so the positives weigh 1 (a single photo alone is plain "similar")."""
        if not self.positive:
            raise ValueError("more like these needs at least one photo")
        scale = 1.0 / beta
        parts = [_part(p, scale * beta / len(self.positive)) for p in self.positive]
        parts += [_part(n, -scale * gamma / len(self.negative)) for n in self.negative]
        if self.query:
            parts.append(QueryPart("text", self.query, scale * alpha))
        return Query(tuple(parts))

    def photo_ids(self) -> set[int]:
        return {int(p) for p in (*self.positive, *self.negative) if not isinstance(p, Path)}

    def spec(self, k: int = ALBUM_K) -> dict[str, Any]:
        """For a saved album: library photos only (by id, so moves keep it)."""
        return {
            "positive": [int(p) for p in self.positive if not isinstance(p, Path)],
            "negative": [int(n) for n in self.negative if not isinstance(n, Path)],
            "query": self.query,
            "k": int(k),
        }

    @classmethod
    def from_spec(cls, spec: dict[str, Any]) -> Feedback:
        return cls(tuple(int(p) for p in spec.get("positive") or ()),
                   tuple(int(n) for n in spec.get("negative") or ()),
                   spec.get("query") or None)


def _part(item: Item, weight: float) -> QueryPart:
    if isinstance(item, Path):
        return QueryPart("image", item, weight)
    return QueryPart("photo", int(item), weight)


def more_like_these(
    index: SearchIndex,
    feedback: Feedback,
    encoder: Encoder | None = None,
    *,
    k: int = 60,
    offset: int = 0,
    filters: Filters | None = None,
    exclude_negative: bool = True,
    min_score: float | None = None,
) -> list[SearchResult]:
    """Best matches of the Rocchio query first (the chosen photos included, the ones marked
    "less like these" left out unless ``exclude_negative`` is False). ``encoder`` is needed
    for a text query or image files outside the library."""
    exclude = [int(n) for n in feedback.negative if not isinstance(n, Path)] if (
        exclude_negative) else []
    return index.search(feedback.to_query(), encoder, k=k, offset=offset, filters=filters,
                        exclude=exclude, min_score=min_score)


def save_album(cat: Catalog, name: str, feedback: Feedback, k: int = ALBUM_K) -> cl.Album:
    """An album that is this feedback's top ``k``, re-ranked on every read."""
    spec = feedback.spec(k)
    if not spec["positive"]:
        raise cl.AlbumError("an album of similar photos needs photos from the library")
    return cl.create_album(cat, name, similar=spec)


def resolve_album(cat: Catalog, album: cl.Album, index: SearchIndex | None = None,
                  encoder: Encoder | None = None,
                  scores: dict[int, float] | None = None) -> list[int]:
    """Photo ids of a "more like these" album, best first (photos deleted since are
    skipped; if all its positives are gone it is empty); ``scores`` gets each one's."""
    spec = album.similar
    feedback = Feedback.from_spec(spec)
    alive = {pid for (pid,) in cat.query(
        f"SELECT id FROM photos WHERE id IN ({','.join('?' * len(feedback.photo_ids()))})",
        sorted(feedback.photo_ids()))} if feedback.photo_ids() else set()
    feedback = Feedback(tuple(p for p in feedback.positive if p in alive),
                        tuple(n for n in feedback.negative if n in alive), feedback.query)
    if not feedback.positive:
        return []
    own = index is None
    index = index or SearchIndex(cat)
    try:
        hits = more_like_these(index, feedback, encoder, k=int(spec.get("k") or ALBUM_K))
    finally:
        if own:
            index.close(save=False)
    if scores is not None:
        scores.update((h.photo_id, float(h.score)) for h in hits)
    return [h.photo_id for h in hits]


def album_resolver(fallback: cl.AlbumResolver | None = None,
                   encoder: Encoder | None = None) -> cl.AlbumResolver:
    """A resolver for :func:`photoorg.core.groups.clusters.album_photos`: "more like these" albums
    here, other saved searches through ``fallback`` (the search module's)."""

    def resolve(cat: Catalog, album: cl.Album) -> Sequence[int]:
        if album.similar:
            return resolve_album(cat, album, encoder=encoder)
        if fallback is None:
            raise cl.AlbumError(
                f"album {album.name!r} is a saved search: it needs the search module")
        return fallback(cat, album)

    return resolve
