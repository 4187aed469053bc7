"""A heartbeat on the GUI thread that records how late it runs: the longest time the
window could not react (the stall), measured the way a user feels it."""

from __future__ import annotations

import time

from PySide6.QtCore import QObject, Qt, QTimer, Slot


class StallMonitor(QObject):
    def __init__(self, interval_ms: int = 10, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.interval_s = interval_ms / 1000
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._tick)
        self._last: float | None = None
        self.lateness_ms: list[float] = []
        # stalls over 20 ms: (seconds since start, lateness ms, GUI-thread CPU ms meanwhile);
        # CPU far below lateness means the thread waited (CPU or GIL), not worked
        self.worst: list[tuple[float, float, float]] = []
        self._started = 0.0
        self._last_cpu = 0.0

    def start(self) -> None:
        self.reset()
        self._started = time.perf_counter()
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()
        self._last = None

    def reset(self) -> None:
        self.lateness_ms = []
        self.worst = []
        self._last = None

    @Slot()
    def _tick(self) -> None:
        now = time.perf_counter()
        cpu = time.thread_time()
        if self._last is not None:
            late = max(0.0, (now - self._last - self.interval_s) * 1000)
            self.lateness_ms.append(late)
            if late > 20:
                self.worst.append((round(now - self._started, 3), round(late, 1),
                                   round((cpu - self._last_cpu) * 1000, 1)))
        self._last = now
        self._last_cpu = cpu

    @property
    def max_ms(self) -> float:
        return max(self.lateness_ms, default=0.0)

    def percentile(self, q: float) -> float:
        if not self.lateness_ms:
            return 0.0
        ordered = sorted(self.lateness_ms)
        return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]
