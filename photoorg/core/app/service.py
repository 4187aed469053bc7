"""The library service: everything heavy, away from the window. Qt-free.

The GUI starts it as a child process (``python -m photoorg.core.app.service``): it owns the models
(torch, open_clip), runs the library's pipeline (:mod:`photoorg.core.ingest.pipeline`, the same one
``photoorg index`` and ``watch`` run), watches the folders, and answers searches from its
in-memory index. Everything it decides goes through :class:`~photoorg.core.app.library.Library`.
The window process then never imports torch and never
waits for Python's GIL behind decoding or inference — measured, a torch import on a thread of
the GUI process alone stalls the window for ~0.5 s (see ``benchmarks/gui_stall.py``).

Idle for ``idle_release_s`` (the ``idle_release_s`` setting; ``PHOTOORG_IDLE_RELEASE``
overrides it; 0: never): nothing searched for that long, the text tower goes
(``text_released``); nothing indexed or searched for that long, every model goes
(``released``), the OCR engine and its gate too where text was read (spec ``ocr``). The
next search loads the text tower again, saying ``text_loading`` then
``text_ready`` so the window can show it; the next photo loads the models (``model``
events). A process that has imported torch keeps the import's ~0.5 GB either way; ``watch``
gets under that by running its pipeline in a worker process (:mod:`.index_worker`).

The same loop can run on threads in-process (``mode="thread"``: tests). Either way the
library's one write connection is used by the pipeline thread only; queries use read-only
connections (WAL), so a search never waits for a write and never blocks one.

``--model SPEC`` is the *search* model (among those the library has vectors for); it becomes
the library's target only when the library has none yet. The ``download`` command is the
user choosing a model in the window: it becomes the library's target (a switch).

Protocol: one JSON object per line. Events (stdout)::

    {"event": "model", "state": "loading"|"ready"|"unavailable"|"downloading"|"cancelled",
     "spec": ..., "message": ...}
    {"event": "download", "done": bytes, "total": bytes | 0}
    {"event": "progress", "phase": "scanning"|"embedding"|"faces"|"text"|"clusters"|"done", ...}
    {"event": "changed"}                       catalog rows or vectors changed (throttled)
    {"event": "idle"}                          caught up
    {"event": "watch", "state": "watching"|"off"|"unavailable", "mode": ..., "folders": n}
    {"event": "paused", "paused": bool}
    {"event": "memory", "state": "released"|"text_released"|"text_loading"|"text_ready",
     "spec": ...}                              models let go when idle / the text tower again
                                               ("ocr": the OCR engine and its gate)
    {"event": "results", "gen": n, "ids": [...], "scores": [...], "error": str | null,
     "matched": [[kind, ...], ...], "total": n, "weaker": bool,
     "times": [seconds | null, ...]}  (a video's best matching second)
    {"event": "error", "message": ..., "details": ...}

Commands (stdin): a word — ``pause`` ``resume`` ``cancel`` ``rescan`` ``quit`` — or JSON:
``{"cmd": "search", "gen", "text", "k", "all"}``, ``{"cmd": "similar", "gen", "ids", "k",
"all"}`` (``all``: no relevance cut-off, "show weaker matches"; and ``"not": [ids]``: less
like those; ``"time": seconds`` with one video id: like that video's frame at that second),
``{"cmd": "album", "gen", "name"}`` (a saved-search album: answered as ``results``),
``{"cmd": "download", "spec"}`` (download if needed, then use), ``{"cmd": "cancel_download"}``.
"""

from __future__ import annotations

import argparse
import collections
import json
import logging
import os
import queue
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from photoorg import config
from photoorg.core.app.library import Library, LibraryError
from photoorg.core.ingest.indexer import IndexControl, IndexListener, Progress
from photoorg.core.models.policy import Encoders, spec_of
from photoorg.core.store.catalog import Catalog

log = logging.getLogger(__name__)

Emit = Callable[[dict[str, Any]], None]

_QUERIES = ("search", "similar", "album")

PROGRESS_INTERVAL_S = 0.1
CHANGED_INTERVAL_S = 1.0


