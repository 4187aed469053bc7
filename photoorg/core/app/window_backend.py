"""What the window's workers run: the window's side of the door. Qt-free.

Each function takes the worker's ``state`` dict first (see :class:`~photoorg.ui.workers.Worker`),
where a worker keeps what it owns: the writer worker its :class:`Library` (the one door:
every user decision is the Library's, so the CLI and the window decide alike), the query
worker a read-only connection, the duplicates worker its search index. Reads shaped for the
window's models are here; views and models never import the core, they ask the controller,
which submits these.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from photoorg import config
from photoorg.core.app.library import Library, LibraryError
from photoorg.core.groups import organize
from photoorg.core.ingest import ocr as ocr_setting
from photoorg.core.media import thumbcache
from photoorg.core.media.synthetic import write_sample_library
from photoorg.core.metadata import importer as metadata_import
from photoorg.core.models.policy import Encoders
from photoorg.core.search import browse, duplicates, textindex
from photoorg.core.search import browse_queries as queries
from photoorg.core.store import journal
from photoorg.core.store.catalog import Catalog
from photoorg.resources import resource_path

log = logging.getLogger(__name__)

State = dict[str, Any]


# -- connections -----------------------------------------------------------------------


def open_writer(data: Path, on_change: Callable[[Any], None] | None = None
                ) -> Callable[[State], None]:
    """The writer worker's door: a :class:`Library` (models never loaded here: the indexing
    service owns them), its write connection as ``state["cat"]``; ``on_change`` hears every
    decision's :class:`~photoorg.core.app.decisions.Change` (the window's pages refresh from
    it)."""

    def init(state: State) -> None:
        lib = Library(data, encoders=Encoders(download=False))
        if on_change is not None:
            lib.subscribe(on_change)
        state["lib"] = lib
        state["cat"] = lib.writer
        lib.backup_daily()  # the daily safety net

    return init


def _door(state: State, sidecars: bool | None = None) -> Library:
    """The writer's Library, with sidecar writing as the window's settings say now."""
    lib: Library = state["lib"]
    if sidecars is not None:
        lib.set_write_sidecars(sidecars)
    return lib


def catalog_ready(state: State) -> bool:
    """Nothing to do: the writer's init has created or upgraded the catalog by now."""
    return "cat" in state


def open_reader(data: Path) -> Callable[[State], None]:
    """A read-only connection (the writer worker creates and upgrades the file first)."""

    def init(state: State) -> None:
        state["cat"] = Catalog(config.catalog_path(data), readonly=True)

    return init


def close_catalog(state: State) -> None:
    lib = state.pop("lib", None)
    cat = state.pop("cat", None)
    if lib is not None:
        lib.close()  # its writer is ``cat``
    elif cat is not None:
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
    if source.kind == "stack":
        return queries.stack_photos(cat, int(source.arg))
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
    album_counts: dict[str, int] = field(default_factory=dict)  # name -> photos (tag albums)


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
        album_counts=queries.album_counts(cat),
    )


def photo_details(state: State, photo_id: int) -> queries.PhotoDetails | None:
    return queries.photo_details(state["cat"], photo_id)


def list_clusters(state: State, kind: str) -> list[queries.ClusterInfo]:
    return queries.clusters(state["cat"], kind)


def rows_for_ids(state: State, ids: list[int], scores: list[float] | None, title: str,
                 matched: list[tuple[str, ...]] | None = None, total: int | None = None,
                 weaker_hidden: bool = False, times: list[float | None] | None = None
                 ) -> queries.PhotoList:
    """Grid rows for search results, in their order (with why each matched, how many
    results the query has in all, whether a cut-off left weaker ones out, and the second
    of a video's best matching moment)."""
    out = queries.photos_by_ids(state["cat"], ids, scores, title, matched, times)
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


def set_write_sidecars(state: State, on: bool) -> int:
    """The window's setting changed: turned on, every stale sidecar is written now."""
    return _door(state).set_write_sidecars(on)


