"""The GUI-thread side of thumbnails: a bounded pixmap cache fed by the thumbnail worker.

Models ask :meth:`ThumbnailStore.pixmap` while painting; a miss queues a request (only rows
that are painted ask, so only visible rows load) and returns ``None``. Finished images come
back in batches; they become ``QPixmap`` here, on the GUI thread, within a time budget, and
:attr:`updated` tells the models which keys changed.
"""

from __future__ import annotations

import collections
import time
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal, Slot
from PySide6.QtGui import QImage, QPixmap

from photoorg.ui.thumbnails import THUMB_SIZE, ThumbnailCache
from photoorg.ui.workers import ThumbnailLoader, ThumbRequest

BUDGET_S = 0.025


class ThumbnailStore(QObject):
    updated = Signal(list)  # keys whose pixmap is now available

    def __init__(
        self, thumb_dir: Path, capacity: int = 400, threads: int = 1,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.cache = ThumbnailCache(thumb_dir)
        self.loader = ThumbnailLoader(self.cache.load, threads=threads, parent=self)
        self.loader.ready.connect(self._on_ready)
        self._pixmaps: collections.OrderedDict[str, QPixmap] = collections.OrderedDict()
        self._failed: set[str] = set()
        self._capacity = capacity
        self._backlog: collections.deque[tuple[str, QImage | None]] = collections.deque()
        self.requests = 0

    def pixmap(
        self, key: str, path: str, size: int = THUMB_SIZE,
        crop: tuple[float, float, float, float] | None = None,
    ) -> QPixmap | None:
        found = self._pixmaps.get(key)
        if found is not None:
            self._pixmaps.move_to_end(key)
            return found
        if key not in self._failed:
            self.requests += 1
            self.loader.request(ThumbRequest(key, path, size, crop))
        return None

    def failed(self, key: str) -> bool:
        return key in self._failed

    def clear(self) -> None:
        """Drop every pixmap held in memory (the disk cache is being cleared)."""
        self._pixmaps.clear()
        self._failed.clear()
        self.loader.clear_queue()

    def forget_queue(self) -> None:
        self.loader.clear_queue()

    @Slot(list)
    def _on_ready(self, batch: list[tuple[str, QImage | None]]) -> None:
        self._backlog.extend(batch)
        self._drain()

    def _drain(self) -> None:
        started = time.perf_counter()
        done: list[str] = []
        while self._backlog:
            key, image = self._backlog.popleft()
            if image is None or image.isNull():
                self._failed.add(key)
            else:
                self._pixmaps[key] = QPixmap.fromImage(image)
                self._pixmaps.move_to_end(key)
            done.append(key)
            if time.perf_counter() - started > BUDGET_S:
                break
        while len(self._pixmaps) > self._capacity:
            self._pixmaps.popitem(last=False)
        if done:
            self.updated.emit(done)
        if self._backlog:
            QTimer.singleShot(0, self._drain)

    def shutdown(self) -> None:
        self.loader.shutdown()