class DownloadCancelledError(Exception):
    """The user cancelled the model download."""


class _Listener(IndexListener):
    """Indexer progress → events, at most every ``PROGRESS_INTERVAL_S`` (the GUI only needs
    what a person can read)."""

    def __init__(self, service: LibraryService) -> None:
        self.service = service
        self._last = 0.0
        self._phase = ""

    def on_progress(self, progress: Progress) -> None:
        now = time.monotonic()
        final = progress.phase == "done" or progress.done >= progress.total
        if (progress.phase == self._phase and not final and not progress.paused
                and now - self._last < PROGRESS_INTERVAL_S):
            return
        self._last, self._phase = now, progress.phase
        self.service.worked()
        self.service.event("progress", **asdict(progress))
        if progress.phase in ("embedding", "faces", "text"):
            self.service.emit_changed()


def _phase(name: str) -> dict[str, Any]:
    return asdict(Progress(name))


class LibraryService:
    """One library's background work. :meth:`run` blocks until ``quit``."""

    def __init__(
        self,
        data: Path,
        emit: Emit,
        *,
        model: str | None = None,
        faces: bool = True,
        watch: bool = False,
        watch_mode: str = "auto",
        batch_size: int = 16,
        decode_workers: int | None = None,
        idle_release_s: float | None = None,
    ) -> None:
        self.data = data
        self.idle_release_s = idle_release_s
        self.emit = emit
        self.model_spec = model
        self.faces = faces
        self.watch = watch
        self.watch_mode = watch_mode
        self.batch_size = batch_size
        self.decode_workers = decode_workers
        self.control = IndexControl()
        self.commands: queue.Queue[str] = queue.Queue()
        self._quit = threading.Event()
        self._paused = False
        self._last_changed = 0.0
        self._watcher: Any = None
        self._restart_watcher = False
        # models: loaded once, shared by the pipeline (main thread) and queries; both the
        # active and the target model stay loaded during a switch (no thrashing), with both
        # towers: searches are answered while indexing
        self.encoders = Encoders(download=False, on_state=self._model_event, lean=False)
        self._library: Library | None = None
        # queries and downloads run on their own thread, newest search first
        self._jobs: collections.deque[dict[str, Any]] = collections.deque()
        self._jobs_cond = threading.Condition()
        self._download_cancel = threading.Event()
        # the library's one write connection belongs to the thread that runs the pipeline
        # (run()); the query thread hands it what to write
        self._new_target: tuple[str, int] | None = None
        # when models were last needed: an indexing step, a query (for the text tower)
        self._last_work = time.monotonic()
        self._last_query = time.monotonic()
        self._trim_at: float | None = None  # when to hand freed memory back again

    # -- commands (any thread) ---------------------------------------------------------

    def command(self, line: str) -> None:
        line = line.strip()
        if not line:
            return
        if line.startswith("{"):
            try:
                job = json.loads(line)
            except ValueError:
                log.warning("bad command %r", line)
                return
            if job.get("cmd") == "cancel_download":
                self._download_cancel.set()
                return
            with self._jobs_cond:
                if job.get("cmd") in _QUERIES:
                    # only the newest query matters: drop the ones typed over
                    kept = [j for j in self._jobs if j.get("cmd") not in _QUERIES]
                    self._jobs.clear()
                    self._jobs.extend(kept)
                self._jobs.append(job)
                self._jobs_cond.notify()
            return
        word = line.lower()
        if word == "pause":
            self._paused = True
            self.control.pause()
            if self._watcher is not None:
                self._watcher.pause()
            self.event("paused", paused=True)
        elif word == "resume":
            self._paused = False
            self.control.resume()
            if self._watcher is not None:
                self._watcher.resume()
            self.event("paused", paused=False)
        elif word in ("cancel", "quit"):
            if word == "quit":
                self._quit.set()
                self._download_cancel.set()
                with self._jobs_cond:
                    self._jobs_cond.notify_all()
            self.control.cancel()
            self.commands.put(word)
        elif word == "rescan":
            self.commands.put(word)

    # -- events --------------------------------------------------------------------------

    def event(self, name: str, **fields: Any) -> None:
        try:
            self.emit({"event": name, **fields})
        except Exception:  # a closed pipe or a deleted receiver: keep the catalog safe
            log.debug("event %s not delivered", name, exc_info=True)

    def emit_changed(self, force: bool = False) -> None:
        now = time.monotonic()
        if force or now - self._last_changed >= CHANGED_INTERVAL_S:
            self._last_changed = now
            self.event("changed")

    def _error(self, message: str) -> None:
        self.event("error", message=message, details=traceback.format_exc())

    # -- the model -----------------------------------------------------------------------

    @property
    def library(self) -> Library:
        if self._library is None:
            self._library = Library(self.data, search_model=self.model_spec,
                                    encoders=self.encoders)
            if self.idle_release_s is None:
                self.idle_release_s = _idle_release_s(self._library)
        return self._library

    def worked(self) -> None:
        """The pipeline did something: the models are in use."""
        self._last_work = time.monotonic()

    def maybe_release(self, pipeline_idle: bool) -> None:
        """(The pipeline's thread, between steps) let go of what has not been needed for
        ``idle_release_s``: the text tower when nothing was searched, every model when
        nothing was indexed either."""
        limit = self.idle_release_s
        if not limit:
            return
        now = time.monotonic()
        if self._trim_at is not None and now >= self._trim_at:
            # what was let go is freed only once the threads that used it dropped it (an
            # encoder in a finished step, a decode pool's buffers): trim again after that
            self._trim_at = None
            _trim()
        if now - self._last_query < limit:
            return
        specs = self.encoders.specs()
        released = False
        for spec in specs:
            encoder = self.encoders.loaded(spec)
            if encoder is not None and "text" in encoder.loaded:
                encoder.release("text")  # kept when in use, or when it cannot be read again
                if "text" not in encoder.loaded:
                    released = True
                    self.event("memory", state="text_released", spec=spec)
        if released:
            _trim()
            self._trim_at = now + TRIM_AGAIN_S
        if pipeline_idle and now - self._last_work >= limit:
            from photoorg.core.ingest import ocr

            self.encoders.keep_only(set())
            text_models = ocr.release_models()  # the OCR engine and gate, where text was read
            if specs or text_models:
                _trim()
                self._trim_at = now + TRIM_AGAIN_S
            for spec in specs:
                self.event("memory", state="released", spec=spec)
            if text_models:
                self.event("memory", state="released", spec=OCR_MODELS)

    def _text_tower_for_search(self) -> None:
        """(The query thread) a search is coming: load the text tower first, saying so, so
        the window shows it is loading rather than seeming stuck."""
        self._last_query = time.monotonic()
        if not self.idle_release_s:
            return
        lib = self.library
        model = lib.models.search_model(lib.reader())
        encoder = self.encoders.loaded(model.spec) if model is not None else None
        if encoder is None or "text" in encoder.loaded:
            return  # not loaded at all: loading it says so through "model" events
        self.event("memory", state="text_loading", spec=model.spec)
        try:
            encoder.load("text")
        finally:
            self.event("memory", state="text_ready", spec=model.spec)

    def _model_event(self, state: str, spec: str, message: str) -> None:
        self.event("model", state=state, spec=spec, message=message)

    def _spec(self, cat: Catalog | None = None) -> str:
        return self.library.models.target_spec(cat or self.library.reader())

    def _download(self, spec: str) -> None:
        """The user chose ``spec`` in the window: fetch it if needed, make it the library's
        target (a switch, when it differs) and index with it."""
        self._download_cancel.clear()
        last = [0.0]

        def progress(done: int, total: int | None) -> None:
            if self._download_cancel.is_set():
                raise DownloadCancelledError("download cancelled")
            now = time.monotonic()
            if now - last[0] >= 0.1 or (total and done >= total):
                last[0] = now
                self.event("download", done=int(done), total=int(total or 0))

        encoder = self.encoders.get(spec, progress=progress,
                                    cancelled=self._download_cancel.is_set)
        if encoder is not None:
            self.library.models.requested = spec
            dim = getattr(encoder, "dim", None)
            if dim:  # written by the pipeline's thread, the one that owns the writer
                with self._jobs_cond:
                    self._new_target = (spec_of(encoder), int(dim))
            self._restart_watcher = True
            self.commands.put("rescan")  # index with it

    def _apply_new_target(self) -> None:
        """(The writer's thread) make the model the user chose the library's target;
        remembered even if the window closes before indexing."""
        with self._jobs_cond:
            target, self._new_target = self._new_target, None
        if target is not None:
            self.library.writer.set_target_model(*target)

    # -- queries (their own thread) ------------------------------------------------------

    def _query_loop(self) -> None:
        while not self._quit.is_set():
            with self._jobs_cond:
                while not self._jobs and not self._quit.is_set():
                    self._jobs_cond.wait()
                if self._quit.is_set():
                    break
                job = self._jobs.popleft()
            cmd = job.get("cmd")
            try:
                if cmd in _QUERIES:
                    self._answer(job)
                elif cmd == "download":
                    self._download(str(job.get("spec") or self._spec()))
            except Exception as exc:
                log.exception("%s failed", cmd)
                if cmd in _QUERIES:
                    self.event("results", gen=job.get("gen", 0), ids=[], scores=[],
                               error=str(exc))
                else:
                    self._error(f"{cmd} failed: {exc}")
        if self._library is not None:
            self._library.close_search_index()

    def _answer(self, job: dict[str, Any]) -> None:
        from photoorg.core.search.engine import QueryError

        gen = int(job.get("gen", 0))
        k = int(job.get("k", 200))
        self._last_query = time.monotonic()
        show_all = bool(job.get("all", False))
        lib = self.library
        try:
            if job["cmd"] == "similar" and job.get("not"):  # less like those: Rocchio
                from photoorg.core.search.feedback import Feedback

                wanted = Feedback(tuple(int(i) for i in job["ids"]),
                                  tuple(int(i) for i in job["not"]))
                page = lib.more_like_these(wanted, k=k, show_all=show_all).page
            elif job["cmd"] == "similar" and job.get("time") is not None \
                    and len(job["ids"]) == 1:  # a video's frame at that second
                page = lib.similar_moment(int(job["ids"][0]), float(job["time"]), k=k,
                                          show_all=show_all)
            elif job["cmd"] == "similar":
                page = lib.similar([int(i) for i in job["ids"]], k=k, include_self=True,
                                   show_all=show_all)
            elif job["cmd"] == "album":
                ids, scores = lib.album_results(str(job["name"]))
                self.event("results", gen=gen, ids=ids,
                           scores=[round(s, 6) for s in scores or []], error=None)
                return
            else:  # without the model, names, places, tags and text still answer
                self._text_tower_for_search()
                page = lib.search(str(job["text"]), k=k, show_all=show_all).page
        except LibraryError as exc:
            self.event("results", gen=gen, ids=[], scores=[], error=str(exc))
            return
        except QueryError as exc:
            self.event("results", gen=gen, ids=[], scores=[], error=str(exc))
            return
        hits = page.hits
        self.event("results", gen=gen, ids=[h.photo_id for h in hits],
                   scores=[round(float(h.score), 6) for h in hits], error=None,
                   matched=[list(h.matched) for h in hits], total=page.total,
                   weaker=page.weaker_hidden, times=[h.time for h in hits])

    # -- the main loop -------------------------------------------------------------------

    def run(self) -> int:
        queries = threading.Thread(target=self._query_loop, name="photoorg-queries",
                                   daemon=True)
        queries.start()
        cat = self.library.writer
        try:
            while not self._quit.is_set():
                self._apply_new_target()
                self._restart_watcher = False
                if self.watch:
                    self._run_watching(cat)
                else:
                    self._run_passes(cat)
                if not self._restart_watcher:
                    break
        finally:
            self._quit.set()
            with self._jobs_cond:
                self._jobs_cond.notify_all()
            queries.join(timeout=10)
            self._apply_new_target()
            self.library.close()
        return 0

    def _run_passes(self, cat: Catalog) -> None:
        """Scan, index, group; then wait for ``rescan`` (no watching)."""
        while not self._quit.is_set():
            self.control = IndexControl()
            if self._paused:
                self.control.pause()
            try:
                self._pass(cat)
            except Exception as exc:
                log.exception("indexing pass failed")
                self._error(f"Indexing stopped: {exc}")
            if self._quit.is_set():
                break
            self.event("idle")
            if not self._wait_for_work():
                break

    def _wait_for_work(self) -> bool:
        """Block until a rescan is asked for; False on quit."""
        while not self._quit.is_set():
            self.maybe_release(pipeline_idle=True)
            try:
                word = self.commands.get(timeout=0.5)
            except queue.Empty:
                continue
            self.worked()
            if word == "quit":
                return False
            if word == "rescan":
                time.sleep(0.05)  # a burst of rescans is one pass
                while not self.commands.empty():
                    if self.commands.get_nowait() == "quit":
                        return False
                return True
        return False

    def _pass(self, cat: Catalog) -> None:
        """Scan, then the library's pipeline (the same as ``photoorg index``)."""
        self._apply_new_target()
        lib = self.library
        if not cat.roots():  # nothing to do but have the model ready for the first folder
            self._prepare_model(cat)
            return
        self.event("progress", **_phase("scanning"))
        report = lib.scan(should_stop=lambda: self.control.cancelled)
        self.event("scan", added=report.added, changed=report.changed, moved=report.moved,
                   removed=report.removed, offline=[str(p) for p in report.offline_roots],
                   errors=len(report.errors))
        self.emit_changed(force=True)
        if self.control.cancelled:
            return
        self._prepare_model(cat)
        self._pipeline(_Listener(self), self.control)
        self.event("progress", **_phase("done"))

    def _prepare_model(self, cat: Catalog) -> None:
        """Load the target model now, so the window can show its state (the pipeline runs
        the stages that need no model either way)."""
        self.encoders.get(self._spec(cat))

    def _pipeline(self, listener: IndexListener, control: IndexControl) -> Any:
        ctx = self.library.run_pipeline(control=control, listener=listener, faces=self.faces,
                                        batch_size=self.batch_size,
                                        decode_workers=self.decode_workers)
        self.emit_changed(force=True)
        return ctx.summary

    # -- watching ----------------------------------------------------------------------

    def _run_watching(self, cat: Catalog) -> None:
        """The core's LibraryWatcher does the catch-up scan, follows the folders and runs the
        library's pipeline on what changes; this loop takes commands."""
        self._prepare_model(cat)
        bridge = _WatchBridge(self)
        try:
            watcher = self.library.watcher(
                bridge, faces=self.faces, batch_size=self.batch_size,
                force_polling=self.watch_mode == "polling",
            )
            if self._paused:
                watcher.pause()
            watcher.start()
        except Exception as exc:
            log.exception("cannot watch folders")
            self.event("watch", state="unavailable", mode=self.watch_mode, folders=0,
                       message=str(exc))
            self.watch = False
            return self._run_passes(cat)
        self._watcher = watcher
        try:
            while not self._quit.is_set() and not self._restart_watcher:
                try:
                    word = self.commands.get(timeout=0.25)
                except queue.Empty:
                    word = ""
                if word == "quit":
                    break
                if word == "rescan":
                    watcher.check_roots_now()
                    watcher.request_rescan()
                    watcher.request_index()  # retried files are waiting, unchanged on disk
                    bridge.changed = True
                if bridge.idle_since_change():
                    bridge.changed = False
                    self.emit_changed(force=True)
                    self.event("progress", **_phase("done"))
                    self.event("idle")
                    self.worked()
                self.maybe_release(pipeline_idle=bridge.state == "watching"
                                   and not bridge.changed)
        finally:
            watcher.stop()
            self._watcher = None
            if not self._restart_watcher:
                self.event("watch", state="off", mode=self.watch_mode, folders=0, message="")


