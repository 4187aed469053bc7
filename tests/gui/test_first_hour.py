"""The first hour's bugs, reproduced the way a person meets them: focus moves by clicks, keys
are pressed on the focused widget, menus are opened from the menu bar, and the page is checked
after each step (issue 25)."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from guitools import make_window, names, needs_tiny, open_entry
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QAction, QKeySequence, QShortcut
from PySide6.QtWidgets import QApplication, QInputDialog, QMessageBox

from photoorg import config
from photoorg.core.groups import clusters
from photoorg.core.store.catalog import Catalog

pytestmark = needs_tiny


def _focused():  # noqa: ANN202
    widget = QApplication.focusWidget()
    assert widget is not None
    return widget


def _menu_action(window, menu_title: str, text: str) -> QAction:  # noqa: ANN001
    """An action as a person reaches it: the menu bar's menu, then the entry."""
    for top in window.menuBar().actions():
        if top.text().replace("&", "") == menu_title:
            for action in top.menu().actions():
                if action.text().replace("&", "").startswith(text):
                    return action
    raise AssertionError(f"no {menu_title} › {text}")


def _tags_of(data: Path, name: str) -> set[int]:
    with Catalog(config.catalog_path(data), readonly=True) as cat:
        return clusters.photos_with_tag(cat, name)


