"""Catalog reads the GUI needs, shaped for its models. Qt-free; run in the query worker.

Core modules are imported at the top, never lazily inside a worker: an import running on a
worker thread holds the GIL while it loads (or compiles) and would stall the window.

One fast query per list: 100k photos come back as four flat Python lists (ids, paths,
thumbnail keys, optional scores) built off the GUI thread, so the grid only swaps lists.
"""

from __future__ import annotations

import datetime as _dt
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from photoorg.core.groups import clusters as core_clusters
from photoorg.core.groups import stacks as core_stacks
from photoorg.core.groups import suggest
from photoorg.core.media.thumbcache import face_key, photo_key, rotated_key
from photoorg.core.search import browse, textindex
from photoorg.core.store.catalog import Catalog
from photoorg.core.store.missing import MISSING_IDS, VISIBLE
from photoorg.core.store.photo_meta import photo_meta, photos_rated


@dataclass
class PhotoList:
    """Rows of the grid, in display order."""

    ids: list[int] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)
    scores: list[float] | None = None
    title: str = ""
    matched: list[tuple[str, ...]] | None = None  # search: why each photo matched (chips)
    total: int | None = None  # search: every result of the query, not only these rows
    weaker_hidden: bool = False  # search: a relevance cut-off left weaker matches out
    sections: list[browse.Section] = field(default_factory=list)  # timeline headers
    # a saved-search album: its photos come from the search (the indexing service, which
    # holds the model), not from the catalog alone
    saved_search: str | None = None
    # badges, sparse by photo id: the stack a photo is in, a video's length in seconds
    stacks: dict[int, core_stacks.Badge] = field(default_factory=dict)
    durations: dict[int, float] = field(default_factory=dict)
    times: dict[int, float] = field(default_factory=dict)  # search: a video's best second
    stack_id: int | None = None  # the page shows this stack's members (expanded)

    def __len__(self) -> int:
        return len(self.ids)


@dataclass(frozen=True)
class Source:
    """What the grid shows: ``kind`` is all | folder | search | similar | cluster | tag |
    album; ``arg`` the folder's root id, the query text, the photo id, ..."""

    kind: str = "all"
    arg: Any = None
    label: str = ""


_SELECT = (
    "SELECT p.id, p.root_id, p.rel_path, p.content_hash, p.size, p.mtime FROM photos p "
    "JOIN roots r ON r.id = p.root_id "
)


def _rows_to_list(cat: Catalog, rows: list[tuple], title: str = "") -> PhotoList:
    roots = {r.id: str(r.path) for r in cat.roots()}
    out = PhotoList(title=title)
    ids, paths, keys = out.ids, out.paths, out.keys
    native = os.sep != "/"
    turned = browse.rotations(cat)  # photos turned in the viewer: their thumbnails too
    for pid, root_id, rel, chash, size, mtime in rows:
        ids.append(pid)
        paths.append(roots[root_id] + os.sep + (rel.replace("/", os.sep) if native else rel))
        key = photo_key(pid, chash, size, mtime)
        keys.append(rotated_key(key, turned[pid]) if pid in turned else key)
    _badges(cat, out)
    return out


def _badges(cat: Catalog, out: PhotoList) -> None:
    """Stack counts and video durations of the rows (few of either: sparse dicts)."""
    shown = set(out.ids)
    out.stacks = {pid: b for pid, b in core_stacks.badges(cat).items() if pid in shown}
    out.durations = {pid: float(d) for pid, d in cat.query(
        "SELECT id, duration FROM photos WHERE duration IS NOT NULL") if pid in shown}


def stack_photos(cat: Catalog, stack_id: int) -> PhotoList:
    """One stack expanded: every member, the cover first."""
    found = next((s for s in core_stacks.stacks(cat) if s.id == stack_id), None)
    if found is None:
        return PhotoList(title="Stack")
    kind = {"raw_jpeg": "RAW+JPEG", "live": "Live Photo", "burst": "Burst"}.get(
        found.kind, found.kind)
    out = photos_by_ids(cat, list(found.member_ids), title=f"{kind} · {len(found.member_ids)}")
    out.stack_id = stack_id
    return out


