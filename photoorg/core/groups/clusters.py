"""Named clusters (people, pets, places, scenes), tags and albums.

Membership
    *people*: faces with ``faces.cluster_id`` (written by :mod:`photoorg.core.people.faces`);
    *pets*, *places*, *scenes*: ``cluster_photos`` rows, ``source`` 'auto' (re-clustering
    may change them), 'confirmed' (the user put the photo there: it stays) or 'rejected'
    (the user took it out: it never rejoins that cluster). A cluster's photos are the union
    of both tables, so every operation here works for every kind.

Tags: one place for each fact
    User tags are rows (``photo_tags``; source 'user', or 'xmp' when imported from a
    sidecar). Cluster tags are *derived* at query time, never stored: a photo of a cluster
    named "Alice" has the tag ``People|Alice`` because it is a member and the cluster has that
    name. Naming, renaming, merging, re-clustering, a face joining a person, a photo
    joining a place: the tags follow with no sync step that could be forgotten. Tag names
    are hierarchical (digiKam/Lightroom ``lr:hierarchicalSubject``): ``People|Alice``,
    ``Pets|Rex``, ``Places|Paris``, ``Scenes|beach``; user tags are free-form. A tag query
    matches case-insensitively a tag, its descendants (``People`` matches ``People|Alice``)
    and a trailing path (``Alice`` matches ``People|Alice``). Places are tagged from their
    automatic name (the city) until the user renames them.

    Anything that filters by tag must therefore use :func:`photos_with_tag` or
    :func:`tag_filter_sql`, not ``photo_tags`` alone.

Re-clustering (pets, scenes here; places in :mod:`photoorg.core.groups.places`; one entry point for
all four kinds in :mod:`photoorg.core.groups.grouping`, which the pipeline calls) goes through
:func:`reconcile`: new groups are matched to existing clusters by member overlap, then by
centroid, so ids, names, hidden flags and user corrections survive; a user-known cluster
(named, hidden, or with confirmed/rejected photos) is never dropped.

Albums are saved tag sets (resolved here) or saved searches (stored here, resolved by the
search module through a callable).
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

import numpy as np

from photoorg.core.store import journal
from photoorg.core.store.catalog import Catalog, shown_as, vector_blob
from photoorg.core.store.missing import MISSING_IDS, VISIBLE

log = logging.getLogger(__name__)

KINDS: tuple[str, ...] = ("people", "pets", "places", "scenes")
TAG_ROOTS: dict[str, str] = {
    "people": "People",
    "pets": "Pets",
    "places": "Places",
    "scenes": "Scenes",
}
"""The top of each kind's tag hierarchy."""

SOURCE_AUTO = "auto"
SOURCE_CONFIRMED = "confirmed"
SOURCE_REJECTED = "rejected"

TextEncoder = Callable[[Sequence[str]], np.ndarray]
"""``encode_texts``: a list of prompts -> L2-normalised float32 array [n, dim]."""


class ClusterError(ValueError):
    """A cluster operation that cannot be done (unknown id, kinds differ, ...)."""


class AlbumError(ValueError):
    """An album operation that cannot be done."""


# -- clusters: reading ------------------------------------------------------------------


@dataclass(frozen=True)
class ClusterInfo:
    """One cluster as shown to the user."""

    id: int
    kind: str
    name: str | None  # the user's name
    auto_name: str | None  # a suggestion (places: "Paris, France"; pets: the species)
    hidden: bool
    photo_ids: tuple[int, ...]
    latitude: float | None = None
    longitude: float | None = None

    @property
    def size(self) -> int:
        return len(self.photo_ids)

    @property
    def display_name(self) -> str | None:
        """The user's name; for places the automatic name when the user gave none."""
        if self.name:
            return self.name
        return self.auto_name if self.kind == "places" else None

    @property
    def named_by(self) -> str | None:
        """'user', 'auto' (places named from GPS), or None (unnamed)."""
        if self.name:
            return "user"
        return "auto" if self.kind == "places" and self.auto_name else None

    @property
    def tag(self) -> str | None:
        """The tag its photos carry, e.g. ``People|Alice``; None while unnamed."""
        label = cluster_label(self.kind, self.name, self.auto_name)
        return None if label is None else f"{TAG_ROOTS[self.kind]}|{label}"


def cluster_label(kind: str, name: str | None, auto_name: str | None) -> str | None:
    """The tag label of a cluster: its name; for places the city of the automatic name."""
    if name:
        return name
    if kind == "places" and auto_name:
        return auto_name.rsplit(", ", 1)[0]
    return None


# members whose file is missing (core.missing) are left out, and come back with the file
# a stack (RAW+JPEG pair, burst) is one member, shown by its cover
_MEMBERS_SQL = (
    "SELECT cp.cluster_id, " + shown_as("cp.photo_id") + " FROM cluster_photos cp "
    "WHERE cp.source != 'rejected' AND cp.cluster_id IN ({ids}) "
    "AND cp.photo_id NOT IN (" + MISSING_IDS + ") "
    "UNION SELECT f.cluster_id, " + shown_as("f.photo_id") + " FROM faces f "
    "WHERE f.cluster_id IN ({ids}) AND f.photo_id NOT IN (" + MISSING_IDS + ")"
)


