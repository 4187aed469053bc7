"""The first hour's smaller findings (issue 25, item 10): undo messages in names, one "More
like these", labels beside their counts, the sidebar keeping its place, the completion popup
closing, the File/View/Help menus, album counts and the "no photo matches all of" wording."""

from __future__ import annotations

import re

from guitools import names, needs_tiny, open_entry
from PySide6.QtCore import QMimeData, QPointF, Qt
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QApplication, QInputDialog, QMessageBox, QStyleOptionViewItem

pytestmark = needs_tiny


def _focused():  # noqa: ANN202
    widget = QApplication.focusWidget()
    assert widget is not None
    return widget


def _menu(window, title: str):  # noqa: ANN001, ANN202
    return next(a.menu() for a in window.menuBar().actions()
                if a.text().replace("&", "") == title)


def _texts(menu) -> list[str]:  # noqa: ANN001
    return [a.text() for a in menu.actions() if not a.isSeparator()]


def test_menu_bar_has_file_edit_view_help(qtbot, window) -> None:  # noqa: ANN001
    assert [a.text().replace("&", "") for a in window.menuBar().actions()] == [
        "File", "Edit", "View", "Help"]
    assert _texts(_menu(window, "File")) == ["Add folder…", "Settings…", "Quit"]
    assert _texts(_menu(window, "Edit"))[0] == "Undo"
    view = _menu(window, "View")
    assert _texts(view)[:3] == ["Sort by", "Bigger thumbnails", "Smaller thumbnails"]
    assert "Full screen" in _texts(view)
    assert _texts(_menu(window, "Help")) == ["Keyboard shortcuts", "Open the log folder",
                                             "Open the data folder", "About photoorg"]
    # View › Sort by › Name: the grid re-sorts, the toolbar's box says so
    sort = next(a.menu() for a in view.actions() if a.text() == "Sort by")
    by_name = next(a for a in sort.actions() if a.data() == "name")
    with qtbot.waitSignal(window.controller.photos_ready, timeout=10_000):
        by_name.trigger()
    assert window.sort_box.currentData() == "name"
    got = names(window)
    assert got == sorted(got, key=str.casefold)
    # View › Bigger thumbnails (Ctrl++ on the grid)
    before = window.zoom.value()
    window.grid.setFocus()
    qtbot.keyClick(_focused(), Qt.Key.Key_Plus, Qt.KeyboardModifier.ControlModifier)
    assert window.zoom.value() > before
    # Help › Keyboard shortcuts opens a dialog that lists them
    next(a for a in _menu(window, "Help").actions() if a.text() == "Keyboard shortcuts").trigger()
    dialog = window.findChild(QMessageBox, "shortcutsDialog")
    assert dialog is not None and dialog.isVisible() and "Ctrl+Z" in dialog.text()
    dialog.close()


def test_undo_messages_name_things_not_internal_ids(qtbot, window) -> None:  # noqa: ANN001
    open_entry(qtbot, window, "clusters", "scenes")
    qtbot.waitUntil(lambda: window.clusters.rowCount() >= 2, timeout=10_000)
    first, second = window.clusters.cluster(0), window.clusters.cluster(1)
    assert first.name is None and second.name is None  # unnamed scenes
    merge = next(a for a in window.cluster_menu([0, 1]).actions() if a.text().startswith("Merge"))
    with qtbot.waitSignal(window.controller.writes_done, timeout=10_000):
        merge.trigger()
    qtbot.waitUntil(lambda: window.undo_action.text().startswith("Undo: Merge"), timeout=10_000)
    text = window.undo_action.text()
    assert not re.search(rf"\(({first.id}|{second.id})\)", text), text
    assert "unnamed scene (" in text and "photos)" in text, text
    # "Not in this group" on a photo of a scene: the undo names the file
    window.cluster_page.view.setFocus()
    window.cluster_page.view.setCurrentIndex(window.clusters.index(0))
    qtbot.keyClick(window.cluster_page.view, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.stack.currentWidget() is window.grid_page
                    and window.photos.rowCount() > 0, timeout=10_000)
    name = names(window)[0]
    reject = next(a for a in window.grid_menu([0]).actions() if a.text().startswith("Not "))
    with qtbot.waitSignal(window.controller.writes_done, timeout=10_000):
        reject.trigger()
    qtbot.waitUntil(lambda: f"{name}.jpg" in window.undo_action.text(), timeout=10_000)
    assert "photo " not in window.undo_action.text()


def test_more_like_these_once_in_a_multi_select_menu(qtbot, window) -> None:  # noqa: ANN001
    qtbot.waitUntil(lambda: window.controller.model_ready, timeout=15_000)
    rows = [names(window).index(n) for n in ("red_circle_0", "red_square_0")]
    more = next(a for a in window.grid_menu(rows).actions() if a.text() == "More like these")
    with qtbot.waitSignal(window.controller.photos_ready, timeout=15_000):
        more.trigger()
    labels = [a.text() for a in window.grid_menu([0, 1]).actions()]
    assert labels.count("More like these") == 1, labels
    assert "Less like these" in labels