class _WatchBridge:
    """LibraryWatcher news → service events (called on the watcher's thread)."""

    def __init__(self, service: LibraryService) -> None:
        self.service = service
        self.listener = _Listener(service)
        self.changed = True  # the catch-up scan counts as a change
        self.state = ""
        self._watch_key: tuple = ()

    def idle_since_change(self) -> bool:
        return self.changed and self.state == "watching"

    def on_status(self, status: Any) -> None:
        self.state = status.state
        if status.state in ("scanning", "reconciling"):
            self.changed = True
            self.service.event("progress", **_phase("scanning"))
        modes = {f.mode for f in status.folders if f.mode}
        watched = sum(1 for f in status.folders if f.mode)
        mode = modes.pop() if len(modes) == 1 else ("mixed" if modes else "")
        if not status.folders:
            state = "off"  # no folders yet: nothing to say
        elif watched:
            state = "watching"
        else:
            state = "off" if status.state in ("stopped", "starting") else "unavailable"
        key = (state, mode, watched)
        if key != self._watch_key:
            self._watch_key = key
            self.service.event("watch", state=state, mode=mode, folders=watched,
                               message=status.error or "")

    def on_changes(self, report: Any) -> None:
        self.changed = True
        self.service.emit_changed()

    def on_progress(self, progress: Progress) -> None:
        self.changed = True
        self.listener.on_progress(progress)

    def on_skipped(self, path: Path, reason: str, detail: str) -> None:
        pass