def _members(cat: Catalog, cluster_ids: Sequence[int]) -> dict[int, list[int]]:
    out: dict[int, list[int]] = {int(c): [] for c in cluster_ids}
    ids = list(out)
    for start in range(0, len(ids), 400):
        chunk = ids[start : start + 400]
        marks = ",".join("?" * len(chunk))
        for cid, pid in cat.query(_MEMBERS_SQL.format(ids=marks), [*chunk, *chunk]):
            out[cid].append(pid)
    for members in out.values():
        members.sort()
    return out


def _infos(cat: Catalog, where: str, params: Sequence[Any]) -> list[ClusterInfo]:
    rows = cat.query(
        "SELECT id, kind, name, auto_name, hidden, latitude, longitude FROM clusters "
        f"WHERE {where}",
        params,
    )
    members = _members(cat, [r[0] for r in rows])
    return [
        ClusterInfo(cid, kind, name, auto, bool(hidden), tuple(members[cid]), lat, lon)
        for cid, kind, name, auto, hidden, lat, lon in rows
    ]


def list_clusters(cat: Catalog, kind: str, include_hidden: bool = False) -> list[ClusterInfo]:
    """Clusters of a kind, biggest first (hidden ones only if asked)."""
    _check_kind(kind)
    where = "kind = ?" + ("" if include_hidden else " AND hidden = 0")
    infos = _infos(cat, where, (kind,))
    return sorted(infos, key=lambda c: (-c.size, c.id))


def get_cluster(cat: Catalog, cluster_id: int) -> ClusterInfo | None:
    found = _infos(cat, "id = ?", (int(cluster_id),))
    return found[0] if found else None


def video_moments(cat: Catalog, cluster_ids: Sequence[int]) -> dict[int, dict[int, float]]:
    """``{person id: {video id: second}}``: where each person was seen in a video (the
    keyframe of the face kept for that video), so their page opens the clip there."""
    out: dict[int, dict[int, float]] = {int(c): {} for c in cluster_ids}
    ids = list(out)
    for start in range(0, len(ids), 400):
        chunk = ids[start : start + 400]
        for cid, pid, t in cat.query(
            "SELECT cluster_id, photo_id, MIN(t) FROM faces WHERE t IS NOT NULL "
            f"AND cluster_id IN ({_marks(chunk)}) GROUP BY cluster_id, photo_id", chunk):
            out[cid][pid] = float(t)
    return out


def _require(cat: Catalog, cluster_id: int) -> ClusterInfo:
    info = get_cluster(cat, cluster_id)
    if info is None:
        raise ClusterError(f"no cluster with id {cluster_id}")
    return info


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise ClusterError(f"unknown cluster kind {kind!r}; known: {', '.join(KINDS)}")


# -- clusters: user operations ----------------------------------------------------------


def clean_name(name: str | None) -> str | None:
    """Trim a name (and each ``|`` level of it); empty means no name."""
    if name is None:
        return None
    parts = [part.strip() for part in name.split("|")]
    parts = [p for p in parts if p]
    return "|".join(parts) or None


def create_cluster(
    cat: Catalog,
    kind: str,
    name: str | None = None,
    *,
    auto_name: str | None = None,
    centroid: np.ndarray | None = None,
    latitude: float | None = None,
    longitude: float | None = None,
) -> int:
    """A new empty cluster; returns its id."""
    _check_kind(kind)
    now = time.time()
    blob = None if centroid is None else vector_blob(centroid)
    return cat.execute(
        "INSERT INTO clusters(kind, name, auto_name, centroid, latitude, longitude, "
        "created_at, updated_at) VALUES(?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        (kind, clean_name(name), auto_name, blob, latitude, longitude, now, now),
    ).fetchone()[0]


def name_cluster(cat: Catalog, cluster_id: int, name: str | None) -> ClusterInfo:
    """Name (or with None/"" un-name) a cluster. Its photos, now and later, carry the tag."""
    old = _require(cat, cluster_id)
    new = clean_name(name)
    what = _what(old)
    summary = (f"Rename {what} to “{new}”" if old.name and new else
               f"Name {what} “{new}”" if new else f"Remove the name of {what}")
    with journal.decision(cat, "cluster.name", summary, _cluster_scope(cluster_id)):
        cat.execute(
            "UPDATE clusters SET name = ?, updated_at = ? WHERE id = ?",
            (new, time.time(), int(cluster_id)),
        )
    return _require(cat, cluster_id)


