"""Watch the library folders and keep the catalog (and the index) in step with the disk.

watchdog observers (native: inotify / FSEvents / ReadDirectoryChangesW; polling for
network shares, or when native watching fails) feed one worker thread::

    event ─→ mark the path dirty (per-path last-event time)
          ─→ moves applied at once when the catalog knows the source (same row: the
             vector, faces, names and tags stay; a folder is one UPDATE)
          ─→ once a path has been quiet for ``settle_s``: scan_paths() over just the
             dirty files and folders (new → queued, changed → re-queued)
          ─→ rows whose files are gone are deleted only when their root is quiet and
             still reachable (forget_gone), so deleting or unplugging a whole library
             folder makes its photos offline, never deleted
          ─→ the Indexer embeds whatever is pending (in slices, so new events are not
             kept waiting behind a long indexing run)

A lost event must never mean a lost photo: after an inotify queue overflow, when a root
was replaced, after an internal error, and every ``rescan_interval_s``, the whole root is
reconciled. Offline roots are checked every ``offline_check_s``; when one comes back a
catch-up scan re-checks it (same size and mtime: nothing is re-embedded).

No Qt here: the GUI drives the same class through a :class:`WatchListener`.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import sys
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from watchdog.events import FileSystemEvent, FileSystemEventHandler

from photoorg.core.ingest.indexer import (
    IndexControl,
    Indexer,
    IndexListener,
    IndexSummary,
    Progress,
)
from photoorg.core.ingest.scanner import (
    ScanReport,
    forget_gone,
    is_excluded,
    root_reachable,
    scan_library,
    scan_paths,
    storable,
)
from photoorg.core.media.imaging import is_supported
from photoorg.core.metadata.importer import is_sidecar, sidecars_changed
from photoorg.core.store.catalog import Catalog, PhotoRow, Root

if TYPE_CHECKING:
    from watchdog.observers.api import BaseObserver, ObservedWatch

    from photoorg.core.models.embedder import Embedder

log = logging.getLogger(__name__)

MODE_AUTO = "auto"
MODE_NATIVE = "native"
MODE_POLLING = "polling"

STATE_STARTING = "starting"
STATE_SCANNING = "scanning"
STATE_WATCHING = "watching"  # idle: everything reconciled and indexed
STATE_RECONCILING = "reconciling"
STATE_INDEXING = "indexing"
STATE_STOPPED = "stopped"

# how long a polled move whose destination had already moved on waits for the next hop
MOVED_ON_TTL_S = 120.0

# File systems whose changes made elsewhere never reach inotify: poll them.
NETWORK_FILESYSTEMS = frozenset(
    {
        "nfs", "nfs4", "cifs", "smb", "smbfs", "smb3", "afpfs", "ncpfs", "9p", "virtiofs",
        "vboxsf", "davfs", "fuse.sshfs", "fuse.rclone", "fuse.s3fs", "fuse.gvfsd-fuse",
        "fuse.glusterfs", "glusterfs", "ceph", "fuse.ceph", "lustre", "gpfs", "afs",
    }
)


@dataclass(frozen=True)
class FolderState:
    """One library folder as the watcher sees it."""

    root_id: int
    path: Path
    online: bool
    mode: str | None  # "native" | "polling" | None (not watched: offline)
    note: str = ""  # why polling was chosen, or the last problem


@dataclass(frozen=True)
class WatchStatus:
    """A snapshot for status bars and logs."""

    state: str
    folders: tuple[FolderState, ...] = ()
    waiting: int = 0  # dirty paths waiting to settle
    pending_deletes: int = 0  # gone rows waiting for their root to be quiet
    events: int = 0
    overflows: int = 0
    rescans: int = 0
    error: str | None = None


@dataclass
class WatchTotals:
    """What the watcher did since it started."""

    events: int = 0
    added: int = 0
    changed: int = 0
    moved: int = 0
    removed: int = 0
    embedded: int = 0
    skipped: int = 0
    overflows: int = 0
    rescans: int = 0
    errors: int = 0

    def add(self, report: ScanReport) -> None:
        self.added += report.added
        self.changed += report.changed
        self.moved += report.moved
        self.removed += report.removed


class WatchListener(IndexListener):
    """Receives the watcher's news; override what you need. Called from the worker
    thread (a GUI must hop to its own thread)."""

    def on_status(self, status: WatchStatus) -> None:  # noqa: B027 - optional hook
        pass

    def on_changes(self, report: ScanReport) -> None:  # noqa: B027 - optional hook
        """The catalog changed (rows added, re-queued, moved or removed)."""

    def on_models_released(self, idle_s: float) -> None:  # noqa: B027 - optional hook
        """The models were let go after ``idle_s`` idle seconds (an index worker process
        exited); the next change loads them again. Called from a reader thread."""


@dataclass
class _Move:
    root_id: int
    src: str
    dst: str
    is_dir: bool


@dataclass
class _RootWatch:
    root_id: int
    path: Path
    mode: str
    watch: ObservedWatch
    observer: BaseObserver
    ident: tuple[int, int] | None
    note: str = ""
    # symlinked folders outside the root: inotify does not follow links, so each target is
    # watched too, its events mapped back under the link's path
    linked: list[ObservedWatch] = field(default_factory=list)


@dataclass
class _Dirty:
    last: float
    probes: int = 0
    probe: tuple[int, float] | None = None


@dataclass
class _Pending:
    row: PhotoRow
    since: float


class _Handler(FileSystemEventHandler):
    """Forwards one root's events to the watcher (runs on the observer thread)."""

    def __init__(self, watcher: LibraryWatcher, root_id: int, root_path: str,
                 prefix: str = "") -> None:
        super().__init__()
        self._watcher = weakref.ref(watcher)
        self._root_id = root_id
        self._root_path = root_path
        self._prefix = prefix  # where root_path sits in the library root (a symlinked folder)

    def dispatch(self, event: FileSystemEvent) -> None:
        watcher = self._watcher()
        if watcher is None:
            return
        try:
            watcher._on_event(self._root_id, self._root_path, event, self._prefix)
        except Exception:  # never kill the observer thread; rescan instead
            log.exception("cannot handle %s", event)
            watcher.request_rescan(self._root_id)


