"""Bring what other tools wrote into the catalog, marked as imported; the user's word wins.

:func:`import_metadata` is the pipeline stage (run for new and changed photos, and again
whenever a photo or its sidecar changes): it reads :func:`photoorg.core.metadata.read.read_metadata`
and stores

- keywords as tags with source ``'xmp'`` (the tag table's *imported* provenance); a named
  face region also tags the photo ``People|Name`` until it is matched to a detected face;
- rating, label, title, caption in ``photo_meta`` with source ``'imported'``;
- named face regions in ``photo_regions``, matched to detected faces by
  :func:`apply_named_regions` once the face pass has run on the photo.

Later imports change only what the file changed since the previous import (remembered in
``photo_imports``): a keyword the user removed stays removed while the file still has it,
one the file dropped goes (unless the user had it too); a field the user set in photoorg
(``source 'user'``) is never overwritten; a face the user confirmed, moved or rejected is
never renamed by a region. Nothing here writes to the photo or its sidecars.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import apsw

from photoorg.core.media.boxes import match_boxes
from photoorg.core.metadata.read import PhotoMetadata, read_metadata
from photoorg.core.store import journal
from photoorg.core.store.catalog import Catalog
from photoorg.core.store.failures import describe
from photoorg.core.store.photo_meta import (  # noqa: F401  (re-exported: callers of mi.*)
    FIELDS,
    SOURCE_IMPORTED,
    SOURCE_USER,
    PhotoMeta,
    import_problems,
    note_written,
    photo_meta,
    photo_metas,
    photos_rated,
    rating_counts,
    rating_filter_sql,
    texts_for_photos,
)

log = logging.getLogger(__name__)

TAG_SOURCE = "xmp"  # photo_tags.source of imported keywords (the sidecar import's name)
PEOPLE = "People"
REGION_MIN_IOU = 0.3


@dataclass
class ImportReport:
    photos: int = 0  # photos read
    tags_added: int = 0
    faces_named: int = 0
    problems: dict[int, list[str]] = field(default_factory=dict)  # photo id -> reasons


def import_metadata(
    cat: Catalog,
    photo_ids: Iterable[int],
    read: Callable[[str], PhotoMetadata] | None = None,
) -> ImportReport:
    """Read and store the metadata of these photos (see the module docstring). Photos
    whose file is not there (offline, vanished) are left as they are. Never raises for a
    photo's bad metadata: its reasons are logged and returned."""
    reader = read or read_metadata
    ids = sorted({int(p) for p in photo_ids})
    paths = cat.paths_for_ids(ids)
    report = ImportReport()
    fresh: list[tuple[Path, list[str]]] = []
    for pid in ids:
        path = paths.get(pid)
        if path is None or not path.is_file():
            continue
        try:
            meta = reader(str(path))
        except Exception as exc:  # a reader bug must cost this photo's metadata, not the run
            log.debug("reading the metadata of %s failed", path, exc_info=True)
            meta = PhotoMetadata(problems=[f"could not read metadata ({describe(exc)})"])
        report.photos += 1
        report.tags_added += _store(cat, pid, meta)
        _index_texts(cat, [pid])
        if meta.problems:
            report.problems[pid] = list(meta.problems)
            if _first_time(path, meta.problems):
                fresh.append((path, meta.problems))
    _log_problems(fresh)
    report.faces_named += apply_named_regions(cat, ids)
    return report


# what was logged, per file and its state: the same problems of an unchanged file are not
# logged again on every pass (they stay in the catalog for the window to show)
_warned: dict[str, tuple[tuple[tuple[str, int, int], ...], tuple[str, ...]]] = {}
_WARNED_MAX = 10_000
LOGGED_PER_PASS = 5  # files logged one by one per pass; the rest in one line


def _first_time(path: Path, problems: list[str]) -> bool:
    from photoorg.core.metadata.sidecar import find_sidecars

    try:  # the photo and its sidecars as they are now
        stats = [(p.name, p.stat().st_size, p.stat().st_mtime_ns)
                 for p in (path, *find_sidecars(path))]
    except OSError:
        return True
    state = (tuple(stats), tuple(problems))
    if _warned.get(str(path)) == state:
        return False
    if len(_warned) >= _WARNED_MAX:
        _warned.clear()
    _warned[str(path)] = state
    return True