def _what(info: ClusterInfo) -> str:
    """How a summary refers to a cluster: “Alice”, or the unnamed person."""
    label = info.display_name
    noun = {"people": "person", "pets": "pet", "places": "place", "scenes": "scene"}[info.kind]
    if label:
        return f"“{label}”"
    # not the internal id: the user never sees it; the size tells the groups apart
    n = info.size
    return f"an unnamed {noun} ({n} photo{'s' if n != 1 else ''})"


def _photo_name(cat: Catalog, photo_id: int) -> str:
    """How a summary names a photo: its file name (the user never sees photo ids)."""
    rel = cat.scalar("SELECT rel_path FROM photos WHERE id = ?", (int(photo_id),))
    return PurePosixPath(rel).name if rel else f"a photo ({photo_id})"


def _cluster_scope(cluster_id: int) -> list[journal.Scope]:
    return [("clusters", "id = ?", (int(cluster_id),))]


def _members_scope(ids: Sequence[int]) -> list[journal.Scope]:
    """Everything a merge or deletion of these clusters may change."""
    marks = _marks(ids)
    ids = [int(i) for i in ids]
    return [
        ("clusters", f"id IN ({marks})", ids),
        ("faces", f"cluster_id IN ({marks})", ids),
        ("cluster_photos", f"cluster_id IN ({marks})", ids),
        ("face_rejections", f"cluster_id IN ({marks})", ids),
    ]


def clusters_named(cat: Catalog, kind: str, name: str) -> list[int]:
    """Ids of clusters of ``kind`` with this user name (case-insensitive)."""
    wanted = (clean_name(name) or "").casefold()
    rows = cat.query("SELECT id, name FROM clusters WHERE kind = ? AND name IS NOT NULL", (kind,))
    return sorted(cid for cid, n in rows if n.casefold() == wanted)


def cluster_for_name(cat: Catalog, kind: str, name: str, create: bool = True) -> int | None:
    """The cluster of ``kind`` named ``name`` (the oldest if several), created if asked."""
    found = clusters_named(cat, kind, name)
    if found:
        return found[0]
    return create_cluster(cat, kind, name) if create else None


def hide_cluster(cat: Catalog, cluster_id: int, hidden: bool = True) -> None:
    """Hide a cluster from the lists (its tags stay; re-clustering keeps it hidden)."""
    info = _require(cat, cluster_id)
    summary = f"{'Hide' if hidden else 'Show'} {_what(info)}"
    with journal.decision(cat, "cluster.hide", summary, _cluster_scope(cluster_id)):
        cat.execute(
            "UPDATE clusters SET hidden = ?, updated_at = ? WHERE id = ?",
            (int(hidden), time.time(), int(cluster_id)),
        )


def unhide_cluster(cat: Catalog, cluster_id: int) -> None:
    hide_cluster(cat, cluster_id, hidden=False)


unhide = unhide_cluster


def merge_clusters(cat: Catalog, keep_id: int, other_id: int) -> ClusterInfo:
    """Move every member of ``other_id`` into ``keep_id`` and delete ``other_id``.

    keep's name wins; if keep is unnamed it takes other's. Rejections are carried over.
    The moved photos (faces) become 'confirmed' in keep: a merge is the user's word that
    they belong together, so no later re-clustering splits them apart again.
    """
    if int(keep_id) == int(other_id):
        raise ClusterError("cannot merge a cluster with itself")
    keep, other = _require(cat, keep_id), _require(cat, other_id)
    if keep.kind != other.kind:
        raise ClusterError(f"cannot merge a {other.kind} cluster into a {keep.kind} cluster")
    rank = {SOURCE_AUTO: 0, SOURCE_REJECTED: 1, SOURCE_CONFIRMED: 2}
    summary = f"Merge {_what(other)} into {_what(keep)}"
    with journal.decision(cat, "cluster.merge", summary, _members_scope([keep.id, other.id])):
        mine = dict(
            cat.query("SELECT photo_id, source FROM cluster_photos WHERE cluster_id = ?",
                      (keep.id,))
        )
        for pid, source in cat.query(
            "SELECT photo_id, source FROM cluster_photos WHERE cluster_id = ?", (other.id,)
        ):
            source = SOURCE_CONFIRMED if source == SOURCE_AUTO else source
            if pid in mine and rank[mine[pid]] >= rank[source]:
                continue
            cat.execute(
                "INSERT INTO cluster_photos(cluster_id, photo_id, source) VALUES(?, ?, ?) "
                "ON CONFLICT(cluster_id, photo_id) DO UPDATE SET source = excluded.source",
                (keep.id, pid, source),
            )
        # people: faces move; a face rejected by other is now rejected by keep (unless
        # the user confirmed it in keep), and automatic faces keep rejects leave it
        cat.execute(
            "INSERT OR IGNORE INTO face_rejections(face_id, cluster_id) "
            "SELECT r.face_id, ? FROM face_rejections r JOIN faces f ON f.id = r.face_id "
            "WHERE r.cluster_id = ? AND NOT (f.cluster_id IS ? AND f.source != 'auto')",
            (keep.id, other.id, keep.id),
        )
        cat.execute(
            "UPDATE faces SET cluster_id = ?, source = CASE source WHEN 'auto' THEN "
            "'confirmed' ELSE source END WHERE cluster_id = ?",
            (keep.id, other.id),
        )
        cat.execute(
            "UPDATE faces SET cluster_id = NULL WHERE cluster_id = ? AND source = 'auto' AND "
            "id IN (SELECT face_id FROM face_rejections WHERE cluster_id = ?)",
            (keep.id, keep.id),
        )
        name = keep.name or other.name
        centroid = _merged_centroid(cat, keep, other)
        lat, lon = _merged_position(keep, other)
        cat.execute(
            "UPDATE clusters SET name = ?, centroid = COALESCE(?, centroid), "
            "latitude = ?, longitude = ?, updated_at = ? WHERE id = ?",
            (name, centroid, lat, lon, time.time(), keep.id),
        )
        cat.execute("DELETE FROM clusters WHERE id = ?", (other.id,))
    return _require(cat, keep.id)


