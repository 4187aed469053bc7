"""What the window browses, Qt-free: the timeline (photos in date order, cut into month
sections), the folder tree with counts, the files that could not be read, and a retry.

A photo's date is its capture date from EXIF (``taken_at``); a photo without one is placed
by its file time, *after* every dated photo, in sections that say so ("… · file date"), so
undated downloads and test files never crowd the top of the timeline.
"""

from __future__ import annotations

import datetime as _dt
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from photoorg.core.store.catalog import STACKED_AWAY, Catalog

SORTS = ("taken", "added", "name")
SORT_LABELS = {"taken": "Date taken", "added": "Date added", "name": "Name"}

# (id, root_id, rel_path, content_hash, size, mtime): the grid's row shape
Row = tuple[int, int, str, str | None, int, float]

_COLUMNS = "p.id, p.root_id, p.rel_path, p.content_hash, p.size, p.mtime, p.taken_at, p.added_at"


@dataclass(frozen=True)
class Section:
    """A run of rows under one header: ``start`` is its first row."""

    start: int
    title: str
    year: int | None  # for the date scrubber (None: no date at all)
    dated: bool = True  # False: placed by file time, not by a date in the photo


@dataclass
class Timeline:
    rows: list[Row] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)


def _month_of(stamp: float) -> tuple[tuple[str, int, int], tuple[float, float]]:
    """(title, year, month) of a timestamp's local month, and that month's [start, end)."""
    try:
        day = _dt.datetime.fromtimestamp(stamp)
        first = day.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        after = first.replace(year=first.year + (first.month == 12),
                              month=first.month % 12 + 1)
        return (day.strftime("%B %Y"), day.year, day.month), (first.timestamp(),
                                                              after.timestamp())
    except (OverflowError, OSError, ValueError):
        return ("", 0, 0), (1.0, 0.0)


def arrange(raw: Iterable[Sequence[Any]], sort: str = "taken") -> Timeline:
    """Order raw rows (``_COLUMNS``) for display and cut them into sections.

    ``taken``: newest capture first, then photos without a capture date by file time;
    ``added``: newest added first, sections by the month added; ``name``: by file name,
    no sections."""
    rows = list(raw)
    if sort == "name":
        rows.sort(key=lambda r: (PurePosixPath(r[2]).name.casefold(), r[2], r[0]))
        return Timeline([tuple(r[:6]) for r in rows], [])  # type: ignore[misc]
    if sort == "added":
        rows.sort(key=lambda r: (-(r[7] or 0.0), r[2]))
    else:
        rows.sort(key=lambda r: (r[6] is None, -(r[6] if r[6] is not None else r[5] or 0.0),
                                 r[2]))
    out = Timeline()
    last: tuple[Any, ...] | None = None
    span = (1.0, 0.0)  # [start, end) of the current month: fromtimestamp only on leaving it
    month: tuple[str, int, int] = ("", 0, 0)
    for i, r in enumerate(rows):
        out.rows.append(tuple(r[:6]))  # type: ignore[arg-type]
        if sort == "added":
            dated, stamp = True, r[7] or 0.0
        else:
            dated = r[6] is not None
            stamp = r[6] if dated else r[5]
        if not stamp:
            month = ("", 0, 0)
        elif not span[0] <= stamp < span[1]:
            month, span = _month_of(stamp)
        title, year, number = month
        key = (dated, year, number)
        if key == last:
            continue
        last = key
        if not title:
            title, year_or_none = "No date", None
        else:
            year_or_none = year
            if sort == "added":
                title = f"Added {title}"
            elif not dated:
                title = f"{title} · file date"
        out.sections.append(Section(i, title, year_or_none, dated))
    return out


def _where(clauses: list[str]) -> str:
    return " WHERE " + " AND ".join(clauses) if clauses else ""


def timeline(cat: Catalog, sort: str = "taken", root_id: int | None = None,
             folder: str | None = None) -> Timeline:
    """Every readable photo (or those of one library folder, or one of its subfolders and
    everything below it), arranged; a stack is one row, its cover."""
    # a photo whose file is gone (kept missing, core.missing) is not shown
    clauses = ["p.status != 'skipped'", "p.missing_since IS NULL",
               f"p.id NOT IN ({STACKED_AWAY})"]
    params: list = []
    if root_id is not None:
        clauses.append("p.root_id = ?")
        params.append(root_id)
        if folder:
            clauses.append("(p.folder = ? OR p.folder LIKE ? ESCAPE '\\')")
            params += [folder, _like_prefix(folder) + "/%"]
    rows = cat.query(f"SELECT {_COLUMNS} FROM photos p" + _where(clauses), params)
    return arrange(rows, sort)