def _timeline_list(cat: Catalog, timeline: browse.Timeline, title: str) -> PhotoList:
    out = _rows_to_list(cat, timeline.rows, title)
    out.sections = timeline.sections
    return out


def all_photos(cat: Catalog, sort: str = "taken") -> PhotoList:
    return _timeline_list(cat, browse.timeline(cat, sort), "All photos")


def folder_photos(cat: Catalog, root_id: int, sort: str = "taken", sub: str = "") -> PhotoList:
    root = cat.root(root_id)
    title = PurePosixPath(sub).name if sub else (root.path.name if root else "Folder")
    return _timeline_list(cat, browse.timeline(cat, sort, root_id, sub), title)


def photos_by_ids(cat: Catalog, ids: list[int], scores: list[float] | None = None,
                  title: str = "", matched: list[tuple[str, ...]] | None = None,
                  times: list[float | None] | None = None) -> PhotoList:
    """Rows for ``ids`` in the given order (ids no longer in the catalog are left out)."""
    found: dict[int, tuple] = {}
    for row in cat.query_in(_SELECT + f"WHERE p.{VISIBLE} AND p.id IN {{ids}}", ids):
        found[row[0]] = row
    keep = [i for i, pid in enumerate(ids) if pid in found]
    out = _rows_to_list(cat, [found[ids[i]] for i in keep], title)
    if scores is not None:
        out.scores = [scores[i] for i in keep]
    if matched is not None:
        out.matched = [matched[i] for i in keep]
    if times:
        out.times = {pid: float(t) for pid, t in zip(ids, times, strict=False)
                     if t is not None and pid in found}
    return out


def text_photo_count(cat: Catalog) -> int:
    return int(cat.scalar("SELECT COUNT(*) FROM photo_text WHERE text != ''") or 0)


def photos_with_text(cat: Catalog, sort: str = "taken") -> PhotoList:
    """The "has text" view: photos with words read in them (signs, documents, ...)."""
    ids = [pid for (pid,) in cat.query(
        "SELECT p.id FROM photos p WHERE p.status != 'skipped' AND "
        + textindex.has_text_sql("p.id"))]
    return _by_date(cat, ids, "Photos with text", sort)


def _by_date(cat: Catalog, ids: Iterable[int], title: str, sort: str = "taken") -> PhotoList:
    return _timeline_list(cat, browse.timeline_of(cat, ids, sort), title)


def tag_photos(cat: Catalog, tag: str, sort: str = "taken") -> PhotoList:
    """Photos carrying a tag: user tags and the tags of named clusters (``People|Alice``)."""

    return _by_date(cat, core_clusters.photos_with_tag(cat, tag), tag.rsplit("|", 1)[-1], sort)


def album_photos(cat: Catalog, name: str, sort: str = "taken") -> PhotoList:
    album = core_clusters.get_album(cat, name)
    if album is not None and album.is_search:
        return PhotoList(title=album.name, saved_search=album.name)
    return _by_date(cat, core_clusters.album_photos(cat, name), name, sort)


def cluster_photos(cat: Catalog, cluster_id: int, sort: str = "taken") -> PhotoList:
    """Photos of a cluster (its faces' photos and its photos; rejected ones left out)."""

    info = core_clusters.get_cluster(cat, cluster_id)
    if info is None:
        return PhotoList(title="Unnamed")
    title = info.display_name or info.auto_name or "Unnamed"
    return _by_date(cat, info.photo_ids, title, sort)


@dataclass
class FolderStatus:
    root_id: int
    path: Path
    online: bool
    watch_mode: str
    total: int
    indexed: int
    pending: int
    skipped: int


def folder_statuses(cat: Catalog) -> list[FolderStatus]:
    target = cat.target_model()
    target_id = target.id if target else None
    counts: dict[int, dict[str, int]] = {}
    for root_id, status, current, n in cat.query(
        f"SELECT root_id, status, model_id IS ?, COUNT(*) FROM photos WHERE {VISIBLE} "
        "GROUP BY 1, 2, 3",
        (target_id,),
    ):
        c = counts.setdefault(root_id, {"indexed": 0, "pending": 0, "skipped": 0})
        if status == "indexed" and not current:
            status = "pending"
        c[status] = c.get(status, 0) + n
    out = []
    for root in cat.roots():
        c = counts.get(root.id, {"indexed": 0, "pending": 0, "skipped": 0})
        out.append(FolderStatus(root.id, root.path, root.online, root.watch_mode,
                                sum(c.values()), c["indexed"], c["pending"], c["skipped"]))
    return out


