"""The photo fields people set or other tools wrote (rating, label, title, caption) and what
the last metadata import of a photo read, as stored in the catalog: the reads every layer
needs (search filters, the browse pages, sidecar writing). Setting a field is a user
decision: :func:`photoorg.core.metadata.importer.set_photo_meta`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from photoorg.core.store.catalog import Catalog
from photoorg.core.store.missing import MISSING_IDS

FIELDS: tuple[str, ...] = ("rating", "label", "title", "caption")
SOURCE_IMPORTED = "imported"
SOURCE_USER = "user"


@dataclass(frozen=True)
class PhotoMeta:
    """A photo's rating / label / title / caption as photoorg shows them, with who set
    each (``sources[field]`` is 'imported' or 'user')."""

    rating: int | None = None
    label: str | None = None
    title: str | None = None
    caption: str | None = None
    sources: dict[str, str] = field(default_factory=dict)


def photo_meta(cat: Catalog, photo_id: int) -> PhotoMeta:
    """A photo's rating, label, title and caption (None where nobody said)."""
    return photo_metas(cat, [photo_id])[int(photo_id)]


def photo_metas(cat: Catalog, photo_ids: Iterable[int]) -> dict[int, PhotoMeta]:
    """:func:`photo_meta` for many photos at once."""
    ids = sorted({int(p) for p in photo_ids})
    values: dict[int, dict[str, object]] = {pid: {"sources": {}} for pid in ids}
    for pid, name, value, source in cat.query_in(
        "SELECT photo_id, field, value, source FROM photo_meta WHERE photo_id IN {ids}", ids
    ):
        entry = values[pid]
        entry["sources"][name] = source  # type: ignore[index]
        if value == "":
            continue  # the user cleared it
        entry[name] = int(float(value)) if name == "rating" else value
    return {pid: PhotoMeta(**entry) for pid, entry in values.items()}  # type: ignore[arg-type]


def texts_for_photos(cat: Catalog, photo_ids: Iterable[int]) -> dict[int, tuple[str | None,
                                                                                 str | None]]:
    """(title, caption) of photos, for text search (the user's where set, else imported)."""
    return {pid: (m.title, m.caption) for pid, m in photo_metas(cat, photo_ids).items()}


def rating_filter_sql(min_rating: int, column: str = "p.id") -> tuple[str, list[int]]:
    """An SQL condition selecting photos rated at least ``min_rating`` stars."""
    return (
        f"{column} IN (SELECT photo_id FROM photo_meta WHERE field = 'rating' AND value != '' "
        "AND CAST(value AS INTEGER) >= ?)",
        [int(min_rating)],
    )


def photos_rated(cat: Catalog, min_rating: int) -> set[int]:
    """Ids of the photos rated at least ``min_rating`` stars."""
    cond, params = rating_filter_sql(min_rating, column="id")
    return {pid for (pid,) in cat.query(f"SELECT id FROM photos WHERE {cond}", params)}


def rating_counts(cat: Catalog) -> dict[int, int]:
    """How many photos are rated at least n stars, for n = 1..5 (0s left out)."""
    per = dict(cat.query(
        "SELECT CAST(value AS INTEGER), COUNT(*) FROM photo_meta WHERE field = 'rating' "
        f"AND value != '' AND photo_id NOT IN ({MISSING_IDS}) GROUP BY 1"))
    out = {n: sum(c for r, c in per.items() if r >= n) for n in range(1, 6)}
    return {n: c for n, c in out.items() if c}


def import_problems(cat: Catalog, photo_id: int) -> list[str]:
    """What the last import of a photo could not read (reasons)."""
    raw = cat.scalar("SELECT problems FROM photo_imports WHERE photo_id = ?", (int(photo_id),))
    return list(json.loads(raw)) if raw else []


def note_written(cat: Catalog, photo_id: int, tags: Iterable[str]) -> None:
    """photoorg wrote these tags into the photo's sidecar: reading them back later is not
    news (so a tag the user takes away later is not brought back by our own sidecar)."""
    with cat.transaction():
        raw = cat.scalar("SELECT tags FROM photo_imports WHERE photo_id = ?", (int(photo_id),))
        known = list(json.loads(raw)) if raw else []
        seen = {t.casefold() for t in known}
        known += [t for t in tags if t.casefold() not in seen]
        cat.execute(
            "INSERT INTO photo_imports(photo_id, tags, problems, read_at) VALUES(?, ?, '[]', ?) "
            "ON CONFLICT(photo_id) DO UPDATE SET tags = excluded.tags",
            (int(photo_id), json.dumps(known), time.time()),
        )
