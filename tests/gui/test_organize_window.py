"""Folders, the "Couldn't read" page, albums and tags by hand, following the CLI, shortcuts:
the real window on a real library whose files were rearranged on disk before it opened."""

from __future__ import annotations

import shutil
from pathlib import Path

from guitools import make_window, names, needs_tiny
from PySide6.QtCore import QMimeData, QPointF, Qt
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QInputDialog, QMessageBox

from photoorg import config
from photoorg.core.groups import clusters
from photoorg.core.store.catalog import Catalog

pytestmark = needs_tiny


def _rearrange(data: Path) -> Path:
    """Red photos move into trips/rome (the catalog follows, as a scan would), and a broken
    file appears beside them; returns the photos folder."""
    with Catalog(config.catalog_path(data)) as cat:
        (root,) = cat.roots()
        rome = root.path / "trips" / "rome"
        rome.mkdir(parents=True)
        for pid, rel in cat.query("SELECT id, rel_path FROM photos WHERE rel_path LIKE 'red%'"):
            shutil.move(root.path / rel, rome / rel)
            cat.move_photo(pid, root.id, f"trips/rome/{rel}", (rome / rel).stat().st_mtime)
        (root.path / "broken.jpg").write_bytes(b"\xff\xd8\xff not really a jpeg")
        return root.path


def test_folder_tree_unreadable_page_and_retry(qtbot, library, monkeypatch) -> None:  # noqa: ANN001
    photos = _rearrange(library)
    window = make_window(qtbot, library)
    try:
        sidebar = window.sidebar
        # the window's own scan finds the broken file and says why it was left out
        qtbot.waitUntil(lambda: sidebar.item_for("unreadable") is not None, timeout=30_000)
        entries = {e.nav[0]: e for e in sidebar.items_of("library")}
        assert entries["all"].count == "48"  # the readable ones, as the page will say
        assert entries["unreadable"].count == "1"
        qtbot.waitUntil(lambda: next(e for e in sidebar.items_of("library")
                                     if e.nav[0] == "folder").count == "48", timeout=30_000)
        trips = next(e for e in sidebar.items_of("library") if e.text == "trips")
        assert (trips.count, trips.depth, trips.expanded) == ("8", 1, False)
        assert sidebar.item_for("subfolder", (trips.nav[1][0], "trips/rome")) is None
        sidebar.toggle_folder(trips.nav)  # open it: its subfolder shows
        rome = next(e for e in sidebar.items_of("library") if e.text == "rome")
        assert (rome.depth, rome.count) == (2, "8")
        sidebar.activate("subfolder", rome.nav[1])
        qtbot.waitUntil(lambda: window.grid_title.text() == "rome"
                        and window.photos.rowCount() == 8, timeout=10_000)
        assert all(n.startswith("red_") for n in names(window))
        opened = []
        monkeypatch.setattr("photoorg.ui.desktop.open_file", lambda p: opened.append(p))
        menu = window.sidebar_menu(rome.nav)
        [a for a in menu.actions() if a.text() == "Open folder"][0].trigger()
        assert opened == [str(photos / "trips" / "rome")]

        sidebar.activate("unreadable")
        page = window.unreadable_page
        assert window.stack.currentWidget() is page
        qtbot.waitUntil(lambda: page.row_count() == 1, timeout=10_000)
        item = page.table.topLevelItem(0)
        assert item.text(0) == "broken.jpg" and item.text(1) == str(photos)  # its folder
        assert item.text(2) and "<_io" not in item.text(3)  # a reason, in words
        assert "1 file" in page.summary.text()
        with qtbot.waitSignal(window.controller.writes_done, timeout=10_000):
            page.retry_all.click()
        # tried again: the file is still broken, so it comes back with its reason
        qtbot.waitUntil(lambda: page.row_count() == 1 and window.controller.service.busy
                        is False, timeout=30_000)
    finally:
        window.shutdown()
    assert window.errors.shown == []


