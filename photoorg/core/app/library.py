"""The library: the one Qt-free application layer the CLI, ``watch`` and the window's indexing
service talk to (TagStudio's ``Library`` idea).

It owns, for one data folder,

- **the connections**: one writer (:attr:`Library.writer`, short transactions) and read-only
  connections for queries (:meth:`Library.reader`; WAL: a reader never waits on the writer);
- **the pipeline** (:mod:`photoorg.core.ingest.pipeline`): :meth:`index`, :meth:`run_pipeline` and
  :meth:`watcher` run the very same stages;
- **the model policy** (:mod:`photoorg.core.models`): which model embeds, which answers;
- **the queries**: search, similar, duplicates, albums of both kinds, clusters;
- **user decisions** (:mod:`photoorg.core.app.decisions`): each one undo step, the sidecars
  kept true, and a :class:`Change` announced to :meth:`subscribe`-d listeners.

Adapters only parse input and show results.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from photoorg import config
from photoorg.core.app.decisions import Change, Decisions, LibraryError, Listener
from photoorg.core.groups import clusters as cl
from photoorg.core.ingest import pipeline
from photoorg.core.ingest.indexer import IndexControl, IndexListener, IndexSummary
from photoorg.core.ingest.scanner import ScanReport
from photoorg.core.models import policy as model_policy
from photoorg.core.models.policy import Encoders, ModelPolicy
from photoorg.core.store.catalog import Catalog, CatalogError
from photoorg.core.store.failures import Cause, causes
from photoorg.core.store.failures import counts as failure_counts

log = logging.getLogger(__name__)

ALBUM_SEARCH_K = 200
"""How many best matches a saved-search album holds."""


@dataclass
class SearchOutcome:
    """Search results plus what the search could not see."""

    hits: list[Any]
    not_searchable: int = 0  # photos without a vector of the answering model
    model: str | None = None
    page: Any = None  # the library_search.SearchPage: totals, why each matched, cut-off
    note: str = ""  # e.g. searching words only: the model is not here


@dataclass
class IndexOutcome:
    scan: ScanReport
    summary: IndexSummary
    notes: list[str] = field(default_factory=list)
    failures: list[Cause] = field(default_factory=list)  # this run's, one per stage and cause


__all__ = ["Change", "IndexOutcome", "Library", "LibraryError", "Listener", "SearchOutcome"]


class Library(Decisions):
    """One library (a data folder). Thread-safe for readers; one writer connection.

    ``model``: the target model asked for (``index --model``). ``search_model``: the model
    that should answer searches when the library has its vectors (the window's ``--model``).
    ``encoders``: share loaded CLIP models with another object (the service does).
    """

    def __init__(
        self,
        data: str | Path | None = None,
        *,
        model: str | None = None,
        search_model: str | None = None,
        encoders: Encoders | None = None,
        settings: config.Settings | None = None,
    ) -> None:
        self.data = config.data_dir(data)
        self.catalog_path = config.catalog_path(self.data)
        self.settings = settings or config.Settings.load(self.data)
        self.encoders = encoders or Encoders(download=True)
        self.models = ModelPolicy(self.encoders, requested=model, search_preference=search_model)
        self._writer: Catalog | None = None
        self._writer_lock = threading.RLock()
        self._local = threading.local()
        self._readers: list[Catalog] = []
        self._listeners: list[Listener] = []

    # -- connections ---------------------------------------------------------------------

    @property
    def writer(self) -> Catalog:
        """The library's write connection (created and upgraded on first use)."""
        with self._writer_lock:
            if self._writer is None:
                self._writer = Catalog(self.catalog_path)
            return self._writer

    def reader(self) -> Catalog:
        """This thread's read-only connection: queries never take the write lock."""
        cat = getattr(self._local, "cat", None)
        if cat is None:
            if not self.catalog_path.exists():
                self.writer  # noqa: B018 - create the file and its schema first
            try:
                cat = Catalog(self.catalog_path, readonly=True)
            except CatalogError:  # needs an upgrade: the writer does it once
                self.writer  # noqa: B018
                cat = Catalog(self.catalog_path, readonly=True)
            self._local.cat = cat
            self._readers.append(cat)
        return cat

    def close(self) -> None:
        for cat in self._readers:
            try:
                cat.close()
            except Exception:  # another thread's connection: closed at exit anyway
                log.debug("closing a reader failed", exc_info=True)
        self._readers.clear()
        self._local = threading.local()
        with self._writer_lock:
            if self._writer is not None:
                self._writer.close()
                self._writer = None

    def __enter__(self) -> Library:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- folders -------------------------------------------------------------------------

    def add_folders(self, paths: Iterable[str | Path]) -> list[Any]:
        roots = []
        for raw in paths:
            path = Path(raw).expanduser()
            if not path.is_dir():
                raise LibraryError(f"not a folder: {path}")
            roots.append(self.writer.add_root(path))
        return roots

    def exclude(self, patterns: Iterable[str]) -> None:
        for pattern in patterns:
            self.writer.add_exclusion(pattern)

    def remove_folder(self, path: str | Path) -> Path:
        root = self.writer.root_by_path(path)
        if root is None:
            raise LibraryError(f"not a library folder: {path}")
        self.writer.remove_root(root.id)
        return root.path

    def relocate_folder(self, old: str | Path, new: str | Path) -> None:
        cat = self.writer
        root = cat.root_by_path(old)
        if root is None:
            raise LibraryError(f"not a library folder: {old}")
        taken = cat.root_by_path(new)
        if taken is not None and taken.id != root.id:
            raise LibraryError(
                f"{taken.path} is already a library folder: `photoorg folders --remove "
                f"{taken.path}` first if {old} moved there")
        cat.relocate_root(root.id, new)

    # -- the pipeline --------------------------------------------------------------------

    def context(self, *, control: IndexControl | None = None,
                listener: IndexListener | None = None, faces: bool = True,
                batch_size: int = 16, decode_workers: int | None = None) -> pipeline.RunContext:
        return pipeline.RunContext(
            cat=self.writer, models=self.models, control=control or IndexControl(),
            listener=listener or IndexListener(), faces=faces,
            write_sidecars=self.settings.write_sidecars, batch_size=batch_size,
            decode_workers=decode_workers,
        )

    def scan(self, should_stop: Callable[[], bool] | None = None) -> ScanReport:
        """Reconcile the catalog with the folders (after the daily catalog backup); photos
        missing longer than the grace period (settings) are forgotten."""
        from photoorg.core.ingest.scanner import scan_library

        self.backup_daily()
        return scan_library(self.writer, should_stop=should_stop,
                            grace_days=self.settings.missing_grace_days)

    def backup_daily(self) -> None:
        """The catalog's daily backup (core.backup); never in the way of indexing."""
        from photoorg.core.store.backup import BackupError, maybe_backup

        try:
            maybe_backup(self.catalog_path, self.data)
        except (BackupError, OSError) as exc:
            log.warning("could not back up the catalog: %s", exc)

    def run_pipeline(self, **kwargs: Any) -> pipeline.RunContext:
        """Every stage after the scan, as far as it can go (see :mod:`pipeline`)."""
        ctx = self.context(**kwargs)
        pipeline.run_pipeline(ctx)
        return ctx

    def index(self, *, control: IndexControl | None = None,
              listener: IndexListener | None = None, **kwargs: Any) -> IndexOutcome:
        """Scan every folder, then run the pipeline."""
        control = control or IndexControl()
        report = self.scan(should_stop=lambda: control.cancelled)
        ctx = self.run_pipeline(control=control, listener=listener, **kwargs)
        if ctx.summary.embedded:
            self.save_search_cache()
        return IndexOutcome(report, ctx.summary, ctx.notes, ctx.run_failures())

    def require_target_model(self, progress: Any = None) -> Any:
        """Load the model the pipeline embeds with (downloading it with ``progress``) and
        make it the library's target; raises ``ModelUnavailableError`` saying why it cannot.
        Already the target with nothing left to embed: not loaded here (the embed stage
        loads it when the scan finds new photos, and says so if it cannot; ``index --model``
        with nothing new starts in a second). Returns the encoder, or None when it was not
        loaded."""
        spec = self.models.target_spec(self.writer)
        target = self.writer.target_model()
        if target is not None and target.spec == spec and not self.embedding_pending():
            return None
        encoder = self.encoders.require(spec, progress=progress)
        self.writer.set_target_model(encoder.spec.name, encoder.dim)
        return encoder

    def embedding_pending(self) -> int:
        return pipeline.stage("embed").pending(self.context())

    def watcher(self, listener: Any = None, *, embed: bool = True, faces: bool = True,
                batch_size: int = 16, idle_release_s: float | None = None,
                check_model: bool = False, **options: Any) -> Any:
        """A :class:`~photoorg.core.ingest.watcher.LibraryWatcher` whose indexing is this
        library's pipeline (``embed=False``: keep the catalog in step only).

        ``idle_release_s`` > 0: the pipeline runs in a worker process
        (:mod:`~photoorg.core.app.index_worker`) that exits, its models with it, after that
        many idle seconds and is started again by the next change; the listener's
        ``on_models_released(idle_s)`` hears it. None or 0: in this process, models kept.
        ``check_model``: load the target model now, raising ``ModelUnavailableError``
        saying why it cannot be had (rather than in the middle of watching)."""
        from photoorg.core.ingest.watcher import LibraryWatcher

        run: Callable[[IndexControl, IndexListener], IndexSummary] | None = None
        if embed and idle_release_s:
            from photoorg.core.app.worker_client import IndexWorker

            worker = IndexWorker(self.data, model=self.models.requested, faces=faces,
                                 batch_size=batch_size, idle_release_s=idle_release_s,
                                 on_release=getattr(listener, "on_models_released", None))
            if check_model:
                try:
                    worker.require()
                except Exception:
                    worker.close()
                    raise
            run = worker
        elif embed:
            if check_model:
                self.require_target_model()

            def run(control: IndexControl, bridge: IndexListener) -> IndexSummary:
                return self.run_pipeline(control=control, listener=bridge, faces=faces,
                                         batch_size=batch_size).summary

        return LibraryWatcher(self.writer, None, listener=listener, run_index=run,
                              batch_size=batch_size, **options)

    def save_search_cache(self) -> None:
        """Write the search index's start-up file now, so the next search starts fast."""
        from photoorg.core.search.engine import SearchIndex

        try:
            SearchIndex(self.catalog_path).close(save=True)
        except OSError as exc:  # an optimisation only: search rebuilds it when missing
            log.warning("could not write the search cache (%s); the next search starts "
                        "slower", exc.strerror or exc)
        except Exception:
            log.exception("could not write the search cache")

    # -- status --------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """What ``photoorg status --json`` prints."""
        from photoorg.core.ingest.scanner import unreadable_folders
        from photoorg.core.store.missing import missing_folders

        cat = self.reader()
        counts = cat.status_counts()
        target, active = cat.target_model(), cat.active_model()
        result: dict[str, Any] = {
            "indexed": counts["indexed"],
            "pending": counts["pending"],
            "skipped": counts["skipped"],
            "skipped_reasons": counts["skipped_reasons"],
            "offline": counts["offline"],
            "missing": counts["missing"],  # files gone, rows kept (core.missing)
            "videos": counts["videos"],  # of the readable items, how many are videos
            "model": target.spec if target else None,
        }
        if active and target and active.id != target.id:
            result["searching_with"] = active.spec
        result["not_searchable"] = model_policy.coverage(cat)["not_searchable"]
        result["folders"] = [
            {"path": str(r.path), "online": r.online, "watch_mode": r.watch_mode}
            for r in cat.roots()
        ]
        unreadable = unreadable_folders(cat)
        if unreadable:
            result["unreadable_folders"] = [{"path": p, "reason": r} for p, r in unreadable]
        gone = missing_folders(cat)
        if gone:
            result["missing_folders"] = [{"path": str(f.path), "photos": f.photos} for f in gone]
        # photos (or steps) per stage whose last try failed: tried again on a later run
        result["failures"] = failure_counts(cat)
        return result

    def failures(self, since: float = 0.0, examples: int = 3) -> list[Cause]:
        """What failed (since a time; 0: everything standing), one entry per stage and
        cause, with a few example photos."""
        return causes(self.reader(), since=since, examples=examples)

    def set_read_text(self, on: bool) -> None:
        """The library setting that turns the OCR stage on or off (kept in the catalog)."""
        from photoorg.core.ingest import ocr

        ocr.set_enabled(self.writer, on)

    def relocated_root(self, root: Any) -> Path | None:
        """Where an offline folder seems to be now (a drive back under another letter)."""
        from photoorg.core.ingest.relocation import find_relocated_root

        return find_relocated_root(self.writer, root)

    def undated_photos(self) -> int:
        """Photos without a capture date (events cannot place them)."""
        from photoorg.core.groups import events as ev

        return ev.undated_count(self.reader())

    def similar_items(self, raw_paths: Iterable[str | Path]) -> list[int | Path]:
        """Photos to look like: library photos by id (their stored vectors answer, even
        from an offline drive), other files as images to embed."""
        cat = self.reader()
        model = cat.active_model()
        items: list[int | Path] = []
        for raw in raw_paths:
            path = Path(raw).expanduser().absolute()
            pid = cat.photo_id_for_path(path)
            if model is not None and pid is not None and cat.vector(pid, model.id) is not None:
                items.append(pid)
            elif path.is_file():
                items.append(path)
            else:
                raise LibraryError(f"not a file: {path}")
        return items

    def in_library(self, raw: str | Path) -> bool:
        return self.reader().photo_id_for_path(Path(raw).expanduser().absolute()) is not None

    def missing_photos(self) -> tuple[int, list[Any]]:
        """How many photos' files are gone, and the folders they were in
        (:class:`~photoorg.core.store.missing.MissingFolder`)."""
        from photoorg.core.store import missing

        cat = self.reader()
        return missing.count_missing(cat), missing.missing_folders(cat)

    def skipped(self, limit: int = 50) -> list[tuple[Path, str, str]]:
        return self.reader().skipped(limit=limit)

    # -- search --------------------------------------------------------------------------

    def search_index(self) -> Any:
        from photoorg.core.search.engine import SearchIndex

        index = getattr(self._local, "search_index", None)
        if index is None:
            index = SearchIndex(self.catalog_path, prefer=self.models.search_preference)
            self._local.search_index = index
        return index

    def close_search_index(self) -> None:
        index = getattr(self._local, "search_index", None)
        if index is not None:
            index.close()
            self._local.search_index = None

    def search_encoder(self) -> Any:
        """The text/image encoder of the model that answers searches."""
        cat = self.reader()
        model = self.models.search_model(cat)
        if model is None:
            raise LibraryError("the library is empty: run `photoorg index FOLDER` first")
        encoder = self.encoders.get(model.spec, export=False)
        if encoder is None:
            why = self.encoders.failed.get(model.spec, "")
            if why in ("missing", ""):
                why = f"the weights of {model.spec} are not on this computer"
            raise LibraryError(why)
        from photoorg.core.models import query_cache

        return query_cache.cached(encoder)

    def search(self, query: Any, *, filters: Any = None, k: int = 20, offset: int = 0,
               min_score: float | None = None, exclude: Iterable[int] = (),
               show_all: bool = False) -> SearchOutcome:
        """The one search (:mod:`photoorg.core.search.library_search`): word matches (names,
        places, tags, file names, text read in photos) first, then CLIP similarity down to
        the query's relevance cut-off (``show_all`` lifts it). Without the model's weights,
        word matches still answer (``note`` says so). Says how many photos the search could
        not see (offline without its vector, or still waiting to be embedded)."""
        from photoorg.core.search.engine import parse_query
        from photoorg.core.search.library_search import search_library

        if isinstance(query, str):
            query = parse_query(query)
        cat = self.reader()
        if not cat.scalar("SELECT 1 FROM photos LIMIT 1"):
            raise LibraryError("the library is empty: run `photoorg index FOLDER` first")
        model = self.models.search_model(cat)
        encoder, note = None, ""
        if model is not None:
            needs = any(p.kind == "text" for p in query.parts) or any(
                p.kind == "image" and not self._has_vector(cat, Path(p.value), model.id)
                for p in query.parts)
            if needs:
                try:
                    encoder = self.search_encoder()
                except LibraryError as exc:
                    if any(p.kind == "image" for p in query.parts):
                        raise
                    note = f"searching words only: {exc}"
        index = self.search_index()
        page = search_library(index, query, encoder, filters=filters, k=k, offset=offset,
                              show_all=show_all, min_score=min_score, exclude=exclude)
        cover = model_policy.coverage(cat, model) if model is not None else {
            "not_searchable": 0}
        return SearchOutcome(page.hits, cover["not_searchable"],
                             model.spec if model else None, page, note)

    def similar(self, photo_ids: Sequence[int], *, k: int = 20, offset: int = 0,
                include_self: bool = False, show_all: bool = False, filters: Any = None,
                extra: Any = None) -> Any:
        """Find similar, with the same relevance cut-off as search (a SearchPage)."""
        from photoorg.core.search.library_search import similar_photos

        encoder = None
        if extra is not None and any(p.kind in ("text", "image") for p in extra.parts):
            encoder = self.search_encoder()
        return similar_photos(self.search_index(), [int(i) for i in photo_ids], k=k,
                              offset=offset, include_self=include_self, show_all=show_all,
                              filters=filters, extra=extra, encoder=encoder)

    @staticmethod
    def _has_vector(cat: Catalog, path: Path, model_id: int) -> bool:
        pid = cat.photo_id_for_path(path)
        return pid is not None and cat.vector(pid, model_id) is not None

    def moment_vector(self, video: int | str | Path, seconds: float) -> Any:
        """How a video looks at ``seconds`` for "Find similar" on a paused frame: its stored
        keyframe there, else that frame embedded with the answering model. ``video``: a
        library id or a path (in the library or not)."""
        from photoorg.core.media.video import is_video
        from photoorg.core.search.video_frames import moment_vector

        cat = self.reader()
        model = self.models.search_model(cat)
        if model is None:
            raise LibraryError("the library is empty: run `photoorg index FOLDER` first")
        if isinstance(video, int):
            vid, found = video, self.paths([video])
            path = Path(found[0]) if found else None
        else:
            path = Path(video).expanduser().absolute()
            vid = cat.photo_id_for_path(path)
        if vid is None and (path is None or not path.is_file()):
            raise LibraryError(f"no such video: {video}")
        if path is not None and not is_video(path):
            raise LibraryError(f"{path} is not a video")
        try:  # a stored keyframe at that second: no model needed
            return moment_vector(cat, model.id, model.dim, vid, path, float(seconds))
        except ValueError:
            pass
        if path is None:
            raise LibraryError(f"video {video} is not on this computer")
        try:
            return moment_vector(cat, model.id, model.dim, None, path, float(seconds),
                                 self.search_encoder())
        except ValueError as exc:
            raise LibraryError(str(exc)) from exc

    def similar_moment(self, video: int | str | Path, seconds: float, *, k: int = 20,
                       offset: int = 0, show_all: bool = False, filters: Any = None) -> Any:
        """"Find similar" on a (video, second): photos and video moments that look like that
        frame, with the same relevance cut-off as search (a SearchPage; video hits carry
        their ``time``). The video itself comes first, at that moment."""
        from photoorg.core.search.engine import Query, QueryPart
        from photoorg.core.search.library_search import similar_photos

        vector = self.moment_vector(video, seconds)
        return similar_photos(self.search_index(), [], k=k, offset=offset, show_all=show_all,
                              filters=filters, extra=Query((QueryPart("vector", vector),)))

    def similar_ids(self, photo_ids: Sequence[int], k: int = 20,
                    include_self: bool = False) -> list[Any]:
        return self.search_index().similar_to_photos(
            [int(i) for i in photo_ids], k=k, include_self=include_self)

    def duplicates(self, threshold: float, filters: Any = None) -> list[Any]:
        """Near-duplicate groups around their suggested keepers (``core.duplicates.Group``),
        as the window shows them: "Not duplicates" pairs left out."""
        from photoorg.core.search import duplicates

        if self.reader().active_model() is None:
            raise LibraryError("the library is empty: run `photoorg index FOLDER` first")
        return duplicates.review(self.reader(), threshold, self.search_index(),
                                 filters=filters)

    # -- albums --------------------------------------------------------------------------

    def albums(self) -> list[cl.Album]:
        return cl.list_albums(self.reader())

    def album_photos(self, name: str) -> list[int]:
        """An album's photos: tag albums by date, saved searches best match first."""
        return self.album_results(name)[0]

    def album_results(self, name: str) -> tuple[list[int], list[float] | None]:
        """An album's photo ids and, for a saved search with text, their scores."""
        scores: dict[int, float] = {}

        def resolve(cat: Catalog, album: cl.Album) -> list[int]:
            return self._resolve_search_album(cat, album, scores)

        try:
            ids = cl.album_photos(self.reader(), name, resolver=resolve)
        except cl.AlbumError as exc:
            raise LibraryError(str(exc)) from exc
        return ids, ([scores[i] for i in ids] if scores else None)

    def _resolve_search_album(self, cat: Catalog, album: cl.Album,
                              scores: dict[int, float] | None = None) -> list[int]:
        from photoorg.core.search.engine import Filters, parse_query

        if album.similar:  # "more like these": re-ranked now, so new photos join
            from photoorg.core.search import feedback

            return feedback.resolve_album(cat, album, index=self.search_index(),
                                          scores=scores)

        known = {"folder", "after", "before", "exts", "person", "place"}
        options = {k: v for k, v in album.filters.items() if k in known}
        if "exts" in options:
            options["exts"] = tuple(options["exts"])
        filters = Filters(tags=tuple(album.tags), **options)
        if not album.query:  # filters only: every photo that passes, by date
            return cl.order_by_date(cat, self.search_index().filter_ids(filters))
        outcome = self.search(parse_query(album.query), filters=filters, k=ALBUM_SEARCH_K)
        if scores is not None:
            scores.update((h.photo_id, float(h.score)) for h in outcome.hits)
        return [h.photo_id for h in outcome.hits]

    # -- clusters, names and tags ----------------------------------------------------------

    def clusters(self, kind: str, *, include_hidden: bool = False,
                 refresh: bool = True) -> list[cl.ClusterInfo]:
        """A kind's clusters; grouped again first only if its input changed."""
        if refresh:
            self.refresh_clusters([kind])
        return cl.list_clusters(self.reader(), kind, include_hidden=include_hidden)

    def refresh_clusters(self, kinds: Sequence[str] | None = None) -> None:
        """Re-group the kinds whose input changed, then bring sidecars up to date."""
        from photoorg.core.groups import grouping

        cat = self.writer
        for kind in kinds or cl.KINDS:
            if not grouping.is_stale(cat, kind):
                continue
            encoder = None
            if kind == "pets":
                encoder = self.models.encoder_for(cat, "pets")
                if encoder is None:
                    continue
            grouping.refresh_clusters(cat, kind, encoder)
        self.sync_sidecars()

    def video_moments(self, cluster_ids: Sequence[int]) -> dict[int, dict[int, float]]:
        """``{person id: {video id: second}}``: the moment each person was seen in each of
        their videos (a person's page opens the clip there)."""
        return cl.video_moments(self.reader(), cluster_ids)

    def clusters_named(self, kind: str, name: str) -> list[int]:
        return cl.clusters_named(self.reader(), kind, name)

    def photo_ids(self, paths: Iterable[str | Path]) -> list[int]:
        cat = self.reader()
        ids = []
        for raw in paths:
            pid = cat.photo_id_for_path(Path(raw).expanduser().absolute())
            if pid is None:
                pid = cat.photo_id_for_path(Path(raw).expanduser().resolve())
            if pid is None:
                raise LibraryError(f"not in the library: {raw}")
            ids.append(pid)
        return ids

    def photo_metas(self, photo_ids: Sequence[int]) -> dict[int, Any]:
        """Rating, label, title and caption of each photo, with who set them."""
        from photoorg.core.metadata import importer as mi

        return mi.photo_metas(self.reader(), photo_ids)

    def metadata_problems(self, photo_id: int) -> list[str]:
        """Why parts of what other tools wrote into this photo could not be read."""
        from photoorg.core.metadata import importer as mi

        return mi.import_problems(self.reader(), photo_id)

    def reread_metadata(self, photo_ids: Sequence[int]) -> None:
        from photoorg.core.metadata import importer as mi

        mi.import_metadata(self.writer, photo_ids)

    def tags(self, photo_id: int) -> list[str]:
        return cl.tags_for_photo(self.reader(), photo_id)

    def paths(self, ids: Iterable[int]) -> list[str]:
        id_list = list(ids)
        found = self.reader().paths_for_ids(id_list)
        return [str(found[i]) for i in id_list if i in found]

    # -- suggested names, more like these, events (photoorg.core.groups.suggest / feedback / events)

    def name_suggestions(self, infos: Sequence[cl.ClusterInfo]) -> dict[int, Any]:
        """A suggested name (or None) per unnamed pet, scene and place cluster among
        ``infos``. The prompt vectors are made once per model with the "names" encoder;
        without it (weights missing), no suggestions."""
        from photoorg.core.groups import suggest

        if not any(i.kind in suggest.BUILTIN and i.name is None for i in infos):
            return {}
        cat = self.writer
        if not suggest.is_prepared(cat):
            encoder = self.models.encoder_for(cat, "names")
            if encoder is None:
                return {}
            suggest.prepare(cat, encoder)
        return suggest.suggest_names(cat, infos)

    def more_like_these(self, feedback: Any, *, k: int = 60, filters: Any = None,
                        show_all: bool = False) -> SearchOutcome:
        """Rocchio over ``feedback`` (a :class:`photoorg.core.search.feedback.Feedback`); photos
        marked "less like these" are left out. The relevance cut-off of search applies
        (``show_all`` lifts it)."""
        from pathlib import Path as _Path

        left_out = [int(n) for n in feedback.negative if not isinstance(n, _Path)]
        return self.search(feedback.to_query(), filters=filters, k=k, exclude=left_out,
                           show_all=show_all)

    def events(self, *, include_all: bool = False, min_photos: int | None = None) -> list[Any]:
        """Events split again from the photos' dates and places (ids and the user's keep /
        dismiss decisions kept), newest first; suggestions only unless ``include_all``."""
        from photoorg.core.groups import events as ev

        found = ev.refresh_events(self.writer, min_photos=min_photos or ev.MIN_PHOTOS)
        return ev.list_events(found, include_all=include_all)

    # -- stacks --------------------------------------------------------------------------

    def stacks(self, *, include_unstacked: bool = True) -> list[Any]:
        """RAW+JPEG pairs, Live Photos and bursts (:mod:`photoorg.core.groups.stacks`),
        found again first for photos in none yet."""
        from photoorg.core.groups import stacks as st

        if st.is_stale(self.writer):
            st.refresh(self.writer)
        return st.stacks(self.reader(), include_unstacked=include_unstacked)

    def unstack(self, stack_id: int) -> None:
        """Show a stack's members one by one (undo restacks it)."""
        from photoorg.core.groups import stacks as st

        if not st.unstack(self.writer, stack_id):
            raise LibraryError(f"no stacked stack {stack_id}")
        self._decided("photos", (), "stacks.unstack", sync=False)

    def restack(self, stack_id: int) -> None:
        from photoorg.core.groups import stacks as st

        if not st.restack(self.writer, stack_id):
            raise LibraryError(f"no unstacked stack {stack_id}")
        self._decided("photos", (), "stacks.restack", sync=False)

    def set_stack_cover(self, stack_id: int, photo_id: int) -> None:
        """The member the stack's tile shows (undo puts the old cover back)."""
        from photoorg.core.groups import stacks as st

        if not st.set_cover(self.writer, stack_id, photo_id):
            raise LibraryError(f"photo {photo_id} is not a member of stack {stack_id} "
                               "or is its cover already")
        self._decided("photos", (), "stacks.cover", sync=False)
