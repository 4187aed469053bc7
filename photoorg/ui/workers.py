"""Background work for the GUI, reported back on the GUI thread as ``(result, error)``.

The house rule (MusicBrainz Picard's ``run_task``): a worker never raises across threads.
Whatever a task returns or raises is logged and handed to its callback on the GUI thread as
``callback(result, None)`` or ``callback(None, TaskError)``.

Separate workers for separate work, so one kind never starves another:

* :class:`Worker` ``"query"`` – what the user is waiting on (catalog reads for the grid,
  the viewer's metadata, cluster lists); one thread, its own read connection.
* :class:`Worker` ``"writer"`` – the GUI process's only write connection (rename, tag,
  folders). The GUI thread itself never writes.
* :class:`ThumbnailLoader` – thumbnails (decode, cache on disk, hand back ``QImage``).

The model (text encoder, search index) and indexing live in the library service, a child
process (:mod:`photoorg.core.app.service`): torch never shares a GIL with the window.

QImage is made in workers; QPixmap only on the GUI thread (the models convert lazily).
"""

from __future__ import annotations

import collections
import contextlib
import logging
import os
import sys
import threading
import traceback
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal, Slot

log = logging.getLogger(__name__)

Callback = Callable[[Any, "TaskError | None"], None]

BACKGROUND_NICE = 5


def lower_thread_priority(step: int = BACKGROUND_NICE) -> None:
    """Let the GUI thread win the CPU over this worker thread (Linux: nice is per thread;
    elsewhere a no-op). Background work then waits a few ms more; the window never does."""
    if not sys.platform.startswith("linux"):
        return
    tid = threading.get_native_id()
    with contextlib.suppress(OSError):
        os.setpriority(os.PRIO_PROCESS, tid, os.getpriority(os.PRIO_PROCESS, tid) + step)


@dataclass(frozen=True)
class TaskError:
    """What went wrong in a worker, ready to show: a summary line and the traceback."""

    what: str
    exc: BaseException
    details: str

    @property
    def message(self) -> str:
        text = str(self.exc) or type(self.exc).__name__
        return f"{self.what}: {text}" if self.what else text

    @classmethod
    def from_exception(cls, what: str, exc: BaseException) -> TaskError:
        details = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        return cls(what, exc, details)


class _Relay(QObject):
    """Lives on the GUI thread; a signal emitted from a worker thread arrives queued."""

    delivered = Signal(object, object, object)

    def __init__(self) -> None:
        super().__init__()
        self.delivered.connect(self._deliver)

    @Slot(object, object, object)
    def _deliver(self, callback: Callback, result: Any, error: TaskError | None) -> None:
        try:
            callback(result, error)
        except Exception:  # a broken callback must not kill the event loop
            log.exception("callback failed")
            raise


class Worker(QObject):
    """A named executor whose tasks report to the GUI thread.

    ``state`` is a dict owned by the worker's thread(s): a task receives it as its first
    argument and keeps per-thread resources there (a catalog connection, the embedder).
    With ``threads=1`` tasks run one at a time, in order.
    """

    failed = Signal(object)  # TaskError, for tasks submitted without a callback

    def __init__(
        self,
        name: str,
        threads: int = 1,
        init: Callable[[dict[str, Any]], None] | None = None,
        cleanup: Callable[[dict[str, Any]], None] | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.name = name
        self.state: dict[str, Any] = {}
        self._init = init
        self._cleanup = cleanup
        self._initialised = False
        self._relay = _Relay()
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix=f"photoorg-{name}")
        self._closed = False
        self._busy = 0
        self._lock = threading.Lock()

    @property
    def busy(self) -> bool:
        """Whether any task is queued or running."""
        return self._busy > 0

    def submit(
        self,
        fn: Callable[..., Any],
        *args: Any,
        callback: Callback | None = None,
        what: str = "",
    ) -> Future[Any] | None:
        """Run ``fn(state, *args)`` in the worker; deliver ``(result, error)`` to ``callback``
        on the GUI thread. Without a callback, errors go to :attr:`failed`."""
        if self._closed:
            return None
        with self._lock:
            self._busy += 1
        return self._pool.submit(self._run, fn, args, callback, what or fn.__name__)

    def _run(
        self, fn: Callable[..., Any], args: tuple[Any, ...], callback: Callback | None, what: str
    ) -> None:
        result: Any = None
        error: TaskError | None = None
        try:
            if not self._initialised:
                lower_thread_priority()
                if self._init is not None:
                    self._init(self.state)
            self._initialised = True
            result = fn(self.state, *args)
        except BaseException as exc:  # noqa: BLE001 - reported, never raised across threads
            log.exception("%s worker: %s failed", self.name, what)
            error = TaskError.from_exception(what, exc)
        finally:
            with self._lock:
                self._busy -= 1
        if self._closed:
            return
        try:
            if callback is not None:
                self._relay.delivered.emit(callback, result, error)
            elif error is not None:
                self._relay.delivered.emit(self._emit_failed, None, error)
        except RuntimeError:  # the relay was deleted while we ran (application exit)
            pass

    def _emit_failed(self, _result: Any, error: TaskError | None) -> None:
        if error is not None:
            self.failed.emit(error)

    def shutdown(self, wait: bool = True) -> None:
        """Drop queued tasks, let the running one finish, release the thread's resources."""
        if self._closed:
            return
        self._closed = True
        if self._cleanup is not None:
            cleanup = self._cleanup
            self._pool.submit(cleanup, self.state)
        self._pool.shutdown(wait=wait, cancel_futures=False)