@dataclass
class PhotoDetails:
    """What the viewer shows beside a photo."""

    id: int
    path: Path
    width: int | None = None
    height: int | None = None
    size: int = 0
    taken_at: float | None = None
    camera: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    place: str | None = None
    people: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    status: str = ""
    reason: str | None = None
    text: str = ""  # words read in the photo (the OCR stage)
    title: str | None = None  # what other tools wrote, or the user in photoorg
    caption: str | None = None
    rating: int | None = None
    label: str | None = None
    view: browse.ViewFacts | None = None  # rotation, file time, folder reachable

    @property
    def date_text(self) -> str:
        if self.taken_at is None:
            if self.view is not None and self.view.file_time:
                when = _dt.datetime.fromtimestamp(self.view.file_time)
                return when.strftime("%d %b %Y, %H:%M") + " (file date: none in the photo)"
            return ""
        return _dt.datetime.fromtimestamp(self.taken_at).strftime("%d %b %Y, %H:%M")


def photo_details(cat: Catalog, photo_id: int) -> PhotoDetails | None:
    row = cat.execute(
        "SELECT p.id, r.path, p.rel_path, p.width, p.height, p.size, p.taken_at, p.camera, "
        "p.latitude, p.longitude, p.status, p.reason FROM photos p "
        "JOIN roots r ON r.id = p.root_id WHERE p.id = ?",
        (photo_id,),
    ).fetchone()
    if row is None:
        return None
    details = PhotoDetails(
        id=row[0], path=Path(row[1]) / PurePosixPath(row[2]), width=row[3], height=row[4],
        size=row[5], taken_at=row[6], camera=row[7], latitude=row[8], longitude=row[9],
        status=row[10], reason=row[11], view=browse.view_facts(cat, photo_id),
    )
    details.people = [
        name for (name,) in cat.query(
            "SELECT DISTINCT COALESCE(c.name, c.auto_name, 'Unnamed person') FROM faces f "
            "JOIN clusters c ON c.id = f.cluster_id WHERE f.photo_id = ? AND c.hidden = 0 "
            "AND c.kind IN ('people', 'pets')",
            (photo_id,),
        )
    ]
    details.place = cat.scalar(
        "SELECT COALESCE(c.name, c.auto_name) FROM cluster_photos cp "
        "JOIN clusters c ON c.id = cp.cluster_id WHERE cp.photo_id = ? AND c.kind = 'places' "
        "AND cp.source != 'rejected' LIMIT 1",
        (photo_id,),
    )

    details.tags = core_clusters.tags_for_photo(cat, photo_id)
    details.text = textindex.photo_text(cat, photo_id)
    meta = photo_meta(cat, photo_id)
    details.title, details.caption = meta.title, meta.caption
    details.rating, details.label = meta.rating, meta.label
    return details


def rated_photos(cat: Catalog, min_rating: int, sort: str = "taken") -> PhotoList:
    """Photos rated at least ``min_rating`` stars (by other tools or in photoorg)."""
    return _by_date(cat, photos_rated(cat, min_rating), stars_label(min_rating), sort)


def stars_label(min_rating: int) -> str:
    return "★" * min_rating + ("" if min_rating >= 5 else " and up")


def tags_with_counts(cat: Catalog) -> list[tuple[str, int]]:

    return core_clusters.all_tags(cat)


def album_counts(cat: Catalog) -> dict[str, int]:
    """Photos each album's page shows (saved-search albums are left out: their photos
    come from the search model)."""
    return {album.name: len(album_photos(cat, album.name))
            for album in core_clusters.list_albums(cat) if not album.is_search}


def albums(cat: Catalog) -> list[str]:

    return [album.name for album in core_clusters.list_albums(cat)]


