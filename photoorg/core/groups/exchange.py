"""The user's work out of the catalog and back: every decision (tags, names, faces with
their boxes, groups, albums, ratings when the catalog has them) as one JSON document keyed
by content hash and relative path, so it survives a lost catalog or a move to a new one.

:func:`import_decisions` reads it into a library that has indexed the same photos: each
photo is found by content hash (else by relative path), faces by box overlap with the
faces the face pass found there (run it first; faces it did not find are reported).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from photoorg.core.groups import clusters
from photoorg.core.media.boxes import match_boxes
from photoorg.core.store import journal
from photoorg.core.store.catalog import Catalog

FORMAT = "photoorg-decisions"
VERSION = 1


class ExchangeError(ValueError):
    """A file that is not a photoorg decisions export (or a newer version of one)."""


def _has_table(cat: Catalog, table: str) -> bool:
    return bool(cat.scalar("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                           (table,)))


def export_decisions(cat: Catalog) -> dict[str, Any]:
    """Everything the user decided, as a JSON-ready dict."""
    roots = {r.id: r.path.name for r in cat.roots()}
    groups = {
        cid: {"id": cid, "kind": kind, "name": name, "auto_name": auto, "hidden": bool(hidden)}
        for cid, kind, name, auto, hidden in cat.query(
            "SELECT id, kind, name, auto_name, hidden FROM clusters")
    }
    photos: dict[int, dict[str, Any]] = {}

    def photo(pid: int) -> dict[str, Any]:
        if pid not in photos:
            row = cat.execute(
                "SELECT root_id, rel_path, content_hash, size FROM photos WHERE id = ?", (pid,)
            ).fetchone()
            photos[pid] = {"content_hash": row[2], "size": row[3], "root": roots.get(row[0]),
                           "path": row[1], "tags": [], "faces": [], "groups": [], "meta": {}}
        return photos[pid]

    for pid, name, source in cat.query(
        "SELECT pt.photo_id, t.name, pt.source FROM photo_tags pt JOIN tags t ON t.id = pt.tag_id "
        "ORDER BY pt.photo_id, t.name"
    ):
        photo(pid)["tags"].append({"name": name, "source": source})
    rejected: dict[int, list[int]] = {}
    for face_id, cid in cat.query("SELECT face_id, cluster_id FROM face_rejections"):
        rejected.setdefault(face_id, []).append(cid)
    for fid, pid, x, y, w, h, cid, source in cat.query(
        "SELECT f.id, f.photo_id, f.x, f.y, f.w, f.h, f.cluster_id, f.source FROM faces f "
        "LEFT JOIN clusters c ON c.id = f.cluster_id "
        "WHERE f.source != 'auto' OR c.name IS NOT NULL OR f.id IN "
        "(SELECT face_id FROM face_rejections) ORDER BY f.photo_id, f.id"
    ):
        photo(pid)["faces"].append({
            "box": [x, y, w, h], "group": cid, "source": source,
            "rejected_from": sorted(rejected.get(fid, [])),
        })
    for cid, pid, source in cat.query(
        "SELECT cp.cluster_id, cp.photo_id, cp.source FROM cluster_photos cp "
        "JOIN clusters c ON c.id = cp.cluster_id "
        "WHERE cp.source != 'auto' OR c.name IS NOT NULL ORDER BY cp.photo_id"
    ):
        photo(pid)["groups"].append({"group": cid, "source": source})
    if _has_table(cat, "photo_meta"):  # rating, label, title, caption
        for pid, name, value, source in cat.query(
            "SELECT photo_id, field, value, source FROM photo_meta ORDER BY photo_id, field"
        ):
            photo(pid)["meta"][name] = {"value": value, "source": source}
    used = {f["group"] for p in photos.values() for f in p["faces"]} | {
        g for p in photos.values() for f in p["faces"] for g in f["rejected_from"]} | {
        g["group"] for p in photos.values() for g in p["groups"]}
    return {
        "format": FORMAT,
        "version": VERSION,
        "exported_at": time.time(),
        "groups": [g for cid, g in sorted(groups.items())
                   if cid in used or g["name"] or g["hidden"]],
        "albums": [{"name": n, "query": json.loads(q)} for n, q in cat.query(
            "SELECT name, query FROM albums ORDER BY name")],
        "photos": sorted(photos.values(), key=lambda p: (p["root"] or "", p["path"])),
    }


@dataclass
class ImportReport:
    photos: int = 0  # photos of the file found in this library
    not_found: list[str] = field(default_factory=list)  # their paths
    tags: int = 0
    faces: int = 0
    faces_not_found: list[Any] = field(default_factory=list)  # boxes no face here matches
    groups: int = 0
    albums: int = 0


def _find_photo(cat: Catalog, item: dict[str, Any]) -> int | None:
    if item.get("content_hash"):
        pid = cat.scalar(
            "SELECT id FROM photos WHERE content_hash = ? AND missing_since IS NULL "
            "ORDER BY rel_path = ? DESC, id LIMIT 1", (item["content_hash"], item.get("path")))
        if pid is not None:
            return pid
    return cat.scalar("SELECT id FROM photos WHERE rel_path = ? ORDER BY id LIMIT 1",
                      (item.get("path"),))


def import_decisions(cat: Catalog, doc: dict[str, Any]) -> ImportReport:
    """Read an export into this library (one undo step). Groups are matched by kind and
    name (unnamed ones are made anew); what is already there stays."""
    if doc.get("format") != FORMAT:
        raise ExchangeError("not a photoorg decisions file")
    if int(doc.get("version", 0)) > VERSION:
        raise ExchangeError(f"written by a newer photoorg (version {doc.get('version')})")
    report = ImportReport()
    specs = {g["id"]: g for g in doc.get("groups", [])}
    made: dict[int, int] = {}
    meta = _has_table(cat, "photo_meta")

    def group(old: int | None) -> int | None:
        if old is None or old not in specs:
            return None
        if old not in made:
            spec = specs[old]
            found = (clusters.clusters_named(cat, spec["kind"], spec["name"])
                     if spec.get("name") else [])
            made[old] = found[0] if found else clusters.create_cluster(
                cat, spec["kind"], spec.get("name"), auto_name=spec.get("auto_name"))
            if spec.get("hidden"):
                cat.execute("UPDATE clusters SET hidden = 1 WHERE id = ?", (made[old],))
            report.groups += 1
        return made[old]

    # one undo step; an import is rare, so the journal compares whole tables
    everything = [(name, "1", ()) for name in journal.TABLES]
    with journal.decision(cat, "import", f"Import the decisions of {len(doc.get('photos', []))} "
                          "photos", everything):
        for item in doc.get("photos", []):
            pid = _find_photo(cat, item)
            if pid is None:
                report.not_found.append(f"{item.get('root')}/{item.get('path')}")
                continue
            report.photos += 1
            for tag in item.get("tags", []):
                report.tags += clusters.add_tag(cat, [pid], tag["name"],
                                                source=tag.get("source", "user"))
            report.faces += _import_faces(cat, pid, item.get("faces", []), group,
                                          report.faces_not_found)
            for member in item.get("groups", []):
                cid = group(member["group"])
                if cid is not None:
                    cat.execute(
                        "INSERT INTO cluster_photos(cluster_id, photo_id, source) "
                        "VALUES(?, ?, ?) ON CONFLICT(cluster_id, photo_id) "
                        "DO UPDATE SET source = excluded.source", (cid, pid, member["source"]))
            for name, entry in (item.get("meta") or {}).items() if meta else ():
                cat.execute(
                    "INSERT INTO photo_meta(photo_id, field, value, source) VALUES(?, ?, ?, ?) "
                    "ON CONFLICT(photo_id, field) DO UPDATE SET value = excluded.value, "
                    "source = excluded.source", (pid, name, entry["value"], entry["source"]))
        for album in doc.get("albums", []):
            if clusters.get_album(cat, album["name"]) is None:
                spec = album["query"]
                clusters.create_album(cat, album["name"], spec.get("tags") or (),
                                      spec.get("query"), spec.get("filters") or None,
                                      spec.get("match") or "all")
                report.albums += 1
    return report


def _import_faces(cat: Catalog, pid: int, faces: Iterable[dict[str, Any]], group: Any,
                  unmatched: list[Any]) -> int:
    faces = list(faces)
    here = cat.query("SELECT id, x, y, w, h FROM faces WHERE photo_id = ? ORDER BY id", (pid,))
    matched = match_boxes([f["box"] for f in faces], [r[1:] for r in here], min_iou=0.5)
    count = 0
    for i, face in enumerate(faces):
        cid = group(face.get("group"))
        source = face["source"]
        if i not in matched:  # not detected here (yet): run the face pass, then import
            unmatched.append(face["box"])
            continue
        face_id = here[matched[i]][0]
        cat.execute("UPDATE faces SET cluster_id = ?, source = ? WHERE id = ?",
                    (cid, source, face_id))
        for old in face.get("rejected_from", []):
            rejected = group(old)
            if rejected is not None:
                cat.execute("INSERT OR IGNORE INTO face_rejections(face_id, cluster_id) "
                            "VALUES(?, ?)", (face_id, rejected))
        count += 1
    return count