def _drop(window, nav_kind: str, arg: str, rows: list[int]) -> None:  # noqa: ANN001
    """A real drop event on the sidebar entry, carrying the grid's own drag data."""
    sidebar = window.sidebar
    index = sidebar.item_for(nav_kind, arg)
    sidebar.scrollTo(index)
    pos = sidebar.visualRect(index).center()
    mime: QMimeData = window.photos.mimeData([window.photos.index(r) for r in rows])
    event = QDropEvent(QPointF(pos), Qt.DropAction.CopyAction, mime,
                       Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    sidebar.dropEvent(event)
    assert event.isAccepted()


def test_albums_and_tags_by_hand(qtbot, window, monkeypatch) -> None:  # noqa: ANN001
    sidebar = window.sidebar
    rows = [names(window).index("red_star_0"), names(window).index("red_star_1")]
    ids = [window.photos.photo_id(r) for r in rows]
    monkeypatch.setattr(QInputDialog, "getItem", lambda *a, **k: ("Rome 2024", True))
    with qtbot.waitSignal(window.controller.writes_done, timeout=10_000):
        next(a for a in window.grid_menu(rows).actions()
             if a.text() == "Add to album…").trigger()
    qtbot.waitUntil(lambda: sidebar.item_for("album", "Rome 2024") is not None, timeout=10_000)
    assert not any(e.nav[0] == "tag" and "Albums" in str(e.nav[1])
                   for e in sidebar.items_of("tags"))  # shown once, as the album
    # drag two more photos onto the album
    more = [names(window).index("blue_circle_0"), names(window).index("blue_circle_1")]
    with qtbot.waitSignal(window.controller.writes_done, timeout=10_000):
        _drop(window, "album", "Rome 2024", more)
    sidebar.activate("album", "Rome 2024")
    qtbot.waitUntil(lambda: window.photos.rowCount() == 4, timeout=10_000)
    assert sorted(names(window)) == ["blue_circle_0", "blue_circle_1", "red_star_0",
                                     "red_star_1"]

    # rename, then delete the album: the photos stay in the library
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("Rome", True))
    with qtbot.waitSignal(window.controller.writes_done, timeout=10_000):
        [a for a in window.sidebar_menu(("album", "Rome 2024", "Rome 2024")).actions()
         if a.text() == "Rename…"][0].trigger()
    qtbot.waitUntil(lambda: sidebar.item_for("album", "Rome") is not None, timeout=10_000)
    sidebar.activate("album", "Rome")
    qtbot.waitUntil(lambda: window.grid_title.text() == "Rome"
                    and window.photos.rowCount() == 4, timeout=10_000)
    monkeypatch.setattr(QMessageBox, "question",
                        lambda *a, **k: QMessageBox.StandardButton.Yes)
    with qtbot.waitSignal(window.controller.writes_done, timeout=10_000):
        [a for a in window.sidebar_menu(("album", "Rome", "Rome")).actions()
         if a.text() == "Delete album…"][0].trigger()
    qtbot.waitUntil(lambda: sidebar.item_for("album", "Rome") is None
                    and window.photos.rowCount() == 48, timeout=10_000)

    # a tag typed the way it is shown ("People › Angelina") is stored as a hierarchy
    monkeypatch.setattr(QInputDialog, "getItem", lambda *a, **k: ("Friends › Angelina", True))
    with qtbot.waitSignal(window.controller.writes_done, timeout=10_000):
        window.ask_tag(ids)
    qtbot.waitUntil(lambda: sidebar.item_for("tag", "Friends|Angelina") is not None,
                    timeout=10_000)
    entry = sidebar.sidebar_model.entry(sidebar.item_for("tag", "Friends|Angelina"))
    assert entry.text == "Friends › Angelina"
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("Family › Angie", True))
    with qtbot.waitSignal(window.controller.writes_done, timeout=10_000):
        [a for a in window.sidebar_menu(entry.nav).actions()
         if a.text() == "Rename…"][0].trigger()
    qtbot.waitUntil(lambda: sidebar.item_for("tag", "Family|Angie") is not None
                    and sidebar.item_for("tag", "Friends|Angelina") is None, timeout=10_000)
    with qtbot.waitSignal(window.controller.writes_done, timeout=10_000):
        [a for a in window.sidebar_menu(("tag", "Family|Angie", "Angie")).actions()
         if a.text() == "Delete tag…"][0].trigger()
    qtbot.waitUntil(lambda: sidebar.item_for("tag", "Family|Angie") is None, timeout=10_000)
    with Catalog(config.catalog_path(window.data), readonly=True) as cat:
        assert clusters.photos_with_tag(cat, "Family|Angie") == set()
        assert cat.scalar("SELECT COUNT(*) FROM photos") == 48  # nothing else went


def test_window_follows_cli_changes_and_closes_on_ctrl_w(qtbot, window) -> None:  # noqa: ANN001
    pid = window.photos.photo_id(0)
    with Catalog(config.catalog_path(window.data)) as cat:  # as `photoorg` on the CLI would
        clusters.add_tag(cat, [pid], "From the CLI")
    # no indexer event announces it: the window sees the catalog change by itself
    qtbot.waitUntil(lambda: window.sidebar.item_for("tag", "From the CLI") is not None,
                    timeout=8_000)
    window.grid.setFocus()
    qtbot.keyClick(window.grid, Qt.Key.Key_W, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=5_000)