def rename_cluster(state: State, cluster_id: int, name: str, sidecars: bool = False) -> None:
    _door(state, sidecars).name_cluster(cluster_id, name or None)


def merge_clusters(state: State, source_ids: list[int], target_id: int,
                   sidecars: bool = False) -> None:
    _door(state, sidecars).merge_clusters(target_id, source_ids)


def hide_cluster(state: State, cluster_id: int, hidden: bool = True) -> None:
    _door(state).hide_cluster(cluster_id, hidden)


def add_tag(state: State, photo_ids: list[int], name: str, sidecars: bool = False) -> int:
    return _door(state, sidecars).add_tag(photo_ids, name)


def add_to_album(state: State, name: str, photo_ids: list[int], sidecars: bool = False) -> int:
    return _door(state, sidecars).add_to_album(name, photo_ids)


def ids_for_paths(cat: Catalog, paths: list[str]) -> list[int]:
    return [pid for p in paths if (pid := cat.photo_id_for_path(p)) is not None]


def drop_on(state: State, nav: tuple, paths: list[str], sidecars: bool = False) -> int:
    """Photos dragged onto an album or a tag in the sidebar."""
    lib = _door(state, sidecars)
    ids = ids_for_paths(lib.writer, paths)
    if nav[0] == "album":
        return lib.add_to_album(str(nav[1]), ids)
    return lib.add_tag(ids, str(nav[1]))


def rename_tag(state: State, old: str, new: str, sidecars: bool = False) -> None:
    _door(state, sidecars).rename_tag(old, new)


def delete_tag(state: State, name: str, sidecars: bool = False) -> int:
    return _door(state, sidecars).delete_tag(name)


def rename_album(state: State, old: str, new: str, sidecars: bool = False) -> None:
    _door(state, sidecars).rename_album(old, new)


def delete_album(state: State, name: str, sidecars: bool = False) -> None:
    if not _door(state, sidecars).delete_album(name):
        raise LibraryError(f"there is no album “{name}”")


def unstack(state: State, stack_id: int) -> None:
    _door(state).unstack(stack_id)


def restack(state: State, stack_id: int) -> None:
    _door(state).restack(stack_id)


def set_stack_cover(state: State, stack_id: int, photo_id: int) -> None:
    _door(state).set_stack_cover(stack_id, photo_id)


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
    return _door(state).not_duplicates(photo_ids)


def trash_photos(state: State, photo_ids: list[int]) -> list[str]:
    return [str(p) for p in _door(state).trash_photos(photo_ids)]


def change_marker(state: State) -> int:
    return browse.change_marker(state["cat"])


def unreadable(state: State) -> list[browse.Unreadable]:
    return browse.unreadable(state["cat"])


def problems(state: State) -> list[Any]:
    """What failed and waits for a retry, one :class:`failures.Cause` per stage and cause."""
    from photoorg.core.store import failures

    return failures.causes(state["cat"])


def retry_unreadable(state: State, ids: list[int] | None = None) -> int:
    return browse.retry_unreadable(state["cat"], ids)


def reject_photos(state: State, cluster_id: int, photo_ids: list[int],
                  sidecars: bool = False) -> None:
    """"Not this person" (or not this place / scene): the photos leave it for good."""
    _door(state, sidecars).reject_photos(cluster_id, photo_ids)


def confirm_photos(state: State, cluster_id: int, photo_ids: list[int]) -> None:
    """The user says these suggested photos do belong: re-clustering keeps them."""
    _door(state).confirm_photos(cluster_id, photo_ids)


def forget_missing(state: State) -> int:
    """Forget the photos whose files are gone (the user confirmed)."""
    return _door(state).forget_missing()


def undo(state: State, steps: int = 1, sidecars: bool | None = None) -> list[str]:
    """Undo the last decisions (the catalog's journal); returns what was undone."""
    return [entry.summary for entry in _door(state, sidecars).undo(steps)]