def _merged_centroid(cat: Catalog, keep: ClusterInfo, other: ClusterInfo) -> bytes | None:
    a, b = (
        cat.scalar("SELECT centroid FROM clusters WHERE id = ?", (c.id,)) for c in (keep, other)
    )
    if a is None or b is None or len(a) != len(b):
        return None
    va, vb = np.frombuffer(a, np.float32), np.frombuffer(b, np.float32)
    mean = va * max(keep.size, 1) + vb * max(other.size, 1)
    norm = float(np.linalg.norm(mean))
    if keep.kind == "people" or norm == 0:
        total = max(keep.size, 1) + max(other.size, 1)
        return vector_blob(mean / total)
    return vector_blob(mean / norm)


def _merged_position(keep: ClusterInfo, other: ClusterInfo) -> tuple[float | None, float | None]:
    if keep.latitude is None or other.latitude is None:
        return (keep.latitude, keep.longitude) if keep.latitude is not None else (
            other.latitude, other.longitude)
    wa, wb = max(keep.size, 1), max(other.size, 1)
    return mean_position(
        [(keep.latitude, keep.longitude), (other.latitude, other.longitude)], [wa, wb]
    )


def mean_position(
    points: Sequence[tuple[float, float]], weights: Sequence[float] | None = None
) -> tuple[float, float]:
    """The (weighted) centre of lat/lon points on the sphere (safe across the date line)."""
    pts = np.radians(np.asarray(points, dtype=np.float64))
    w = np.ones(len(pts)) if weights is None else np.asarray(weights, dtype=np.float64)
    xyz = np.stack(
        [np.cos(pts[:, 0]) * np.cos(pts[:, 1]), np.cos(pts[:, 0]) * np.sin(pts[:, 1]),
         np.sin(pts[:, 0])],
        axis=1,
    )
    x, y, z = (xyz * w[:, None]).sum(0)
    return float(np.degrees(np.arctan2(z, np.hypot(x, y)))), float(np.degrees(np.arctan2(y, x)))


def remove_photo_from_cluster(
    cat: Catalog, cluster_id: int, photo_id: int, *, into: int | None = None
) -> int | None:
    """Take a photo out of a cluster for good: it never rejoins that cluster.

    For people, the photo's faces in that person are rejected for it and go at once to
    the person ``into``, or to a new unnamed person, so they stay in sight (re-clustering
    may later find them a better place, never this one). Returns that person's id.
    """
    info = _require(cat, cluster_id)
    pid = int(photo_id)
    # a stack is one photo here: its RAW's face leaves with its JPEG's
    pids = _stack_of(cat, pid)
    marks = _marks(pids)
    newest = cat.scalar("SELECT COALESCE(MAX(id), 0) FROM clusters")
    scopes: list[journal.Scope] = [
        ("clusters", "id = ? OR id > ?", (info.id, newest)),
        ("faces", f"photo_id IN ({marks})", pids),
        ("cluster_photos", "cluster_id = ? AND photo_id = ?", (info.id, pid)),
        ("face_rejections", f"face_id IN (SELECT id FROM faces WHERE photo_id IN ({marks}))",
         pids),
    ]
    summary = f"Not {_what(info)}: {_photo_name(cat, pid)}"
    target = into
    with journal.decision(cat, "cluster.reject", summary, scopes):
        if info.kind == "people":
            faces = cat.query(
                f"SELECT id, descriptor FROM faces WHERE photo_id IN ({marks}) "
                "AND cluster_id = ?", (*pids, info.id),
            )
            if faces and target is None:
                mean = np.mean([np.frombuffer(d, np.float32) for _, d in faces], axis=0)
                target = create_cluster(cat, "people", centroid=mean)
            for face_id, _ in faces:
                cat.execute(
                    "INSERT OR IGNORE INTO face_rejections(face_id, cluster_id) VALUES(?, ?)",
                    (face_id, info.id),
                )
                cat.execute(
                    "UPDATE faces SET cluster_id = ?, source = 'auto' WHERE id = ?",
                    (target, face_id),
                )
        cat.execute(
            "INSERT INTO cluster_photos(cluster_id, photo_id, source) VALUES(?, ?, 'rejected') "
            "ON CONFLICT(cluster_id, photo_id) DO UPDATE SET source = 'rejected'",
            (info.id, pid),
        )
        cat.execute("UPDATE clusters SET updated_at = ? WHERE id = ?", (time.time(), info.id))
    return target if info.kind == "people" else None


