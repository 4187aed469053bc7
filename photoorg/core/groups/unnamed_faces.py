"""Faces no person holds, and what the user says about them.

A face the clustering left alone (too unlike every person, or a person photographed decades
apart) is listed here, look-alikes grouped together, largest groups first, so the user can
say "This is …" (an existing person or a new name) or "Not a face". Both are one journal
entry each (one undo step); naming makes the faces *confirmed* (re-clustering never moves
them) and, being a named person's faces, they are written as regions to sidecars.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from photoorg.core.groups.clusters import (
    ClusterError,
    clean_name,
    cluster_for_name,
)
from photoorg.core.people.faces import DESCRIPTOR_DIM, ClusterParams, cluster_faces
from photoorg.core.store import journal
from photoorg.core.store.catalog import STACKED_AWAY, Catalog
from photoorg.core.store.missing import MISSING_IDS

# Looser than people clustering (0.55): these faces already failed to join anyone, and a
# group here is only a suggestion the user confirms; one face alone is a group too.
LOOKALIKE_THRESHOLD = 0.62

_UNNAMED_SQL = (
    "SELECT f.id, f.photo_id, f.x, f.y, f.w, f.h, f.descriptor FROM faces f "
    "WHERE f.cluster_id IS NULL AND f.id NOT IN (SELECT face_id FROM not_faces) "
    "AND f.photo_id NOT IN (" + MISSING_IDS + ") "
    # a stack shows its cover's faces only (a RAW's face is its JPEG's face again)
    "AND f.photo_id NOT IN (" + STACKED_AWAY + ") ORDER BY f.id"
)


@dataclass(frozen=True)
class UnnamedFace:
    id: int
    photo_id: int
    box: tuple[float, float, float, float]  # x, y, w, h as the faces table keeps them


@dataclass(frozen=True)
class FaceGroup:
    """Look-alike unnamed faces (one group may hold one face)."""

    faces: tuple[UnnamedFace, ...]

    @property
    def face_ids(self) -> list[int]:
        return [f.id for f in self.faces]

    @property
    def photo_ids(self) -> list[int]:
        return sorted({f.photo_id for f in self.faces})


def unnamed_faces(cat: Catalog, threshold: float = LOOKALIKE_THRESHOLD) -> list[FaceGroup]:
    """Faces no person holds, grouped by descriptor distance (the people clustering's own
    average linkage; two faces of one photo never share a group), largest groups first."""
    rows = cat.query(_UNNAMED_SQL)
    if not rows:
        return []
    faces = [UnnamedFace(r[0], r[1], (r[2], r[3], r[4], r[5])) for r in rows]
    x = np.frombuffer(b"".join(r[6] for r in rows), dtype=np.float32)
    x = x.reshape(len(rows), DESCRIPTOR_DIM)
    photos = np.array([f.photo_id for f in faces], dtype=np.int64)
    params = ClusterParams(merge_threshold=threshold, min_cluster_size=1, refine_iterations=0)
    labels = cluster_faces(x, photos, params)
    groups: dict[int, list[UnnamedFace]] = {}
    for i, face in enumerate(faces):
        key = int(labels[i]) if labels[i] >= 0 else -1 - i
        groups.setdefault(key, []).append(face)
    out = [FaceGroup(tuple(g)) for g in groups.values()]
    return sorted(out, key=lambda g: (-len(g.faces), g.faces[0].id))


def _check_faces(cat: Catalog, face_ids: Sequence[int]) -> list[int]:
    ids = sorted({int(f) for f in face_ids})
    if not ids:
        raise ClusterError("no faces given")
    found = {r[0] for r in cat.query_in("SELECT id FROM faces WHERE id IN {ids}", ids)}
    missing = [f for f in ids if f not in found]
    if missing:
        raise ClusterError(f"no face with id {', '.join(map(str, missing))}")
    return ids


def _faces_summary(n: int) -> str:
    return "a face" if n == 1 else f"{n} faces"


def name_faces(cat: Catalog, face_ids: Sequence[int], name: str) -> int:
    """"This is …": these faces are the person called ``name`` (the oldest person of that
    name, or a new one), confirmed by the user. A face of a photo that already has a face of
    that person is refused (one person appears once per photo). Returns the person's id."""
    new = clean_name(name)
    if not new:
        raise ClusterError("a name is needed")
    ids = _check_faces(cat, face_ids)
    photos = cat.query_in("SELECT photo_id FROM faces WHERE id IN {ids}", ids)
    if len({p for (p,) in photos}) < len(ids):
        raise ClusterError("two of these faces are in the same photo: one person appears "
                           "once per photo")
    newest = cat.scalar("SELECT COALESCE(MAX(id), 0) FROM clusters")
    param = journal.ids_param(ids)
    scopes: list[journal.Scope] = [
        ("clusters", "id > ?", (newest,)),
        ("faces", f"id IN {journal.IDS}", (param,)),
        ("not_faces", f"face_id IN {journal.IDS}", (param,)),
    ]
    summary = f"{_faces_summary(len(ids)).capitalize()} named “{new}”"
    with journal.decision(cat, "faces.name", summary, scopes):
        target = cluster_for_name(cat, "people", new)
        clash = cat.query_in(
            "SELECT f.id FROM faces f WHERE f.id IN {ids} AND EXISTS (SELECT 1 FROM faces g "
            f"WHERE g.cluster_id = {int(target)} AND g.photo_id = f.photo_id AND g.id != f.id)",
            ids)
        if clash:
            raise ClusterError(f"“{new}” is already in the photo of face {clash[0][0]}")
        cat.query_in("DELETE FROM not_faces WHERE face_id IN {ids}", ids)
        cat.query_in(
            f"UPDATE faces SET cluster_id = {int(target)}, source = 'confirmed' "
            "WHERE id IN {ids}", ids)
        cat.execute("UPDATE clusters SET updated_at = ? WHERE id = ?", (time.time(), target))
    return int(target)


