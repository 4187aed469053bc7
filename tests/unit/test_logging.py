"""Logs summarise repeats and survive a full disk (issue 24)."""

from __future__ import annotations

import errno
import logging
import subprocess
import sys
from pathlib import Path

import pytest

from photoorg.logsetup import QuietRotatingFileHandler, RepeatFilter


def test_repeats_are_rate_limited_and_counted(monkeypatch: pytest.MonkeyPatch) -> None:
    from photoorg import logsetup

    clock = [1000.0]
    monkeypatch.setattr(logsetup.time, "monotonic", lambda: clock[0])
    seen: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record.getMessage())

    handler = Keep()
    rate = RepeatFilter(burst=5, window_s=60)
    handler.addFilter(rate)
    log = logging.getLogger("test.repeats")
    log.propagate = False
    log.addHandler(handler)
    try:
        for i in range(20_000):  # one per photo whose file vanished
            log.warning("reading text in %s failed", f"/photos/{i}.jpg")
        log.warning("something else")
        clock[0] += 61  # a minute later
        log.warning("reading text in %s failed", "/photos/last.jpg")
    finally:
        log.removeHandler(handler)
    assert len(seen) == 7, seen
    assert "more like this" in seen[4]
    assert seen[5] == "something else"
    assert seen[6].endswith("(and 19995 more like this before, not shown)")


def test_a_log_file_on_a_full_disk_says_so_once(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    handler = QuietRotatingFileHandler(tmp_path / "photoorg.log", maxBytes=1000,
                                       backupCount=1, encoding="utf-8")

    def full(_text: str) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    handler.stream.write = full  # type: ignore[method-assign]
    log = logging.getLogger("test.full")
    log.propagate = False
    log.addHandler(handler)
    try:
        for i in range(100):
            log.warning("record %d", i)
    finally:
        log.removeHandler(handler)
        handler.stream = None  # type: ignore[assignment]
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "the disk is full" in err and "Traceback" not in err


def test_the_cli_logs_through_the_filter(tmp_path: Path) -> None:
    script = (
        "import logging, sys\n"
        "from photoorg.cli import setup_logging\n"
        "setup_logging(False)\n"
        "for i in range(5000): logging.getLogger('photoorg.x').warning('gone: %s', i)\n")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert len(proc.stderr.splitlines()) == 5, proc.stderr