def _stack_of(cat: Catalog, photo_id: int) -> list[int]:
    """The photo and, while it is in a stacked stack, the stack's other members."""
    rows = cat.query(
        "SELECT o.photo_id FROM stack_members m JOIN stacks s ON s.id = m.stack_id "
        "AND s.state = 'stacked' JOIN stack_members o ON o.stack_id = s.id "
        "WHERE m.photo_id = ? ORDER BY o.photo_id", (photo_id,))
    return [photo_id, *(p for (p,) in rows if p != photo_id)]


def add_photo_to_cluster(cat: Catalog, cluster_id: int, photo_id: int) -> None:
    """Put a photo in a pets/places/scenes cluster for good (source 'confirmed').

    People are faces, not photos: use the face functions of :mod:`photoorg.core.people.faces`.
    """
    info = _require(cat, cluster_id)
    if info.kind == "people":
        raise ClusterError("people clusters hold faces: move the face instead")
    scopes = [("cluster_photos", "photo_id = ?", (int(photo_id),))]
    summary = f"Put {_photo_name(cat, photo_id)} in {_what(info)}"
    with journal.decision(cat, "cluster.add", summary, scopes):
        # one place/scene per photo: a confirmed photo leaves the kind's other clusters
        if info.kind in ("places", "scenes"):
            cat.execute(
                "DELETE FROM cluster_photos WHERE photo_id = ? AND source = 'auto' AND "
                "cluster_id IN (SELECT id FROM clusters WHERE kind = ? AND id != ?)",
                (int(photo_id), info.kind, info.id),
            )
        cat.execute(
            "INSERT INTO cluster_photos(cluster_id, photo_id, source) VALUES(?, ?, 'confirmed') "
            "ON CONFLICT(cluster_id, photo_id) DO UPDATE SET source = 'confirmed'",
            (info.id, int(photo_id)),
        )


def confirm_photos(cat: Catalog, cluster_id: int, photo_ids: Sequence[int]) -> None:
    """The user says these photos do belong to the cluster: re-clustering keeps them there.

    For people, the photos' faces already in that person become 'confirmed'; for the other
    kinds the photos are added as confirmed members.
    """
    info = _require(cat, cluster_id)
    ids = [int(p) for p in photo_ids]
    scopes = [("faces", f"cluster_id = ? AND photo_id IN {journal.IDS}",
               (info.id, journal.ids_param(ids)))]
    summary = f"Yes, {len(ids)} photo(s) are {_what(info)}"
    with journal.decision(cat, "cluster.confirm", summary, scopes):
        for pid in ids:
            if info.kind == "people":
                cat.execute(
                    "UPDATE faces SET source = 'confirmed' WHERE cluster_id = ? AND photo_id = ?",
                    (info.id, int(pid)),
                )
            else:
                add_photo_to_cluster(cat, info.id, int(pid))


def move_photo_to_cluster(cat: Catalog, photo_id: int, from_id: int, to_id: int) -> None:
    """The user moved a photo from one cluster to another (pets/places/scenes)."""
    with journal.batch(cat):
        remove_photo_from_cluster(cat, from_id, photo_id)
        add_photo_to_cluster(cat, to_id, photo_id)


def delete_cluster(cat: Catalog, cluster_id: int) -> None:
    """Forget a cluster (its photos stay in the library, untagged by it)."""
    info = get_cluster(cat, cluster_id)
    summary = f"Delete {_what(info)}" if info else f"Delete cluster {cluster_id}"
    with journal.decision(cat, "cluster.delete", summary, _members_scope([cluster_id])):
        cat.execute("DELETE FROM clusters WHERE id = ?", (int(cluster_id),))


# -- tags -------------------------------------------------------------------------------


def _parts(tag: str) -> list[str]:
    return [p.strip().casefold() for p in tag.split("|") if p.strip()]


def tag_matches(query: str, tag: str) -> bool:
    """Does ``tag`` answer the tag filter ``query``? Case-insensitive; a query matches the
    tag itself, its descendants (``People`` ~ ``People|Alice``) and a trailing path
    (``Alice`` ~ ``People|Alice``)."""
    q, t = _parts(query), _parts(tag)
    if not q or len(q) > len(t):
        return False
    return t[: len(q)] == q or t[-len(q):] == q


