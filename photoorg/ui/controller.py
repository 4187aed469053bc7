"""The window's controller: owns the workers, asks the core (through :mod:`engine`), and hands
results to the views as signals. Views hold layout only; models hold rows only.

Staleness: every request that fills the grid carries a generation number; a result whose
generation is no longer the newest is dropped (TagStudio's ``_render_cutoff``), and the
service keeps only the newest of the queries still waiting (typing fast costs one query).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from photoorg import config
from photoorg.core.app import window_backend as engine
from photoorg.core.app.api import PhotoList, Progress, Source
from photoorg.ui.service_client import ServiceClient
from photoorg.ui.thumbnails import load_viewer_image
from photoorg.ui.thumbstore import ThumbnailStore
from photoorg.ui.workers import TaskError, Worker

if TYPE_CHECKING:
    from photoorg.ui.views.settings import SettingsResult

log = logging.getLogger(__name__)

SEARCH_RESULTS = 300
REFRESH_INTERVAL_MS = 2000
POLL_INTERVAL_MS = 1500  # changes made elsewhere (the CLI) show within about two seconds


class LibraryController(QObject):
    photos_ready = Signal(object)  # PhotoList for the grid
    overview_ready = Signal(object)  # engine.Overview
    clusters_ready = Signal(str, list)  # kind, [ClusterInfo]
    unnamed_faces_ready = Signal(list, list)  # [engine.FaceTile], people's names
    details_ready = Signal(object)  # PhotoDetails | None
    image_ready = Signal(int, object)  # photo id, QImage | None
    image_unavailable = Signal(int, str)  # photo id, why (offline, gone, unreadable)
    settings_info_ready = Signal(object)  # engine.SettingsInfo
    unreadable_ready = Signal(list)  # [browse.Unreadable]
    problems_ready = Signal(list)  # [failures.Cause]: what failed and is tried again
    duplicates_ready = Signal(float, list)  # threshold, [duplicates.Group]
    events_ready = Signal(list, object)  # [events.Event] newest first, {id: [(key, path)]}
    model_state = Signal(str, str, str)  # state, spec, message
    download_progress = Signal(int, int)  # done, total (0 = unknown)
    error = Signal(str, str)  # message, details
    writes_done = Signal(str)  # what was written (for tests and status messages)
    undo_ready = Signal(str)  # what Undo would undo now ("" when nothing)
    page_moved = Signal(object)  # Source: the page shown was renamed or is gone
    # the library changed in a way any page may show (a decision, an undo, the CLI, the
    # indexer): pages that are open refresh from it (a stand-in for the core's change
    # signal of issue 22)
    library_changed = Signal()
    door_changed = Signal(object)  # the door's Change, from the writer thread (queued)

    def __init__(
        self,
        data: Path,
        settings: config.Settings,
        *,
        model_spec: str | None = None,
        index_mode: str = "process",
        watch: bool = True,
        faces: bool = True,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.data = data
        self.settings = settings
        self.model_spec = model_spec
        self.query = Worker("query", init=engine.open_reader(data),
                            cleanup=engine.close_catalog, parent=self)
        # one signal drives the pages: the door announces every decision it made
        self._door_spoke = False
        self.door_changed.connect(self._on_door_change)
        self.writer = Worker("writer", init=engine.open_writer(data, self.door_changed.emit),
                             cleanup=engine.close_catalog, parent=self)
        # the viewer's decoding has its own thread: a big original never delays the grid
        self.viewer = Worker("viewer", parent=self)
        self.duplicates = Worker("duplicates", init=engine.open_reader(data),
                                 cleanup=engine.close_duplicates, parent=self)
        for worker in (self.query, self.writer, self.viewer, self.duplicates):
            worker.failed.connect(self._on_task_error)
        self.thumbs = ThumbnailStore(config.thumbnail_dir(data), parent=self)
        self.service = ServiceClient(
            data, mode=index_mode, model=model_spec, faces=faces, watch=watch,
            watch_mode=settings.watch_mode, parent=self,
        )
        self.service.changed.connect(self._on_catalog_changed)
        self.service.idle.connect(self._on_index_idle)
        self.service.failed.connect(self.error)
        self.service.model_state.connect(self._on_model_state)
        self.service.results.connect(self._on_results)
        self.service.download_progress.connect(self.download_progress)

        self.source = Source("all")
        self.sort = "taken"  # core.browse.SORTS
        self.search_text = ""
        self.similar_to: list[int] = []
        self.similar_at: float | None = None  # Find similar from a video's frame: its second
        self.show_all = False  # "show weaker matches": no relevance cut-off
        self.less_like: list[int] = []  # "less like these" while showing similar photos
        self.cluster_kind: str | None = None
        self.overview: engine.Overview | None = None
        self.model_ready = False
        self.model_state_now = ("", "", "")
        self._generation = 0
        self._titles: dict[int, str] = {}
        self._grid_count: tuple[int, int, int] | None = None
        self._refresh = QTimer(self)
        self._refresh.setSingleShot(True)
        self._refresh.setInterval(REFRESH_INTERVAL_MS)
        self._refresh.timeout.connect(self._refresh_now)
        self._poll = QTimer(self)
        self._poll.setInterval(POLL_INTERVAL_MS)
        self._poll.timeout.connect(self._poll_changes)
        self._marker: int | None = None
        self._external_change = False
        self._closed = False

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        """After the window shows: the writer opens (creates, upgrades) the catalog first;
        then fill the grid and sidebar, and start the service (it loads the model, catches
        up with the folders and watches them)."""

        def opened(_result: Any, error: TaskError | None) -> None:
            if error is not None:
                self._on_task_error(error)
                return
            if self._closed:
                return
            self.reload()
            self.refresh_overview()
            self.service.start()
            self._poll.start()
            self.query.submit(engine.prune_thumbnails, self.data,
                              self.settings.thumbnail_cache_mb)

        self.writer.submit(engine.catalog_ready, callback=opened, what="opening the library")
        # the OCR stage (in the service) reads the setting from the catalog
        self.writer.submit(engine.set_read_text, self.settings.read_text,
                           what="saving the settings")
        self.refresh_undo()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._refresh.stop()
        self._poll.stop()
        self.service.stop()
        self.thumbs.shutdown()
        for worker in (self.query, self.writer, self.viewer, self.duplicates):
            worker.shutdown(wait=True)

    # -- what the grid shows -----------------------------------------------------------

    def _next_generation(self) -> int:
        self._generation += 1
        return self._generation

    def show_source(self, source: Source) -> None:
        """Browse: all photos, a folder, a tag, a cluster."""
        self.source = source
        self.search_text = ""
        self.similar_to = []
        self.less_like = []
        self.reload()

    def set_sort(self, sort: str) -> None:
        if sort != self.sort:
            self.sort = sort
            self.reload()

    def reload(self) -> None:
        gen = self._next_generation()
        self.thumbs.forget_queue()
        if self.search_text:
            self._submit_search(gen, self.search_text)
        elif self.similar_to:
            self._submit_similar(gen, self.similar_to)
        else:
            self.query.submit(engine.load_source, self.source, self.sort,
                              callback=self._grid_cb(gen), what="loading photos")

    def _grid_cb(self, gen: int) -> Callable[[Any, TaskError | None], None]:
        def done(photos: PhotoList | None, error: TaskError | None) -> None:
            if gen != self._generation or self._closed:
                return  # a newer request superseded this one
            if error is not None:
                self._on_task_error(error)
                return
            if photos is not None and photos.saved_search:
                self._titles[gen] = photos.title  # resolved by the library, in the service
                self.service.album(gen, photos.saved_search)
            elif photos is not None:
                self.photos_ready.emit(photos)

        return done

    def leave_search(self) -> None:
        """Forget the query without reloading (the window is about to show something else);
        answers still on their way are dropped."""
        self.search_text = ""
        self.similar_to = []
        self.less_like = []
        self._next_generation()

    def search(self, text: str) -> None:
        text = text.strip()
        if text == self.search_text:
            return
        self.search_text = text
        self.similar_to = []
        self.show_all = False
        self.less_like = []
        if not text:
            self.reload()
            return
        self._submit_search(self._next_generation(), text)

    def show_weaker(self) -> None:
        """The same search or Find similar without the relevance cut-off."""
        if not (self.search_text or self.similar_to) or self.show_all:
            return
        self.show_all = True
        self.reload()

    def _submit_search(self, gen: int, text: str) -> None:
        self._titles[gen] = f"“{text}”"
        self.service.search(gen, text, SEARCH_RESULTS, self.show_all)

    def find_similar(self, photo_ids: list[int], at_seconds: float | None = None) -> None:
        """Like ``photo_ids``; ``at_seconds``: like the one video's frame at that second."""
        if not photo_ids:
            return
        self.search_text = ""
        self.similar_to = list(photo_ids)
        self.similar_at = at_seconds if len(photo_ids) == 1 else None
        self.show_all = False
        self.less_like = []
        self._submit_similar(self._next_generation(), self.similar_to)

    def refine_similar(self, more: Sequence[int] = (), less: Sequence[int] = ()) -> None:
        """Relevance feedback on the shown results: ``more`` join the photos to be like,
        ``less`` the ones to be unlike (Rocchio, :mod:`photoorg.core.search.feedback`)."""
        from photoorg.core.app.api import Feedback

        if not self.similar_to:
            return
        refined = Feedback(tuple(self.similar_to), tuple(self.less_like)).refine(more, less)
        if not refined.positive:
            return
        self.similar_to = [int(p) for p in refined.positive]
        self.less_like = [int(n) for n in refined.negative]
        self.similar_at = None  # refined by whole items, not a moment
        self._submit_similar(self._next_generation(), self.similar_to)

    def similar_title(self) -> str:
        n, m = len(self.similar_to), len(self.less_like)
        if m:
            return (f"More like {n} photo{'s' if n != 1 else ''}, "
                    f"less like {m}")
        return "More like these" if n > 1 else "Similar photos"

    def _submit_similar(self, gen: int, ids: list[int]) -> None:
        self._titles[gen] = self.similar_title()
        at = self.similar_at if len(ids) == 1 and not self.less_like else None
        self.service.similar(gen, ids, SEARCH_RESULTS, negative=self.less_like,
                             show_all=self.show_all, at_seconds=at)

    def save_similar_album(self, name: str) -> None:
        """The current "more like these" as an album that stays current."""
        if self.similar_to and name.strip():
            self._write(engine.save_similar_album, name.strip(), list(self.similar_to),
                        list(self.less_like), what="saving the album",
                        done=f"Saved album “{name.strip()}”",
                        after=lambda _: self._tags_changed())

    def show_ids(self, ids: list[int], title: str) -> None:
        """The grid shows these photos, in this order (an event's photos)."""
        gen = self._next_generation()
        self.search_text = ""
        self.similar_to = []
        self.less_like = []
        self.query.submit(engine.rows_for_ids, [int(i) for i in ids], None, title,
                          callback=self._grid_cb(gen), what="showing photos")

    # -- events: suggested albums ----------------------------------------------------------

    def load_events(self) -> None:
        def done(result: tuple[list, dict] | None, error: TaskError | None) -> None:
            if error is not None:
                self._on_task_error(error)
            elif result is not None and not self._closed:
                self.events_ready.emit(*result)

        self.writer.submit(engine.load_events_with_covers, callback=done,
                           what="finding events")

    def keep_event(self, event_id: int) -> None:
        self._write(engine.keep_event, event_id, self.settings.write_sidecars,
                    what="keeping the event", done="Kept as an album",
                    after=lambda _: (self._tags_changed(), self.load_events()))

    def dismiss_event(self, event_id: int) -> None:
        self._write(engine.dismiss_event, event_id, what="dismissing the event",
                    done="Event dismissed", after=lambda _: self.load_events())

    @Slot(int, list, list, str, object)
    def _on_results(self, gen: int, ids: list, scores: list, error: str,
                    info: dict | None = None) -> None:
        title = self._titles.pop(gen, "")
        if gen != self._generation or self._closed:
            return  # typed on: a newer query is on its way
        if error:
            log.info("query %d: %s", gen, error)
        info = info or {}
        matched = [tuple(m) for m in info.get("matched") or []]
        total = info.get("total")
        weaker = bool(info.get("weaker")) and not self.show_all
        # an album of tags answers ids only (no scores)
        ranked = [float(x) for x in scores] if len(scores) == len(ids) else None
        times = info.get("times") or None
        self.query.submit(engine.rows_for_ids, [int(i) for i in ids], ranked, title,
                          matched or None, None if total is None else int(total), weaker,
                          times if times and len(times) == len(ids) else None,
                          callback=self._grid_cb(gen), what="showing results")

    # -- sidebar, clusters, viewer -------------------------------------------------------

    def refresh_overview(self) -> None:
        def done(overview: engine.Overview | None, error: TaskError | None) -> None:
            if error is not None:
                self._on_task_error(error)
            elif overview is not None and not self._closed:
                self.overview = overview
                self.overview_ready.emit(overview)

        self.query.submit(engine.overview, callback=done, what="reading the library")

    def load_clusters(self, kind: str) -> None:
        self.cluster_kind = kind

        def done(items: list | None, error: TaskError | None) -> None:
            if error is not None:
                self._on_task_error(error)
            elif items is not None and not self._closed:
                self.clusters_ready.emit(kind, items)

        self.query.submit(engine.list_clusters, kind, callback=done, what="reading clusters")

    def load_unnamed_faces(self) -> None:
        def done(result: tuple | None, error: TaskError | None) -> None:
            if error is not None:
                self._on_task_error(error)
            elif result is not None and not self._closed:
                self.unnamed_faces_ready.emit(*result)

        self.query.submit(engine.unnamed_faces, callback=done, what="reading unnamed faces")

    def name_faces(self, face_ids: list[int], name: str) -> None:
        """"This is …" for unnamed faces (one undo step)."""
        if face_ids and name.strip():
            self._write(engine.name_faces, face_ids, name.strip(),
                        self.settings.write_sidecars, what="naming faces",
                        done=f"Named “{name.strip()}”", after=lambda _: self._clusters_changed())

    def draw_face(self, photo_id: int, box: tuple, name: str) -> None:
        """A face box drawn in the viewer, named (one undo step)."""
        if name.strip():
            self._write(engine.draw_face, photo_id, tuple(box), name.strip(),
                        self.settings.write_sidecars, what="adding the face",
                        done=f"Face of “{name.strip()}” added",
                        after=lambda _: self._clusters_changed())

    def not_faces(self, face_ids: list[int]) -> None:
        """"Not a face" (one undo step)."""
        if face_ids:
            self._write(engine.not_faces, face_ids, self.settings.write_sidecars,
                        what="dropping faces", done="Not a face",
                        after=lambda _: self._clusters_changed())

    def load_details(self, photo_id: int) -> None:
        self.query.submit(engine.photo_details, photo_id,
                          callback=lambda d, e: self._deliver(self.details_ready, d, e),
                          what="reading photo details")

    def load_image(self, photo_id: int, path: str, max_side: int | None = 2048) -> None:
        """The viewer's picture (``max_side`` None: full size, for zooming in); when the
        original cannot be reached, ``image_unavailable`` says why in words."""

        def run(_state: dict) -> Any:
            if not os.path.exists(path):
                folder = os.path.dirname(path)
                raise FileNotFoundError(
                    "The original is offline: its folder can't be reached." if not
                    os.path.isdir(folder) else "The original is no longer on the disk.")
            return load_viewer_image(path, max_side)

        def done(image: Any, error: TaskError | None) -> None:
            if self._closed:
                return
            if error is not None:
                said = str(error.exc) if isinstance(error.exc, FileNotFoundError) else ""
                self.image_unavailable.emit(photo_id, said or "This photo cannot be opened.")
            self.image_ready.emit(photo_id, None if error else image)

        self.viewer.submit(run, callback=done, what="opening the photo")

    def set_rotation(self, photo_id: int, degrees: int) -> None:
        """How the viewer turns this photo: a photoorg setting, the file is never touched."""
        self._write(engine.set_rotation, photo_id, degrees, what="turning the photo",
                    done="Turned (only in photoorg; the file is unchanged)",
                    after=lambda _: self.reload())  # its thumbnail turns too

    def load_settings_info(self) -> None:
        self.query.submit(engine.settings_info, self.data,
                          callback=lambda i, e: self._deliver(self.settings_info_ready, i, e),
                          what="reading the settings")

    def apply_settings(self, result: SettingsResult, old_exclusions: list[str]) -> None:
        """What the settings dialog changed: saved, written, and the service restarted
        where it must be (watching mode, model)."""
        watch_changed = result.settings.watch_mode != self.settings.watch_mode
        if result.settings.write_sidecars and not self.settings.write_sidecars:
            self._write(engine.sync_stale_sidecars, what="writing sidecars",
                        done="Sidecars written")
        if result.settings.read_text != self.settings.read_text:
            self._write(engine.set_read_text, result.settings.read_text,
                        what="saving the settings")
        sidecars_on = result.settings.write_sidecars and not self.settings.write_sidecars
        self.settings = result.settings
        self.settings.save(self.data)
        if sidecars_on:  # the sidecars say what the catalog says from now, not after a restart
            self._write(engine.set_write_sidecars, True, what="writing the sidecars")
        for root_id in result.removed_folders:
            self.remove_folder(root_id)
        if result.added_folders:
            self.add_folders(result.added_folders)
        if result.exclusions != old_exclusions:
            self.set_exclusions(result.exclusions)
        if result.clear_thumbnails:
            self.thumbs.clear()
            self.query.submit(engine.prune_thumbnails, self.data, 0)
        elif result.settings.thumbnail_cache_mb:
            self.query.submit(engine.prune_thumbnails, self.data,
                              result.settings.thumbnail_cache_mb)
        if result.model and result.model != self.effective_model():
            self.use_model(result.model)
        if watch_changed:
            self.service.watch_mode = result.settings.watch_mode
            self.service.restart()

    def _deliver(self, signal: Any, value: Any, error: TaskError | None) -> None:
        if error is not None:
            self._on_task_error(error)
        elif not self._closed:
            signal.emit(value)

    # -- writes (through the writer worker) --------------------------------------------------

    def _write(self, fn: Callable[..., Any], *args: Any, what: str, done: str = "",
               after: Callable[[Any], None] | None = None) -> None:
        def finished(result: Any, error: TaskError | None) -> None:
            if error is not None:
                self._on_task_error(error)
                return
            if self._closed:
                return
            if after is not None:
                after(result)
            if not self._door_spoke:  # a write the door does not announce (a view setting)
                self.library_changed.emit()
            self._door_spoke = False
            self.writes_done.emit(done or what)
            self.refresh_undo()

        self.writer.submit(fn, *args, callback=finished, what=what)

    # -- stacks ---------------------------------------------------------------------------

    def open_stack(self, stack_id: int) -> None:
        """The grid shows one stack's members (expanded)."""
        self.show_source(Source("stack", int(stack_id), "Stack"))

    def unstack(self, stack_id: int) -> None:
        self._write(engine.unstack, int(stack_id), what="unstacking",
                    done="Unstacked: its photos are shown one by one",
                    after=lambda _: self._stacks_changed())

    def restack(self, stack_id: int) -> None:
        self._write(engine.restack, int(stack_id), what="stacking again", done="Stacked again",
                    after=lambda _: self._stacks_changed())

    def set_stack_cover(self, stack_id: int, photo_id: int) -> None:
        self._write(engine.set_stack_cover, int(stack_id), int(photo_id),
                    what="choosing the cover", done="Cover chosen",
                    after=lambda _: self._stacks_changed())

    def _stacks_changed(self) -> None:
        """The grid's tiles change with a stack (one tile or its photos; its cover)."""
        self.reload()
        self.refresh_overview()

    def forget_missing(self) -> None:
        self._write(engine.forget_missing, what="forgetting missing photos",
                    done="Missing photos forgotten", after=lambda _: self._library_changed())

    def refresh_undo(self) -> None:
        """Ask what Undo would undo now (the journal lives in the catalog: after a restart
        too)."""
        def done(summary: str | None, error: TaskError | None) -> None:
            if error is not None:
                self._on_task_error(error)
            elif not self._closed:
                self.undo_ready.emit(summary or "")

        self.writer.submit(engine.last_decision, callback=done, what="reading the history")

    def undo(self) -> None:
        """Undo the last decision (Edit › Undo, Ctrl+Z)."""
        album = self.source.arg if self.source.kind == "album" else None

        def finished(result: tuple[list[str], str | None] | None,
                     error: TaskError | None) -> None:
            if error is not None:
                self._on_task_error(error)
                return
            if self._closed or result is None:
                return
            undone, album_now = result
            if album is not None and album_now != album:  # the shown album was renamed/made
                self._move_page(Source("album", album_now, album_now) if album_now
                                else Source("all", None, "All photos"))
            self._clusters_changed(reload=True)
            self.refresh_overview()
            if not self._door_spoke:
                self.library_changed.emit()
            self._door_spoke = False
            self.writes_done.emit(f"Undone: {'; '.join(undone)}" if undone else
                                  "Nothing to undo")
            self.refresh_undo()

        self.writer.submit(engine.undo_following, 1, album, self.settings.write_sidecars,
                           callback=finished, what="undoing")

    def _move_page(self, source: Source) -> None:
        """What the page showed was renamed or is gone: show it under its new name (or All
        photos), and tell the window so its title and sidebar follow."""
        self.source = source
        self.page_moved.emit(source)

    def add_folders(self, paths: list[str]) -> None:
        if paths:
            self._write(engine.add_folders, paths, what="adding folders",
                        done="Folder added", after=lambda _: self._library_changed())

    def remove_folder(self, root_id: int) -> None:
        self._write(engine.remove_folder, root_id, what="removing a folder",
                    done="Folder removed", after=lambda _: self._library_changed())

    def set_exclusions(self, patterns: list[str]) -> None:
        self._write(engine.set_exclusions, patterns, what="saving exclusions",
                    done="Exclusions saved", after=lambda _: self._library_changed())

    def add_sample_library(self) -> None:
        self._write(engine.create_sample_library, self.data, what="adding the sample photos",
                    done="Sample photos added", after=lambda _: self._library_changed())

    @Slot(object)
    def _on_door_change(self, change: Any) -> None:
        """A decision made through the door (this window's, on the writer thread): the open
        page refreshes from this one signal."""
        self._door_spoke = True
        if not self._closed:
            self.library_changed.emit()

    def _library_changed(self) -> None:
        self.reload()
        self.refresh_overview()
        self.service.rescan()

    def rename_cluster(self, cluster_id: int, name: str) -> None:
        self._write(engine.rename_cluster, cluster_id, name.strip(), self.settings.write_sidecars,
                    what="renaming",
                    done="Renamed", after=lambda _: self._clusters_changed())

    def merge_clusters(self, source_ids: list[int], target_id: int) -> None:
        sources = [c for c in source_ids if c != target_id]
        if sources:
            self._write(engine.merge_clusters, sources, target_id, self.settings.write_sidecars,
                        what="merging",
                        done="Merged", after=lambda _: self._clusters_changed())

    def hide_cluster(self, cluster_id: int, hidden: bool = True) -> None:
        self._write(engine.hide_cluster, cluster_id, hidden, what="hiding",
                    done="Hidden", after=lambda _: self._clusters_changed())

    def add_tag(self, photo_ids: list[int], name: str) -> None:
        if photo_ids and name.strip():
            self._write(engine.add_tag, photo_ids, name.strip(), self.settings.write_sidecars,
                        what="tagging",
                        done="Tagged", after=lambda _: self.refresh_overview())

    def add_to_album(self, photo_ids: list[int], name: str) -> None:
        if photo_ids and name.strip():
            self._write(engine.add_to_album, name.strip(), photo_ids,
                        self.settings.write_sidecars, what="adding to the album",
                        done=f"Added to “{name.strip()}”", after=lambda _: self._tags_changed())

    def drop_on(self, nav: tuple, paths: list[str]) -> None:
        self._write(engine.drop_on, nav, paths, self.settings.write_sidecars,
                    what="adding photos", done=f"Added to “{nav[2]}”",
                    after=lambda _: self._tags_changed())

    def rename_tag(self, old: str, new: str) -> None:
        self._write(engine.rename_tag, old, new, self.settings.write_sidecars,
                    what="renaming the tag", done="Renamed",
                    after=lambda _: self._tags_changed(renamed=("tag", old)))

    def delete_tag(self, name: str) -> None:
        self._write(engine.delete_tag, name, self.settings.write_sidecars,
                    what="deleting the tag", done="Tag deleted",
                    after=lambda _: self._tags_changed(renamed=("tag", name)))

    def rename_album(self, old: str, new: str) -> None:
        self._write(engine.rename_album, old, new, self.settings.write_sidecars,
                    what="renaming the album", done="Renamed",
                    after=lambda _: self._tags_changed(
                        renamed=("album", old), to=Source("album", new, new)))

    def delete_album(self, name: str) -> None:
        self._write(engine.delete_album, name, self.settings.write_sidecars,
                    what="deleting the album", done="Album deleted",
                    after=lambda _: self._tags_changed(renamed=("album", name)))

    def _tags_changed(self, renamed: tuple | None = None,
                      to: Source | None = None) -> None:
        self.refresh_overview()
        if self.cluster_kind:
            self.load_clusters(self.cluster_kind)
        if renamed is not None and (self.source.kind, self.source.arg) == renamed:
            self._move_page(to or Source("all", None, "All photos"))
            self.reload()
        elif self.source.kind in ("tag", "album", "cluster"):
            self.reload()

    def load_duplicates(self, threshold: float) -> None:
        def done(groups: list | None, error: TaskError | None) -> None:
            if error is not None:
                self._on_task_error(error)
            elif groups is not None and not self._closed:
                self.duplicates_ready.emit(threshold, groups)

        self.duplicates.submit(engine.duplicate_groups, threshold, callback=done,
                               what="looking for duplicates")

    def not_duplicates(self, photo_ids: list[int], threshold: float) -> None:
        self._write(engine.dismiss_duplicates, photo_ids, what="remembering",
                    done="Remembered: not duplicates",
                    after=lambda _: self.load_duplicates(threshold))

    def trash_photos(self, photo_ids: list[int], threshold: float) -> None:
        """Move files to the system trash (the user confirmed, named); the catalog follows."""

        def after(moved: Any) -> None:
            self.load_duplicates(threshold)
            self._library_changed()

        self._write(engine.trash_photos, photo_ids, what="moving to the trash",
                    done=f"Moved {len(photo_ids)} to the trash", after=after)

    def load_unreadable(self) -> None:
        self.query.submit(engine.unreadable,
                          callback=lambda r, e: self._deliver(self.unreadable_ready, r, e),
                          what="reading the files that could not be read")
        self.query.submit(engine.problems,
                          callback=lambda r, e: self._deliver(self.problems_ready, r, e),
                          what="reading what failed")

    def retry_unreadable(self, photo_ids: list[int]) -> None:
        def after(_n: Any) -> None:
            self.load_unreadable()
            self.refresh_overview()
            self.service.rescan()

        self._write(engine.retry_unreadable, photo_ids or None, what="retrying",
                    done="Trying those files again", after=after)

    def reject_faces(self, cluster_id: int, photo_ids: list[int]) -> None:
        self._write(engine.reject_photos, cluster_id, photo_ids, self.settings.write_sidecars,
                    what="not this person",
                    done="Removed from the group",
                    after=lambda _: self._clusters_changed(reload=True))

    def confirm_faces(self, cluster_id: int, photo_ids: list[int]) -> None:
        self._write(engine.confirm_photos, cluster_id, photo_ids, what="confirming",
                    done="Confirmed", after=lambda _: self._clusters_changed(reload=True))

    def _clusters_changed(self, reload: bool = False) -> None:
        if self.cluster_kind:
            self.load_clusters(self.cluster_kind)
        if self.cluster_kind == "people":
            self.load_unnamed_faces()
        self.refresh_overview()
        if reload or self.source.kind in ("cluster", "tag"):
            self.reload()

    # -- the model (lives in the service) --------------------------------------------------

    def effective_model(self) -> str:
        from photoorg.core.app.api import DEFAULT_MODEL  # numpy only: torch stays out

        reported = self.model_state_now[1]
        from_overview = self.overview.model if self.overview else None
        return self.model_spec or reported or from_overview or DEFAULT_MODEL

    def download_model(self, spec: str | None = None) -> None:
        """Download (if needed) and use a model, with progress and cancel."""
        spec = spec or self.effective_model()
        self.model_spec = spec
        self.service.model = spec
        if not self.service.running:
            self.service.start()
        self.service.download(spec)

    def cancel_download(self) -> None:
        self.service.cancel_download()

    def use_model(self, spec: str) -> None:
        """Switch the library to another model: the service loads it and re-indexes in the
        background while the old vectors keep answering."""
        self.model_ready = False
        self.download_model(spec)

    @Slot(str, str, str)
    def _on_model_state(self, state: str, spec: str, message: str) -> None:
        self.model_state_now = (state, spec, message)
        self.model_ready = state == "ready"
        self.model_state.emit(state, spec, message)
        if self.model_ready and self.search_text:
            self.reload()  # a search typed while the model was loading

    # -- following the background indexer -----------------------------------------------

    @Slot()
    def _on_catalog_changed(self) -> None:
        if not self._refresh.isActive():
            self._refresh.start()

    def _poll_changes(self) -> None:
        """Another process wrote the catalog (the CLI named a person, tagged, added an
        album): refresh as if the indexer had said so."""

        def done(marker: int | None, error: TaskError | None) -> None:
            if error is not None or marker is None or self._closed:
                return
            if self._marker is not None and marker != self._marker:
                self._external_change = True
                self._on_catalog_changed()
            self._marker = marker

        if not self.query.busy:  # a busy worker answers later; no pile-up of polls
            self.query.submit(engine.change_marker, callback=done, what="checking for changes")

    @Slot()
    def _on_index_idle(self) -> None:
        self._refresh.stop()
        self._refresh_now(force=True)

    def _refresh_now(self, force: bool = False) -> None:
        if self._closed:
            return
        external, self._external_change = self._external_change, False
        self.refresh_overview()
        if external or force:
            self.library_changed.emit()
        if external and self.source.kind in ("tag", "album", "cluster") \
                and not (self.search_text or self.similar_to):
            self.reload()  # a name or tag given elsewhere changes what this page holds
        if self.cluster_kind:
            self.load_clusters(self.cluster_kind)
        if self.search_text or self.similar_to:
            if force:
                self.reload()  # new vectors may change the answer
            return

        def done(count: tuple[int, int, int] | None, error: TaskError | None) -> None:
            if error is not None or count is None or self._closed:
                return
            if force or count != self._grid_count:  # photos came or went: show them
                self._grid_count = count
                self.reload()

        self.query.submit(engine.photo_count, callback=done, what="counting photos")

    # -- errors ----------------------------------------------------------------------------

    @Slot(object)
    def _on_task_error(self, error: TaskError) -> None:
        self.error.emit(error.message, error.details)


def progress_text(p: Progress) -> str:
    """The status bar's words for a progress snapshot."""
    if p.phase == "scanning":
        return "Looking for photos…"
    if p.phase == "clusters":
        return "Grouping people, places and scenes…"
    if p.phase == "done":
        return ""
    what = {"faces": "Finding faces", "text": "Reading text in photos"}.get(p.phase, "Indexing")
    parts = [f"{what} {p.done:,} of {p.total:,}"]
    if p.rate:
        parts.append(f"{p.rate:.1f} photos/s")
    eta = p.eta_s
    if eta is None and p.rate and p.done < p.total:  # every phase gets one (faces too)
        eta = (p.total - p.done) / p.rate
    if eta is not None and p.done < p.total:
        parts.append(f"about {format_eta(eta)} left")
    if p.paused:
        parts.append("paused")
    return " · ".join(parts)


def format_eta(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 60:
        return f"{max(seconds, 1)} s"
    if seconds < 3600:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"