class LibraryWatcher:
    """Watches every library folder and keeps the catalog and the index up to date.

    ``catalog`` is a catalog file path (the watcher opens and closes its own connection
    in its thread) or an open :class:`Catalog` (used from the watcher thread, not closed).
    ``embedder`` None means reconcile only (no embedding). Thread-based; call
    :meth:`start` and :meth:`stop`.
    """

    def __init__(
        self,
        catalog: Catalog | str | os.PathLike[str],
        embedder: Embedder | None = None,
        *,
        listener: WatchListener | None = None,
        settle_s: float = 1.5,
        poll_interval_s: float = 5.0,
        offline_check_s: float = 3.0,
        max_defer_s: float = 60.0,
        rescan_interval_s: float | None = 900.0,
        adopt_window_s: float = 900.0,
        index_slice_s: float = 10.0,
        force_polling: bool = False,
        catch_up: bool = True,
        batch_size: int = 16,
        native_observer_factory: Callable[[], BaseObserver] | None = None,
        run_index: Callable[[IndexControl, IndexListener], IndexSummary] | None = None,
    ) -> None:
        """``run_index``: how to index what changed (the library's pipeline, see
        :meth:`photoorg.core.app.library.Library.watcher`); without it, ``embedder`` drives
        a plain :class:`Indexer` (embedding only); with neither, reconcile only."""
        self._catalog_arg = catalog
        self.run_index = run_index
        self.embedder = embedder
        self.listener = listener or WatchListener()
        self.settle_s = settle_s
        self.poll_interval_s = poll_interval_s
        self.offline_check_s = offline_check_s
        self.max_defer_s = max_defer_s
        self.rescan_interval_s = rescan_interval_s
        self.adopt_window_s = adopt_window_s
        self.index_slice_s = index_slice_s
        self.force_polling = force_polling
        self.catch_up = catch_up
        self.batch_size = batch_size
        self._native_factory = native_observer_factory
        self.tick_s = max(0.05, min(0.25, settle_s / 4))

        self.totals = WatchTotals()
        self._lock = threading.Lock()  # guards the event-side state below
        self._dirty: dict[tuple[int, str], _Dirty] = {}
        self._moves: list[_Move] = []
        self._last_event: dict[int, float] = {}
        self._last_any_event = 0.0
        self._rescan_roots: set[int] = set()
        self._rescan_all = False
        self._overflowed = False
        self._check_roots_now = False
        self._sidecars: dict[tuple[int, str], float] = {}  # changed XMP sidecars -> when

        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._idle_cond = threading.Condition()
        self._idle = False
        self._control: IndexControl | None = None
        self._paused = False
        # polled moves whose destination was already gone: (root id, path) -> (row id, when)
        self._moved_on: dict[tuple[int, str], tuple[int, float]] = {}
        self._state = STATE_STOPPED
        self._error: str | None = None
        self._last_status: WatchStatus | None = None
        self._last_status_at = 0.0

        # worker-thread state
        self._cat: Catalog | None = None
        self._watches: dict[int, _RootWatch] = {}
        self._notes: dict[int, str] = {}
        self._retry_at: dict[int, float] = {}
        self._index_retry_at = 0.0
        self._pending: dict[int, _Pending] = {}
        self._observers: dict[str, BaseObserver] = {}
        self._index_needed = False
        self._next_root_check = 0.0
        self._next_rescan = 0.0

    # -- public API ------------------------------------------------------------------

    def start(self) -> None:
        """Start watching (returns at once; the catch-up scan runs in the background)."""
        if self._thread is not None:
            raise RuntimeError("watcher already started")
        _OverflowLog.register(self)
        self._state = STATE_STARTING
        self._thread = threading.Thread(target=self._run, name="photoorg-watch", daemon=True)
        self._thread.start()

    def stop(self, timeout: float | None = 30.0) -> None:
        """Stop watching; the batch being indexed is committed first. Idempotent."""
        self._stop.set()
        control = self._control
        if control is not None:
            control.cancel()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)
        close = getattr(self.run_index, "close", None)
        if close is not None:  # an index worker process: it goes with the watcher
            close()
        with self._idle_cond:
            self._idle_cond.notify_all()

    def pause(self) -> None:
        """Hold indexing after the current photo; events are still collected. Each indexing
        run gets its own control, so the flag outlives the run in progress."""
        self._paused = True
        control = self._control
        if control is not None:
            control.pause()

    def resume(self) -> None:
        self._paused = False
        control = self._control
        if control is not None:
            control.resume()

    @property
    def paused(self) -> bool:
        return self._paused

    def __enter__(self) -> LibraryWatcher:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def status(self) -> WatchStatus:
        return self._last_status or WatchStatus(self._state)

    def request_rescan(self, root_id: int | None = None) -> None:
        """Reconcile a whole root (all roots by default) as soon as it is quiet."""
        with self._lock:
            if root_id is None:
                self._rescan_all = True
            else:
                self._rescan_roots.add(root_id)

    def request_index(self) -> None:
        """Run the pipeline on whatever waits (files put back in the queue by "Retry", which
        no scan sees as changed), as soon as the watcher is quiet."""
        with self._lock:
            self._index_needed = True

    def check_roots_now(self) -> None:
        """Look for folders that went away or came back (and added/removed folders)."""
        with self._lock:
            self._check_roots_now = True

    def wait_until_idle(self, timeout: float | None = None, quiet_s: float = 0.0) -> bool:
        """Block until everything seen so far is reconciled and indexed, and no event
        arrived for ``quiet_s`` (watchdog's inotify emitter holds events up to 0.5 s
        behind an unpaired move: use ``quiet_s`` >= 1 to be sure all arrived). False on
        timeout or when the watcher stopped."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._idle_cond:
            while True:
                if not self.running:
                    return False
                quiet = time.monotonic() - self._last_any_event >= quiet_s
                if self._idle and quiet:
                    return True
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._idle_cond.wait(0.1 if left is None else min(0.1, left))

    # -- events (observer threads) ---------------------------------------------------

    def _on_event(
        self, root_id: int, root_path: str, event: FileSystemEvent, prefix: str = ""
    ) -> None:
        kind = event.event_type
        if kind in ("opened", "closed_no_write"):
            return
        if event.is_directory and kind in ("modified", "closed", "attrib"):
            return  # a folder's own metadata: its parent of every change, not a change
        src = _under(prefix, _relative(root_path, event.src_path))
        now = time.monotonic()
        with self._lock:
            self.totals.events += 1
            self._last_event[root_id] = now
            self._last_any_event = now
            if event.is_synthetic:
                return  # generated for a folder's contents; the folder event covers them
            if kind == "moved":
                dst = (_under(prefix, _relative(root_path, event.dest_path))
                       if event.dest_path else None)
                for rel in (src, dst) if not event.is_directory else ():
                    if rel is not None and is_sidecar(rel) and storable(rel):
                        self._sidecars[(root_id, rel)] = now  # saved atomically (rename)
                if not event.is_directory and not (_maybe_photo(src) or _maybe_photo(dst)):
                    return
                src = src if src is not None and storable(src) else None
                dst = dst if dst is not None and storable(dst) else None
                if src is not None and dst is not None:
                    self._moves.append(_Move(root_id, src, dst, event.is_directory))
                for rel in (src, dst):
                    if rel is not None:
                        self._touch(root_id, rel, now)
                return
            if src is None or not storable(src):
                return
            if not event.is_directory and is_sidecar(src):
                self._sidecars[(root_id, src)] = now  # another tool's edit: read it again
                return
            if not event.is_directory and not _maybe_photo(src):
                return
            if src == "":
                self._check_roots_now = True  # the root itself was deleted or moved
            self._touch(root_id, src, now)

    def _touch(self, root_id: int, rel: str, now: float) -> None:
        """Mark a path dirty; a dirty folder above it waits for it too (call locked)."""
        entry = self._dirty.get((root_id, rel))
        if entry is None:
            self._dirty[(root_id, rel)] = _Dirty(now)
        else:
            entry.last = max(entry.last, now)
        if rel:
            for parent in PurePosixPath(rel).parents:
                key = (root_id, "" if str(parent) == "." else str(parent))
                above = self._dirty.get(key)
                if above is not None:
                    above.last = max(above.last, now)

    def _on_overflow(self) -> None:
        """Events were dropped (kernel queue overflow): reconcile every natively watched
        root once it is quiet. Called from any thread."""
        with self._lock:
            self.totals.overflows += 1
            self._overflowed = True

    # -- worker thread ---------------------------------------------------------------

    def _run(self) -> None:
        owned = not isinstance(self._catalog_arg, Catalog)
        try:
            self._cat = (
                Catalog(self._catalog_arg) if owned else self._catalog_arg  # type: ignore[arg-type]
            )
        except Exception as exc:
            log.exception("cannot open the catalog")
            self._error = str(exc)
            self._state = STATE_STOPPED
            self._emit_status(force=True)
            return
        try:
            self._startup()
            while not self._stop.is_set():
                try:
                    self._tick()
                except Exception as exc:  # keep watching; reconcile everything again
                    log.exception("watcher step failed; rescanning")
                    self.totals.errors += 1
                    self._error = f"{type(exc).__name__}: {exc}"
                    self.request_rescan()
                    self._stop.wait(1.0)
                self._stop.wait(self.tick_s)
        except Exception as exc:
            log.exception("watcher failed")
            self._error = f"{type(exc).__name__}: {exc}"
        finally:
            self._shutdown(owned)

    def _startup(self) -> None:
        cat = self._cat
        assert cat is not None
        self._emit_status(STATE_STARTING, force=True)
        roots = cat.roots()
        for root in roots:  # watch first, so nothing that changes during the scan is lost
            if root_reachable(root.path):
                self._try_watch(root)
        if self.catch_up and roots and not self._stop.is_set():
            self._emit_status(STATE_SCANNING, force=True)
            report = scan_library(cat, roots, should_stop=self._stop.is_set)
            self._after_scan(report)
            self._index_needed = True
        for root in cat.roots():
            if not root.online and root.id in self._watches:
                self._unwatch(root.id)
        now = time.monotonic()
        self._next_root_check = now + self.offline_check_s
        self._next_rescan = now + (self.rescan_interval_s or 0)

    def _shutdown(self, owned: bool) -> None:
        for observer in self._observers.values():
            with contextlib.suppress(Exception):
                observer.stop()
        for observer in self._observers.values():
            with contextlib.suppress(Exception):
                observer.join(10)
        self._observers.clear()
        self._watches.clear()
        self._state = STATE_STOPPED
        self._emit_status(STATE_STOPPED, force=True)
        if owned and self._cat is not None:
            self._cat.close()
        self._cat = None
        _OverflowLog.unregister(self)
        with self._idle_cond:
            self._idle = False
            self._idle_cond.notify_all()

    def _tick(self) -> None:
        now = time.monotonic()
        with self._lock:
            check = self._check_roots_now
            self._check_roots_now = False
        if check or now >= self._next_root_check:
            self._check_roots()
            self._next_root_check = time.monotonic() + self.offline_check_s
        if self.rescan_interval_s and now >= self._next_rescan:
            self.request_rescan()
            self._next_rescan = now + self.rescan_interval_s
        self._apply_moves()
        targets = self._take_settled(time.monotonic())
        if targets:
            self._reconcile(targets)
        self._confirm_deletes(time.monotonic())
        self._reread_sidecars(time.monotonic())
        if self.embedder is None and self.run_index is None:
            self._index_needed = False  # reconcile-only watcher
        elif (
            self._index_needed
            and not self._stop.is_set()
            and time.monotonic() >= self._index_retry_at
        ):
            self._index()
        self._update_idle()

    # -- roots -----------------------------------------------------------------------

    def _check_roots(self) -> None:
        """Roots that went away go offline; roots that came back (or were added, moved,
        or replaced) are watched again after a catch-up scan."""
        cat = self._cat
        assert cat is not None
        roots = cat.roots()
        for root_id in [rid for rid in self._watches if rid not in {r.id for r in roots}]:
            self._unwatch(root_id)  # folder removed from the library
        for root in roots:
            watched = self._watches.get(root.id)
            reachable = root_reachable(root.path)
            if not reachable:
                if watched is not None:
                    self._busy()
                    self._unwatch(root.id)
                if root.online:
                    log.warning("library folder %s is missing: its photos are offline", root.path)
                    cat.set_root_online(root.id, False)
                    self._drop_root_work(root.id)
                    self._emit_status(force=True)
                continue
            if watched is not None:
                ident = _ident(root.path)
                if watched.path == root.path and ident == watched.ident and _alive(watched):
                    continue
                log.info("library folder %s was replaced or moved: rescanning", root.path)
                self._unwatch(root.id)
            if time.monotonic() < self._retry_at.get(root.id, 0.0):
                continue
            self._busy()
            if not self._try_watch(root):
                continue
            report = scan_library(cat, [root], should_stop=self._stop.is_set)
            self._after_scan(report)
            self._index_needed = True
            self._emit_status(force=True)

    def _drop_root_work(self, root_id: int) -> None:
        """An offline root's waiting work is void: its catch-up scan will redo it."""
        with self._lock:
            for key in [k for k in self._dirty if k[0] == root_id]:
                del self._dirty[key]
            self._moves = [m for m in self._moves if m.root_id != root_id]
            self._rescan_roots.discard(root_id)
        for pid in [pid for pid, p in self._pending.items() if p.row.root_id == root_id]:
            del self._pending[pid]

    def _try_watch(self, root: Root) -> bool:
        """Watch a root; on failure note why and try again in a minute."""
        try:
            self._watch_root(root)
        except Exception as exc:
            note = f"cannot watch: {exc}"
            if self._notes.get(root.id) != note:
                log.warning("%s: %s", root.path, note)
            self._notes[root.id] = note
            self._retry_at[root.id] = time.monotonic() + 60.0
            return False
        self._retry_at.pop(root.id, None)
        return True

    def _watch_root(self, root: Root) -> None:
        cat = self._cat
        assert cat is not None
        mode, note = self._choose_mode(root)
        handler = _Handler(self, root.id, str(root.path))
        linked: list[tuple[str, Path]] = []
        if mode == MODE_NATIVE:
            try:
                observer = self._observer(MODE_NATIVE)
                watch = observer.schedule(handler, str(root.path), recursive=True)
                folders, linked = _walk_folders(root.path)
                if _native_watch_incomplete(observer, watch, root.path, folders):
                    with contextlib.suppress(Exception):
                        observer.unschedule(watch)
                    raise OSError(errno.ENOSPC, "not every subfolder could be watched")
            except OSError as exc:
                reason = errno.errorcode.get(exc.errno or 0, "") or str(exc)
                note = f"native watching failed ({reason}): polling instead"
                log.warning("%s: %s", root.path, note)
                if exc.errno == errno.ENOSPC:
                    log.warning(
                        "raise fs.inotify.max_user_watches (sysctl) to watch natively again"
                    )
                if root.watch_mode == MODE_AUTO:
                    cat.set_root_watch_mode(root.id, MODE_POLLING)  # remembered
                mode = MODE_POLLING
        if mode == MODE_POLLING:
            observer = self._observer(MODE_POLLING)
            watch = observer.schedule(handler, str(root.path), recursive=True)
        watched = _RootWatch(root.id, root.path, mode, watch, observer, _ident(root.path), note)
        if mode == MODE_NATIVE:
            for link_rel, target in linked:
                try:
                    watched.linked.append(observer.schedule(
                        _Handler(self, root.id, str(target), link_rel), str(target),
                        recursive=True,
                    ))
                except OSError as exc:  # the periodic rescan still covers it
                    log.info("cannot watch linked folder %s: %s", target, exc)
        self._watches[root.id] = watched
        self._notes[root.id] = note

    def _choose_mode(self, root: Root) -> tuple[str, str]:
        if self.force_polling:
            return MODE_POLLING, "polling requested"
        if root.watch_mode == MODE_POLLING:
            return MODE_POLLING, self._notes.get(root.id, "") or "polling (folder setting)"
        if root.watch_mode == MODE_AUTO:
            fstype = filesystem_type(root.path)
            if fstype is not None and (fstype in NETWORK_FILESYSTEMS or fstype == "network"):
                return MODE_POLLING, f"network folder ({fstype}): polling"
        return MODE_NATIVE, ""

    def _observer(self, mode: str) -> BaseObserver:
        observer = self._observers.get(mode)
        if observer is None:
            if mode == MODE_POLLING:
                from watchdog.observers.polling import PollingObserver

                observer = PollingObserver(timeout=self.poll_interval_s)
            elif self._native_factory is not None:
                observer = self._native_factory()
            else:
                from watchdog.observers import Observer

                observer = Observer()
            observer.daemon = True
            observer.start()
            self._observers[mode] = observer
        return observer

    def _unwatch(self, root_id: int) -> None:
        watched = self._watches.pop(root_id, None)
        if watched is not None:
            for watch in (watched.watch, *watched.linked):
                with contextlib.suppress(Exception):
                    watched.observer.unschedule(watch)

    # -- reconciliation ----------------------------------------------------------------

    def _apply_moves(self) -> None:
        """Moves and renames the catalog knows the source of: same row, new path."""
        with self._lock:
            moves, self._moves = self._moves, []
        stale = time.monotonic() - MOVED_ON_TTL_S
        self._moved_on = {k: v for k, v in self._moved_on.items() if v[1] >= stale}
        if not moves:
            return
        self._busy()
        cat = self._cat
        assert cat is not None
        patterns = cat.exclusions()
        report = ScanReport()
        for move in moves:
            watched = self._watches.get(move.root_id)
            if watched is None or not move.src or not move.dst:
                continue
            if is_excluded(move.dst, patterns):
                continue  # moved out of sight: the dirty source will be forgotten
            # A poller pairs a vanished path with a new one by inode number, which a
            # deleted file's successor may reuse: only trust it for a file that kept its
            # size and mtime (its folder's files are reported one by one anyway).
            polled = watched.mode == MODE_POLLING
            if move.is_dir:
                if not polled:
                    report.moved += cat.move_folder(move.root_id, move.src, move.root_id, move.dst)
                continue
            if not is_supported(move.dst):
                continue
            row = cat.photos_under(move.root_id, move.src).get(move.src)
            if row is None:
                # a poller's earlier report took the file to here, but it had moved on
                # before we looked (A -> B, then B -> C within one poll): follow it
                hop = self._moved_on.pop((move.root_id, move.src), None)
                row = cat.photo(hop[0]) if hop is not None else None
            if row is None:
                continue
            if polled and not _same_file(watched.path, move.dst, row):
                if not (watched.path / PurePosixPath(move.dst)).exists():
                    self._moved_on[(move.root_id, move.dst)] = (row.id, time.monotonic())
                continue
            cat.replace_photo_path(row.id, move.root_id, move.dst, row.mtime)
            report.moved += 1
        if report.moved:
            self.totals.add(report)
            self.listener.on_changes(report)

    def _take_settled(self, now: float) -> dict[int, set[str]]:
        """Dirty paths quiet for ``settle_s`` (a polled file must also keep its size and
        mtime over one more settle window, a file locked by its writer waits)."""
        with self._lock:
            rescans, self._rescan_roots = self._rescan_roots, set()
            if self._rescan_all:
                rescans.update(self._watches)
            if self._overflowed:
                rescans.update(rid for rid, w in self._watches.items() if w.mode == MODE_NATIVE)
            self._rescan_all = self._overflowed = False
            for root_id in rescans:
                self.totals.rescans += 1
                self._touch(root_id, "", now)
            ready = [(k, d) for k, d in self._dirty.items() if now - d.last >= self.settle_s]
            for key, _ in ready:
                del self._dirty[key]
        targets: dict[int, set[str]] = {}
        for (root_id, rel), entry in ready:
            watched = self._watches.get(root_id)
            if watched is None:
                continue  # offline: its catch-up scan covers it
            if rel and not self._ready(watched, rel, entry):
                entry.last = now
                with self._lock:
                    self._dirty.setdefault((root_id, rel), entry)
                continue
            targets.setdefault(root_id, set()).add(rel)
        return targets

    def _ready(self, watched: _RootWatch, rel: str, entry: _Dirty) -> bool:
        if entry.probes >= 20:
            return True  # give up waiting; the indexer will say what is wrong with it
        path = watched.path / PurePosixPath(rel)
        try:
            st = path.stat()
        except OSError:
            return True
        if not os.path.isfile(path):
            return True
        if sys.platform == "win32":  # a file still being copied is locked by its writer
            try:
                with open(path, "rb"):
                    pass
            except PermissionError:
                entry.probes += 1
                return False
            except OSError:
                return True
        if watched.mode == MODE_POLLING:
            probe = (st.st_size, st.st_mtime)
            young = time.time() - st.st_mtime < 2 * max(self.settle_s, self.poll_interval_s)
            if young and entry.probe != probe:
                entry.probe = probe
                entry.probes += 1
                return False
        return True

    def _reconcile(self, targets: dict[int, set[str]]) -> None:
        self._busy()
        cat = self._cat
        assert cat is not None
        self._emit_status(STATE_RECONCILING)
        report = scan_paths(cat, targets, defer_deletes=True, should_stop=self._stop.is_set)
        now = time.monotonic()
        for row in report.gone:
            self._pending.setdefault(row.id, _Pending(row, now))
        report.gone = []
        # A poller only reports what two snapshots differ by: a file our walk of a folder
        # found between two polls, and deleted before the next one, would never be
        # reported. Look at such files again once the next snapshot has them.
        later = now + self.poll_interval_s
        with self._lock:
            for root_id, rel in report.found:
                watched = self._watches.get(root_id)
                polled = watched is not None and watched.mode == MODE_POLLING
                if polled and rel not in targets.get(root_id, ()):
                    self._touch(root_id, rel, later)
        report.found = []
        self._after_scan(report)
        if report.offline_roots:
            with self._lock:
                self._check_roots_now = True

    def _after_scan(self, report: ScanReport) -> None:
        for path, why in report.errors[:20]:
            log.info("cannot read %s: %s", path, why)
        self.totals.add(report)
        if report.added or report.changed or report.returned:
            self._index_needed = True
        if report.changes:
            self.listener.on_changes(report)

    def _confirm_deletes(self, now: float) -> None:
        """Forget rows whose files are gone once their root has been quiet for a settle
        window (or they waited ``max_defer_s``), checking the root is still there."""
        if not self._pending:
            return
        with self._lock:
            last = dict(self._last_event)
        ready = [
            p.row
            for p in self._pending.values()
            if now - last.get(p.row.root_id, 0.0) >= self._quiet_s(p.row.root_id)
            or now - p.since >= self.max_defer_s
        ]
        if not ready:
            return
        self._busy()
        cat = self._cat
        assert cat is not None
        for row in ready:
            del self._pending[row.id]
        report = forget_gone(cat, ready, adopt_since=time.time() - self.adopt_window_s)
        for row in report.gone:
            root = cat.root(row.root_id)
            if root is not None and root_reachable(root.path):
                with self._lock:
                    self._touch(row.root_id, row.rel_path, time.monotonic())  # it is back
            else:
                with self._lock:
                    self._check_roots_now = True
        report.gone = []
        self.totals.add(report)
        if report.changes:
            self.listener.on_changes(report)

    def _quiet_s(self, root_id: int) -> float:
        """How long a root must have been quiet before deletions there are believed: a
        polled root reports a move as a delete now and a create at the next poll."""
        watched = self._watches.get(root_id)
        if watched is not None and watched.mode == MODE_POLLING:
            return self.settle_s + 2 * self.poll_interval_s
        return self.settle_s

    def _reread_sidecars(self, now: float) -> None:
        """Sidecars quiet for a settle window: their photos' metadata is read again."""
        with self._lock:
            settled = [key for key, at in self._sidecars.items() if now - at >= self.settle_s]
            for key in settled:
                del self._sidecars[key]
        if settled and self._cat is not None:
            try:
                sidecars_changed(self._cat, settled)
            except Exception:
                log.exception("reading changed sidecars failed")

    # -- indexing ----------------------------------------------------------------------

    def _index(self) -> None:
        cat = self._cat
        assert cat is not None and (self.embedder is not None or self.run_index is not None)
        self._busy()
        self._index_needed = False
        control = IndexControl()
        if self._paused:
            control.pause()
        self._control = control
        if self._stop.is_set():
            return
        self._emit_status(STATE_INDEXING, force=True)
        bridge = _IndexBridge(self, control)
        try:
            if self.run_index is not None:
                summary = self.run_index(control, bridge)
            else:
                assert self.embedder is not None
                summary = Indexer(cat, self.embedder, batch_size=self.batch_size,
                                  listener=bridge, control=control).run()
        except Exception as exc:  # e.g. the model failed: keep watching, retry later
            log.exception("indexing failed; retrying in a minute")
            self.totals.errors += 1
            self._error = f"indexing failed: {type(exc).__name__}: {exc}"
            self._index_needed = True
            self._index_retry_at = time.monotonic() + 60.0
            return
        finally:
            self._control = None
        self.totals.embedded += summary.embedded
        self.totals.skipped += summary.skipped
        if summary.cancelled and not self._stop.is_set():
            self._index_needed = True  # interrupted to reconcile new events: carry on later

    def _wants_cpu(self) -> bool:
        """Whether a long indexing run should pause for reconciliation."""
        with self._lock:
            return bool(
                self._dirty or self._moves or self._rescan_roots or self._rescan_all
                or self._overflowed or self._check_roots_now
            )

    # -- status ------------------------------------------------------------------------

    def _busy(self) -> None:
        """Work is under way: :meth:`wait_until_idle` must not trust the last tick."""
        with self._idle_cond:
            self._idle = False

    def _update_idle(self) -> None:
        with self._lock:
            busy = bool(
                self._dirty or self._moves or self._rescan_roots or self._rescan_all
                or self._overflowed or self._sidecars
            )
        idle = not busy and not self._pending and not self._index_needed
        self._emit_status(STATE_WATCHING if idle else None)
        with self._idle_cond:
            self._idle = idle
            self._idle_cond.notify_all()

    def _emit_status(self, state: str | None = None, *, force: bool = False) -> None:
        if state is not None:
            self._state = state
        folders: list[FolderState] = []
        cat = self._cat
        if cat is not None:
            with contextlib.suppress(Exception):
                for root in cat.roots():
                    watched = self._watches.get(root.id)
                    folders.append(
                        FolderState(
                            root.id,
                            root.path,
                            root.online,
                            watched.mode if watched else None,
                            self._notes.get(root.id, ""),
                        )
                    )
        with self._lock:
            status = WatchStatus(
                state=self._state,
                folders=tuple(folders),
                waiting=len(self._dirty),
                pending_deletes=len(self._pending),
                events=self.totals.events,
                overflows=self.totals.overflows,
                rescans=self.totals.rescans,
                error=self._error,
            )
        now = time.monotonic()
        previous = self._last_status
        self._last_status = status
        key = (status.state, status.folders, status.error)
        old_key = None if previous is None else (previous.state, previous.folders, previous.error)
        if force or key != old_key or now - self._last_status_at >= 1.0:
            self._last_status_at = now
            try:
                self.listener.on_status(status)
            except Exception:
                log.exception("watch listener failed")