def _drop(window, kind: str, arg: str, rows: list[int]) -> None:  # noqa: ANN001
    sidebar = window.sidebar
    index = sidebar.item_for(kind, arg)
    pos = sidebar.visualRect(index).center()
    mime: QMimeData = window.photos.mimeData([window.photos.index(r) for r in rows])
    event = QDropEvent(QPointF(pos), Qt.DropAction.CopyAction, mime,
                       Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    sidebar.dropEvent(event)
    assert event.isAccepted()


def test_albums_show_counts_labels_keep_clear_and_the_sidebar_stays_put(
        qtbot, window, monkeypatch) -> None:  # noqa: ANN001
    sidebar = window.sidebar
    long_name = "Summer holidays with the whole family at the seaside"
    for i, album in enumerate(("Italy trip", "Garden", "Birthdays", "Snow", long_name)):
        monkeypatch.setattr(QInputDialog, "getItem", lambda *a, _n=album, **k: (_n, True))
        with qtbot.waitSignal(window.controller.writes_done, timeout=10_000):
            next(a for a in window.grid_menu([i, i + 10, i + 20]).actions()
                 if a.text() == "Add to album…").trigger()
    qtbot.waitUntil(lambda: sidebar.item_for("album", long_name) is not None, timeout=10_000)
    entry = sidebar.sidebar_model.entry(sidebar.item_for("album", "Italy trip"))
    assert entry.count == "3"  # as many as its page shows
    open_entry(qtbot, window, "album", "Italy trip")
    qtbot.waitUntil(lambda: window.photos.rowCount() == 3, timeout=10_000)
    open_entry(qtbot, window, "all")
    qtbot.waitUntil(lambda: window.photos.rowCount() == 48, timeout=10_000)

    # a long name is elided before its count, not drawn under it
    index = sidebar.item_for("album", long_name)
    option = QStyleOptionViewItem()
    sidebar.initViewItemOption(option)
    option.rect = sidebar.visualRect(index)
    delegate = sidebar.itemDelegate()
    label, count = delegate.label_rect(option, index), delegate.count_rect(option, index)
    assert not count.isNull() and not label.intersects(count)
    assert label.right() < count.left()

    # a drop on an album low in a short sidebar keeps the sidebar where it was
    window.resize(1100, 420)
    qtbot.waitUntil(lambda: sidebar.verticalScrollBar().maximum() > 0, timeout=5_000)
    bar = sidebar.verticalScrollBar()
    bar.setValue(bar.maximum())  # scrolled down to the albums, as a person does
    scroll = bar.value()
    assert sidebar.viewport().rect().contains(
        sidebar.visualRect(sidebar.item_for("album", "Snow")).center())
    assert scroll > 0
    with qtbot.waitSignal(window.controller.overview_ready, timeout=10_000):
        _drop(window, "album", "Snow", [30, 31])
    qtbot.waitUntil(lambda: sidebar.sidebar_model.entry(sidebar.item_for("album", "Snow")).count
                    == "5", timeout=10_000)
    assert sidebar.verticalScrollBar().value() == scroll


def test_completion_popup_closes_and_all_of_wording(qtbot, window, monkeypatch) -> None:  # noqa: ANN001
    rows = {n: i for i, n in enumerate(names(window))}
    for tag, photo in (("Angelina", "red_circle_0"), ("Rome", "blue_square_0")):
        monkeypatch.setattr(QInputDialog, "getItem", lambda *a, _t=tag, **k: (_t, True))
        with qtbot.waitSignal(window.controller.writes_done, timeout=10_000):
            next(a for a in window.grid_menu([rows[photo]]).actions()
                 if a.text() == "Add tag…").trigger()
    qtbot.waitUntil(lambda: "Angelina" in window.suggestions.stringList()
                    and "Rome" in window.suggestions.stringList(), timeout=10_000)
    qtbot.waitUntil(lambda: window.controller.model_ready, timeout=15_000)
    field = window.search_field
    field.setFocus()
    qtbot.keyClicks(field, "Ang")
    qtbot.waitUntil(lambda: window.completer.popup().isVisible(), timeout=5_000)
    qtbot.keyClick(window.completer.popup(), Qt.Key.Key_Down)
    qtbot.keyClick(window.completer.popup(), Qt.Key.Key_Return)
    assert field.text() == "Angelina"
    assert not window.completer.popup().isVisible()  # the results are not under it
    qtbot.waitUntil(lambda: window.grid_title.text() == "Results for “Angelina”",
                    timeout=10_000)
    # both names, no photo with both: said in words, not 20 silent look-alikes
    field.setText("Angelina Rome")
    qtbot.keyClick(field, Qt.Key.Key_Return)
    assert not window.completer.popup().isVisible()
    qtbot.waitUntil(lambda: window.grid_count.text().startswith(
        "No photo matches all of: Angelina, Rome"), timeout=15_000)


def test_events_show_cover_thumbnails(qtbot, library) -> None:  # noqa: ANN001
    from guitools import make_window
    from PIL import Image

    photos = library.parent / "photos"
    for k in range(4):
        exif = Image.Exif()
        exif.get_ifd(0x8769)[0x9003] = f"2023:06:03 1{k}:15:00"
        Image.new("RGB", (96, 64), (50 * k, 120, 90)).save(photos / f"party_{k}.jpg", exif=exif)
    window = make_window(qtbot, library)
    try:
        qtbot.waitUntil(lambda: window.photos.rowCount() == 52, timeout=30_000)
        open_entry(qtbot, window, "events", None)
        page = window.events_page
        qtbot.waitUntil(lambda: page.row_count() == 1, timeout=15_000)
        item = page.table.topLevelItem(0)
        assert item.text(0) == "Saturday 3 June 2023"
        assert not item.icon(0).isNull()
        qtbot.waitUntil(lambda: page.cover_count(0) == 3, timeout=15_000)  # three photos shown
        shown = item.icon(0).pixmap(page.table.iconSize()).toImage()
        assert shown.pixelColor(10, 10).alpha() == 255  # a photo drawn, not the placeholder
    finally:
        window.shutdown()
    assert window.errors.shown == []