def timeline_of(cat: Catalog, ids: Iterable[int], sort: str = "taken") -> Timeline:
    """The given photos (a tag, album, cluster), arranged; unknown ids are left out. A
    stack's member is left out when its stack's cover is among them (one row a stack)."""
    id_list = [int(i) for i in ids]
    wanted = set(id_list)
    covered = {pid for pid, cover in cat.query(
        "SELECT m.photo_id, s.cover_id FROM stack_members m JOIN stacks s ON s.id = m.stack_id "
        "WHERE s.state = 'stacked' AND m.photo_id != s.cover_id") if cover in wanted}
    if covered:
        id_list = [i for i in id_list if i not in covered]
    rows = cat.query_in(
        f"SELECT {_COLUMNS} FROM photos p WHERE p.status != 'skipped' "
        "AND p.missing_since IS NULL AND p.id IN {ids}", id_list)
    return arrange(rows, sort)


def _like_prefix(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


# -- folder tree ------------------------------------------------------------------------


@dataclass
class FolderNode:
    """A folder of the library with the photos in it and below it."""

    root_id: int
    rel: str  # "" for the library folder itself
    path: Path
    total: int = 0  # readable photos here and below
    skipped: int = 0
    online: bool = True
    missing: bool = False  # the library folder is online but this subfolder is gone
    children: list[FolderNode] = field(default_factory=list)

    @property
    def name(self) -> str:
        return PurePosixPath(self.rel).name if self.rel else (self.path.name or str(self.path))


def folder_tree(cat: Catalog, check_disk: bool = True) -> list[FolderNode]:
    """The library folders with their subfolders (only those holding photos, and the folders
    between), counts rolled up; subfolders of an online folder that are gone from disk are
    marked missing."""
    roots = cat.roots()
    counts: dict[tuple[int, str], list[int]] = {}
    for root_id, folder, skipped, gone, n in cat.query(
        "SELECT root_id, folder, status = 'skipped', missing_since IS NOT NULL, COUNT(*) "
        "FROM photos GROUP BY 1, 2, 3, 4"
    ):
        # photos whose files are gone are not counted, but keep their folder in the tree
        entry = counts.setdefault((root_id, folder or ""), [0, 0])
        if not gone:
            entry[1 if skipped else 0] += n
    out = []
    for root in roots:
        top = FolderNode(root.id, "", root.path, online=root.online)
        nodes = {"": top}

        def node(rel: str, root_path: Path = root.path, root_id: int = root.id,
                 online: bool = root.online, nodes: dict[str, FolderNode] = nodes) -> FolderNode:
            found = nodes.get(rel)
            if found is None:
                parent = node(str(PurePosixPath(rel).parent) if "/" in rel else "")
                found = FolderNode(root_id, rel, root_path / PurePosixPath(rel), online=online)
                nodes[rel] = found
                parent.children.append(found)
            return found

        for (root_id, folder), (good, bad) in sorted(counts.items()):
            if root_id != root.id:
                continue
            folder = "" if folder in ("", ".") else folder
            here = node(folder)
            walk: FolderNode | None = here
            rel = folder
            while walk is not None:
                walk.total += good
                walk.skipped += bad
                if not rel:
                    break
                rel = str(PurePosixPath(rel).parent) if "/" in rel else ""
                walk = nodes[rel]
        for item in nodes.values():
            item.children.sort(key=lambda n: n.name.casefold())
            if check_disk and root.online and item.rel:
                item.missing = not os.path.isdir(item.path)
        out.append(top)
    return out


# -- files that could not be read -----------------------------------------------------------


@dataclass(frozen=True)
class Unreadable:
    id: int
    path: Path
    reason: str
    detail: str
    online: bool


def unreadable(cat: Catalog, limit: int = 10_000) -> list[Unreadable]:
    """Files the indexer skipped, with the reason it recorded, by folder then name."""
    rows = cat.query(
        "SELECT p.id, r.path, p.rel_path, COALESCE(p.reason, 'unreadable'), "
        "COALESCE(p.detail, ''), r.online FROM photos p JOIN roots r ON r.id = p.root_id "
        "WHERE p.status = 'skipped' ORDER BY r.path, p.rel_path LIMIT ?",
        (limit,),
    )
    return [Unreadable(pid, Path(root) / PurePosixPath(rel), reason, detail, bool(online))
            for pid, root, rel, reason, detail, online in rows]


def retry_unreadable(cat: Catalog, ids: Iterable[int] | None = None) -> int:
    """Put skipped files back in the indexing queue (all, or these); returns how many."""
    with cat.transaction():
        if ids is None:
            return cat.changes_of("UPDATE photos SET status = 'pending', reason = NULL, "
                                  "detail = NULL WHERE status = 'skipped'")
        n = 0
        for pid in ids:
            n += cat.changes_of("UPDATE photos SET status = 'pending', reason = NULL, "
                                "detail = NULL WHERE id = ? AND status = 'skipped'", (int(pid),))
        return n


def library_counts(cat: Catalog) -> dict[str, int]:
    """One set of counts for the sidebar, the page and the status bar: ``photos`` (readable,
    on reachable folders: what All photos shows), ``unreadable``, ``offline``, ``waiting``
    (readable but not yet searchable), ``failed`` (photos or steps a stage failed on, tried
    again later: :mod:`photoorg.core.store.failures`)."""
    from photoorg.core.store import failures

    target = cat.target_model()
    counts = {"photos": 0, "unreadable": 0, "offline": 0, "waiting": 0,
              "failed": sum(failures.counts(cat).values())}
    for online, status, current, n in cat.query(
        "SELECT r.online, p.status, p.model_id IS ?, COUNT(*) FROM photos p "
        "JOIN roots r ON r.id = p.root_id WHERE p.missing_since IS NULL GROUP BY 1, 2, 3",
        (target.id if target else None,),
    ):
        if status == "skipped":
            counts["unreadable"] += n
            continue
        counts["photos"] += n
        if not online:
            counts["offline"] += n
        elif status != "indexed" or not current:
            counts["waiting"] += n
    return counts


def change_marker(cat: Catalog) -> int:
    """A number that changes whenever another connection (the indexer, the CLI) commits to
    the catalog: polled, it lets the window follow changes made elsewhere."""
    return int(cat.scalar("PRAGMA data_version"))


# -- how a photo is shown (a photoorg setting; the file is never touched) -----------------


def display_rotation(cat: Catalog, photo_id: int) -> int:
    """Degrees clockwise the viewer turns this photo (0, 90, 180, 270)."""
    return int(cat.scalar("SELECT rotation FROM photo_view WHERE photo_id = ?", (photo_id,))
               or 0)


def set_display_rotation(cat: Catalog, photo_id: int, degrees: int) -> int:
    degrees = int(degrees) % 360 // 90 * 90
    with cat.transaction():
        if degrees:
            cat.execute("INSERT INTO photo_view(photo_id, rotation) VALUES(?, ?) "
                        "ON CONFLICT(photo_id) DO UPDATE SET rotation = excluded.rotation",
                        (photo_id, degrees))
        else:
            cat.execute("DELETE FROM photo_view WHERE photo_id = ?", (photo_id,))
    return degrees


@dataclass(frozen=True)
class ViewFacts:
    """What the viewer needs beyond the photo's metadata."""

    rotation: int  # degrees clockwise, a photoorg setting
    file_time: float  # shown as the date when the photo has none of its own
    online: bool  # its library folder can be reached


def view_facts(cat: Catalog, photo_id: int) -> ViewFacts:
    row = cat.execute(
        "SELECT COALESCE(v.rotation, 0), p.mtime, r.online FROM photos p "
        "JOIN roots r ON r.id = p.root_id LEFT JOIN photo_view v ON v.photo_id = p.id "
        "WHERE p.id = ?", (photo_id,)).fetchone()
    return ViewFacts(0, 0.0, True) if row is None else ViewFacts(int(row[0]), float(row[1]),
                                                                 bool(row[2]))


def rotations(cat: Catalog) -> dict[int, int]:
    """Every photo the user turned on screen: photo id -> degrees clockwise (a small table)."""
    return {int(pid): int(deg) for pid, deg in cat.query(
        "SELECT photo_id, rotation FROM photo_view WHERE rotation != 0")}
