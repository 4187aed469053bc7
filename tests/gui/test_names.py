"""File names as a person reads them: a Linux photo named ``a:b?.jpg`` on a Samba share is
listed by Windows as ``a\\uf022b\\uf025.jpg`` (vfs_catia/fruit private-use stand-ins); the
window shows it as ``a:b?.jpg`` in the grid, its tooltip, the viewer and the duplicates page."""

from __future__ import annotations

import shutil
from pathlib import Path

from guitools import make_window, needs_tiny, open_entry
from PySide6.QtCore import Qt

from photoorg import config
from photoorg.core.store.catalog import Catalog

pytestmark = needs_tiny

MAPPED = "a\uf022b\uf025.jpg"  # what Windows lists for a:b?.jpg on the share
READ = "a:b?.jpg"


def test_samba_mapped_name_reads_as_meant(qtbot, library: Path) -> None:  # noqa: ANN001
    with Catalog(config.catalog_path(library), readonly=True) as cat:
        (root,) = cat.roots()
    shutil.copy(root.path / "green_star_0.jpg", root.path / MAPPED)  # also a duplicate
    window = make_window(qtbot, library)
    try:
        qtbot.waitUntil(lambda: window.photos.rowCount() == 49
                        and not window.controller.service.busy, timeout=60_000)
        row = [Path(p).name for p in window.photos.photos.paths].index(MAPPED)
        index = window.photos.index(row)
        assert index.data(Qt.ItemDataRole.DisplayRole) == READ
        assert index.data(Qt.ItemDataRole.ToolTipRole).endswith(READ)

        window.grid.setFocus()
        window.grid.setCurrentIndex(index)
        qtbot.keyClick(window.grid, Qt.Key.Key_Return)
        qtbot.waitUntil(lambda: window.stack.currentWidget() is window.viewer, timeout=10_000)
        assert window.viewer.title.text() == READ
        assert Path(window.viewer.path).name == MAPPED  # the file itself keeps its name
        qtbot.keyClick(window.viewer, Qt.Key.Key_Escape)
        qtbot.waitUntil(lambda: window.stack.currentWidget() is window.grid_page,
                        timeout=10_000)

        open_entry(qtbot, window, "duplicates")
        page = window.duplicates_page

        def card():  # noqa: ANN202
            return next((c for c in page.cards
                         if any(m.path.name == MAPPED for m in c.group.members)), None)

        qtbot.waitUntil(lambda: card() is not None, timeout=20_000)
        shown = card().header.text() + " ".join(
            label.text() for label in card().findChildren(type(card().header)))
        assert READ in shown and MAPPED not in shown
    finally:
        window.shutdown()
    assert window.errors.shown == []
