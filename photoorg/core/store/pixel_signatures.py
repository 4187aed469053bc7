"""The catalog's copy of each photo's pixel signature (photoorg.core.media.pixels), kept per
content hash: a changed file's old signature no longer counts, and the pixels stage
(photoorg.core.ingest.pipeline) makes a new one."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from photoorg.core.media.pixels import VERSION, Signature
from photoorg.core.store.catalog import Catalog


def store(cat: Catalog, signatures: Iterable[tuple[int, Signature]]) -> None:
    """Keep these photos' signatures (for their current content; call inside the writer's
    transaction or on its own)."""
    rows = [(pid, *sig.to_row()) for pid, sig in signatures]
    if not rows:
        return
    with cat.transaction() as conn:
        conn.executemany(
            "INSERT OR REPLACE INTO pixel_signatures(photo_id, content_hash, version, grey, "
            "aspect, phash, colour) SELECT ?1, content_hash, ?6, ?2, ?3, ?4, ?5 FROM photos "
            "WHERE id = ?1",
            [(pid, grey, aspect, ph, colour, VERSION) for pid, grey, aspect, ph, colour in rows])


def load(cat: Catalog, ids: Sequence[int] | None = None) -> dict[int, Signature]:
    """Signatures of these photos (all when ``None``) that still match their content."""
    sql = ("SELECT g.photo_id, g.grey, g.aspect, g.phash, g.colour FROM pixel_signatures g "
           "JOIN photos p ON p.id = g.photo_id AND p.content_hash IS g.content_hash "
           "WHERE g.version = ? AND p.missing_since IS NULL")
    out: dict[int, Signature] = {}
    if ids is None:
        rows = cat.query(sql, (VERSION,))
    else:
        rows = cat.query_in(sql + " AND g.photo_id IN {ids}", ids, (VERSION,))
    for pid, grey, aspect, ph, colour in rows:
        out[int(pid)] = Signature.from_row(grey, aspect, ph, colour)
    return out


# the photos whose signature is missing or stale (SQL condition on ``p``, photos)
MISSING_SQL = ("p.status = 'indexed' AND NOT EXISTS (SELECT 1 FROM pixel_signatures g "
               f"WHERE g.photo_id = p.id AND g.version = {VERSION} "
               "AND g.content_hash IS p.content_hash)")