def _log_problems(fresh: list[tuple[Path, list[str]]]) -> None:
    for path, problems in fresh[:LOGGED_PER_PASS]:
        log.warning("metadata of %s partly unreadable: %s", path, "; ".join(problems))
    if len(fresh) > LOGGED_PER_PASS:
        log.warning("... and the metadata of %d more photos partly unreadable",
                    len(fresh) - LOGGED_PER_PASS)


# Photos on online folders whose metadata was never read: readable or not yet judged (a
# photo waiting for the CLIP model is read too), present (missing rows wait to come back).
_NEVER_READ = (
    "JOIN roots r ON r.id = p.root_id WHERE r.online = 1 "
    "AND p.status IN ('pending', 'indexed') AND p.missing_since IS NULL AND NOT EXISTS "
    "(SELECT 1 FROM photo_imports i WHERE i.photo_id = p.id)")


def never_read(cat: Catalog) -> int:
    """How many photos the stage still has to read."""
    return int(cat.scalar(f"SELECT COUNT(*) FROM photos p {_NEVER_READ}"))


def import_stage(
    cat: Catalog,
    photo_ids: Iterable[int] = (),
    should_stop: Callable[[], bool] | None = None,
    chunk: int = 256,
) -> ImportReport:
    """The pipeline stage: import these (new or changed) photos, then every indexed photo
    on an online folder that was never read (a library indexed before photoorg read other
    tools' metadata), a chunk at a time until ``should_stop``. ``photo_imports`` records
    per photo that the stage ran."""
    report = import_metadata(cat, photo_ids)
    after = 0
    while should_stop is None or not should_stop():
        ids = [pid for (pid,) in cat.query(
            f"SELECT p.id FROM photos p {_NEVER_READ} AND p.id > ? ORDER BY p.id LIMIT ?",
            (after, chunk))]
        if not ids:
            break
        after = ids[-1]
        more = import_metadata(cat, ids)
        report.photos += more.photos
        report.tags_added += more.tags_added
        report.faces_named += more.faces_named
        report.problems.update(more.problems)
    return report


def _index_texts(cat: Catalog, photo_ids: Iterable[int]) -> None:
    """Give the words search (issue 14's ``textindex.set_caption``, where present) the
    title and caption of these photos. Never fatal: search then only misses those words."""
    try:
        from photoorg.core.search import textindex  # type: ignore[attr-defined]
    except ImportError:
        return
    hook = getattr(textindex, "set_caption", None)
    if hook is None:
        return
    for pid, (title, caption) in texts_for_photos(cat, photo_ids).items():
        try:
            hook(cat, pid, "\n".join(t for t in (title, caption) if t) or None)
        except (apsw.FullError, apsw.IOError, apsw.ReadOnlyError):
            raise  # the catalog cannot be written at all: not this photo's problem
        except Exception:
            log.exception("indexing the caption of photo %s for search failed", pid)


def _tag_list(meta: PhotoMetadata) -> list[str]:
    from photoorg.core.groups.clusters import clean_name

    tags: list[str] = []
    seen: set[str] = set()
    for raw in [*meta.keywords, *(f"{PEOPLE}|{r.name}" for r in meta.regions)]:
        tag = clean_name(raw)
        if tag is not None and tag.casefold() not in seen:
            seen.add(tag.casefold())
            tags.append(tag)
    return tags


