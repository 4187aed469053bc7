"""Reviewing near-duplicates (Qt-free): each group with the photo to keep suggested and why,
"not duplicates" remembered, and "keep this one, move the others to the trash".

The suggestion: the largest picture (most pixels); at equal size the original over an edited
copy (a name like ``IMG_1 (1).jpg``, ``IMG_1-edited.jpg``, ``Copy of …``); then the oldest
(capture date, else file time; then the path, so the choice never depends on the order
photos were indexed).

Groups are built around their keepers, never by chaining: every photo of a group is at least
the threshold alike to the photo kept (:func:`photoorg.core.search.engine.keeper_groups`: the best
keeper candidate not yet in a group takes its look-alikes not yet in a group, then the
next). So A~B and B~C with A and C below the threshold never offer C for the trash to keep
A: C stays out, or goes with another keeper it is alike to.

"Not duplicates" is stored by content hash pair, so it survives moves and renames; a
dismissed pair never counts as alike again, so the group goes away, and a new look-alike
that comes later forms a group without the photos the user said were different.
"""

from __future__ import annotations

import dataclasses
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

from photoorg.core.search.engine import (
    DEFAULT_DUPLICATE_THRESHOLD,
    Filters,
    SearchIndex,
    keeper_groups,
)
from photoorg.core.store import journal, missing
from photoorg.core.store.catalog import Catalog
from photoorg.core.store.trash import TRASH_ACTION

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
    similarity: float  # cosine to the group's keeper (1.0 for the keeper)
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
    similarity: float  # the lowest similarity to the keeper in the group
    others: list[int] = field(default_factory=list)  # the ones that would go
    threshold: float = 0.0  # every one of ``others`` is at least this alike to the keeper

    def member(self, photo_id: int) -> Member:
        return next(m for m in self.members if m.id == photo_id)


def keeper_rank(m: Member) -> tuple:
    """Sort key, best keeper first: the largest, the original over an edited copy, the
    oldest, then the path (unique, and independent of the order photos were indexed)."""
    return (-m.pixels, looks_edited(m.path.name), m.date, str(m.path), m.id)


def suggest_keeper(members: Sequence[Member]) -> tuple[Member, str]:
    """The photo to keep and why, in words."""
    keep = min(members, key=keeper_rank)
    return keep, _why(keep, [m for m in members if m is not keep])


def _why(keep: Member, others: Sequence[Member]) -> str:
    if all(m.pixels < keep.pixels for m in others):
        return f"the largest ({keep.width:,} × {keep.height:,})"
    same = [m for m in others if m.pixels == keep.pixels]
    if any(looks_edited(m.path.name) for m in same) and not looks_edited(keep.path.name):
        return "the original (the others are edited or copied versions)"
    return "the oldest of the same size"


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
    *,
    filters: Filters | None = None,
    skip_dismissed: bool = True,
) -> list[Group]:
    """Near-duplicate groups, each around its suggested keeper (every other photo at least
    ``threshold`` alike to it); pairs the user said are not duplicates do not count (unless
    ``skip_dismissed`` is False). ``index``: an open search index (else one is opened for
    the call, numpy only)."""
    if index is None:
        with SearchIndex(cat, cache=False, backend="numpy") as owned:
            pairs = owned.duplicate_pairs(threshold, filters=filters)
    else:
        pairs = index.duplicate_pairs(threshold, filters=filters)
    return groups_from_pairs(cat, pairs, threshold, skip_dismissed=skip_dismissed)


def groups_from_pairs(cat: Catalog, pairs: Iterable[tuple[int, int, float]],
                      threshold: float, skip_dismissed: bool = True) -> list[Group]:
    """Groups from the pairs of photos ``(id, id, cosine)`` at least ``threshold`` alike,
    with details read from the catalog: each group's keeper is the best :func:`keeper_rank`
    among the photos still free, and only its own look-alikes join it."""
    pairs = [(int(a), int(b), float(s)) for a, b, s in pairs if s >= threshold]
    info = _members(cat, sorted({pid for a, b, _ in pairs for pid in (a, b)}))
    dismissed = dismissed_pairs(cat) if skip_dismissed else set()

    def counts(a: Member, b: Member) -> bool:
        return a.identity == b.identity or _pair(a.identity, b.identity) not in dismissed

    from photoorg.core.groups.stacks import same_stack

    stack_of = same_stack(cat)  # a stack's members are one picture, not duplicates
    alike = [(a, b, s) for a, b, s in pairs
             if a in info and b in info and counts(info[a], info[b])
             and (stack_of.get(a) is None or stack_of.get(a) != stack_of.get(b))]
    out = []
    for raw in keeper_groups(alike, lambda pid: keeper_rank(info[pid])):
        members = [dataclasses.replace(info[pid], similarity=score) for pid, score in raw]
        keep, others = members[0], members[1:]
        out.append(Group(members, keep.id, _why(keep, others),
                         min(m.similarity for m in others), [m.id for m in others], threshold))
    return out


def _members(cat: Catalog, ids: Sequence[int]) -> dict[int, Member]:
    """The photos' details (similarity left at 1.0); ids no longer in the catalog are absent."""
    out: dict[int, Member] = {}
    for row in cat.query_in(
        "SELECT p.id, r.path, p.rel_path, COALESCE(p.width, 0), COALESCE(p.height, 0), "
        "p.size, p.taken_at, p.mtime, p.content_hash, r.online FROM photos p "
        "JOIN roots r ON r.id = p.root_id WHERE p.id IN {ids}", ids,
    ):
        out[row[0]] = Member(row[0], Path(row[1]) / PurePosixPath(row[2]), 1.0, row[3],
                             row[4], row[5], row[6], row[7], row[8], bool(row[9]))
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
