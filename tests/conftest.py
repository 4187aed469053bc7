"""Shared test setup: no display, no network, temporary data folders."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
# The OCR stage costs ~1 s per test library; the tests of reading text turn it back on.
os.environ.setdefault("PHOTOORG_READ_TEXT", "0")

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An isolated library data folder (and model cache) for one test."""
    path = tmp_path / "data"
    path.mkdir()
    monkeypatch.setenv("PHOTOORG_DATA_DIR", str(path))
    monkeypatch.setenv("PHOTOORG_CACHE_DIR", str(tmp_path / "cache"))
    return path


@pytest.fixture
def system_trash(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path | None:
    """The trash that "move to the trash" really uses here. Freedesktop (Linux, BSD): the home
    trash moved into the test's folder through ``XDG_DATA_HOME``, the variable the
    specification (and photoorg) reads, on the same disk as the test's photos, so a real move;
    returns it. Windows' Recycle Bin and macOS's Trash have no such variable: there the real
    one is used, only on a throwaway CI machine (returns None)."""
    if sys.platform in ("win32", "darwin"):
        if not os.environ.get("CI"):
            pytest.skip("real trash: on Windows/macOS a test would put files into this user's "
                        "own Recycle Bin/Trash (runs in CI)")
        return None
    home = tmp_path / "xdg"
    monkeypatch.setenv("XDG_DATA_HOME", str(home))
    return home / "Trash"