def _store(cat: Catalog, pid: int, meta: PhotoMetadata) -> int:
    from photoorg.core.groups.clusters import add_tag

    now_tags = _tag_list(meta)
    added = 0
    with cat.transaction():
        before_json = cat.scalar("SELECT tags FROM photo_imports WHERE photo_id = ?", (pid,))
        before = {t.casefold(): t for t in json.loads(before_json or "[]")}
        now = {t.casefold() for t in now_tags}
        for tag in now_tags:
            if tag.casefold() not in before:
                try:
                    added += add_tag(cat, [pid], tag, source=TAG_SOURCE)
                except ValueError:
                    continue
        for key, tag in before.items():
            if key not in now:
                _drop_imported_tag(cat, pid, tag)
        for name in FIELDS:
            value = getattr(meta, name)
            source = cat.scalar(
                "SELECT source FROM photo_meta WHERE photo_id = ? AND field = ?", (pid, name))
            if source == SOURCE_USER:
                continue
            if value is None:
                cat.execute("DELETE FROM photo_meta WHERE photo_id = ? AND field = ?", (pid, name))
            else:
                cat.execute(
                    "INSERT INTO photo_meta(photo_id, field, value, source) VALUES(?, ?, ?, ?) "
                    "ON CONFLICT(photo_id, field) DO UPDATE SET value = excluded.value, "
                    "source = excluded.source",
                    (pid, name, str(value), SOURCE_IMPORTED),
                )
        old_regions = cat.query(
            "SELECT name, x, y, w, h FROM photo_regions WHERE photo_id = ? ORDER BY id", (pid,))
        new_regions = [(r.name, *r.box) for r in meta.regions]
        if [tuple(r) for r in old_regions] != [
            (n, *(float(v) for v in b)) for n, *b in new_regions
        ]:
            cat.execute("DELETE FROM photo_regions WHERE photo_id = ?", (pid,))
            for region in new_regions:
                cat.execute(
                    "INSERT INTO photo_regions(photo_id, name, x, y, w, h) "
                    "VALUES(?, ?, ?, ?, ?, ?)",
                    (pid, *region),
                )
        # faces about to be detected again: match the regions again afterwards
        cat.execute(
            "UPDATE photo_regions SET applied = 0 WHERE photo_id = ? AND "
            "(SELECT faces_done FROM photos WHERE id = ?) = 0",
            (pid, pid),
        )
        cat.execute(
            "INSERT INTO photo_imports(photo_id, tags, problems, read_at) VALUES(?, ?, ?, ?) "
            "ON CONFLICT(photo_id) DO UPDATE SET tags = excluded.tags, "
            "problems = excluded.problems, read_at = excluded.read_at",
            (pid, json.dumps(now_tags), json.dumps(meta.problems), time.time()),
        )
    return added


def _drop_imported_tag(cat: Catalog, pid: int, tag: str) -> None:
    """Remove an imported tag row of a photo (a tag the user also set stays)."""
    cat.execute(
        "DELETE FROM photo_tags WHERE photo_id = ? AND source = ? AND tag_id IN "
        "(SELECT id FROM tags WHERE name = ?)",
        (pid, TAG_SOURCE, tag),
    )
    cat.execute(
        "DELETE FROM tags WHERE name = ? AND NOT EXISTS "
        "(SELECT 1 FROM photo_tags pt WHERE pt.tag_id = tags.id)",
        (tag,),
    )


def is_sidecar(rel_path: str) -> bool:
    """Whether a library file is an XMP sidecar (``IMG_1.jpg.xmp``, ``IMG_1.XMP``)."""
    return rel_path.lower().endswith(".xmp")


def photos_of_sidecar(cat: Catalog, root_id: int, rel_path: str) -> list[int]:
    """The photos a sidecar describes: ``IMG_1.jpg.xmp`` -> ``IMG_1.jpg``; Lightroom's
    ``IMG_1.xmp`` -> every ``IMG_1.<ext>`` beside it."""
    stem = rel_path[: -len(".xmp")]
    exact = cat.query("SELECT id FROM photos WHERE root_id = ? AND rel_path = ?",
                      (root_id, stem))
    like = stem.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + ".%"
    same_stem = cat.query(
        "SELECT id, rel_path FROM photos WHERE root_id = ? AND rel_path LIKE ? ESCAPE '\\'",
        (root_id, like),
    )
    ids = {r[0] for r in exact}
    ids |= {pid for pid, rel in same_stem if "/" not in rel[len(stem) + 1 :]
            and "." not in rel[len(stem) + 1 :]}
    return sorted(ids)


