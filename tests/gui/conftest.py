"""GUI tests: the real main window, offscreen, on a temporary library indexed by the bundled
tiny CLIP (``photoorg-tiny/bundled``: coloured shapes, so "a red circle" means something)."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before anything imports Qt
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import shutil  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
from guitools import TINY, make_window, tiny_available  # noqa: E402

import photoorg.ui  # noqa: E402, F401 - applies the binding workarounds first
from photoorg import config  # noqa: E402
from photoorg.core.media.synthetic import write_sample_library  # noqa: E402
from photoorg.core.store.catalog import Catalog  # noqa: E402


@pytest.fixture(scope="session")
def indexed_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """48 shapes (2 per colour × shape), indexed with the tiny model, scenes grouped; built
    once per session and copied for each test that changes it."""
    if not tiny_available():
        pytest.skip("bundled tiny model missing")
    from photoorg.core.groups import grouping
    from photoorg.core.ingest.indexer import Indexer
    from photoorg.core.ingest.scanner import scan_library
    from photoorg.core.models.embedder import load_embedder

    root = tmp_path_factory.mktemp("gui-library")
    photos, data = root / "photos", root / "data"
    write_sample_library(photos, per_class=2, seed=11)
    data.mkdir()
    embedder = load_embedder(TINY)
    with Catalog(config.catalog_path(data)) as cat:
        cat.add_root(photos)
        scan_library(cat)
        Indexer(cat, embedder).run()
        grouping.refresh_clusters(cat, "scenes", embedder.encode_texts)
    return root


@pytest.fixture
def library(indexed_template: Path, tmp_path: Path) -> Path:
    """A private copy of the indexed library: returns its data folder."""
    root = tmp_path / "lib"
    shutil.copytree(indexed_template, root)
    data = root / "data"
    with Catalog(config.catalog_path(data)) as cat:  # the copy lives elsewhere: re-point
        (root_row,) = cat.roots()
        cat.relocate_root(root_row.id, root / "photos")
    for cache in data.glob("search-cache-*"):
        cache.unlink()
    return data


@pytest.fixture
def window(qtbot, library: Path) -> Iterator:  # noqa: ANN001
    """The main window on the indexed library, grid filled."""
    win = make_window(qtbot, library)
    qtbot.waitUntil(lambda: win.photos.rowCount() == 48, timeout=15_000)
    yield win
    win.shutdown()
    assert win.errors.shown == []
