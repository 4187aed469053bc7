"""Reviewing near-duplicates (Qt-free): each group with the photo to keep suggested and why,
"not duplicates" remembered, and "keep this one, move the others to the trash".

The suggestion: the largest picture (most pixels); at equal size the original over an edited
copy (a name like ``IMG_1 (1).jpg``, ``IMG_1-edited.jpg``, ``Copy of …``); then the oldest
(capture date, else file time). "Not duplicates" is stored by content hash pair, so it
survives moves and renames; a group is hidden once every pair in it was dismissed, and comes
back if a new look-alike joins it.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from photoorg.core import journal, missing
from photoorg.core.catalog import Catalog
from photoorg.core.search import DEFAULT_DUPLICATE_THRESHOLD, SearchIndex
from photoorg.core.trash import TRASH_ACTION

log = logging.getLogger(__name__)

_EDITED = re.compile(
    r"(\(\d+\)$|[-_ ](edit(ed)?|copy|kopie|copie|bearbeitet|modifi[eé])(\d*|[-_ ]\d+)$"
    r"|^copy of |^kopie von )",
    re.IGNORECASE,
)


def looks_edited(name: str) -> bool:
    """Whether a file name says it is an edited or copied version of another."""
    return bool(_EDITED.search(PurePosixPath(name).stem.strip()))


@dataclass
class Member:
    id: int
    path: Path
    similarity: float  # cosine to the group's first photo
    width: int = 0
    height: int = 0
    size: int = 0
    taken_at: float | None = None
    mtime: float = 0.0
    content_hash: str | None = None
    online: bool = True

    @property
    def pixels(self) -> int:
        return self.width * self.height

    @property
    def date(self) -> float:
        return self.taken_at if self.taken_at is not None else self.mtime

    @property
    def identity(self) -> str:
        return self.content_hash or f"id:{self.id}"


@dataclass
class Group:
    members: list[Member]
    keep: int  # photo id suggested to keep
    why: str
    similarity: float  # the lowest similarity in the group (how alike they all are)
    others: list[int] = field(default_factory=list)  # the ones that would go

    def member(self, photo_id: int) -> Member:
        return next(m for m in self.members if m.id == photo_id)


def suggest_keeper(members: Sequence[Member]) -> tuple[Member, str]:
    """The photo to keep and why, in words."""
    best = sorted(members, key=lambda m: (-m.pixels, looks_edited(m.path.name), m.date, m.id))
    keep = best[0]
    others = [m for m in members if m is not keep]
    if all(m.pixels < keep.pixels for m in others):
        return keep, f"the largest ({keep.width:,} × {keep.height:,})"
    same = [m for m in others if m.pixels == keep.pixels]
    if any(looks_edited(m.path.name) for m in same) and not looks_edited(keep.path.name):
        return keep, "the original (the others are edited or copied versions)"
    return keep, "the oldest of the same size"


def _pair(a: str, b: str) -> tuple[str, str]:
    return (a, b) if a < b else (b, a)


def dismissed_pairs(cat: Catalog) -> set[tuple[str, str]]:
    return {(a, b) for a, b in cat.query("SELECT hash_a, hash_b FROM not_duplicates")}


def dismiss(cat: Catalog, photo_ids: Iterable[int]) -> int:
    """"Not duplicates": remember that these photos are different (every pair of them)."""
    ids = [int(p) for p in photo_ids]
    marks = ",".join("?" * len(ids))
    idents = sorted({h or f"id:{pid}" for pid, h in cat.query(
        f"SELECT id, content_hash FROM photos WHERE id IN ({marks})", ids)})
    now = time.time()
    scopes = [("not_duplicates", f"hash_a IN {journal.IDS} AND hash_b IN {journal.IDS}",
               (json.dumps(idents), json.dumps(idents)))]
    with journal.decision(cat, "duplicates.dismiss",
                          f"Not duplicates: {len(ids)} photos", scopes):
        n = 0
        for a, b in itertools.combinations(idents, 2):
            n += cat.changes_of("INSERT OR IGNORE INTO not_duplicates(hash_a, hash_b, "
                                "decided_at) VALUES(?, ?, ?)", (*_pair(a, b), now))
    return n


def review(
    cat: Catalog,
    threshold: float = DEFAULT_DUPLICATE_THRESHOLD,
    index: SearchIndex | None = None,
) -> list[Group]:
    """Near-duplicate groups, each with its suggestion; groups the user dismissed are left
    out. ``index``: an open search index (else one is opened for the call, numpy only)."""
    if index is None:
        with SearchIndex(cat, cache=False, backend="numpy") as owned:
            raw = owned.find_duplicates(threshold)
    else:
        raw = index.find_duplicates(threshold)
    return groups_from(cat, [[(h.photo_id, h.score) for h in g] for g in raw])


def groups_from(cat: Catalog, raw: Sequence[Sequence[tuple[int, float]]],
                skip_dismissed: bool = True) -> list[Group]:
    """Groups of (photo id, similarity), with details read from the catalog (and without
    the ones the user said are not duplicates, unless ``skip_dismissed`` is False)."""
    ids = sorted({pid for g in raw for pid, _ in g})
    info: dict[int, tuple] = {}
    for start in range(0, len(ids), 900):
        chunk = ids[start : start + 900]
        for row in cat.query(
            "SELECT p.id, r.path, p.rel_path, COALESCE(p.width, 0), COALESCE(p.height, 0), "
            "p.size, p.taken_at, p.mtime, p.content_hash, r.online FROM photos p "
            f"JOIN roots r ON r.id = p.root_id WHERE p.id IN ({','.join('?' * len(chunk))})",
            chunk,
        ):
            info[row[0]] = row
    dismissed = dismissed_pairs(cat) if skip_dismissed else set()
    out = []
    for g in raw:
        members = []
        for pid, score in g:
            row = info.get(pid)
            if row is None:
                continue
            members.append(Member(pid, Path(row[1]) / PurePosixPath(row[2]), float(score),
                                  row[3], row[4], row[5], row[6], row[7], row[8], bool(row[9])))
        if len(members) < 2:
            continue
        pairs = {_pair(a.identity, b.identity) for a, b in itertools.combinations(members, 2)
                 if a.identity != b.identity}
        if pairs and pairs <= dismissed:
            continue
        keep, why = suggest_keeper(members)
        out.append(Group(members, keep.id, why, min(m.similarity for m in members),
                         [m.id for m in members if m.id != keep.id]))
    return out


class TrashError(RuntimeError):
    pass


def move_to_trash(
    cat: Catalog,
    photo_ids: Sequence[int],
    trash: Callable[[str], Any] | None = None,
) -> list[Path]:
    """Move these photos' files to the operating system's trash (never a permanent delete)
    and drop their catalog rows; returns the files moved. A file that cannot be trashed
    stays in the catalog, and the error names it."""
    if trash is None:
        from send2trash import send2trash as trash  # noqa: N813
    moved: list[Path] = []
    moved_ids: list[int] = []
    failed: list[str] = []
    for pid in photo_ids:
        row = cat.execute("SELECT r.path, p.rel_path FROM photos p JOIN roots r "
                          "ON r.id = p.root_id WHERE p.id = ?", (int(pid),)).fetchone()
        if row is None:
            continue
        path = Path(row[0]) / PurePosixPath(row[1])
        try:
            if not os.path.exists(path):
                raise FileNotFoundError(f"{path} is not there (offline or moved)")
            trash(str(path))
        except Exception as exc:  # noqa: BLE001 - each file on its own; reported below
            log.warning("could not move %s to the trash: %s", path, exc)
            failed.append(f"{path.name}: {exc}")
            continue
        moved.append(path)
        moved_ids.append(int(pid))
    if moved_ids:  # the rows stay, missing: Undo (or the file put back) brings them back
        with cat.transaction():
            missing.mark_missing(cat, moved_ids)
            journal.record(cat, TRASH_ACTION,
                           f"Move {len(moved_ids)} photo(s) to the trash",
                           {"files": [{"photo_id": pid, "path": str(path)}
                                      for pid, path in zip(moved_ids, moved, strict=True)]})
    if failed:
        raise TrashError("Not moved to the trash: " + "; ".join(failed))
    return moved
