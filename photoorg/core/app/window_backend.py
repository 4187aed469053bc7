"""The GUI's one door into the core for work that runs in its workers. Qt-free.

Each function takes the worker's ``state`` dict first (see :class:`~photoorg.ui.workers.Worker`),
where a worker keeps what it owns: the catalog connection, the embedder, the search index.
Views and models never import the core; they ask the controller, which submits these.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from photoorg import config
from photoorg.core.groups import clusters, organize
from photoorg.core.ingest import ocr as ocr_setting
from photoorg.core.ingest import pipeline
from photoorg.core.media import thumbcache
from photoorg.core.media.synthetic import write_sample_library
from photoorg.core.metadata import importer as metadata_import
from photoorg.core.search import browse, duplicates, textindex
from photoorg.core.search import browse_queries as queries
from photoorg.core.store import backup, journal, missing
from photoorg.core.store.catalog import Catalog
from photoorg.resources import resource_path

log = logging.getLogger(__name__)

State = dict[str, Any]


# -- connections -----------------------------------------------------------------------


def open_writer(data: Path) -> Callable[[State], None]:
    def init(state: State) -> None:
        state["cat"] = Catalog(config.catalog_path(data))
        try:
            backup.maybe_backup(config.catalog_path(data), data)  # the daily safety net
        except (backup.BackupError, OSError):
            log.exception("could not back up the catalog")

    return init


def catalog_ready(state: State) -> bool:
    """Nothing to do: the writer's init has created or upgraded the catalog by now."""
    return "cat" in state


def open_reader(data: Path) -> Callable[[State], None]:
    """A read-only connection (the writer worker creates and upgrades the file first)."""

    def init(state: State) -> None:
        state["cat"] = Catalog(config.catalog_path(data), readonly=True)

    return init


def close_catalog(state: State) -> None:
    cat = state.pop("cat", None)
    if cat is not None:
        cat.close()


# -- reads (query worker) --------------------------------------------------------------------


def load_source(state: State, source: queries.Source, sort: str = "taken") -> queries.PhotoList:
    cat: Catalog = state["cat"]
    if source.kind == "folder":
        return queries.folder_photos(cat, int(source.arg), sort)
    if source.kind == "subfolder":
        root_id, sub = source.arg
        return queries.folder_photos(cat, int(root_id), sort, str(sub))
    if source.kind == "tag":
        return queries.tag_photos(cat, str(source.arg), sort)
    if source.kind == "album":
        return queries.album_photos(cat, str(source.arg), sort)
    if source.kind == "cluster":
        return queries.cluster_photos(cat, int(source.arg), sort)
    if source.kind == "text":
        return queries.photos_with_text(cat, sort)
    if source.kind == "rating":
        return queries.rated_photos(cat, int(source.arg), sort)
    return queries.all_photos(cat, sort)


def photo_count(state: State) -> tuple[int, int, int]:
    """(photos, newest id, unreadable): when any changes, the grid reloads (a file found
    unreadable leaves the grid, so the page and the sidebar keep the same count)."""
    cat: Catalog = state["cat"]
    row = cat.execute("SELECT COUNT(*), COALESCE(MAX(id), 0), "
                      "COALESCE(SUM(status = 'skipped'), 0) FROM photos").fetchone()
    return int(row[0]), int(row[1]), int(row[2])


@dataclass
class Overview:
    """What the sidebar and status bar show."""

    folders: list[queries.FolderStatus]
    counts: dict[str, Any]
    clusters: dict[str, int]
    tags: list[tuple[str, int]]
    albums: list[str]
    model: str | None
    text_photos: int = 0  # photos with words read in them
    suggestions: list[tuple[str, str]] = field(default_factory=list)  # search completions
    tree: list[browse.FolderNode] = field(default_factory=list)  # folders with subfolders
    library: dict[str, int] = field(default_factory=dict)  # browse.library_counts
    ratings: dict[int, int] = field(default_factory=dict)  # stars -> photos rated at least