def _click_into(qtbot, widget) -> None:  # noqa: ANN001
    qtbot.mouseClick(widget, Qt.MouseButton.LeftButton, pos=QPoint(widget.width() // 2,
                                                                  widget.height() // 2))
    widget.setFocus(Qt.FocusReason.MouseFocusReason)  # offscreen: no window activation
    assert _focused() is widget


def _tag_first(qtbot, window, monkeypatch, tag: str = "Keep") -> int:  # noqa: ANN001
    pid = window.photos.photo_id(0)
    monkeypatch.setattr(QInputDialog, "getItem", lambda *a, **k: (tag, True))
    with qtbot.waitSignal(window.controller.writes_done, timeout=10_000):
        next(a for a in window.grid_menu([0]).actions() if a.text() == "Add tag…").trigger()
    qtbot.waitUntil(lambda: window.undo_action.isEnabled(), timeout=10_000)
    assert _tags_of(window.data, tag) == {pid}
    return pid


# -- 1. Ctrl+Z is not swallowed by the search box ---------------------------------------------

def test_ctrl_z_in_the_search_box_undoes_the_decision(qtbot, window, monkeypatch) -> None:  # noqa: ANN001
    _tag_first(qtbot, window, monkeypatch)
    assert _menu_action(window, "Edit", "Undo").text() == "Undo: Tag 1 photo “Keep”" or \
        _menu_action(window, "Edit", "Undo").isEnabled()
    field = window.search_field
    _click_into(qtbot, field)
    qtbot.keyClicks(field, "red")
    qtbot.keyClick(field, Qt.Key.Key_Escape)
    assert field.text() == ""
    # back into the box (as a person clicks it again), then Ctrl+Z
    _click_into(qtbot, field)
    with qtbot.waitSignal(window.controller.writes_done, timeout=10_000) as done:
        qtbot.keyClick(_focused(), Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert done.args[0].startswith("Undone")
    assert field.text() == ""  # the old query does not come back
    assert _tags_of(window.data, "Keep") == set()
    qtbot.waitUntil(lambda: not _menu_action(window, "Edit", "Undo").isEnabled(),
                    timeout=10_000)


def test_a_line_edit_with_text_history_undoes_its_own_text(qtbot, window, monkeypatch) -> None:  # noqa: ANN001
    _tag_first(qtbot, window, monkeypatch)
    field = window.search_field
    _click_into(qtbot, field)
    qtbot.keyClicks(field, "red")
    qtbot.keyClick(field, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert field.text() == ""  # its own typing, undone while it has focus
    assert len(_tags_of(window.data, "Keep")) == 1  # the decision stays
    # the grid has focus: Ctrl+Z is the library's again
    window.grid.setFocus()
    with qtbot.waitSignal(window.controller.writes_done, timeout=10_000):
        qtbot.keyClick(_focused(), Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert _tags_of(window.data, "Keep") == set()


# -- 2. one registration per shortcut; Ctrl+Q quits ---------------------------------------------

def _bindings(window) -> list[str]:  # noqa: ANN001
    keys: list[str] = []
    for shortcut in window.findChildren(QShortcut):
        keys += [k.toString() for k in shortcut.keys() if not k.isEmpty()]  # noqa: SIM118
    for action in window.findChildren(QAction):
        keys += [k.toString() for k in action.shortcuts() if not k.isEmpty()]
    return keys


def test_each_shortcut_is_registered_once_and_ctrl_q_quits(qtbot, window) -> None:  # noqa: ANN001
    keys = _bindings(window)
    assert sorted(k for k in set(keys) if keys.count(k) > 1) == []
    for standard in (QKeySequence.StandardKey.Quit, QKeySequence.StandardKey.Undo,
                     QKeySequence.StandardKey.Close, QKeySequence.StandardKey.Find):
        for seq in QKeySequence.keyBindings(standard):  # this platform's sequences
            assert keys.count(seq.toString()) == 1, seq.toString()
    assert keys.count("Ctrl+Q") == 1
    window.grid.setFocus()
    qtbot.keyClick(_focused(), Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=5_000)


# -- 3. the album page follows a rename, a delete and an undo ----------------------------------

def _sidebar_action(window, nav: tuple, text: str) -> QAction:  # noqa: ANN001
    return next(a for a in window.sidebar_menu(nav).actions() if a.text() == text)


def test_album_page_follows_rename_delete_and_undo(qtbot, window, monkeypatch) -> None:  # noqa: ANN001
    sidebar = window.sidebar
    window.grid.setFocus()
    for row in (0, 1, 2):
        window.grid.selectionModel().select(
            window.photos.index(row), window.grid.selectionModel().SelectionFlag.Select)
    monkeypatch.setattr(QInputDialog, "getItem", lambda *a, **k: ("Italy trip", True))
    with qtbot.waitSignal(window.controller.writes_done, timeout=10_000):
        next(a for a in window.grid_menu(window.selected_rows()).actions()
             if a.text() == "Add to album…").trigger()
    open_entry(qtbot, window, "album", "Italy trip")
    qtbot.waitUntil(lambda: window.photos.rowCount() == 3, timeout=10_000)
    assert window.grid_title.text() == "Italy trip"

    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("Roma 2024", True))
    with qtbot.waitSignal(window.controller.writes_done, timeout=10_000):
        _sidebar_action(window, ("album", "Italy trip", "Italy trip"), "Rename…").trigger()
    qtbot.waitUntil(lambda: sidebar.item_for("album", "Roma 2024") is not None, timeout=10_000)
    qtbot.waitUntil(lambda: window.grid_title.text() == "Roma 2024"
                    and window.photos.rowCount() == 3, timeout=10_000)
    assert window.grid_count.text() == "3 photos"
    assert sidebar.current_nav()[:2] == ("album", "Roma 2024")

    # undo the rename: the page shows the album under its old name again
    window.grid.setFocus()
    with qtbot.waitSignal(window.controller.writes_done, timeout=10_000):
        qtbot.keyClick(_focused(), Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: sidebar.item_for("album", "Italy trip") is not None
                    and sidebar.item_for("album", "Roma 2024") is None, timeout=10_000)
    qtbot.waitUntil(lambda: window.grid_title.text() == "Italy trip"
                    and window.photos.rowCount() == 3, timeout=10_000)
    assert sidebar.current_nav()[:2] == ("album", "Italy trip")

    # delete: the page says where it went (All photos), sidebar too
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    with qtbot.waitSignal(window.controller.writes_done, timeout=10_000):
        _sidebar_action(window, ("album", "Italy trip", "Italy trip"), "Delete album…").trigger()
    qtbot.waitUntil(lambda: sidebar.item_for("album", "Italy trip") is None
                    and window.photos.rowCount() == 48, timeout=10_000)
    assert window.grid_title.text() == "All photos"
    assert window.grid_count.text() == "48 photos"
    assert sidebar.current_nav()[0] == "all"


# -- 6. Esc in search goes back to the page it came from -----------------------------------------

def test_escape_in_search_returns_to_the_page_it_came_from(qtbot, window) -> None:  # noqa: ANN001
    sidebar = window.sidebar
    open_entry(qtbot, window, "clusters", "scenes")
    qtbot.waitUntil(lambda: window.clusters.rowCount() > 0, timeout=10_000)
    # open a scene, then go back to the scenes page
    view = window.cluster_page.view
    view.setFocus()
    view.setCurrentIndex(window.clusters.index(0))
    qtbot.keyClick(view, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.stack.currentWidget() is window.grid_page, timeout=5_000)
    window.grid.setFocus()
    qtbot.keyClick(_focused(), Qt.Key.Key_Left, Qt.KeyboardModifier.AltModifier)
    assert window.stack.currentWidget() is window.cluster_page
    # search from the scenes page, then Esc
    _click_into(qtbot, window.search_field)
    qtbot.keyClicks(window.search_field, "red")
    qtbot.keyClick(window.search_field, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.grid_title.text() == "Results for “red”", timeout=5_000)
    assert window.stack.currentWidget() is window.grid_page
    qtbot.keyClick(window.search_field, Qt.Key.Key_Escape)
    assert window.stack.currentWidget() is window.cluster_page
    assert sidebar.current_nav()[:2] == ("clusters", "scenes")

    # from a folder page: Esc brings the folder back, selected in the sidebar
    open_entry(qtbot, window, "all")
    qtbot.waitUntil(lambda: window.photos.rowCount() == 48, timeout=10_000)
    folder = next(e for e in sidebar.items_of("library") if e.nav[0] == "folder")
    sidebar.activate(*folder.nav[:2])
    qtbot.waitUntil(lambda: window.grid_title.text() == folder.nav[2], timeout=5_000)
    _click_into(qtbot, window.search_field)
    qtbot.keyClicks(window.search_field, "blue")
    qtbot.keyClick(window.search_field, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.grid_title.text() == "Results for “blue”", timeout=5_000)
    assert sidebar.current_nav() is None
    qtbot.keyClick(window.search_field, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: window.photos.rowCount() == 48, timeout=10_000)
    assert window.grid_title.text() == folder.nav[2]
    assert sidebar.current_nav()[:2] == folder.nav[:2]


# -- 9. the date scrubber and the sort ---------------------------------------------------------

def _date(data: Path, stems: dict[str, tuple[int, int]]) -> None:
    with Catalog(config.catalog_path(data)) as cat:
        for pid, rel in cat.query("SELECT id, rel_path FROM photos"):
            ym = stems.get(Path(rel).stem)
            if ym:
                stamp = dt.datetime(ym[0], ym[1], 10, 12).timestamp()
                cat.execute("UPDATE photos SET taken_at = ? WHERE id = ?", (stamp, pid))


def test_scrubber_click_shows_that_year_and_sort_resets_scroll(qtbot, library) -> None:  # noqa: ANN001
    stems = sorted({p.stem for p in (library.parent / "photos").glob("*.*")})
    years = {stem: (2024 - i // 12, 7 - i % 12 // 6) for i, stem in enumerate(stems)}
    _date(library, years)  # four years of twelve photos each, in two months per year
    window = make_window(qtbot, library)
    try:
        qtbot.waitUntil(lambda: window.photos.rowCount() == 48, timeout=15_000)
        grid, scrubber = window.grid, window.scrubber
        qtbot.waitUntil(lambda: [y for _f, y in scrubber.years()]
                        == ["2024", "2023", "2022", "2021"], timeout=5_000)
        line = scrubber.label_height()
        for fraction, year in scrubber.years()[1:]:
            y = int(fraction * (scrubber.height() - line)) + line // 2  # on the label
            qtbot.mouseClick(scrubber, Qt.MouseButton.LeftButton, pos=QPoint(20, y))
            top = grid.section_at(grid.verticalOffset())
            assert grid.section_tops()[top][1].endswith(year), (year, grid.section_tops()[top])
        assert grid.verticalScrollBar().value() > 0
        # another sort starts at the top
        window.sort_box.setFocus()
        with qtbot.waitSignal(window.controller.photos_ready, timeout=10_000):
            qtbot.keyClick(window.sort_box, Qt.Key.Key_Down)
        assert window.sort_box.currentData() != "taken"
        assert grid.verticalScrollBar().value() == 0
        assert names(window)  # the rows are there
    finally:
        window.shutdown()
    assert window.errors.shown == []


XCB_SCRIPT = r"""
import json, sys, tempfile
from pathlib import Path
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence, QShortcut
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication
app = QApplication(sys.argv)
from photoorg import config
from photoorg.ui.main_window import MainWindow
window = MainWindow(Path(tempfile.mkdtemp()), config.Settings(), model_spec=sys.argv[1],
                    index_mode="thread", watch=False, faces=False)
window.errors.interactive = False
keys = []
for s in window.findChildren(QShortcut):
    keys += [k.toString() for k in s.keys() if not k.isEmpty()]
for a in window.findChildren(QAction):
    keys += [k.toString() for k in a.shortcuts() if not k.isEmpty()]
window.show()
QTest.qWaitForWindowExposed(window)
window.activateWindow()
QTest.qWait(200)
QTest.keyClick(QApplication.focusWidget() or window, Qt.Key.Key_Q,
               Qt.KeyboardModifier.ControlModifier)
QTest.qWait(300)
quit_keys = [k.toString() for k in QKeySequence.keyBindings(QKeySequence.StandardKey.Quit)]
print(json.dumps({"keys": keys, "quit": quit_keys, "visible": window.isVisible()}))
window.shutdown()
"""


@pytest.mark.skipif(shutil.which("xvfb-run") is None, reason="needs xvfb-run (Xvfb)")
def test_ctrl_q_quits_on_x11_where_quit_is_ctrl_q(tmp_path) -> None:  # noqa: ANN001
    """On Linux desktops the platform's Quit *is* Ctrl+Q: registering both made the key
    ambiguous, so it did nothing. Runs the real window on an X server (xcb)."""
    from guitools import TINY

    env = {**os.environ, "QT_QPA_PLATFORM": "xcb", "PYTHONPATH": str(Path.cwd())}
    out = subprocess.run(["xvfb-run", "-a", sys.executable, "-c", XCB_SCRIPT, TINY],
                         capture_output=True, text=True, timeout=120, env=env, check=False)
    assert out.returncode == 0, out.stderr[-2000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert "Ctrl+Q" in got["quit"]  # this platform's Quit
    keys = got["keys"]
    assert [k for k in set(keys) if keys.count(k) > 1] == []
    assert keys.count("Ctrl+Q") == 1
    assert got["visible"] is False  # Ctrl+Q closed the window


# -- 8. the Duplicates page follows an undo and changes made elsewhere ------------------------

def test_duplicates_page_follows_undo_and_other_changes(qtbot, library) -> None:  # noqa: ANN001
    from test_duplicates import _copies

    _copies(library)
    window = make_window(qtbot, library)
    try:
        open_entry(qtbot, window, "duplicates")
        page = window.duplicates_page

        def groups() -> int:
            return sum(any(m.path.name == "green_star_0_big.jpg" for m in c.group.members)
                       for c in page.cards)

        qtbot.waitUntil(lambda: groups() == 1, timeout=30_000)
        card = next(c for c in page.cards
                    if any(m.path.name == "green_star_0_big.jpg" for m in c.group.members))
        ids = [m.id for m in card.group.members]
        qtbot.mouseClick(card.dismiss_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: groups() == 0, timeout=10_000)
        qtbot.waitUntil(lambda: window.undo_action.isEnabled(), timeout=10_000)
        assert window.undo_action.text().startswith("Undo: Not duplicates")
        # the card with the focused button went away: the key still reaches the window
        assert window.isAncestorOf(_focused())
        with qtbot.waitSignal(window.controller.writes_done, timeout=10_000) as undone:
            qtbot.keyClick(_focused(), Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
        assert undone.args[0].startswith("Undone: Not duplicates"), undone.args
        # the group is back on the page that is open: no need to leave and return
        qtbot.waitUntil(lambda: groups() == 1, timeout=10_000)
        assert window.stack.currentWidget() is page
        # another process (the CLI) says "not duplicates": the open page follows
        from photoorg.core.search import duplicates

        with Catalog(config.catalog_path(library)) as cat:
            duplicates.dismiss(cat, ids)
        qtbot.waitUntil(lambda: groups() == 0, timeout=15_000)
    finally:
        window.shutdown()
    assert window.errors.shown == []


# -- 4. Retry all really tries again (the window that watches its folders) --------------------

def _status(data: Path, name: str) -> tuple[str, str | None]:
    with Catalog(config.catalog_path(data), readonly=True) as cat:
        return cat.execute("SELECT status, reason FROM photos WHERE rel_path = ?",
                           (name,)).fetchone()


def test_retry_all_requeues_and_processes_the_files(qtbot, library) -> None:  # noqa: ANN001
    with Catalog(config.catalog_path(library), readonly=True) as cat:
        (root,) = cat.roots()
    (root.path / "broken.jpg").write_bytes(b"\xff\xd8\xff not really a jpeg")
    window = make_window(qtbot, library, watch=True)
    try:
        open_entry(qtbot, window, "unreadable")
        page = window.unreadable_page
        qtbot.waitUntil(lambda: page.row_count() == 1, timeout=30_000)
        assert _status(library, "broken.jpg")[0] == "skipped"
        qtbot.waitUntil(lambda: not window.controller.service.busy, timeout=30_000)
        qtbot.mouseClick(page.retry_all, Qt.MouseButton.LeftButton)
        # while it is tried again the page says so (not "every file could be read")
        qtbot.waitUntil(lambda: "again" in page.summary.text(), timeout=10_000)
        # the file is really read again: it comes back, still broken, with its reason
        qtbot.waitUntil(lambda: _status(library, "broken.jpg")[0] == "skipped", timeout=30_000)
        qtbot.waitUntil(lambda: page.row_count() == 1
                        and "could not be read" in page.summary.text(), timeout=15_000)
        qtbot.waitUntil(lambda: window.sidebar.item_for("unreadable") is not None,
                        timeout=10_000)
        # no "Can't preview" tile left in All photos
        qtbot.waitUntil(lambda: window.photos.rowCount() == 48, timeout=10_000)
    finally:
        window.shutdown()
    assert window.errors.shown == []


# -- 7. the status bar and the sidebar say the same count --------------------------------------

def test_status_bar_and_sidebar_agree_when_a_subfolder_goes_and_comes_back(
        qtbot, library, tmp_path) -> None:  # noqa: ANN001
    with Catalog(config.catalog_path(library), readonly=True) as cat:
        (root,) = cat.roots()
    trip = root.path / "trip"
    trip.mkdir()
    for photo in sorted(root.path.glob("red_*.jpg")):
        photo.rename(trip / photo.name)
    window = make_window(qtbot, library, watch=True)
    sidebar = window.sidebar

    def all_count() -> str:
        index = sidebar.item_for("all")
        return sidebar.sidebar_model.entry(index).count if index is not None else ""

    def agree(n: int) -> bool:
        return all_count() == f"{n}" and window.statusBar().currentMessage().startswith(
            f"{n} photos")

    try:
        qtbot.waitUntil(lambda: agree(48), timeout=30_000)
        away = tmp_path / "away"
        trip.rename(away)  # the subfolder is moved out of the library
        qtbot.waitUntil(lambda: all_count() == "40", timeout=60_000)
        qtbot.waitUntil(lambda: window.statusBar().currentMessage() != "", timeout=15_000)
        assert window.statusBar().currentMessage().startswith("40 photos"), \
            window.statusBar().currentMessage()
        away.rename(trip)  # and back
        qtbot.waitUntil(lambda: all_count() == "48", timeout=60_000)
        qtbot.waitUntil(lambda: window.statusBar().currentMessage() != "", timeout=15_000)
        assert window.statusBar().currentMessage().startswith("48 photos"), \
            window.statusBar().currentMessage()
    finally:
        window.shutdown()
    assert window.errors.shown == []


# -- 5. sidecars follow at once, with the user's file mode, and only beside images ----------

def _settings_dialog(qtbot, window, check) -> None:  # noqa: ANN001
    """File › Settings…, change it as a person would, OK."""
    from PySide6.QtCore import QTimer

    from photoorg.ui.views.settings import SettingsDialog

    done = []

    def act() -> None:
        dialog = QApplication.activeModalWidget()
        if not isinstance(dialog, SettingsDialog):
            QTimer.singleShot(50, act)
            return
        check(dialog)
        dialog.accept()
        done.append(True)

    QTimer.singleShot(50, act)
    _menu_action(window, "File", "Settings").trigger()
    qtbot.waitUntil(lambda: bool(done), timeout=10_000)


def test_sidecars_follow_each_decision_and_undo_at_once(qtbot, window, monkeypatch) -> None:  # noqa: ANN001
    first = Path(window.photos.path(0))
    pid = _tag_first(qtbot, window, monkeypatch, "Keep")
    xmp = first.with_name(first.name + ".xmp")
    assert not xmp.exists()  # writing is off
    with Catalog(config.catalog_path(window.data)) as cat:  # a file that is no image, tagged
        (root,) = cat.roots()
        (root.path / "table.jpg").write_bytes(b"not an image at all")
        broken = cat.add_photo(root.id, "table.jpg", 19, 1.0, None)
        cat.mark_skipped(broken, "not an image", "")
        clusters.add_tag(cat, [broken], "Keep")

    # turn writing on: the sidecar of the photo tagged before is written now, not at restart
    _settings_dialog(qtbot, window, lambda d: d.sidecars.setChecked(True))
    qtbot.waitUntil(xmp.exists, timeout=10_000)
    assert "Keep" in xmp.read_text()
    umask = os.umask(0)
    os.umask(umask)
    assert xmp.stat().st_mode & 0o777 == 0o666 & ~umask  # the user's normal mode, not 0600
    assert not (root.path / "table.jpg.xmp").exists()  # no sidecar beside a non-image

    # a second tag, then Ctrl+Z: the sidecar says it, then stops saying it, at once
    monkeypatch.setattr(QInputDialog, "getItem", lambda *a, **k: ("Second", True))
    with qtbot.waitSignal(window.controller.writes_done, timeout=10_000,
                          check_params_cb=lambda text: text == "Tagged"):
        next(a for a in window.grid_menu([window.photos.row_of_id(pid)]).actions()
             if a.text() == "Add tag…").trigger()
    assert "Second" in xmp.read_text()
    window.activateWindow()  # the settings dialog had it; a click brings it back
    qtbot.waitUntil(window.isActiveWindow, timeout=5_000)
    window.grid.setFocus()
    with qtbot.waitSignal(window.controller.writes_done, timeout=10_000):
        qtbot.keyClick(_focused(), Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    text = xmp.read_text()
    assert "Second" not in text and "Keep" in text