class _IndexBridge(IndexListener):
    """Forwards indexer progress and pauses a long run when events wait."""

    def __init__(self, watcher: LibraryWatcher, control: IndexControl) -> None:
        self.watcher = watcher
        self.control = control
        self.started = time.monotonic()

    def on_progress(self, progress: Progress) -> None:
        self.watcher.listener.on_progress(progress)
        if (
            progress.phase != "done"
            and time.monotonic() - self.started >= self.watcher.index_slice_s
            and self.watcher._wants_cpu()
        ):
            self.control.cancel()

    def on_skipped(self, path: Path, reason: str, detail: str) -> None:
        self.watcher.listener.on_skipped(path, reason, detail)


# -- helpers ---------------------------------------------------------------------------


def _under(prefix: str, rel: str | None) -> str | None:
    """A path relative to a linked folder, as a path relative to the library root."""
    if rel is None or not prefix:
        return rel
    return f"{prefix}/{rel}" if rel else prefix


def _walk_folders(root: Path) -> tuple[int, list[tuple[str, Path]]]:
    """One walk of the folders under ``root`` (links not followed): how many there are, and
    the symlinked folders whose targets lie outside it, as (path relative to the root,
    resolved target). One level: links inside a target are not followed here."""
    count = 0
    linked: list[tuple[str, Path]] = []
    resolved_root = root.resolve()
    seen: set[Path] = set()
    for folder, dirs, _files in os.walk(root):
        count += 1
        for name in dirs:
            path = Path(folder) / name
            if not path.is_symlink():
                continue
            try:
                target = path.resolve(strict=True)
            except (OSError, RuntimeError):  # broken or looping link
                continue
            if (target == resolved_root or resolved_root in target.parents
                    or target in seen or not target.is_dir()):
                continue
            seen.add(target)
            linked.append((path.relative_to(root).as_posix(), target))
    return count, linked