def overview(state: State) -> Overview:
    cat: Catalog = state["cat"]
    target = cat.target_model()
    return Overview(
        folders=queries.folder_statuses(cat),
        counts=cat.status_counts(),
        clusters=queries.cluster_counts(cat),
        tags=[t for t in queries.tags_with_counts(cat) if not organize.is_album_tag(t[0])],
        albums=queries.albums(cat),
        model=target.spec if target else None,
        text_photos=queries.text_photo_count(cat),
        suggestions=search_suggestions(state),
        tree=browse.folder_tree(cat),
        library=browse.library_counts(cat),
        ratings=metadata_import.rating_counts(cat),
    )


def photo_details(state: State, photo_id: int) -> queries.PhotoDetails | None:
    return queries.photo_details(state["cat"], photo_id)


def list_clusters(state: State, kind: str) -> list[queries.ClusterInfo]:
    return queries.clusters(state["cat"], kind)


def rows_for_ids(state: State, ids: list[int], scores: list[float] | None, title: str,
                 matched: list[tuple[str, ...]] | None = None, total: int | None = None,
                 weaker_hidden: bool = False) -> queries.PhotoList:
    """Grid rows for search results, in their order (with why each matched, how many
    results the query has in all, and whether a cut-off left weaker ones out)."""
    out = queries.photos_by_ids(state["cat"], ids, scores, title, matched)
    out.total = total
    out.weaker_hidden = weaker_hidden
    return out


def search_suggestions(state: State) -> list[tuple[str, str]]:
    """Completions for the search bar: (text, kind) of people, places, tags, albums."""
    return [(s.text, s.kind) for s in textindex.suggestions(state["cat"])]


def set_read_text(state: State, on: bool) -> None:
    """The library setting that turns the OCR stage on or off (written only if it changes)."""
    cat: Catalog = state["cat"]
    if (cat.get_meta(ocr_setting.META_READ_TEXT, "1") != "0") != on:
        ocr_setting.set_enabled(cat, on)


def read_text_enabled(state: State) -> bool:
    return ocr_setting.enabled(state["cat"])


# -- writes (writer worker) ----------------------------------------------------------------------


def add_folders(state: State, paths: list[str]) -> int:
    cat: Catalog = state["cat"]
    for path in paths:
        cat.add_root(path)
    return len(paths)


def remove_folder(state: State, root_id: int) -> None:
    state["cat"].remove_root(root_id)


def set_exclusions(state: State, patterns: list[str]) -> None:
    cat: Catalog = state["cat"]
    current = set(cat.exclusions())
    wanted = {p.strip() for p in patterns if p.strip()}
    with cat.transaction():
        for pattern in current - wanted:
            cat.remove_exclusion(pattern)
        for pattern in wanted - current:
            cat.add_exclusion(pattern)


@dataclass
class SettingsInfo:
    """What the settings dialog shows that lives in the catalog or on disk."""

    folders: list[tuple[int, str, bool]]
    exclusions: list[str]
    cache_mb: float


def settings_info(state: State, data: Path) -> SettingsInfo:
    cat: Catalog = state["cat"]
    return SettingsInfo(
        [(r.id, str(r.path), r.online) for r in cat.roots()], cat.exclusions(),
        thumbcache.cache_bytes(config.thumbnail_dir(data)) / 1e6,
    )


def create_sample_library(state: State, data: Path) -> str:
    """Copy the shipped sample photos (or draw them) into the data folder; add as a folder."""
    target = data / "Sample photos"
    shipped = resource_path("samples")
    if not target.exists():
        if (shipped / "shapes").is_dir():
            shutil.copytree(shipped, target, ignore=shutil.ignore_patterns("*.md", "*.txt"))
        else:
            write_sample_library(target, per_class=2, seed=2026)
    state["cat"].add_root(target)
    return str(target)


