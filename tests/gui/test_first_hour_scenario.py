"""The first hour, end to end, as a new user walks it: add a folder (File › Add folder…),
name a group, tag, make an album, rename it, undo, review duplicates, retry the unreadable
file, quit (Ctrl+Q) and start again. Every page is checked after each step (issue 25)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from guitools import make_window, names, needs_tiny, open_entry
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QFileDialog, QInputDialog

from photoorg.core.media.synthetic import write_sample_library

pytestmark = [needs_tiny, pytest.mark.slow]


def _focused():  # noqa: ANN202
    widget = QApplication.focusWidget()
    assert widget is not None
    return widget


def _action(window, menu: str, text: str):  # noqa: ANN001, ANN202
    top = next(a.menu() for a in window.menuBar().actions()
               if a.text().replace("&", "") == menu)
    return next(a for a in top.actions() if a.text().replace("&", "").startswith(text))


def _count(window, kind: str, arg=None) -> str:  # noqa: ANN001
    index = window.sidebar.item_for(kind, arg)
    return window.sidebar.sidebar_model.entry(index).count if index is not None else ""


def test_the_first_hour(qtbot, tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    photos, data = tmp_path / "Pictures", tmp_path / "data"
    data.mkdir()
    write_sample_library(photos, per_class=1, seed=5)  # 24 shapes
    with Image.open(photos / "green_star_0.jpg") as im:  # a look-alike, bigger
        im.resize((im.width * 2, im.height * 2)).save(photos / "green_star_0_big.jpg")
    (photos / "broken.jpg").write_bytes(b"\xff\xd8\xff not a photo")

    # 1. first start: the welcome page; File › Add folder…
    window = make_window(qtbot, data)
    qtbot.waitUntil(lambda: window.stack.currentWidget() is window.welcome, timeout=15_000)
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(photos))
    _action(window, "File", "Add folder").trigger()
    qtbot.waitUntil(lambda: window.stack.currentWidget() is window.grid_page
                    and window.photos.rowCount() == 25, timeout=60_000)
    qtbot.waitUntil(lambda: _count(window, "all") == "25" and _count(window, "unreadable")
                    == "1" and not window.controller.service.busy, timeout=60_000)
    assert window.grid_title.text() == "All photos"
    assert window.grid_count.text() == "25 photos"

    # 2. name a group: Scenes › the first card › F2, type a name, Enter
    open_entry(qtbot, window, "clusters", "scenes")
    qtbot.waitUntil(lambda: window.clusters.rowCount() > 0, timeout=30_000)
    view = window.cluster_page.view
    view.setFocus()
    view.setCurrentIndex(window.clusters.index(0))
    qtbot.keyClick(view, Qt.Key.Key_F2)
    editor = _focused()
    qtbot.keyClicks(editor, "Shapes I like")
    with qtbot.waitSignal(window.controller.writes_done, timeout=10_000):
        qtbot.keyClick(editor, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: any(window.clusters.cluster(r).name == "Shapes I like"
                                for r in range(window.clusters.rowCount())), timeout=10_000)
    qtbot.waitUntil(lambda: window.undo_action.text().startswith("Undo: "), timeout=10_000)

    # 3. tag two photos, 4. put three in an album
    open_entry(qtbot, window, "all")
    qtbot.waitUntil(lambda: window.photos.rowCount() == 25, timeout=10_000)
    rows = {n: i for i, n in enumerate(names(window))}
    monkeypatch.setattr(QInputDialog, "getItem", lambda *a, **k: ("Favourites", True))
    with qtbot.waitSignal(window.controller.writes_done, timeout=10_000):
        next(a for a in window.grid_menu([rows["red_circle_0"], rows["blue_square_0"]])
             .actions() if a.text() == "Add tag…").trigger()
    qtbot.waitUntil(lambda: _count(window, "tag", "Favourites") == "2", timeout=10_000)
    monkeypatch.setattr(QInputDialog, "getItem", lambda *a, **k: ("Italy trip", True))
    trip = [rows[n] for n in ("red_star_0", "green_circle_0", "blue_circle_0")]
    with qtbot.waitSignal(window.controller.writes_done, timeout=10_000):
        next(a for a in window.grid_menu(trip).actions() if a.text() == "Add to album…").trigger()
    open_entry(qtbot, window, "album", "Italy trip")
    qtbot.waitUntil(lambda: window.photos.rowCount() == 3, timeout=10_000)
    assert (window.grid_title.text(), _count(window, "album", "Italy trip")) == ("Italy trip", "3")

    # 5. rename the album: the page follows
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("Roma 2024", True))
    with qtbot.waitSignal(window.controller.writes_done, timeout=10_000):
        next(a for a in window.sidebar_menu(("album", "Italy trip", "Italy trip")).actions()
             if a.text() == "Rename…").trigger()
    qtbot.waitUntil(lambda: window.grid_title.text() == "Roma 2024"
                    and window.photos.rowCount() == 3
                    and _count(window, "album", "Roma 2024") == "3", timeout=10_000)

    # 6. undo (Ctrl+Z after a search typed and left): the name comes back, page too
    field = window.search_field
    field.setFocus()
    qtbot.keyClicks(field, "red")
    qtbot.keyClick(field, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.grid_title.text() == "Results for “red”", timeout=10_000)
    qtbot.keyClick(field, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: window.grid_title.text() == "Roma 2024"
                    and window.photos.rowCount() == 3, timeout=10_000)
    field.setFocus()
    with qtbot.waitSignal(window.controller.writes_done, timeout=10_000):
        qtbot.keyClick(_focused(), Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: window.grid_title.text() == "Italy trip"
                    and window.photos.rowCount() == 3
                    and window.sidebar.item_for("album", "Roma 2024") is None, timeout=10_000)
    assert field.text() == ""

    # 7. duplicates: the look-alike pair; "Not duplicates"; undo brings it back
    open_entry(qtbot, window, "duplicates")
    page = window.duplicates_page

    def pairs() -> int:
        return sum(any(m.path.name == "green_star_0_big.jpg" for m in c.group.members)
                   for c in page.cards)

    qtbot.waitUntil(lambda: pairs() == 1, timeout=30_000)
    card = next(c for c in page.cards
                if any(m.path.name == "green_star_0_big.jpg" for m in c.group.members))
    qtbot.mouseClick(card.dismiss_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: pairs() == 0, timeout=10_000)
    qtbot.keyClick(_focused(), Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: pairs() == 1, timeout=10_000)

    # 8. Couldn't read › Retry all: read again, still broken, back with its reason
    open_entry(qtbot, window, "unreadable")
    unreadable = window.unreadable_page
    qtbot.waitUntil(lambda: unreadable.row_count() == 1, timeout=10_000)
    qtbot.mouseClick(unreadable.retry_all, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: unreadable.row_count() == 1
                    and "could not be read" in unreadable.summary.text()
                    and not window.controller.service.busy, timeout=30_000)
    assert _count(window, "unreadable") == "1"

    # 9. quit with Ctrl+Q, start again: everything is where it was
    window.grid.setFocus()
    open_entry(qtbot, window, "all")
    window.grid.setFocus()
    qtbot.keyClick(_focused(), Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=10_000)
    assert window.errors.shown == []
    again = make_window(qtbot, data)
    try:
        qtbot.waitUntil(lambda: again.photos.rowCount() == 25
                        and _count(again, "all") == "25", timeout=30_000)
        assert _count(again, "unreadable") == "1"
        assert _count(again, "tag", "Favourites") == "2"
        assert _count(again, "album", "Italy trip") == "3"
        qtbot.waitUntil(lambda: again.undo_action.text().startswith("Undo: "),
                        timeout=10_000)  # the journal survived the restart
        open_entry(qtbot, again, "clusters", "scenes")
        qtbot.waitUntil(lambda: any(again.clusters.cluster(r).name == "Shapes I like"
                                    for r in range(again.clusters.rowCount())),
                        timeout=10_000)
    finally:
        again.shutdown()
    assert again.errors.shown == []
    shutil.rmtree(photos, ignore_errors=True)
