"""Logging that stays readable: repeats are summarised and rate-limited, and a log file
on a full disk says so once instead of a traceback per record. Qt-free (the CLI, the
service and the window use it)."""

from __future__ import annotations

import errno
import logging
import logging.handlers
import sys
import threading
import time


class RepeatFilter(logging.Filter):
    """At most ``burst`` records of one message (logger, level, template) per ``window_s``;
    the first one after a quiet spell says how many were left out."""

    def __init__(self, burst: int = 5, window_s: float = 60.0) -> None:
        super().__init__()
        self.burst = burst
        self.window_s = window_s
        self._seen: dict[tuple[str, int, str], list[float]] = {}  # start, shown, dropped
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        key = (record.name, record.levelno, str(record.msg))
        now = time.monotonic()
        with self._lock:
            state = self._seen.get(key)
            if state is None or now - state[0] > self.window_s:
                dropped = int(state[2]) if state is not None else 0
                if len(self._seen) > 1000:
                    self._seen.clear()
                state = self._seen[key] = [now, 0, 0]
                if dropped:
                    record.msg = (f"{record.msg} (and {dropped} more like this before, "
                                  "not shown)")
            state[1] += 1
            if state[1] > self.burst:
                state[2] += 1
                return False
            if state[1] == self.burst:
                record.msg = (f"{record.msg} (more like this in the next "
                              f"{self.window_s:.0f} s are counted, not shown)")
        return True


class QuietRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """A rotating log file that, when it cannot be written (disk full), says so once on
    stderr and tries again a minute later, instead of a traceback for every record."""

    retry_s = 60.0

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._failed_at: float | None = None

    def emit(self, record: logging.LogRecord) -> None:
        if self._failed_at is not None and time.monotonic() - self._failed_at < self.retry_s:
            return
        super().emit(record)

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 - logging's name
        exc = sys.exc_info()[1]
        if isinstance(exc, OSError):
            if self._failed_at is None:
                why = "the disk is full" if exc.errno == errno.ENOSPC else (
                    exc.strerror or str(exc))
                sys.stderr.write(f"photoorg: cannot write the log {self.baseFilename}: {why}; "
                                 "log records are dropped until it can\n")
            self._failed_at = time.monotonic()
            return
        super().handleError(record)