CLUSTER_KINDS = ("people", "pets", "places", "scenes")
FACE_KINDS = ("people", "pets")


@dataclass
class ClusterInfo:
    """One card on the clusters page."""

    id: int
    kind: str
    name: str | None
    auto_name: str | None
    hidden: bool
    count: int
    cover_key: str = ""
    cover_path: str = ""
    cover_crop: tuple[float, float, float, float] | None = None
    confirmed: int = 0
    suggestion: str | None = None  # a name the model suggests (the user accepts, or not)
    suggestion_confidence: float = 0.0

    @property
    def title(self) -> str:
        return self.name or self.auto_name or "Unnamed"


def cluster_counts(cat: Catalog) -> dict[str, int]:
    """Visible clusters with at least one photo, per kind."""
    counts = dict.fromkeys(CLUSTER_KINDS, 0)
    for kind, n in cat.query(
        "SELECT kind, COUNT(*) FROM clusters WHERE hidden = 0 AND id IN ("
        f"SELECT cluster_id FROM faces WHERE cluster_id IS NOT NULL AND photo_id NOT IN "
        f"({MISSING_IDS}) UNION SELECT cluster_id FROM cluster_photos WHERE source != 'rejected' "
        f"AND photo_id NOT IN ({MISSING_IDS})) GROUP BY kind"
    ):
        counts[kind] = n
    return counts


def clusters(cat: Catalog, kind: str, include_hidden: bool = False) -> list[ClusterInfo]:
    """Cards of one kind: named first, then by size; each with a cover (the sharpest
    confirmed face for people and pets, else the first photo)."""

    listed = [c for c in core_clusters.list_clusters(cat, kind, include_hidden=include_hidden)
              if c.size]
    found = suggest.suggest_names(cat, listed)  # stored prompt vectors: no model needed
    out = []
    for c in listed:
        hint = found.get(c.id)
        out.append(ClusterInfo(c.id, c.kind, c.display_name, c.auto_name, c.hidden, c.size,
                               suggestion=hint.name if hint else None,
                               suggestion_confidence=hint.confidence if hint else 0.0))
    out.sort(key=lambda c: (c.name is None, -c.count, c.title.lower()))
    roots = {r.id: str(r.path) for r in cat.roots()}
    for info in out:
        _cover(cat, info, roots)
    return out


def _cover(cat: Catalog, info: ClusterInfo, roots: dict[int, str]) -> None:
    """Every card gets a cover: the best face for people and pets, else (places, scenes,
    pets found without a face box) the first photo."""
    if info.kind in FACE_KINDS:
        row = cat.execute(
            "SELECT f.id, f.x, f.y, f.w, f.h, p.id, p.root_id, p.rel_path, p.content_hash, "
            "p.size, p.mtime FROM faces f JOIN photos p ON p.id = f.photo_id "
            f"WHERE f.cluster_id = ? AND p.{VISIBLE} ORDER BY f.source = 'confirmed' DESC, "
            "COALESCE(f.sharpness, 0) * f.w DESC LIMIT 1",
            (info.id,),
        ).fetchone()
        if row is not None:
            face_id, x, y, w, h, pid, root_id, rel, chash, size, mtime = row
            info.cover_key = face_key(face_id, photo_key(pid, chash, size, mtime))
            info.cover_crop = (x, y, w, h)
            info.cover_path = str(Path(roots[root_id]) / PurePosixPath(rel))
            return
    row = cat.execute(
        "SELECT p.id, p.root_id, p.rel_path, p.content_hash, p.size, p.mtime "
        "FROM cluster_photos cp JOIN photos p ON p.id = cp.photo_id "
        f"WHERE cp.cluster_id = ? AND cp.source != 'rejected' AND p.{VISIBLE} "
        "ORDER BY cp.source = 'confirmed' DESC, p.id LIMIT 1",
        (info.id,),
    ).fetchone()
    if row is None:
        return
    pid, root_id, rel, chash, size, mtime = row
    info.cover_key = photo_key(pid, chash, size, mtime)
    info.cover_path = str(Path(roots[root_id]) / PurePosixPath(rel))