def _matching(cat: Catalog, tag: str) -> tuple[list[int], list[int]]:
    """(tag ids, cluster ids) whose tag answers ``tag``. Both tables are small."""
    tag_ids = [
        tid for tid, name in cat.query("SELECT id, name FROM tags") if tag_matches(tag, name)
    ]
    cluster_ids = [
        cid
        for cid, kind, name, auto in cat.query(
            "SELECT id, kind, name, auto_name FROM clusters "
            "WHERE name IS NOT NULL OR (kind = 'places' AND auto_name IS NOT NULL)"
        )
        if (label := cluster_label(kind, name, auto)) is not None
        and tag_matches(tag, f"{TAG_ROOTS[kind]}|{label}")
    ]
    return tag_ids, cluster_ids


def tag_filter_sql(cat: Catalog, tag: str, column: str = "p.id") -> tuple[str, list[int]]:
    """An SQL condition ``column IN (...)`` selecting the photos that carry ``tag``
    (user/xmp rows and cluster-derived tags), with its parameters. Indexed lookups only."""
    tag_ids, cluster_ids = _matching(cat, tag)
    parts: list[str] = []
    params: list[int] = []
    if tag_ids:
        parts.append(f"SELECT photo_id FROM photo_tags WHERE tag_id IN ({_marks(tag_ids)})")
        params += tag_ids
    if cluster_ids:
        marks = _marks(cluster_ids)
        parts.append(
            f"SELECT photo_id FROM cluster_photos WHERE cluster_id IN ({marks}) "
            "AND source != 'rejected'"
        )
        parts.append(f"SELECT photo_id FROM faces WHERE cluster_id IN ({marks})")
        params += cluster_ids + cluster_ids
    if not parts:
        return "0", []
    return f"{column} IN ({' UNION '.join(parts)})", params


def _marks(values: Sequence[Any]) -> str:
    return ",".join("?" * len(values))


def photos_with_tag(cat: Catalog, tag: str) -> set[int]:
    """Ids of the photos carrying ``tag`` (see :func:`tag_matches`)."""
    cond, params = tag_filter_sql(cat, tag, column="id")
    if cond == "0":
        return set()
    return {pid for (pid,) in cat.query(  # a stack is one photo: its cover
        f"SELECT {shown_as('photos.id')} FROM photos WHERE {cond} AND {VISIBLE}", params)}


def tags_for_photos(cat: Catalog, photo_ids: Iterable[int]) -> dict[int, list[str]]:
    """Every tag of each photo: user tags and cluster tags, sorted, no duplicates."""
    ids = [int(p) for p in photo_ids]
    found: dict[int, dict[str, str]] = {pid: {} for pid in ids}
    for start in range(0, len(ids), 400):
        chunk = ids[start : start + 400]
        marks = _marks(chunk)
        for pid, name in cat.query(
            "SELECT pt.photo_id, t.name FROM photo_tags pt JOIN tags t ON t.id = pt.tag_id "
            f"WHERE pt.photo_id IN ({marks})",
            chunk,
        ):
            found[pid].setdefault(name.casefold(), name)
        for pid, kind, name, auto in cat.query(
            "SELECT m.photo_id, c.kind, c.name, c.auto_name FROM ("
            f"SELECT photo_id, cluster_id FROM cluster_photos WHERE photo_id IN ({marks}) "
            "AND source != 'rejected' UNION "
            f"SELECT photo_id, cluster_id FROM faces WHERE photo_id IN ({marks}) "
            "AND cluster_id IS NOT NULL) m JOIN clusters c ON c.id = m.cluster_id",
            [*chunk, *chunk],
        ):
            label = cluster_label(kind, name, auto)
            if label is not None:
                tag = f"{TAG_ROOTS[kind]}|{label}"
                found[pid].setdefault(tag.casefold(), tag)
    return {pid: sorted(names.values(), key=str.casefold) for pid, names in found.items()}


def tags_for_photo(cat: Catalog, photo_id: int) -> list[str]:
    """Every tag of a photo (user, sidecar and cluster tags)."""
    return tags_for_photos(cat, [photo_id])[int(photo_id)]


def _tag_id(cat: Catalog, name: str) -> int:
    cat.execute("INSERT INTO tags(name) VALUES(?) ON CONFLICT(name) DO NOTHING", (name,))
    return cat.scalar("SELECT id FROM tags WHERE name = ?", (name,))


def add_tag(cat: Catalog, photo_ids: Iterable[int], name: str, source: str = "user") -> int:
    """Tag photos (a user tag; ``|`` makes a hierarchy). Returns how many gained it."""
    tag = clean_name(name)
    if tag is None:
        raise ValueError("a tag needs a name")
    added = 0
    ids = [int(p) for p in photo_ids]
    with _tag_decision(cat, source, "tag.add", f"Tag {len(ids)} photo(s) “{tag}”", tag, ids):
        tag_id = _tag_id(cat, tag)
        for pid in ids:
            added += cat.changes_of(
                "INSERT OR IGNORE INTO photo_tags(photo_id, tag_id, source) VALUES(?, ?, ?)",
                (int(pid), tag_id, source),
            )
    return added