def _idle_release_s(lib: Library) -> float:
    raw = os.environ.get("PHOTOORG_IDLE_RELEASE")
    if raw:
        try:
            return max(0.0, float(raw))
        except ValueError:
            log.warning("PHOTOORG_IDLE_RELEASE=%r is not a number of seconds; using the "
                        "setting (%s s)", raw, lib.settings.idle_release_s)
    return float(lib.settings.idle_release_s)


TRIM_AGAIN_S = 2.0
"""After models are let go, memory is handed back once more this much later (measured: the
first trim, in the same step, left 441 MB of a service that had indexed; the second, 110)."""
OCR_MODELS = "ocr"
"""The ``spec`` of a memory event about the OCR engine and its gate (not a CLIP model)."""


def _trim() -> None:
    """Hand freed memory back to the system (glibc keeps it otherwise)."""
    import gc

    gc.collect()
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            ctypes.CDLL("libc.so.6").malloc_trim(0)
        except (OSError, AttributeError):
            log.debug("malloc_trim unavailable", exc_info=True)


# -- child process entry point ---------------------------------------------------------------


def lower_priority() -> None:
    """Background work yields the CPU to the window (and to whatever else the user runs)."""
    try:
        if hasattr(os, "nice"):
            os.nice(10)
        else:  # Windows
            import psutil

            psutil.Process().nice(psutil.BELOW_NORMAL_PRIORITY_CLASS)
    except Exception:  # not allowed here: run at normal priority
        log.debug("cannot lower the priority", exc_info=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="photoorg-service")
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--model")
    parser.add_argument("--no-faces", action="store_true")
    parser.add_argument("--watch", action="store_true")
    parser.add_argument("--watch-mode", default="auto")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--nice", action="store_true", help="run at a lower CPU priority")
    args = parser.parse_args(argv)
    data = config.data_dir(args.data_dir)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format="%(levelname)s %(name)s: %(message)s")
    from photoorg.logsetup import RepeatFilter

    for handler in logging.getLogger().handlers:  # repeats summarised, rate-limited
        handler.addFilter(RepeatFilter())
    if args.nice:
        lower_priority()
    out_lock = threading.Lock()
    stdout = sys.stdout

    def emit(event: dict[str, Any]) -> None:
        line = json.dumps(event, default=str)
        with out_lock:
            stdout.write(line + "\n")
            stdout.flush()

    service = LibraryService(
        data, emit, model=args.model, faces=not args.no_faces, watch=args.watch,
        watch_mode=args.watch_mode, batch_size=args.batch_size,
    )

    def read_commands() -> None:
        for line in sys.stdin:
            service.command(line)
        service.command("quit")  # the window went away: finish the batch and stop

    threading.Thread(target=read_commands, name="commands", daemon=True).start()
    code = service.run()
    sys.stdout.flush()
    os._exit(code)  # daemon threads (observers, decode pool) must not hold the exit


if __name__ == "__main__":
    sys.exit(main())
