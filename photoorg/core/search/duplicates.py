"""Reviewing duplicates (Qt-free): each group with the photo to keep suggested and why,
"not duplicates" remembered, and "keep this one, move the exact copies to the trash".

Two stages, so that no model's guess can cost a unique photo: pairs are *proposed* by the
CLIP cosine (at least the threshold) and by the pixels alone (perceptual hashes close,
:func:`photoorg.core.media.pixels.hash_pairs`, whatever the model); a pair is a duplicate only when
the pixel check (:func:`photoorg.core.media.pixels.compare`, no model) says so, and says which kind:
an **exact copy** (same picture resized, recompressed, converted or turned: offered for the
trash) or an **edited copy** (crop, brightness, filter: shown for review, never pre-selected).
Photos only alike in meaning ("similar") are never here: that is what Find similar is for.
A weak model (tiny, random weights) can therefore propose nonsense but never decide.

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
import heapq
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

import numpy as np

from photoorg.core.media import pixels
from photoorg.core.search.engine import (
    DEFAULT_DUPLICATE_THRESHOLD,
    Filters,
    SearchIndex,
    keeper_groups,
)
from photoorg.core.store import journal, missing, pixel_signatures
from photoorg.core.store.catalog import Catalog
from photoorg.core.store.trash import TRASH_ACTION, send_to_trash

log = logging.getLogger(__name__)

PROPOSALS_PER_PHOTO = 10  # CLIP proposes at most this many partners per photo

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
    kind: str = "keeper"  # "keeper", or the pixel check's verdict: pixels.EXACT / EDITED
    how: str = ""  # what the pixel check saw ("same", "rotated 90", "cropped to 64%", ...)

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
    similarity: float  # the lowest CLIP cosine to the keeper in the group
    others: list[int] = field(default_factory=list)  # exact copies: pre-selected to go
    threshold: float = 0.0  # the CLIP cosine that proposed pairs for the pixel check
    edited: list[int] = field(default_factory=list)  # edited copies: review, never pre-selected

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
    stats: dict[str, float] | None = None,
) -> list[Group]:
    """Duplicate groups, each around its suggested keeper: every other photo is a copy of
    it by the pixel check (exact or edited); pairs the user said are not duplicates do not
    count (unless ``skip_dismissed`` is False). ``threshold``: the CLIP cosine at which a
    pair is proposed for the check. ``index``: an open search index (else one is opened for
    the call, numpy only). ``stats``, when given, receives the candidate count and the pixel
    stage's time."""
    if index is None:
        with SearchIndex(cat, cache=False, backend="numpy") as owned:
            return review(cat, threshold, owned, filters=filters,
                          skip_dismissed=skip_dismissed, stats=stats)
    clip = {(a, b): s for a, b, s in index.duplicate_pairs(threshold, filters=filters)}
    eligible = index.filter_ids(filters or Filters())
    started = time.perf_counter()
    sigs = pixel_signatures.load(cat, eligible)
    ids = [i for i in sorted(sigs) if not sigs[i].flat]  # featureless: never a copy
    proposed = (_nearest(clip, PROPOSALS_PER_PHOTO)
                | set(pixels.hash_pairs(ids, [sigs[i].phash for i in ids])))
    verdicts: dict[tuple[int, int], pixels.Match] = {}
    for a, b in proposed:
        if a in sigs and b in sigs:
            match = pixels.compare(sigs[a], sigs[b])
            if match is not None:
                verdicts[a, b] = match
    if stats is not None:
        stats.update(candidates=len(proposed), pixel_s=time.perf_counter() - started,
                     signatures=len(sigs), without_signature=len(set(eligible) - set(sigs)))
    scores = _cosines(index, clip, list(verdicts))
    return groups_from_matches(cat, {pair: (scores[pair], m) for pair, m in verdicts.items()},
                               threshold, skip_dismissed=skip_dismissed)