def _sync_sidecars(cat: Catalog, photo_ids: list[int] | tuple[int, ...], on: bool) -> None:
    """Portable tags (opt-in, Settings.write_sidecars): rewrite the XMP sidecars of photos
    whose tags changed, as the CLI does."""
    if on and photo_ids:
        pipeline.sync_sidecars(cat, list(photo_ids))


def _members(cat: Catalog, cluster_ids: list[int]) -> list[int]:
    get = clusters.get_cluster
    members: set[int] = set()
    for cid in cluster_ids:
        info = get(cat, cid)
        if info is not None:
            members.update(info.photo_ids)
    return sorted(members)


def rename_cluster(state: State, cluster_id: int, name: str, sidecars: bool = False) -> None:
    cat: Catalog = state["cat"]
    before = _members(cat, [cluster_id]) if sidecars else []
    clusters.name_cluster(cat, cluster_id, name or None)
    _sync_sidecars(cat, before, sidecars)


def merge_clusters(state: State, source_ids: list[int], target_id: int,
                   sidecars: bool = False) -> None:
    cat: Catalog = state["cat"]
    touched = _members(cat, [target_id, *source_ids]) if sidecars else []
    merge = clusters.merge_clusters
    with journal.batch(cat):  # one undo step
        for other in source_ids:
            merge(cat, target_id, other)
    _sync_sidecars(cat, touched, sidecars)


def hide_cluster(state: State, cluster_id: int, hidden: bool = True) -> None:
    clusters.hide_cluster(state["cat"], cluster_id, hidden)


def add_tag(state: State, photo_ids: list[int], name: str, sidecars: bool = False) -> int:
    cat: Catalog = state["cat"]
    added = clusters.add_tag(cat, photo_ids, name)
    _sync_sidecars(cat, photo_ids, sidecars)
    return added


def add_to_album(state: State, name: str, photo_ids: list[int], sidecars: bool = False) -> int:
    cat: Catalog = state["cat"]
    added = organize.add_to_album(cat, name, photo_ids)
    _sync_sidecars(cat, photo_ids, sidecars)
    return added


def ids_for_paths(cat: Catalog, paths: list[str]) -> list[int]:
    return [pid for p in paths if (pid := cat.photo_id_for_path(p)) is not None]


def drop_on(state: State, nav: tuple, paths: list[str], sidecars: bool = False) -> int:
    """Photos dragged onto an album or a tag in the sidebar."""
    cat: Catalog = state["cat"]
    ids = ids_for_paths(cat, paths)
    if nav[0] == "album":
        added = organize.add_to_album(cat, str(nav[1]), ids)
    else:
        added = clusters.add_tag(cat, ids, str(nav[1]))
    _sync_sidecars(cat, ids, sidecars)
    return added


def _tagged(cat: Catalog, tag: str, sidecars: bool) -> list[int]:
    return sorted(clusters.photos_with_tag(cat, tag)) if sidecars else []


def rename_tag(state: State, old: str, new: str, sidecars: bool = False) -> None:
    cat: Catalog = state["cat"]
    touched = _tagged(cat, old, sidecars)
    organize.rename_tag(cat, old, new)
    _sync_sidecars(cat, touched, sidecars)


def delete_tag(state: State, name: str, sidecars: bool = False) -> int:
    cat: Catalog = state["cat"]
    touched = _tagged(cat, name, sidecars)
    n = organize.delete_tag(cat, name)
    _sync_sidecars(cat, touched, sidecars)
    return n


def rename_album(state: State, old: str, new: str, sidecars: bool = False) -> None:
    cat: Catalog = state["cat"]
    touched = _tagged(cat, organize.album_tag(old), sidecars)
    organize.rename_album(cat, old, new)
    _sync_sidecars(cat, touched, sidecars)


def delete_album(state: State, name: str, sidecars: bool = False) -> None:
    cat: Catalog = state["cat"]
    touched = _tagged(cat, organize.album_tag(name), sidecars)
    organize.delete_album(cat, name)
    _sync_sidecars(cat, touched, sidecars)