def sync_stale_sidecars(state: State) -> int:
    """Sidecar writing was turned on: every sidecar that does not say what the catalog says
    is written now (not at the next start)."""
    return _door(state, False).set_write_sidecars(True)


def undo_following(state: State, steps: int, album: str | None,
                   sidecars: bool | None = None) -> tuple[list[str], str | None]:
    """Undo (the door rewrites the sidecars it touched), and say what the album shown is
    called afterwards (None: it is gone), so the page follows an undone rename instead of
    showing a name that no longer exists."""
    lib = _door(state, sidecars)
    before = next((a for a in lib.albums() if album and a.name == album), None)
    undone = undo(state, steps, sidecars)
    if before is None:
        return undone, None
    return undone, next((a.name for a in lib.albums() if a.id == before.id), None)


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

    album = _door(state).save_similar_album(
        name, feedback.Feedback(tuple(positive), tuple(negative)))
    return album.name


def load_events(state: State) -> list[Any]:
    """Writer worker (the split is stored, keeping ids and decisions): the suggestions,
    newest first."""
    return _door(state).events()


COVERS_PER_EVENT = 3


def load_events_with_covers(state: State) -> tuple[list[Any], dict[int, list[tuple[str, str]]]]:
    """The suggested events and, for each, a few photos spread over it as its covers
    (thumbnail key, path)."""
    events = load_events(state)
    covers: dict[int, list[tuple[str, str]]] = {}
    for event in events:
        ids = list(event.photo_ids)
        step = max(1, len(ids) // COVERS_PER_EVENT)
        rows = queries.photos_by_ids(state["cat"], ids[::step][:COVERS_PER_EVENT])
        covers[int(event.id)] = list(zip(rows.keys, rows.paths, strict=True))
    return events, covers


def keep_event(state: State, event_id: int, sidecars: bool = False) -> str:
    return _door(state, sidecars).keep_event(event_id).name


def dismiss_event(state: State, event_id: int) -> None:
    _door(state).dismiss_event(event_id)


# -- unnamed faces (the People page's "Unnamed faces") ---------------------------------------


@dataclass(frozen=True)
class FaceTile:
    """One unnamed face as the window shows it: a crop of its photo."""

    face_id: int
    photo_id: int
    group: int  # index of its look-alike group (0: the largest)
    key: str  # thumbnail cache key
    path: str
    crop: tuple[float, float, float, float]


def unnamed_faces(state: State) -> tuple[list[FaceTile], list[str]]:
    """Faces no person holds, largest look-alike groups first, and the names of people
    (for "This is …")."""
    from photoorg.core.groups import unnamed_faces as uf
    from photoorg.core.media.thumbcache import face_key, photo_key

    cat: Catalog = state["cat"]
    groups = uf.unnamed_faces(cat)
    ids = sorted({f.photo_id for g in groups for f in g.faces})
    info = uf.photo_files(cat, ids)
    tiles = []
    for n, group in enumerate(groups):
        for face in group.faces:
            root, rel, chash, size, mtime = info[face.photo_id]
            tiles.append(FaceTile(
                face.id, face.photo_id, n,
                face_key(face.id, photo_key(face.photo_id, chash, size, mtime)),
                str(Path(root) / PurePosixPath(rel)), face.box))
    return tiles, uf.people_names(cat)


def name_faces(state: State, face_ids: list[int], name: str, sidecars: bool = False) -> str:
    return _door(state, sidecars).name_faces(face_ids, name).name or name


def not_faces(state: State, face_ids: list[int], sidecars: bool = False) -> int:
    return _door(state, sidecars).not_faces(face_ids)


def draw_face(state: State, photo_id: int, box: tuple[float, float, float, float], name: str,
              sidecars: bool = False) -> str:
    return _door(state, sidecars).draw_face(photo_id, box, name).name or name
