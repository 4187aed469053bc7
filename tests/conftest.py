"""Shared test setup: no display, no network, temporary data folders."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
# The OCR stage costs ~1 s per test library; the tests of reading text turn it back on.
os.environ.setdefault("PHOTOORG_READ_TEXT", "0")
# The app's cache folder (shared prompt vectors, downloads) of this test run, not the user's;
# a test that needs its own takes the ``data_dir`` fixture.
if "PHOTOORG_CACHE_DIR" not in os.environ:
    import atexit
    import shutil
    import tempfile

    os.environ["PHOTOORG_CACHE_DIR"] = tempfile.mkdtemp(prefix="photoorg-test-cache-")
    atexit.register(shutil.rmtree, os.environ["PHOTOORG_CACHE_DIR"], True)

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
