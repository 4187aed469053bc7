"""Photos whose files are gone are remembered, not forgotten.

A row whose file disappeared (deleted, moved out of the library, a sync client that
briefly removed it, a drive unmounted inside a library folder) keeps everything the user
made -- tags, names, faces, vector -- with ``photos.missing_since`` set. Missing rows are
invisible in the normal views, searches and counts (:data:`VISIBLE` /
:data:`MISSING_IDS`). A file that appears anywhere in the library with the same content
hash takes its row back (:func:`take_back`): same id, so nothing is re-embedded.

Missing rows go away only by an explicit :func:`forget_missing` or after the grace
period (:func:`expire`, ``Settings.missing_grace_days``).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from photoorg.core.store.catalog import Catalog, PhotoRow

DEFAULT_GRACE_DAYS = 90

# SQL fragments for the queries that must not show missing photos
VISIBLE = "missing_since IS NULL"
MISSING_IDS = "SELECT id FROM photos WHERE missing_since IS NOT NULL"


def mark_missing(cat: Catalog, ids: Iterable[int], now: float | None = None) -> int:
    """Mark rows missing (their file is gone); returns how many were not missing before.
    A row already missing keeps the time it went missing."""
    when = time.time() if now is None else now
    newly = 0
    with cat.transaction():
        for pid in ids:
            newly += cat.changes_of(
                "UPDATE photos SET missing_since = ? WHERE id = ? AND missing_since IS NULL",
                (when, int(pid)),
            )
    return newly


def mark_present(cat: Catalog, ids: Iterable[int]) -> int:
    """Rows whose file is there again at the same place; returns how many came back."""
    back = 0
    with cat.transaction():
        for pid in ids:
            back += cat.changes_of(
                "UPDATE photos SET missing_since = NULL WHERE id = ? AND missing_since IS NOT NULL",
                (int(pid),),
            )
    return back


def missing_ids(cat: Catalog) -> set[int]:
    return {pid for (pid,) in cat.query(MISSING_IDS)}


def count_missing(cat: Catalog) -> int:
    return cat.scalar("SELECT COUNT(*) FROM photos WHERE missing_since IS NOT NULL")


def row_for_content(cat: Catalog, size: int, content_hash: str) -> PhotoRow | None:
    """The missing row (longest missing first) with this content, if any."""
    row = cat.execute(
        "SELECT id FROM photos WHERE content_hash = ? AND size = ? AND missing_since IS NOT NULL "
        "ORDER BY missing_since, id LIMIT 1",
        (content_hash, size),
    ).fetchone()
    return None if row is None else cat.photo(row[0])


def take_back(
    cat: Catalog, size: int, content_hash: str | None, root_id: int, rel_path: str, mtime: float
) -> int | None:
    """A file appeared at ``rel_path``: if a missing row has its content, that row moves
    there (same id: vector, faces, names, tags kept) and its id is returned."""
    if not content_hash:
        return None
    row = row_for_content(cat, size, content_hash)
    if row is None:
        return None
    cat.replace_photo_path(row.id, root_id, rel_path, mtime)  # move_photo clears missing_since
    return row.id


def forget_missing(cat: Catalog, older_than_s: float | None = None) -> int:
    """Delete missing rows (all, or those missing longer than ``older_than_s`` seconds),
    with everything attached to them. Returns how many went."""
    if older_than_s is None:
        ids = [pid for (pid,) in cat.query(MISSING_IDS)]
    else:
        ids = [pid for (pid,) in cat.query(
            "SELECT id FROM photos WHERE missing_since IS NOT NULL AND missing_since < ?",
            (time.time() - older_than_s,),
        )]
    if ids:
        cat.delete_photos(ids)
    return len(ids)


def expire(cat: Catalog, grace_days: float = DEFAULT_GRACE_DAYS) -> int:
    """Forget the photos missing for longer than the grace period."""
    return forget_missing(cat, older_than_s=grace_days * 86400.0)


@dataclass(frozen=True)
class MissingFolder:
    """A subfolder of a library folder that is gone as a whole, while its library folder
    is still there: shown like an offline library folder."""

    root_id: int
    folder: str  # relative to the root, posix
    path: Path
    photos: int
    since: float


def missing_folders(cat: Catalog) -> list[MissingFolder]:
    """Outermost missing subfolders of online roots: their photos are all missing and the
    folder is not on disk."""
    roots = {r.id: r for r in cat.roots() if r.online}
    per_folder: dict[tuple[int, str], tuple[int, float]] = {}
    for root_id, folder, n, since in cat.query(
        "SELECT root_id, folder, COUNT(*), MIN(missing_since) FROM photos "
        "WHERE missing_since IS NOT NULL AND folder != '' GROUP BY root_id, folder"
    ):
        if root_id in roots:
            per_folder[(root_id, folder)] = (n, since)
    out: dict[tuple[int, str], list[float]] = {}
    for (root_id, folder), (n, since) in sorted(per_folder.items(), key=lambda kv: kv[0][1]):
        root = roots[root_id]
        # climb to the outermost ancestor that is gone too (its parent exists)
        top = PurePosixPath(folder)
        if os.path.isdir(root.path / top):
            continue
        while str(top.parent) != "." and not os.path.isdir(root.path / top.parent):
            top = top.parent
        key = (root_id, top.as_posix())
        entry = out.setdefault(key, [0, since])
        entry[0] += n
        entry[1] = min(entry[1], since)
    return [
        MissingFolder(rid, folder, roots[rid].path / PurePosixPath(folder), int(n), since)
        for (rid, folder), (n, since) in sorted(out.items())
    ]
