"""What other tools wrote, in the window: a "rated" entry in the sidebar filters the grid,
and the viewer shows the title, caption and rating."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from guitools import make_window, needs_tiny

from photoorg import config
from photoorg.core.metadata import importer as metadata_import
from photoorg.core.store.catalog import Catalog

pytestmark = [
    needs_tiny,
    pytest.mark.skipif(shutil.which("exiftool") is None, reason="exiftool not installed"),
]


def test_rating_filter_and_viewer_show_imported_metadata(qtbot, library: Path) -> None:  # noqa: ANN001
    with Catalog(config.catalog_path(library)) as cat:
        rows = cat.query("SELECT id FROM photos ORDER BY id LIMIT 3")
        paths = cat.paths_for_ids([r[0] for r in rows])
        stars = {}
        for (pid,), rating in zip(rows, (5, 4, 2), strict=True):
            # a Lightroom-style sidecar another tool wrote
            subprocess.run(
                ["exiftool", "-q", f"-XMP-xmp:Rating={rating}", "-XMP-dc:Title=Quiet harbour",
                 "-XMP-dc:Description=Boats at dawn", str(paths[pid].with_suffix(".xmp"))],
                check=True, capture_output=True, timeout=60)
            stars[pid] = rating
        metadata_import.import_metadata(cat, stars)
    window = make_window(qtbot, library)
    try:
        qtbot.waitUntil(lambda: window.photos.rowCount() == 48, timeout=15_000)
        qtbot.waitUntil(lambda: window.sidebar.item_for("rating", 4) is not None,
                        timeout=10_000)
        entry = next(e for e in window.sidebar.items_of("tags") if e.nav[:2] == ("rating", 4))
        assert entry.text == "★★★★ and up" and entry.count == "2"
        window.sidebar.activate("rating", 4)
        qtbot.waitUntil(lambda: window.photos.rowCount() == 2, timeout=10_000)
        assert set(window.photos.photos.ids) == {p for p, r in stars.items() if r >= 4}
        window.open_viewer(window.photos.index(0))
        qtbot.waitUntil(lambda: window.viewer.fields["title"].text() != "—", timeout=10_000)
        assert window.viewer.fields["title"].text() == "Quiet harbour"
        assert window.viewer.fields["caption"].text() == "Boats at dawn"
        assert window.viewer.fields["rating"].text() in ("★★★★★", "★★★★☆")
    finally:
        window.shutdown()
    assert window.errors.shown == []