def remove_tag(cat: Catalog, photo_ids: Iterable[int], name: str) -> int:
    """Remove a tag (exactly this name, any case) from photos. A cluster tag is removed by
    taking the photo out of that cluster for good. Returns how many photos lost it."""
    tag = clean_name(name)
    if tag is None:
        return 0
    wanted = tag.casefold()
    ids = [int(p) for p in photo_ids]
    removed: set[int] = set()
    summary = f"Remove the tag “{tag}” from {len(ids)} photo(s)"
    with journal.batch(cat), _tag_decision(cat, "user", "tag.remove", summary, tag, ids):
        tag_id = cat.scalar("SELECT id FROM tags WHERE name = ?", (tag,))
        if tag_id is not None:
            for pid in ids:
                if cat.changes_of(
                    "DELETE FROM photo_tags WHERE photo_id = ? AND tag_id = ?", (pid, tag_id)
                ):
                    removed.add(pid)
            if not cat.scalar("SELECT 1 FROM photo_tags WHERE tag_id = ? LIMIT 1", (tag_id,)):
                cat.execute("DELETE FROM tags WHERE id = ?", (tag_id,))
        for pid in ids:
            for cid, kind, cname, auto in cat.query(
                "SELECT c.id, c.kind, c.name, c.auto_name FROM clusters c WHERE c.id IN ("
                "SELECT cluster_id FROM cluster_photos WHERE photo_id = ? AND source != "
                "'rejected' UNION SELECT cluster_id FROM faces WHERE photo_id = ?)",
                (pid, pid),
            ):
                label = cluster_label(kind, cname, auto)
                if label is not None and f"{TAG_ROOTS[kind]}|{label}".casefold() == wanted:
                    remove_photo_from_cluster(cat, cid, pid)
                    removed.add(pid)
    return len(removed)


def _tag_decision(
    cat: Catalog, source: str, action: str, summary: str, tag: str, ids: list[int]
) -> contextlib.AbstractContextManager[Any]:
    """A journaled change of a tag on photos; tags read from metadata are not decisions."""
    if source != "user":
        return cat.transaction()
    scopes: list[journal.Scope] = [
        ("tags", "name = ?", (tag,)),
        ("photo_tags", f"tag_id IN (SELECT id FROM tags WHERE name = ?) AND photo_id IN "
                       f"{journal.IDS}", (tag, journal.ids_param(ids))),
    ]
    return journal.decision(cat, action, summary, scopes)


def all_tags(cat: Catalog) -> list[tuple[str, int]]:
    """Every tag in the library with its photo count, by name."""
    counts: dict[str, list[Any]] = {}
    for name, n in cat.query(
        "SELECT t.name, COUNT(pt.photo_id) FROM tags t JOIN photo_tags pt ON pt.tag_id = t.id "
        f"WHERE pt.photo_id NOT IN ({MISSING_IDS}) GROUP BY t.id"
    ):
        counts.setdefault(name.casefold(), [name, 0])[1] += n
    for kind, name, auto, n in cat.query(
        "SELECT c.kind, c.name, c.auto_name, COUNT(DISTINCT " + shown_as("m.photo_id") + ") "
        "FROM clusters c JOIN ("
        "SELECT cluster_id, photo_id FROM cluster_photos WHERE source != 'rejected' UNION "
        "SELECT cluster_id, photo_id FROM faces WHERE cluster_id IS NOT NULL"
        f") m ON m.cluster_id = c.id WHERE m.photo_id NOT IN ({MISSING_IDS}) GROUP BY c.id"
    ):
        label = cluster_label(kind, name, auto)
        if label is not None:
            tag = f"{TAG_ROOTS[kind]}|{label}"
            counts.setdefault(tag.casefold(), [tag, 0])[1] += n
    return sorted(((name, n) for name, n in counts.values()), key=lambda t: t[0].casefold())


# -- albums -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Album:
    """A saved tag set (``tags``, all of them or any, per ``match``) or a saved search
    (``query`` text and/or ``filters``, resolved by the search module)."""

    id: int
    name: str
    tags: tuple[str, ...]
    match: str = "all"
    query: str | None = None
    filters: dict[str, Any] = field(default_factory=dict)
    created_at: float = 0.0
    # "more like these": {"positive": [photo ids], "negative": [...], "k": n}, resolved by
    # photoorg.core.search.feedback (re-ranked on every read, so new photos join)
    similar: dict[str, Any] = field(default_factory=dict)

    @property
    def is_search(self) -> bool:
        return bool(self.query) or bool(self.filters) or bool(self.similar)

    def spec(self) -> dict[str, Any]:
        """What ``albums.query`` stores (JSON)."""
        spec = {
            "version": 1,
            "tags": list(self.tags),
            "match": self.match,
            "query": self.query,
            "filters": self.filters,
        }
        if self.similar:
            spec["similar"] = self.similar
        return spec