@dataclass(frozen=True)
class ThumbRequest:
    """One picture to make: ``key`` names the cache file (photo id + content identity)."""

    key: str
    path: str
    size: int
    crop: tuple[float, float, float, float] | None = None  # x, y, w, h as fractions


class ThumbnailLoader(QObject):
    """Makes thumbnails in background threads, newest request first.

    ``request`` is cheap and de-duplicated; the views ask only for rows they paint, so
    scrolling fast through 100k photos queues only what was on screen (the oldest requests
    beyond ``max_queue`` are dropped: they scrolled away). Results come back in batches
    (``ready``: list of ``((key, size), QImage | None)``) at most every ``flush_ms``.
    """

    ready = Signal(list)
    _wake = Signal()

    def __init__(
        self,
        make: Callable[[ThumbRequest], Any],
        threads: int = 1,
        max_queue: int = 400,
        flush_ms: int = 30,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._make = make
        self._max_queue = max_queue
        self._queue: collections.OrderedDict[tuple[str, int], ThumbRequest] = (
            collections.OrderedDict())
        self._pending: set[tuple[str, int]] = set()
        self._results: list[tuple[tuple[str, int], Any]] = []
        self._cond = threading.Condition()
        self._stopped = False
        self._flush = QTimer(self)
        self._flush.setSingleShot(True)
        self._flush.setInterval(flush_ms)
        self._flush.timeout.connect(self._deliver)
        self._wake.connect(self._on_wake)
        self._threads = [
            threading.Thread(target=self._loop, name=f"photoorg-thumbs-{i}", daemon=True)
            for i in range(threads)
        ]
        for thread in self._threads:
            thread.start()

    def request(self, req: ThumbRequest) -> None:
        ident = (req.key, req.size)  # one picture per key and size (a 2x screen: bigger)
        with self._cond:
            if self._stopped or ident in self._pending:
                if ident in self._queue:
                    self._queue.move_to_end(ident)  # still wanted: move to the front
                return
            self._pending.add(ident)
            self._queue[ident] = req
            while len(self._queue) > self._max_queue:
                old, _ = self._queue.popitem(last=False)
                self._pending.discard(old)
            self._cond.notify()

    def clear_queue(self) -> None:
        """Forget requests not yet started (the view changed completely)."""
        with self._cond:
            for key in self._queue:
                self._pending.discard(key)
            self._queue.clear()

    def pending(self) -> int:
        with self._cond:
            return len(self._pending)

    def _loop(self) -> None:
        lower_thread_priority()
        while True:
            with self._cond:
                while not self._queue and not self._stopped:
                    self._cond.wait()
                if self._stopped:
                    return
                _, req = self._queue.popitem(last=True)  # newest first
            try:
                image = self._make(req)
            except Exception:  # one bad file costs one thumbnail
                log.exception("thumbnail failed for %s", req.path)
                image = None
            with self._cond:
                if self._stopped:
                    return
                first = not self._results
                self._results.append(((req.key, req.size), image))
            if first:
                try:
                    self._wake.emit()
                except RuntimeError:
                    return

    @Slot()
    def _on_wake(self) -> None:
        if not self._flush.isActive():
            self._flush.start()

    @Slot()
    def _deliver(self) -> None:
        with self._cond:
            batch, self._results = self._results, []
            for key, _ in batch:
                self._pending.discard(key)
        if batch:
            self.ready.emit(batch)

    def shutdown(self) -> None:
        with self._cond:
            self._stopped = True
            self._queue.clear()
            self._cond.notify_all()
        for thread in self._threads:
            thread.join(timeout=5)