def _relative(root: str, path: str | bytes | None) -> str | None:
    """``path`` relative to ``root`` in posix form; "" for the root, None outside it."""
    if path is None or path == "":
        return None
    path = os.fsdecode(path)
    if path == root:
        return ""
    if not path.startswith(root.rstrip(os.sep) + os.sep):
        return None
    rel = path[len(root.rstrip(os.sep)) + 1 :]
    return rel.replace(os.sep, "/") if os.sep != "/" else rel


def _same_file(root: Path, rel: str, row: PhotoRow) -> bool:
    try:
        st = (root / PurePosixPath(rel)).stat()
    except OSError:
        return False
    return st.st_size == row.size and abs(st.st_mtime - row.mtime) <= 1e-6


def _maybe_photo(rel: str | None) -> bool:
    return rel is not None and is_supported(rel) and storable(rel)


def _ident(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_dev, st.st_ino


def _alive(watched: _RootWatch) -> bool:
    """Whether the watch's emitter still runs (an inotify emitter stops itself when
    the folder it watches is deleted)."""
    emitters = getattr(watched.observer, "_emitter_for_watch", None)
    if not isinstance(emitters, dict):
        return True
    emitter = emitters.get(watched.watch)
    return emitter is not None and emitter.is_alive()


def _native_watch_incomplete(
    observer: BaseObserver, watch: ObservedWatch, root: Path, folders: int
) -> bool:
    """inotify silently skips subfolders it has no watch left for (ENOSPC): compare
    the watches made with the ``folders`` there are (best effort: False when unknown)."""
    emitters = getattr(observer, "_emitter_for_watch", None)
    emitter = emitters.get(watch) if isinstance(emitters, dict) else None
    group = getattr(emitter, "_inotify", None)
    active = getattr(group, "_active_callbacks_by_path", None)
    if not isinstance(active, dict):
        return False
    if len(active) >= folders:
        return False
    time.sleep(0.2)  # a folder created meanwhile gets its watch asynchronously
    return len(active) < _walk_folders(root)[0]


def filesystem_type(path: str | os.PathLike[str]) -> str | None:
    """The file-system type holding ``path`` ("nfs", "ext4", ...; "network" for a
    Windows network drive), or None when unknown."""
    target = os.path.realpath(path)
    if sys.platform == "win32":
        return _windows_drive_type(target)
    try:
        with open("/proc/self/mountinfo", encoding="utf-8", errors="replace") as fh:
            lines = fh.readlines()
    except OSError:
        return None
    best: tuple[int, str] | None = None
    for line in lines:
        left, sep, right = line.partition(" - ")
        parts = left.split()
        if not sep or len(parts) < 5:
            continue
        mount = _unescape_mount(parts[4])
        inside = target == mount or target.startswith(mount.rstrip("/") + "/")
        if inside and (best is None or len(mount) >= best[0]):
            best = (len(mount), right.split()[0] if right.split() else "")
    return best[1] if best else None


def _unescape_mount(text: str) -> str:
    for code, char in (("\\040", " "), ("\\011", "\t"), ("\\012", "\n"), ("\\134", "\\")):
        text = text.replace(code, char)
    return text


def _windows_drive_type(path: str) -> str | None:  # pragma: no cover - Windows only
    if path.startswith("\\\\"):
        return "network"
    try:
        import ctypes

        drive = os.path.splitdrive(path)[0] + "\\"
        kind = ctypes.windll.kernel32.GetDriveTypeW(drive)  # type: ignore[attr-defined]
    except Exception:
        return None
    return "network" if kind == 4 else None


class _OverflowLog(logging.Handler):
    """watchdog reports a kernel event-queue overflow only in its log: listen there."""

    LOGGERS = (
        "watchdog.observers.inotify_c",
        "watchdog.observers.inotify",
        "watchdog.observers.inotify_buffer",
        "watchdog.observers.read_directory_changes",
        "watchdog.observers.fsevents",
    )
    _instance: _OverflowLog | None = None
    _guard = threading.Lock()

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.watchers: weakref.WeakSet[LibraryWatcher] = weakref.WeakSet()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage().lower()
        except Exception:
            return
        if "overflow" in message:
            for watcher in list(self.watchers):
                watcher._on_overflow()

    @classmethod
    def register(cls, watcher: LibraryWatcher) -> None:
        with cls._guard:
            if cls._instance is None:
                cls._instance = cls()
                for name in cls.LOGGERS:
                    logger = logging.getLogger(name)
                    logger.addHandler(cls._instance)
                    if logger.getEffectiveLevel() > logging.WARNING:
                        logger.setLevel(logging.WARNING)
            cls._instance.watchers.add(watcher)

    @classmethod
    def unregister(cls, watcher: LibraryWatcher) -> None:
        with cls._guard:
            if cls._instance is not None:
                cls._instance.watchers.discard(watcher)


def simulate_overflow() -> None:
    """Tell every running watcher that events were lost, as a kernel queue overflow
    does (for tests and diagnostics)."""
    logging.getLogger("watchdog.observers.inotify_c").warning(
        "Inotify queue overflowed; filesystem events were lost (simulated)"
    )


__all__ = [
    "FolderState",
    "LibraryWatcher",
    "WatchListener",
    "WatchStatus",
    "WatchTotals",
    "filesystem_type",
    "simulate_overflow",
]