def sidecars_changed(cat: Catalog, changed: Iterable[tuple[int, str]]) -> ImportReport:
    """Sidecars ``(root id, relative path)`` were written, edited or deleted by another
    tool: read their photos again."""
    ids: set[int] = set()
    for root_id, rel in changed:
        ids.update(photos_of_sidecar(cat, root_id, rel))
    return import_metadata(cat, ids) if ids else ImportReport()


# -- named face regions -> people ----------------------------------------------------------


def apply_named_regions(cat: Catalog, photo_ids: Iterable[int] | None = None) -> int:
    """Match the named regions of photos whose face pass has run (all such photos with
    regions not yet matched, or only ``photo_ids``) to their detected faces.

    A region overlapping a face (IoU >= 0.3, best pairs first) makes it a face of the
    person of that name (source 'sidecar': fixed, like a confirmed face, yet marked
    imported): the person photoorg already has by that name, else the automatic person
    the face was put in (it takes the name), else a new person. The photo's imported
    ``People|Name`` tag then goes (the person carries it). Faces the user decided on are
    left alone. Returns how many faces were named; new names attract unnamed faces of the
    same person through the usual incremental clustering."""
    sql = (
        "SELECT r.id, r.photo_id, r.name, r.x, r.y, r.w, r.h FROM photo_regions r "
        "JOIN photos p ON p.id = r.photo_id WHERE r.applied = 0 AND p.faces_done = 1"
    )
    if photo_ids is None:
        rows = cat.query(sql + " ORDER BY r.id")
    else:
        ids = sorted({int(p) for p in photo_ids})
        rows = cat.query_in(sql + " AND r.photo_id IN {ids}", ids)
    by_photo: dict[int, list[tuple]] = {}
    for row in rows:
        by_photo.setdefault(row[1], []).append(row)
    named = 0
    with cat.transaction():
        for pid, regions in sorted(by_photo.items()):
            named += _apply_photo(cat, pid, regions)
    if named:
        from photoorg.core.people.faces import recluster_people

        recluster_people(cat)  # unassigned faces near the newly named people join them
    return named


def _apply_photo(cat: Catalog, pid: int, regions: Sequence[tuple]) -> int:
    faces = cat.query(
        "SELECT id, x, y, w, h, cluster_id, source FROM faces WHERE photo_id = ? ORDER BY id",
        (pid,))
    matches = match_boxes([r[3:7] for r in regions], [f[1:5] for f in faces], REGION_MIN_IOU)
    named = 0
    for i, region in enumerate(regions):
        face = faces[matches[i]] if i in matches else None
        face_id = None
        if face is not None:
            face_id = face[0]
            if _name_face(cat, face, region[2]):
                named += 1
            _drop_imported_tag(cat, pid, f"{PEOPLE}|{region[2]}")
        elif _region_without_face(cat, pid, region[2]):
            _drop_imported_tag(cat, pid, f"{PEOPLE}|{region[2]}")
        cat.execute("UPDATE photo_regions SET applied = 1, face_id = ? WHERE id = ?",
                    (face_id, region[0]))
    return named


def _region_without_face(cat: Catalog, pid: int, name: str) -> bool:
    """A named region where no face was detected (a profile, a back, a face too small):
    the photo still joins the person of that name (made when new), as a photo of that
    person without a face box, unless the user took it out of that person. Returns
    whether the person now holds the photo."""
    from photoorg.core.groups.clusters import cluster_for_name

    target = cluster_for_name(cat, "people", name)
    cat.execute("INSERT OR IGNORE INTO cluster_photos(cluster_id, photo_id, source) "
                "VALUES(?, ?, 'confirmed')", (target, pid))
    return cat.scalar("SELECT source != 'rejected' FROM cluster_photos WHERE cluster_id = ? "
                      "AND photo_id = ?", (target, pid)) == 1