def _nearest(pairs: dict[tuple[int, int], float], k: int) -> set[tuple[int, int]]:
    """Each photo's ``k`` most alike partners among the pairs: a weak model that finds
    everything alike (random weights: 9,492 of 9,870 pairs above 0.97) proposes O(n k)
    pairs for the pixel check, not O(n^2)."""
    partners: dict[int, list[tuple[float, int]]] = {}
    for (a, b), score in pairs.items():
        partners.setdefault(a, []).append((score, b))
        partners.setdefault(b, []).append((score, a))
    keep: set[tuple[int, int]] = set()
    for a, found in partners.items():
        for _, b in heapq.nlargest(k, found):
            keep.add(_pair_ids(a, b))
    return keep


def _cosines(index: SearchIndex, known: dict[tuple[int, int], float],
             pairs: Sequence[tuple[int, int]]) -> dict[tuple[int, int], float]:
    """The CLIP cosine of each pair (0.0 where a photo has no vector): shown, never decisive."""
    out = {pair: known[pair] for pair in pairs if pair in known}
    rest = [pair for pair in pairs if pair not in known]
    for a, b in rest:
        try:
            va, vb = index.exact_vectors(np.array([a, b], np.int64))
            out[a, b] = float(va @ vb)
        except KeyError:
            out[a, b] = 0.0
    return out


def groups_from_pairs(cat: Catalog, pairs: Iterable[tuple[int, int, float]],
                      threshold: float, skip_dismissed: bool = True) -> list[Group]:
    """Groups from CLIP pairs ``(id, id, cosine)`` at least ``threshold`` alike, each decided
    by the pixel check on the photos' stored signatures (pairs without both signatures, or
    that the pixels say differ, form no group)."""
    pairs = [(int(a), int(b), float(s)) for a, b, s in pairs if s >= threshold]
    sigs = pixel_signatures.load(cat, sorted({pid for a, b, _ in pairs for pid in (a, b)}))
    found = {}
    for a, b, score in pairs:
        if a in sigs and b in sigs:
            match = pixels.compare(sigs[a], sigs[b])
            if match is not None:
                found[_pair_ids(a, b)] = (score, match)
    return groups_from_matches(cat, found, threshold, skip_dismissed)


def _pair_ids(a: int, b: int) -> tuple[int, int]:
    return (a, b) if a < b else (b, a)


def groups_from_matches(cat: Catalog, matches: dict[tuple[int, int], tuple[float, pixels.Match]],
                        threshold: float, skip_dismissed: bool = True) -> list[Group]:
    """Groups from the pairs the pixel check called copies (``{(id, id): (cosine, match)}``),
    with details read from the catalog: each group's keeper is the best :func:`keeper_rank`
    among the photos still free, and only its own copies join it (no chaining)."""
    matches = {_pair_ids(a, b): v for (a, b), v in matches.items()}
    info = _members(cat, sorted({pid for pair in matches for pid in pair}))
    dismissed = dismissed_pairs(cat) if skip_dismissed else set()

    def counts(a: Member, b: Member) -> bool:
        return a.identity == b.identity or _pair(a.identity, b.identity) not in dismissed

    from photoorg.core.groups.stacks import same_stack

    stack_of = same_stack(cat)  # a stack's members are one picture, not duplicates
    alike = [(a, b, score) for (a, b), (score, _) in matches.items()
             if a in info and b in info and counts(info[a], info[b])
             and (stack_of.get(a) is None or stack_of.get(a) != stack_of.get(b))]
    out = []
    for raw in keeper_groups(alike, lambda pid: keeper_rank(info[pid])):
        keeper = raw[0][0]
        members = [dataclasses.replace(info[keeper])]
        for pid, score in raw[1:]:
            match = matches[_pair_ids(keeper, pid)][1]
            members.append(dataclasses.replace(info[pid], similarity=score, kind=match.kind,
                                               how=match.how))
        members.sort(key=lambda m: (m.kind != "keeper", m.kind != pixels.EXACT,
                                    -m.similarity, keeper_rank(m)))
        keep, rest = members[0], members[1:]
        out.append(Group(members, keep.id, _why(keep, rest),
                         min(m.similarity for m in rest),
                         [m.id for m in rest if m.kind == pixels.EXACT], threshold,
                         [m.id for m in rest if m.kind == pixels.EDITED]))
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
        trash = send_to_trash
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