def set_rotation(state: State, photo_id: int, degrees: int) -> int:
    return browse.set_display_rotation(state["cat"], photo_id, degrees)


def duplicate_groups(state: State, threshold: float) -> list[duplicates.Group]:
    """Near-duplicate groups (the duplicates worker keeps its search index between calls;
    numpy only, so torch stays out of the window's process)."""
    from photoorg.core.search.engine import SearchIndex

    index = state.get("index")
    if index is None:
        index = state["index"] = SearchIndex(state["cat"], cache=False, backend="numpy")
    return duplicates.review(state["cat"], threshold, index)


def close_duplicates(state: State) -> None:
    index = state.pop("index", None)
    if index is not None:
        index.close()
    close_catalog(state)


def dismiss_duplicates(state: State, photo_ids: list[int]) -> int:
    return duplicates.dismiss(state["cat"], photo_ids)


def trash_photos(state: State, photo_ids: list[int]) -> list[str]:
    return [str(p) for p in duplicates.move_to_trash(state["cat"], photo_ids)]


def change_marker(state: State) -> int:
    return browse.change_marker(state["cat"])


def unreadable(state: State) -> list[browse.Unreadable]:
    return browse.unreadable(state["cat"])


def retry_unreadable(state: State, ids: list[int] | None = None) -> int:
    return browse.retry_unreadable(state["cat"], ids)


def reject_photos(state: State, cluster_id: int, photo_ids: list[int],
                  sidecars: bool = False) -> None:
    """"Not this person" (or not this place / scene): the photos leave it for good."""
    cat: Catalog = state["cat"]
    remove = clusters.remove_photo_from_cluster
    with journal.batch(cat):  # one undo step; the faces taken out become one new person
        into = None
        for pid in photo_ids:
            into = remove(cat, cluster_id, pid, into=into)
    _sync_sidecars(cat, photo_ids, sidecars)


def confirm_photos(state: State, cluster_id: int, photo_ids: list[int]) -> None:
    """The user says these suggested photos do belong: re-clustering keeps them."""
    clusters.confirm_photos(state["cat"], cluster_id, photo_ids)


def forget_missing(state: State) -> int:
    """Forget the photos whose files are gone (the user confirmed)."""
    return missing.forget_missing(state["cat"])


def undo(state: State, steps: int = 1) -> list[str]:
    """Undo the last decisions (the catalog's journal); returns what was undone."""
    return [entry.summary for entry in journal.undo(state["cat"], steps)]


def last_decision(state: State) -> str | None:
    """What Undo would undo now, or None."""
    entries = journal.history(state["cat"], limit=1)
    return entries[0].summary if entries else None


# -- thumbnails (query worker, at start) ---------------------------------------------------------


def prune_thumbnails(state: State, data: Path, max_mb: int) -> int:
    return thumbcache.prune(config.thumbnail_dir(data), max_mb * 1024 * 1024)


# -- more like these, events (issue 17; the core does the work) ----------------------------------


def save_similar_album(state: State, name: str, positive: list[int], negative: list[int]
                       ) -> str:
    """Writer worker: a "more like these" album that stays current."""
    from photoorg.core.search import feedback

    album = feedback.save_album(state["cat"], name,
                                feedback.Feedback(tuple(positive), tuple(negative)))
    return album.name


def load_events(state: State) -> list[Any]:
    """Writer worker (the split is stored, keeping ids and decisions): the suggestions,
    newest first."""
    from photoorg.core.groups import events

    return events.list_events(events.refresh_events(state["cat"]))


def keep_event(state: State, event_id: int, sidecars: bool = False) -> str:
    from photoorg.core.groups import events

    cat: Catalog = state["cat"]
    album = events.keep_event(cat, event_id)
    _sync_sidecars(cat, events.event_photo_ids(cat, event_id), sidecars)
    return album.name


def dismiss_event(state: State, event_id: int) -> None:
    from photoorg.core.groups import events

    events.dismiss_event(state["cat"], event_id)
