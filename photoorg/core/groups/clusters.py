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
import weakref
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from photoorg.core.store import journal
from photoorg.core.store.catalog import Catalog, vector_blob
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
_MEMBERS_SQL = (
    "SELECT cluster_id, photo_id FROM cluster_photos WHERE source != 'rejected' "
    "AND cluster_id IN ({ids}) AND photo_id NOT IN (" + MISSING_IDS + ") "
    "UNION SELECT cluster_id, photo_id FROM faces WHERE cluster_id IN ({ids}) "
    "AND photo_id NOT IN (" + MISSING_IDS + ")"
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
    return f"“{label}”" if label else f"the unnamed {noun} ({info.id})"


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
    newest = cat.scalar("SELECT COALESCE(MAX(id), 0) FROM clusters")
    scopes: list[journal.Scope] = [
        ("clusters", "id = ? OR id > ?", (info.id, newest)),
        ("faces", "photo_id = ?", (pid,)),
        ("cluster_photos", "cluster_id = ? AND photo_id = ?", (info.id, pid)),
        ("face_rejections", "face_id IN (SELECT id FROM faces WHERE photo_id = ?)", (pid,)),
    ]
    summary = f"Not {_what(info)}: photo {pid}"
    target = into
    with journal.decision(cat, "cluster.reject", summary, scopes):
        if info.kind == "people":
            faces = cat.query(
                "SELECT id, descriptor FROM faces WHERE photo_id = ? AND cluster_id = ?",
                (pid, info.id),
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


def add_photo_to_cluster(cat: Catalog, cluster_id: int, photo_id: int) -> None:
    """Put a photo in a pets/places/scenes cluster for good (source 'confirmed').

    People are faces, not photos: use the face functions of :mod:`photoorg.core.people.faces`.
    """
    info = _require(cat, cluster_id)
    if info.kind == "people":
        raise ClusterError("people clusters hold faces: move the face instead")
    scopes = [("cluster_photos", "photo_id = ?", (int(photo_id),))]
    with journal.decision(cat, "cluster.add", f"Put photo {photo_id} in {_what(info)}", scopes):
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
    return {pid for (pid,) in cat.query(
        f"SELECT id FROM photos WHERE {cond} AND {VISIBLE}", params)}


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
        "SELECT c.kind, c.name, c.auto_name, COUNT(DISTINCT m.photo_id) FROM clusters c JOIN ("
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


# -- re-clustering (shared by pets, places, scenes) ---------------------------------------


@dataclass
class Group:
    """One cluster found by a clustering pass (before it is matched to stored clusters)."""

    members: set[int]
    centroid: np.ndarray | None = None  # L2-normalised (vector kinds)
    latitude: float | None = None  # places
    longitude: float | None = None
    auto_name: str | None = None


@dataclass
class _Stored:
    id: int
    name: str | None
    auto_name: str | None
    hidden: bool
    centroid: np.ndarray | None
    latitude: float | None
    longitude: float | None
    auto: set[int]
    confirmed: set[int]
    rejected: set[int]

    @property
    def user_known(self) -> bool:
        """Named, hidden or corrected by the user: kept (with its id) whatever happens."""
        return bool(self.name) or self.hidden or bool(self.confirmed) or bool(self.rejected)

    @property
    def current(self) -> set[int]:
        return self.auto | self.confirmed


@dataclass
class ReconcileReport:
    """What a re-clustering pass did."""

    kind: str
    clusters: int = 0
    created: int = 0
    removed: int = 0
    kept_unmatched: int = 0
    photos: int = 0
    seconds: float = 0.0


def _load_stored(cat: Catalog, kind: str) -> list[_Stored]:
    rows = cat.query(
        "SELECT id, name, auto_name, hidden, centroid, latitude, longitude FROM clusters "
        "WHERE kind = ? ORDER BY id",
        (kind,),
    )
    stored = {
        cid: _Stored(
            cid, name, auto, bool(hidden),
            None if blob is None else np.frombuffer(blob, dtype=np.float32).copy(),
            lat, lon, set(), set(), set(),
        )
        for cid, name, auto, hidden, blob, lat, lon in rows
    }
    for cid, pid, source in cat.query(
        "SELECT cp.cluster_id, cp.photo_id, cp.source FROM cluster_photos cp "
        "JOIN clusters c ON c.id = cp.cluster_id WHERE c.kind = ?",
        (kind,),
    ):
        getattr(stored[cid], source).add(pid)
    return list(stored.values())


Similarity = Callable[[Group, _Stored], float | None]
"""Centroid similarity of a new group to a stored cluster in [0, 1], None if unrelated."""


def reconcile(
    cat: Catalog,
    kind: str,
    groups: Sequence[Group],
    *,
    eligible: set[int],
    similarity: Similarity | None = None,
    describe: Callable[[set[int]], dict[str, Any]] | None = None,
    min_new_size: int = 1,
    overlap: float = 0.5,
) -> ReconcileReport:
    """Store a clustering pass, keeping ids, names, hidden flags and user corrections.

    ``groups``: the new clusters; ``eligible``: every photo the pass considered (auto
    members outside it leave their cluster, e.g. deleted or no longer a pet photo).
    Matching: (1) one-to-one by member overlap (overlap coefficient >= ``overlap``,
    user-known clusters first, then by Jaccard); (2) groups lying mostly inside a
    user-known cluster join it (a user merge is not undone); (3) the rest by centroid
    ``similarity``; (4) unmatched groups of ``min_new_size`` photos or more become new
    clusters. Confirmed photos stay; rejected ones never rejoin; a user-known cluster left
    unmatched keeps its confirmed photos and its earlier automatic ones that are still
    eligible, and is never deleted. ``describe(members)`` gives the columns to store
    (``centroid``, ``latitude``, ``longitude``, ``auto_name``) for each final cluster.
    """
    start = time.perf_counter()
    report = ReconcileReport(kind)
    with cat.transaction():
        stored = _load_stored(cat, kind)
        confirmed_any = set().union(*(s.confirmed for s in stored)) if stored else set()
        work = [Group(set(g.members) - confirmed_any, g.centroid, g.latitude, g.longitude,
                      g.auto_name) for g in groups]
        work = [g for g in work if g.members]
        target: list[_Stored | None] = [None] * len(work)
        matched: set[int] = set()

        owner: dict[int, int] = {}
        for gi, g in enumerate(work):
            for pid in g.members:
                owner[pid] = gi
        pairs: list[tuple[int, int, int]] = []  # (group index, stored index, shared)
        for si, s in enumerate(stored):
            counts: dict[int, int] = {}
            for pid in s.current:
                gi = owner.get(pid)
                if gi is not None:
                    counts[gi] = counts.get(gi, 0) + 1
            pairs += [(gi, si, n) for gi, n in counts.items()]

        # 1. one-to-one by overlap
        def key(p: tuple[int, int, int]) -> tuple[bool, float, int]:
            gi, si, n = p
            union = len(work[gi].members | stored[si].current)
            return (not stored[si].user_known, -n / union, -n)

        for gi, si, n in sorted(pairs, key=key):
            if target[gi] is not None or si in matched:
                continue
            smaller = min(len(work[gi].members), len(stored[si].current)) or 1
            if n / smaller >= overlap:
                target[gi] = stored[si]
                matched.add(si)
        # 2. groups mostly inside a user-known cluster join it
        for gi, si, n in sorted(pairs, key=lambda p: -p[2]):
            if target[gi] is None and stored[si].user_known and n / len(work[gi].members) >= 0.5:
                target[gi] = stored[si]
                matched.add(si)
        # 3. by centroid (pairwise: skipped when both sides are huge)
        free_g = [gi for gi in range(len(work)) if target[gi] is None]
        free_s = [si for si in range(len(stored)) if si not in matched]
        if similarity is not None and len(free_g) * len(free_s) <= 250_000:
            cands = [
                (sim, gi, si)
                for gi in free_g
                for si in free_s
                if (sim := similarity(work[gi], stored[si])) is not None
            ]
            for _sim, gi, si in sorted(cands, key=lambda c: -c[0]):
                if target[gi] is None and si not in matched:
                    target[gi] = stored[si]
                    matched.add(si)

        # final membership per stored cluster id (auto only; confirmed stay as rows)
        final: dict[int, set[int]] = {}
        auto_names: dict[int, str] = {}
        new_groups: list[Group] = []
        for g, s in zip(work, target, strict=True):
            if s is None:
                new_groups.append(g)
            else:
                final.setdefault(s.id, set()).update(g.members)
                if g.auto_name:
                    auto_names.setdefault(s.id, g.auto_name)
        # 4. unmatched user-known clusters keep their eligible automatic photos
        for si, s in enumerate(stored):
            if si in matched:
                continue
            if s.user_known:
                keepers = s.auto & eligible
                final[s.id] = set(keepers)
                for other_id, members in final.items():
                    if other_id != s.id:
                        members -= keepers
                for g in new_groups:
                    g.members -= keepers
                report.kept_unmatched += 1
        by_id = {s.id: s for s in stored}
        for cid in final:
            final[cid] -= by_id[cid].rejected | by_id[cid].confirmed

        drop = [s.id for si, s in enumerate(stored) if si not in matched and not s.user_known]
        for cid in drop:
            cat.execute("DELETE FROM clusters WHERE id = ?", (cid,))
        report.removed = len(drop)

        for g in new_groups:
            if len(g.members) < max(1, min_new_size):
                continue
            cid = create_cluster(cat, kind, auto_name=g.auto_name)
            final[cid] = set(g.members)
            by_id[cid] = _Stored(cid, None, g.auto_name, False, None, None, None,
                                 set(), set(), set())
            report.created += 1

        now = time.time()
        for cid, members in final.items():
            s = by_id[cid]
            if s.auto != members:
                cat.execute(
                    "DELETE FROM cluster_photos WHERE cluster_id = ? AND source = 'auto'", (cid,)
                )
                for pid in sorted(members):
                    cat.execute(
                        "INSERT OR IGNORE INTO cluster_photos(cluster_id, photo_id, source) "
                        "VALUES(?, ?, 'auto')",
                        (cid, pid),
                    )
            if describe is not None:
                cols = describe(members | s.confirmed)
                cols.setdefault("auto_name", auto_names.get(cid))
                blob = cols.get("centroid")
                cat.execute(
                    "UPDATE clusters SET centroid = ?, latitude = ?, longitude = ?, "
                    "auto_name = COALESCE(?, auto_name), updated_at = ? WHERE id = ?",
                    (
                        None if blob is None else vector_blob(blob),
                        cols.get("latitude"),
                        cols.get("longitude"),
                        cols.get("auto_name"),
                        now,
                        cid,
                    ),
                )
        report.clusters = len(final)
        report.photos = sum(len(m) for m in final.values())
    report.seconds = time.perf_counter() - start
    return report


# -- vector helpers -----------------------------------------------------------------------


def _normalise(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=-1, keepdims=True)
    return x / np.where(norms == 0, 1, norms)


def kmeans(x: np.ndarray, k: int, *, seed: int = 0, n_init: int = 3,
           max_iter: int = 60) -> np.ndarray:
    """Plain k-means (k-means++ seeding, best of ``n_init``) in numpy. For the small
    inputs here it is ~100x faster than scikit-learn's, whose per-fit thread-pool set-up
    dominates below a few thousand points."""
    rng = np.random.default_rng(seed)
    x = np.asarray(x, dtype=np.float32)
    n = len(x)
    sq = (x * x).sum(1)
    settled = max(1, n // 1000)  # stop when at most 0.1% of the points still move
    best_inertia, best = np.inf, np.zeros(n, dtype=np.int64)
    for _ in range(n_init):
        centres = [x[rng.integers(n)]]
        d2 = np.maximum(sq - 2 * x @ centres[0] + centres[0] @ centres[0], 0)
        for _ in range(1, k):
            total = d2.sum()
            pick = rng.choice(n, p=d2 / total) if total > 0 else rng.integers(n)
            centres.append(x[pick])
            d2 = np.minimum(d2, np.maximum(sq - 2 * x @ x[pick] + x[pick] @ x[pick], 0))
        c = np.stack(centres)
        labels = np.full(n, -1, dtype=np.int64)
        for _ in range(max_iter):
            dist = sq[:, None] - 2 * x @ c.T + (c * c).sum(1)[None, :]
            new = dist.argmin(1)
            moved = int((new != labels).sum())
            labels = new
            if moved < settled:
                break
            counts = np.bincount(labels, minlength=k)
            order = np.argsort(labels, kind="stable")
            present = np.flatnonzero(counts)
            starts = np.concatenate([[0], np.cumsum(counts)[:-1]])[present]
            c[present] = np.add.reduceat(x[order], starts, axis=0) / counts[present, None]
            for j in np.flatnonzero(counts == 0):  # empty: take the worst-fitting point
                far = int(dist[np.arange(n), labels].argmax())
                c[j] = x[far]
                labels[far] = j
        inertia = float(((x - c[labels]) ** 2).sum())
        if inertia < best_inertia:
            best_inertia, best = inertia, labels.copy()
    return best


def reduce_dims(x: np.ndarray, dims: int = 48, sample: int = 5000, seed: int = 0) -> np.ndarray:
    """PCA projection to ``dims`` dimensions (fitted on a sample). Cluster structure of
    CLIP vectors survives it, and k-means gets ~10x cheaper."""
    x = np.asarray(x, dtype=np.float32)
    if x.shape[1] <= dims or len(x) <= dims:
        return x
    rng = np.random.default_rng(seed)
    fit = x[rng.choice(len(x), size=min(len(x), sample), replace=False)]
    mean = fit.mean(0)
    _, _, vt = np.linalg.svd(fit - mean, full_matrices=False)
    return (x - mean) @ vt[:dims].T


def auto_kmeans(
    x: np.ndarray,
    k_candidates: Iterable[int],
    *,
    min_silhouette: float = 0.1,
    seed: int = 0,
    sample: int = 2000,
    minibatch_above: int = 50_000,
) -> np.ndarray:
    """k-means labels with k picked by the best silhouette among the candidates; one
    cluster if no split scores ``min_silhouette``. Vectors are PCA-reduced first; k is
    chosen on a sample of ``sample`` points, then the final k-means runs on all of them
    (scikit-learn's MiniBatchKMeans above ``minibatch_above`` points)."""
    from threadpoolctl import threadpool_limits

    n = len(x)
    ks = sorted({k for k in k_candidates if 2 <= k < min(n, sample)})
    if n < 3 or not ks:
        return np.zeros(n, dtype=np.int64)
    # small matrix products: one BLAS thread is faster (and never spins on a busy machine)
    with threadpool_limits(limits=1, user_api="blas"):
        return _auto_kmeans(x, ks, min_silhouette, seed, sample, minibatch_above)


def silhouette(x: np.ndarray, labels: np.ndarray) -> float:
    """Mean silhouette coefficient (Euclidean), as scikit-learn's (singletons score 0)."""
    x = np.asarray(x, dtype=np.float32)
    sq = (x * x).sum(1)
    dist = np.sqrt(np.maximum(sq[:, None] + sq[None, :] - 2 * x @ x.T, 0))
    uniq, lab = np.unique(labels, return_inverse=True)
    counts = np.bincount(lab).astype(np.float64)
    rows = np.arange(len(x))
    onehot = np.zeros((len(x), len(uniq)), dtype=np.float32)
    onehot[rows, lab] = 1
    sums = (dist @ onehot).astype(np.float64)  # [i, c]: distance of i to all of cluster c
    own = counts[lab] - 1
    a = np.divide(sums[rows, lab], own, out=np.zeros(len(x)), where=own > 0)
    mean_other = sums / counts[None, :]
    mean_other[rows, lab] = np.inf
    b = mean_other.min(1)
    s = np.where(own > 0, (b - a) / np.maximum(np.maximum(a, b), 1e-12), 0.0)
    return float(s.mean())


def _auto_kmeans(x: np.ndarray, ks: list[int], min_silhouette: float, seed: int,
                 sample: int, minibatch_above: int) -> np.ndarray:
    n = len(x)
    z = reduce_dims(x, seed=seed)
    if len(np.unique(np.round(z, 4), axis=0)) < 2:
        return np.zeros(n, dtype=np.int64)
    rng = np.random.default_rng(seed)
    pick = np.sort(rng.choice(n, size=min(n, sample), replace=False))
    best_score, best_k, best_labels = -1.0, 0, np.zeros(len(pick), dtype=np.int64)
    for k in ks:
        labels = kmeans(z[pick], k, seed=seed)
        if len(np.unique(labels)) < 2:
            continue
        score = silhouette(z[pick], labels)
        if score > best_score:
            best_score, best_k, best_labels = score, k, labels
    if best_score < min_silhouette:
        return np.zeros(n, dtype=np.int64)
    if len(pick) == n:
        return best_labels
    if n > minibatch_above:
        from sklearn.cluster import MiniBatchKMeans

        return MiniBatchKMeans(
            n_clusters=best_k, random_state=seed, n_init=3, batch_size=4096
        ).fit_predict(z).astype(np.int64)
    return kmeans(z, best_k, seed=seed)


def _vector_groups(ids: np.ndarray, x: np.ndarray, labels: np.ndarray,
                   auto_name: str | None = None) -> list[Group]:
    groups = []
    for label in np.unique(labels):
        rows = np.flatnonzero(labels == label)
        centroid = _normalise(x[rows].mean(0))
        groups.append(Group({int(i) for i in ids[rows]}, centroid, auto_name=auto_name))
    return groups


def _centroid_similarity(min_cos: float) -> Similarity:
    def similarity(group: Group, stored: _Stored) -> float | None:
        if group.centroid is None or stored.centroid is None:
            return None
        if stored.centroid.shape != group.centroid.shape:
            return None
        cos = float(group.centroid @ _normalise(stored.centroid))
        return cos if cos >= min_cos else None

    return similarity


def _vector_describe(index: dict[int, int], x: np.ndarray) -> Callable[[set[int]], dict]:
    def describe(members: set[int]) -> dict[str, Any]:
        rows = [index[p] for p in members if p in index]
        return {"centroid": _normalise(x[rows].mean(0)) if rows else None}

    return describe


def _active_vectors(cat: Catalog, model_id: int | None) -> tuple[np.ndarray, np.ndarray]:
    if model_id is None:
        model = cat.active_model()
        if model is None:
            return np.zeros(0, np.int64), np.zeros((0, 0), np.float32)
        model_id = model.id
    ids, x = cat.load_vectors(model_id)
    return ids, _normalise(x) if len(ids) else x


# -- pets ---------------------------------------------------------------------------------

PET_PROMPTS: dict[str, str] = {
    "dog": "a photo of a dog",
    "cat": "a photo of a cat",
    "bird": "a photo of a bird",
    "horse": "a photo of a horse",
    "rabbit": "a photo of a rabbit",
    "hamster": "a photo of a hamster",
    "guinea pig": "a photo of a guinea pig",
    "fish": "a photo of a pet fish in an aquarium",
    "turtle": "a photo of a turtle",
    "lizard": "a photo of a lizard",
}
"""Animal classes of the zero-shot pet detector and their prompts."""

BACKGROUND_PROMPTS: tuple[str, ...] = (
    "a photo of a person",
    "a photo of a group of people",
    "a photo of a landscape",
    "a photo of food",
    "a photo of a building",
    "a photo of a city street",
    "a photo of a car",
    "a photo of a room",
    "a photo of a document",
    "a photo of a plant",
    "a photo of the sky",
    "a photo of the beach",
    "a photo of a toy",
    "a photo of a wild animal in nature",
)
"""Everything else: a photo is a pet photo only if an animal beats all of these."""

PET_THRESHOLD = 0.5
CLIP_TEMPERATURE = 100.0


def pet_prompts() -> list[str]:
    """Prompts in the order :func:`classify_pets` expects their vectors."""
    return [*PET_PROMPTS.values(), *BACKGROUND_PROMPTS]


def classify_pets(
    image_vectors: np.ndarray, text_vectors: np.ndarray, threshold: float = PET_THRESHOLD
) -> list[str | None]:
    """Zero-shot: per image, the animal class if it wins the softmax (temperature 100, as
    CLIP) over all prompts with probability >= ``threshold``, else None.
    ``text_vectors`` follow :func:`pet_prompts`."""
    if len(image_vectors) == 0:
        return []
    logits = CLIP_TEMPERATURE * (_normalise(image_vectors) @ _normalise(text_vectors).T)
    logits -= logits.max(axis=1, keepdims=True)
    probs = np.exp(logits)
    probs /= probs.sum(axis=1, keepdims=True)
    top = probs.argmax(axis=1)
    animals = list(PET_PROMPTS)
    return [
        animals[t] if t < len(animals) and probs[i, t] >= threshold else None
        for i, t in enumerate(top)
    ]


_prompt_cache: weakref.WeakKeyDictionary[Any, dict[tuple[str, ...], np.ndarray]] = (
    weakref.WeakKeyDictionary()
)


def _encode(encode_texts: TextEncoder | Any, prompts: list[str]) -> np.ndarray:
    """Prompt vectors, computed once per encoder (the indexer asks after every run)."""
    fn = getattr(encode_texts, "encode_texts", encode_texts)
    try:
        per_encoder = _prompt_cache.setdefault(encode_texts, {})
    except TypeError:  # not weak-referenceable: no cache
        return np.asarray(fn(prompts), dtype=np.float32)
    key = tuple(prompts)
    if key not in per_encoder:
        per_encoder[key] = np.asarray(fn(prompts), dtype=np.float32)
    return per_encoder[key]


def _knows_animals(encode_texts: TextEncoder | Any) -> bool:
    """A weak model gives no pet groups (see :mod:`photoorg.core.models.competence`)."""
    from photoorg.core.models.competence import PARAPHRASES, knows_animals

    prompts = dict(PET_PROMPTS)
    texts = list(prompts.values()) + [PARAPHRASES[a] for a in PARAPHRASES if a in prompts]
    vectors = _encode(encode_texts, texts)
    lookup = dict(zip(texts, vectors, strict=True))
    return knows_animals(lambda batch: np.stack([lookup[t] for t in batch]), prompts)


def recluster_pets(
    cat: Catalog,
    encode_texts: TextEncoder | Any,
    *,
    model_id: int | None = None,
    threshold: float = PET_THRESHOLD,
    max_k: int = 8,
    min_silhouette: float = 0.15,
) -> ReconcileReport:
    """Find pet photos (zero-shot CLIP) and cluster them per animal (k-means per species,
    k by silhouette), keeping names and corrections. ``encode_texts``: a callable or an
    embedder with ``encode_texts``, of the same model as the library's vectors."""
    ids, x = _active_vectors(cat, model_id)
    if not len(ids) or not _knows_animals(encode_texts):
        return reconcile(cat, "pets", [], eligible=set())
    species = classify_pets(x, _encode(encode_texts, pet_prompts()), threshold)
    groups: list[Group] = []
    eligible: set[int] = set()
    for animal in PET_PROMPTS:
        rows = np.array([i for i, s in enumerate(species) if s == animal], dtype=np.int64)
        if not len(rows):
            continue
        eligible.update(int(i) for i in ids[rows])
        labels = auto_kmeans(
            x[rows], range(2, max_k + 1), min_silhouette=min_silhouette
        )
        groups += _vector_groups(ids[rows], x[rows], labels, auto_name=animal)
    index = {int(p): i for i, p in enumerate(ids)}
    return reconcile(
        cat, "pets", groups, eligible=eligible,
        similarity=_centroid_similarity(0.85), describe=_vector_describe(index, x),
    )


# -- scenes -------------------------------------------------------------------------------

SCENE_K_CANDIDATES: tuple[int, ...] = (2, 3, 4, 5, 6, 8, 10, 12, 16, 20, 25, 30)


def scene_candidates(cat: Catalog, ids: np.ndarray) -> np.ndarray:
    """Which of ``ids`` are scene photos: indexed, without GPS."""
    no_gps = {pid for (pid,) in cat.query(
        "SELECT id FROM photos WHERE status = 'indexed' AND "
        "(latitude IS NULL OR longitude IS NULL)"
    )}
    return np.array([int(i) in no_gps for i in ids], dtype=bool)


def recluster_scenes(
    cat: Catalog,
    *,
    model_id: int | None = None,
    k_candidates: Iterable[int] = SCENE_K_CANDIDATES,
    min_silhouette: float = 0.05,
) -> ReconcileReport:
    """Cluster every photo without GPS by its CLIP vector (k-means, k by silhouette) into
    scenes the user can name ("beach", "grandma's garden"), keeping names and corrections."""
    ids, x = _active_vectors(cat, model_id)
    if not len(ids):
        return reconcile(cat, "scenes", [], eligible=set())
    keep = scene_candidates(cat, ids)
    ids, x = ids[keep], x[keep]
    n = len(ids)
    ks = [k for k in k_candidates if k <= max(2, n // 3)]
    labels = auto_kmeans(x, ks, min_silhouette=min_silhouette) if n else np.zeros(0, np.int64)
    groups = _vector_groups(ids, x, labels) if n else []
    index = {int(p): i for i, p in enumerate(ids)}
    return reconcile(
        cat, "scenes", groups, eligible={int(i) for i in ids},
        similarity=_centroid_similarity(0.85), describe=_vector_describe(index, x),
        min_new_size=2,
    )


# -- incremental: new photos join the nearest cluster --------------------------------------


def _radius(member_x: np.ndarray, centroid: np.ndarray) -> float:
    """Cosine distance within which a new photo joins: the 90th percentile of the
    members' leave-one-out distances (each to the centroid of the others, which is what
    a new photo faces), with some slack."""
    n = len(member_x)
    if n < 3:
        return 0.15
    total = member_x.sum(0)
    others = _normalise((total[None, :] - member_x) / (n - 1))
    d = 1.0 - (member_x * others).sum(1)
    return float(np.clip(np.quantile(d, 0.9) * 1.15 + 0.01, 0.03, 0.5))


def assign_to_nearest(
    cat: Catalog,
    kind: str,
    photo_ids: Iterable[int],
    *,
    model_id: int | None = None,
    encode_texts: TextEncoder | Any | None = None,
) -> dict[int, int]:
    """Incremental step for ``pets``/``scenes``: each new photo (in no cluster of the kind)
    joins the nearest cluster if within its radius (never one that rejected it).
    Pets need ``encode_texts`` to tell pet photos. Returns {photo id: cluster id}."""
    if kind not in ("pets", "scenes"):
        raise ClusterError("assign_to_nearest handles pets and scenes; places: see places.py")
    model = cat.model(model_id) if model_id is not None else cat.active_model()
    if model is None:
        return {}
    if not cat.scalar("SELECT 1 FROM clusters WHERE kind = ? LIMIT 1", (kind,)):
        return {}  # nothing to join yet (and no prompts to encode)
    wanted = sorted({int(p) for p in photo_ids})
    taken = {pid for (pid,) in cat.query(
        "SELECT cp.photo_id FROM cluster_photos cp JOIN clusters c ON c.id = cp.cluster_id "
        "WHERE c.kind = ? AND cp.source != 'rejected'", (kind,))}
    wanted = [p for p in wanted if p not in taken]
    vecs = {p: v for p in wanted if (v := cat.vector(p, model.id)) is not None}
    if not vecs:
        return {}
    pids = np.array(list(vecs), dtype=np.int64)
    x = _normalise(np.stack([vecs[int(p)] for p in pids]))
    if kind == "scenes":
        keep = scene_candidates(cat, pids)
        pids, x = pids[keep], x[keep]
    else:
        if encode_texts is None:
            return {}
        species = classify_pets(x, _encode(encode_texts, pet_prompts()))
        keep = np.array([s is not None for s in species], dtype=bool)
        pids, x = pids[keep], x[keep]
    stored = [s for s in _load_stored(cat, kind)
              if s.centroid is not None and s.centroid.shape[0] == model.dim]
    if not len(pids) or not stored:
        return {}
    centroids = _normalise(np.stack([s.centroid for s in stored]))
    radii = []
    for s in stored:
        members = sorted(s.current)[:200]
        mx = [v for p in members if (v := cat.vector(p, model.id)) is not None]
        radii.append(_radius(_normalise(np.stack(mx)), centroids[len(radii)]) if mx else 0.15)
    sims = x @ centroids.T
    out: dict[int, int] = {}
    with cat.transaction():
        for r, pid in enumerate(pids):
            for c in np.argsort(-sims[r]):
                s = stored[int(c)]
                if int(pid) in s.rejected:
                    continue
                if 1.0 - sims[r, c] <= radii[int(c)]:
                    cat.execute(
                        "INSERT OR IGNORE INTO cluster_photos(cluster_id, photo_id, source) "
                        "VALUES(?, ?, 'auto')",
                        (s.id, int(pid)),
                    )
                    out[int(pid)] = s.id
                break
    return out
