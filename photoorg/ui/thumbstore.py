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

from photoorg.ui.thumbnails import FACE_SIZE, THUMB_SIZE, ThumbnailCache, cache_size
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
        # (key, cached size) -> pixmap; the largest one held for a key answers meanwhile
        self._pixmaps: collections.OrderedDict[tuple[str, int], QPixmap] = (
            collections.OrderedDict())
        self._best: dict[str, int] = {}  # key -> largest size held
        self._asked: set[tuple[str, int]] = set()
        self._failed: set[str] = set()
        # what tiles need, in device pixels: set by the views from their tile size and the
        # screen's device pixel ratio (a window moved to another screen asks again)
        self.thumb_size = THUMB_SIZE
        self.face_size = FACE_SIZE
        self.device_ratio = 1.0
        self._capacity = capacity
        self._backlog: collections.deque[tuple[tuple[str, int], QImage | None]] = (
            collections.deque())
        self.requests = 0

    def pixmap(
        self, key: str, path: str, size: int | None = None,
        crop: tuple[float, float, float, float] | None = None,
    ) -> QPixmap | None:
        """The thumbnail for a tile (``size``: cached size; None: what the views need now).
        A smaller one already held answers while the right size is being made."""
        if size is None:
            size = self.face_size if crop is not None else self.thumb_size
        found = self._pixmaps.get((key, size))
        if found is not None:
            self._pixmaps.move_to_end((key, size))
            return found
        if key in self._failed:
            return None
        if (key, size) not in self._asked:
            self._asked.add((key, size))
            self.requests += 1
            self.loader.request(ThumbRequest(key, path, size, crop))
        best = self._best.get(key)
        return self._pixmaps.get((key, best)) if best is not None else None

    def set_tile(self, tile: int, ratio: float) -> bool:
        """The grid's tiles are ``tile`` logical pixels on a screen of this device pixel
        ratio: thumbnails are made with at least that many device pixels. True when the
        size to ask for changed (the views repaint and ask again)."""
        self.device_ratio = ratio
        size = cache_size(tile * ratio)
        face = cache_size(FACE_SIZE * ratio, (FACE_SIZE, 512))
        changed = (size, face) != (self.thumb_size, self.face_size)
        self.thumb_size, self.face_size = size, face
        return changed

    def failed(self, key: str) -> bool:
        return key in self._failed

    def clear(self) -> None:
        """Drop every pixmap held in memory (the disk cache is being cleared)."""
        self._pixmaps.clear()
        self._best.clear()
        self._asked.clear()
        self._failed.clear()
        self.loader.clear_queue()

    def forget_queue(self) -> None:
        self.loader.clear_queue()
        self._asked = {k for k in self._asked if k in self._pixmaps}

    @Slot(list)
    def _on_ready(self, batch: list[tuple[str, QImage | None]]) -> None:
        self._backlog.extend(batch)
        self._drain()

    def _drain(self) -> None:
        started = time.perf_counter()
        done: list[str] = []
        while self._backlog:
            (key, size), image = self._backlog.popleft()
            if image is None or image.isNull():
                self._failed.add(key)
            else:
                pixmap = QPixmap.fromImage(image)
                # the pixmap says how many device pixels make one logical pixel, so a
                # painter on a 2x screen does not stretch it
                pixmap.setDevicePixelRatio(self.device_ratio)
                self._pixmaps[(key, size)] = pixmap
                self._pixmaps.move_to_end((key, size))
                if size >= self._best.get(key, 0):
                    self._best[key] = size
            done.append(key)
            if time.perf_counter() - started > BUDGET_S:
                break
        while len(self._pixmaps) > self._capacity:
            (key, size), _ = self._pixmaps.popitem(last=False)
            self._asked.discard((key, size))
            if self._best.get(key) == size:
                held = [s for (k, s) in self._pixmaps if k == key]
                if held:
                    self._best[key] = max(held)
                else:
                    del self._best[key]
        if done:
            self.updated.emit(done)
        if self._backlog:
            QTimer.singleShot(0, self._drain)

    def shutdown(self) -> None:
        self.loader.shutdown()