AlbumResolver = Callable[[Catalog, Album], Sequence[int]]
"""Resolves a saved-search album to photo ids (best first); provided by the search module."""


def _album_from_row(row: tuple) -> Album:
    aid, name, raw, created = row
    try:
        spec = json.loads(raw)
    except ValueError:
        spec = {}
    if not isinstance(spec, dict):
        spec = {}
    return Album(
        id=aid,
        name=name,
        tags=tuple(spec.get("tags") or ()),
        match=spec.get("match") or "all",
        query=spec.get("query") or None,
        filters=dict(spec.get("filters") or {}),
        created_at=created,
        similar=dict(spec.get("similar") or {}),
    )


def create_album(
    cat: Catalog,
    name: str,
    tags: Sequence[str] = (),
    query: str | None = None,
    filters: dict[str, Any] | None = None,
    match: str = "all",
    similar: dict[str, Any] | None = None,
) -> Album:
    """Save an album: a tag set (photos with all ``tags``, or any with ``match='any'``) or
    a search (``query`` text and/or ``filters``; tags then act as filters of the search)."""
    clean = (name or "").strip()
    if not clean:
        raise AlbumError("an album needs a name")
    if match not in ("all", "any"):
        raise AlbumError("match must be 'all' or 'any'")
    tag_list = [t for t in (clean_name(t) for t in tags) if t]
    query = (query or "").strip() or None
    if not tag_list and query is None and not filters and not similar:
        raise AlbumError("an album needs at least one tag or a search")
    if get_album(cat, clean) is not None:
        raise AlbumError(f"an album named {clean!r} already exists")
    album = Album(0, clean, tuple(tag_list), match, query, dict(filters or {}),
                  similar=dict(similar or {}))
    scopes = [("albums", "name = ?", (clean,))]
    with journal.decision(cat, "album.create", f"Create the album “{clean}”", scopes):
        aid = cat.execute(
            "INSERT INTO albums(name, query, created_at) VALUES(?, ?, ?) RETURNING id",
            (clean, json.dumps(album.spec(), ensure_ascii=False), time.time()),
        ).fetchone()[0]
    album_row = get_album(cat, clean)
    assert album_row is not None and album_row.id == aid
    return album_row


def get_album(cat: Catalog, name: str) -> Album | None:
    row = cat.execute(
        "SELECT id, name, query, created_at FROM albums WHERE name = ?", (name.strip(),)
    ).fetchone()
    return None if row is None else _album_from_row(row)


def list_albums(cat: Catalog) -> list[Album]:
    rows = cat.query("SELECT id, name, query, created_at FROM albums ORDER BY name COLLATE NOCASE")
    return [_album_from_row(r) for r in rows]


def delete_album(cat: Catalog, name: str) -> bool:
    """Forget an album (photos are untouched). False if there was none."""
    scopes = [("albums", "name = ?", (name.strip(),))]
    with journal.decision(cat, "album.delete", f"Delete the album “{name.strip()}”", scopes):
        return bool(cat.changes_of("DELETE FROM albums WHERE name = ?", (name.strip(),)))


def photos_with_tags(cat: Catalog, tags: Sequence[str], match: str = "all") -> set[int]:
    """Photos carrying all (or any) of ``tags``."""
    result: set[int] | None = None
    for tag in tags:
        found = photos_with_tag(cat, tag)
        if result is None:
            result = found
        elif match == "any":
            result |= found
        else:
            result &= found
    return result or set()


def album_photos(
    cat: Catalog, name: str, resolver: AlbumResolver | None = None
) -> list[int]:
    """Photo ids of an album: tag albums by their tags (oldest first), search albums through
    ``resolver`` (the search module's; without it a search album raises AlbumError)."""
    album = get_album(cat, name)
    if album is None:
        raise AlbumError(f"no album named {name!r}")
    if album.is_search:
        if resolver is None:
            raise AlbumError(f"album {album.name!r} is a saved search: it needs the search module")
        return [int(p) for p in resolver(cat, album)]
    ids = photos_with_tags(cat, album.tags, album.match)
    return order_by_date(cat, ids)


def order_by_date(cat: Catalog, ids: Iterable[int]) -> list[int]:
    """Photo ids by date taken (undated last), then id."""
    id_list = sorted(int(i) for i in ids)
    taken: dict[int, float | None] = {}
    for start in range(0, len(id_list), 900):
        chunk = id_list[start : start + 900]
        taken.update(cat.query(
            f"SELECT id, taken_at FROM photos WHERE id IN ({_marks(chunk)})", chunk
        ))
    return sorted(
        (i for i in id_list if i in taken),
        key=lambda i: (taken[i] is None, taken[i] or 0.0, i),
    )