def not_faces(cat: Catalog, face_ids: Sequence[int]) -> int:
    """"Not a face": these detections are never clustered or listed again (undoable).
    A face some person held leaves that person. Returns how many were marked."""
    ids = _check_faces(cat, face_ids)
    param = journal.ids_param(ids)
    scopes: list[journal.Scope] = [
        ("faces", f"id IN {journal.IDS}", (param,)),
        ("not_faces", f"face_id IN {journal.IDS}", (param,)),
    ]
    summary = f"Not a face: {_faces_summary(len(ids))}"
    now = time.time()
    with journal.decision(cat, "faces.not_face", summary, scopes):
        cat.query_in("UPDATE faces SET cluster_id = NULL, source = 'auto' WHERE id IN {ids}",
                     ids)
        for face_id in ids:
            cat.execute("INSERT OR IGNORE INTO not_faces(face_id, decided_at) VALUES(?, ?)",
                        (face_id, now))
    return len(ids)


def _forget_drawn_face(cat: Catalog, payload: dict) -> None:
    cat.execute("DELETE FROM faces WHERE id = ?",
                (int(payload["face_id"]),))


journal.register_inverse("faces.draw", _forget_drawn_face)


def add_drawn_face(cat: Catalog, photo_id: int, row: tuple, name: str) -> tuple[int, int]:
    """A face the user drew on a photo and named: a confirmed face of that person (made
    when new); one undo step removes the face and the name's effects. ``row``: the
    catalog row of :meth:`DetectedFace.row`. Returns (face id, person id)."""
    new = clean_name(name)
    if not new:
        raise ClusterError("a name is needed")
    with journal.batch(cat):
        face_id = cat.execute(
            "INSERT INTO faces(photo_id, x, y, w, h, score, sharpness, descriptor, source, "
            "created_at) VALUES(?, ?, ?, ?, ?, ?, ?, ?, 'auto', ?) RETURNING id",
            (int(photo_id), *row, time.time())).fetchone()[0]
        journal.record(cat, "faces.draw", f"Draw a face on {_photo_label(cat, photo_id)}",
                       {"face_id": int(face_id)})
        person = name_faces(cat, [face_id], new)
    return int(face_id), person


def _photo_label(cat: Catalog, photo_id: int) -> str:
    rel = cat.scalar("SELECT rel_path FROM photos WHERE id = ?", (int(photo_id),))
    return str(rel).rsplit("/", 1)[-1] if rel else f"photo {photo_id}"


def photo_files(cat: Catalog, photo_ids: Sequence[int]) -> dict[int, tuple]:
    """{photo id: (root path, relative path, content hash, size, mtime)}."""
    return {r[0]: r[1:] for r in cat.query_in(
        "SELECT p.id, r.path, p.rel_path, p.content_hash, p.size, p.mtime FROM photos p "
        "JOIN roots r ON r.id = p.root_id WHERE p.id IN {ids}", photo_ids)}


def people_names(cat: Catalog) -> list[str]:
    """The names of people, for "This is …"."""
    rows = cat.query("SELECT DISTINCT name FROM clusters WHERE kind = 'people' "
                     "AND name IS NOT NULL")
    return sorted((n for (n,) in rows), key=str.casefold)