def _name_face(cat: Catalog, face: tuple, name: str) -> bool:
    """Put an undecided face into the person called ``name``; False if the user decided."""
    from photoorg.core.groups.clusters import clusters_named, create_cluster, name_cluster

    face_id, current, source = face[0], face[5], face[6]
    if source != "auto":
        return False  # confirmed by the user, or imported before: that stands
    found = clusters_named(cat, "people", name)
    target = found[0] if found else None
    if current is not None and current in found:
        return False  # already that person (e.g. our own sidecar read back)
    rejected = {c for (c,) in cat.query(
        "SELECT cluster_id FROM face_rejections WHERE face_id = ?", (face_id,))}
    if target in rejected:
        return False
    if current is not None and current != target and _automatic_person(cat, current):
        if target is None:
            name_cluster(cat, current, name)
            target = current
        else:  # the automatic person is this named one: its faces join
            cat.execute(
                "UPDATE faces SET cluster_id = ? WHERE cluster_id = ? AND source = 'auto' "
                "AND id NOT IN (SELECT face_id FROM face_rejections WHERE cluster_id = ?) "
                "AND photo_id NOT IN (SELECT photo_id FROM faces WHERE cluster_id = ?)",
                (target, current, target, target),
            )
            cat.execute("UPDATE faces SET cluster_id = NULL WHERE cluster_id = ?", (current,))
            cat.execute("DELETE FROM clusters WHERE id = ?", (current,))
    elif target is None:
        target = create_cluster(cat, "people", name)
    clash = cat.scalar(
        "SELECT 1 FROM faces WHERE cluster_id = ? AND id != ? AND photo_id = "
        "(SELECT photo_id FROM faces WHERE id = ?)",
        (target, face_id, face_id),
    )
    if clash:
        return False  # another face of this photo is that person already
    cat.execute("UPDATE faces SET cluster_id = ?, source = 'sidecar' WHERE id = ?",
                (target, face_id))
    return True


def _automatic_person(cat: Catalog, cluster_id: int) -> bool:
    """A people cluster nobody touched: unnamed, shown, no decided faces, no rejections."""
    return not cat.scalar(
        "SELECT 1 FROM clusters c WHERE c.id = ? AND (c.name IS NOT NULL OR c.hidden = 1 "
        "OR EXISTS (SELECT 1 FROM faces f WHERE f.cluster_id = c.id AND f.source != 'auto') "
        "OR EXISTS (SELECT 1 FROM face_rejections r WHERE r.cluster_id = c.id))",
        (cluster_id,),
    )


# -- reading and setting rating / label / title / caption ----------------------------------


def set_photo_meta(cat: Catalog, photo_ids: Iterable[int], name: str,
                   value: str | int | None) -> int:
    """The user sets (None / "": clears) a field on photos; it wins over imports from now
    on. Ratings are -1 (rejected) .. 5. Returns how many photos."""
    if name not in FIELDS:
        raise ValueError(f"unknown field {name!r} (one of {', '.join(FIELDS)})")
    text = "" if value is None else str(value).strip()
    if name == "rating" and text:
        try:
            stars = int(text)
        except ValueError as exc:
            raise ValueError(f"a rating is a whole number -1..5, not {value!r}") from exc
        if not -1 <= stars <= 5:
            raise ValueError(f"a rating is -1..5, not {stars}")
        text = str(stars)
    ids = sorted({int(p) for p in photo_ids})
    scopes = [("photo_meta", f"field = ? AND photo_id IN {journal.IDS}",
               (name, journal.ids_param(ids)))]
    summary = (f"Set the {name} of {len(ids)} photo(s) to “{text}”" if text else
               f"Clear the {name} of {len(ids)} photo(s)")
    with journal.decision(cat, f"meta.{name}", summary, scopes):
        for pid in ids:
            cat.execute(
                "INSERT INTO photo_meta(photo_id, field, value, source) VALUES(?, ?, ?, ?) "
                "ON CONFLICT(photo_id, field) DO UPDATE SET value = excluded.value, "
                "source = excluded.source",
                (pid, name, text, SOURCE_USER),
            )
    if name in ("title", "caption"):
        _index_texts(cat, ids)
    return len(ids)


