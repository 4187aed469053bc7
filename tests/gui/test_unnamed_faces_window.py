"""The People page's "Unnamed faces" section, used as a person does: open People, move
through the faces with the keys, Enter → "This is…" → type a name → Enter; the context
menu's "Not a face"; Ctrl+Z undoes each, one step at a time. Real portraits (faces-dev)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from guitools import TINY, make_window, open_entry, tiny_available
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from photoorg import config
from photoorg.core.store.catalog import Catalog

REPO = Path(__file__).resolve().parents[2]
FACES_DEV = REPO / "tests" / "data" / "faces-dev"  # MIT, see its LICENSE file

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not tiny_available(), reason="tiny model missing"),
]


@pytest.fixture(scope="module")
def faces_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("faces-gui")
    photos, data = root / "photos", root / "data"
    photos.mkdir()
    for person in ("alex_lacamoire", "biden", "obama", "rose_leslie"):
        for src in sorted((FACES_DEV / person).glob("*.jp*g")):
            shutil.copy(src, photos / f"{person}_{src.name}")
    data.mkdir()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO)}
    subprocess.run([sys.executable, "-m", "photoorg", "--data-dir", str(data), "index",
                    str(photos), "--model", TINY], check=True, env=env, timeout=600,
                   capture_output=True)
    with Catalog(config.catalog_path(data)) as cat:
        # no person holds a face yet, as when faces are too unlike to be grouped
        cat.execute("UPDATE faces SET cluster_id = NULL")
        cat.execute("DELETE FROM clusters WHERE kind = 'people'")
    return root


@pytest.fixture
def faces_window(qtbot, faces_template: Path, tmp_path: Path):  # noqa: ANN001, ANN201
    root = tmp_path / "lib"
    shutil.copytree(faces_template, root)
    with Catalog(config.catalog_path(root / "data")) as cat:
        (row,) = cat.roots()
        cat.relocate_root(row.id, root / "photos")
    win = make_window(qtbot, root / "data")
    qtbot.waitUntil(lambda: win.photos.rowCount() == 7, timeout=20_000)
    yield win
    win.shutdown()
    assert win.errors.shown == []


def _cards(window) -> list[str]:  # noqa: ANN001
    return [window.clusters.cluster(r).title for r in range(window.clusters.rowCount())]


def test_name_and_drop_unnamed_faces_with_the_keys_and_undo(qtbot, faces_window) -> None:  # noqa: ANN001
    window = faces_window
    section = window.unnamed_faces
    open_entry(qtbot, window, "clusters", "people")
    qtbot.waitUntil(lambda: section.isVisible() and section.faces.count() == 7, timeout=20_000)
    assert section.title.text() == "Unnamed faces · 7 faces in 4 groups of look-alikes"
    groups = [section.faces.item(i).text() for i in range(7)]
    assert groups == ["group 1"] * 2 + ["group 2"] * 2 + ["group 3"] * 2 + ["group 4"]
    assert not section.this_is.isEnabled()  # nothing selected yet

    # keys: focus the faces, first one, Shift+Right takes its look-alike too
    faces = section.faces
    faces.setFocus()
    qtbot.waitUntil(faces.hasFocus)
    QTest.keyClick(faces, Qt.Key.Key_Home)
    QTest.keyClick(faces, Qt.Key.Key_Right, Qt.KeyboardModifier.ShiftModifier)
    first_two = section.face_ids()[:2]
    assert sorted(section.selected_ids()) == sorted(first_two)
    assert section.this_is.isEnabled()

    # Enter → "This is…": type a new name, Enter
    QTest.keyClick(faces, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: section.dialog is not None and section.dialog.isVisible())
    edit = section.dialog.names.lineEdit()
    QTest.keyClicks(edit, "Jennifer")
    with qtbot.waitSignal(window.controller.writes_done, timeout=20_000):
        QTest.keyClick(edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: faces.count() == 5, timeout=20_000)
    assert not set(first_two) & set(section.face_ids())
    assert section.title.text() == "Unnamed faces · 5 faces in 3 groups of look-alikes"
    qtbot.waitUntil(lambda: "Jennifer" in _cards(window), timeout=20_000)
    jen = next(r for r in range(window.clusters.rowCount())
               if window.clusters.cluster(r).title == "Jennifer")
    assert window.clusters.cluster(jen).count == 2

    # the lone face (group 4): context menu › Not a face
    lone = faces.item(faces.count() - 1)
    faces.clearSelection()
    lone.setSelected(True)
    menu = section.menu()
    assert [a.text() for a in menu.actions()] == ["This is…", "Not a face"]
    with qtbot.waitSignal(window.controller.writes_done, timeout=20_000):
        next(a for a in menu.actions() if a.text() == "Not a face").trigger()
    qtbot.waitUntil(lambda: faces.count() == 4, timeout=20_000)
    assert window.undo_action.text().startswith("Undo")

    # Ctrl+Z on the focused face list: one decision at a time
    window.activateWindow()  # back from the dialog
    faces.setFocus()
    qtbot.waitUntil(faces.hasFocus)
    QTest.keyClick(faces, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: faces.count() == 5, timeout=20_000)
    assert "Jennifer" in _cards(window)
    QTest.keyClick(window.focusWidget(), Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: faces.count() == 7, timeout=20_000)
    qtbot.waitUntil(lambda: "Jennifer" not in _cards(window), timeout=20_000)


def test_this_is_offers_existing_people(qtbot, faces_window) -> None:  # noqa: ANN001
    window = faces_window
    section = window.unnamed_faces
    open_entry(qtbot, window, "clusters", "people")
    qtbot.waitUntil(lambda: section.faces.count() == 7, timeout=20_000)
    section.faces.item(0).setSelected(True)
    section.this_is.click()
    qtbot.waitUntil(lambda: section.dialog is not None and section.dialog.isVisible())
    with qtbot.waitSignal(window.controller.writes_done, timeout=20_000):
        QTest.keyClicks(section.dialog.names.lineEdit(), "Alex")
        section.dialog.accept()
    qtbot.waitUntil(lambda: section.faces.count() == 6, timeout=20_000)
    section.faces.item(0).setSelected(True)
    section.this_is.click()
    qtbot.waitUntil(lambda: section.dialog.isVisible())
    combo = section.dialog.names
    assert [combo.itemText(i) for i in range(combo.count())] == ["Alex"]
    section.dialog.reject()
    assert section.faces.count() == 6


@pytest.fixture
def missed_window(qtbot, faces_template: Path, tmp_path: Path):  # noqa: ANN001, ANN201
    """rose_leslie_img1.jpg as if the detector had missed her face (its box kept aside)."""
    root = tmp_path / "lib"
    shutil.copytree(faces_template, root)
    with Catalog(config.catalog_path(root / "data")) as cat:
        (row,) = cat.roots()
        cat.relocate_root(row.id, root / "photos")
        pid = cat.photo_id_for_path(root / "photos" / "rose_leslie_img1.jpg")
        (box,) = cat.query("SELECT x, y, w, h FROM faces WHERE photo_id = ?", (pid,))
        cat.execute("DELETE FROM faces WHERE photo_id = ?", (pid,))
    win = make_window(qtbot, root / "data")
    qtbot.waitUntil(lambda: win.photos.rowCount() == 7, timeout=20_000)
    yield win, pid, box, root / "data"
    win.shutdown()
    assert win.errors.shown == []


def test_draw_a_face_box_in_the_viewer_and_undo(qtbot, missed_window) -> None:  # noqa: ANN001
    window, pid, box, data = missed_window
    row = window.photos.row_of_id(pid)
    grid = window.grid
    grid.setFocus()
    grid.setCurrentIndex(window.photos.index(row))
    QTest.keyClick(grid, Qt.Key.Key_Return)  # opens the viewer
    canvas = window.viewer.canvas
    qtbot.waitUntil(lambda: window.stack.currentWidget() is window.viewer
                    and canvas.has_pixmap(), timeout=20_000)

    menu = window.viewer_menu()
    draw = next(a for a in menu.actions() if a.text() == "Draw a face box…")
    assert draw.isEnabled()
    draw.trigger()
    assert canvas.drawing and "Drag a box" in canvas.notice

    target = canvas.target_rect()
    x, y, w, h = box
    start = QPoint(int(target.x() + x * target.width()), int(target.y() + y * target.height()))
    end = QPoint(int(target.x() + (x + w) * target.width()),
                 int(target.y() + (y + h) * target.height()))
    QTest.mousePress(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
    QTest.mouseMove(canvas, end)
    QTest.mouseRelease(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, end)
    qtbot.waitUntil(lambda: window.face_dialog is not None and window.face_dialog.isVisible())
    assert not canvas.drawing
    edit = window.face_dialog.names.lineEdit()
    QTest.keyClicks(edit, "Rose")
    with qtbot.waitSignal(window.controller.writes_done, timeout=30_000):
        QTest.keyClick(edit, Qt.Key.Key_Return)

    def faces() -> list[tuple]:
        with Catalog(config.catalog_path(data), readonly=True) as cat:
            return cat.query("SELECT f.x, f.y, f.w, f.h, c.name FROM faces f "
                             "LEFT JOIN clusters c ON c.id = f.cluster_id WHERE f.photo_id = ?",
                             (pid,))

    ((fx, fy, fw, fh, name),) = faces()
    assert name == "Rose"
    assert (fx, fy, fw, fh) == pytest.approx(box, abs=0.01)  # where it was drawn
    qtbot.waitUntil(lambda: "Rose" in window.undo_action.text(), timeout=10_000)

    # Ctrl+Z from the viewer: the drawn face goes, in one step
    window.activateWindow()  # back from the dialog
    window.viewer.setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is not None
                    and window.isAncestorOf(QApplication.focusWidget()))
    with qtbot.waitSignal(window.controller.writes_done, timeout=20_000):
        QTest.keyClick(QApplication.focusWidget(), Qt.Key.Key_Z,
                       Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: faces() == [], timeout=20_000)
    assert window.stack.currentWidget() is window.viewer
