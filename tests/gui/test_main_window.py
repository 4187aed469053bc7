"""The main window on a real, indexed library: search, find similar, clusters, viewer, keys."""

from __future__ import annotations

from pathlib import Path

from guitools import names, needs_tiny, open_entry
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication

from photoorg import config
from photoorg.core.store.catalog import Catalog

pytestmark = needs_tiny


def _search(qtbot, window, text: str) -> None:  # noqa: ANN001
    with qtbot.waitSignal(window.controller.photos_ready, timeout=15_000):
        window.search_field.setText(text)  # results as you type (debounced)
    qtbot.waitUntil(lambda: window.photos.photos.scores is not None, timeout=5_000)


def test_typing_a_query_shows_red_circles_first(qtbot, window) -> None:  # noqa: ANN001
    qtbot.keyClick(window, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert window.search_field.hasFocus()
    _search(qtbot, window, "a photo of a red circle")
    top = names(window, 2)
    assert all(n.startswith("red_circle") for n in top), names(window, 6)
    assert window.grid_title.text() == "Results for “a photo of a red circle”"
    scores = window.photos.photos.scores
    assert scores == sorted(scores, reverse=True)
    # Esc clears the search and brings all photos back
    window.search_field.setFocus()
    with qtbot.waitSignal(window.controller.photos_ready, timeout=10_000):
        qtbot.keyClick(window.search_field, Qt.Key.Key_Escape)
    assert window.photos.rowCount() == 48 and window.photos.photos.scores is None


def test_typing_fast_only_the_last_query_lands(qtbot, window) -> None:  # noqa: ANN001
    for text in ("a photo of a bl", "a photo of a blue sq", "a photo of a green star"):
        window.search_field.setText(text)
        qtbot.wait(30)
    qtbot.waitUntil(lambda: window.photos.photos.scores is not None
                    and window.grid_title.text().endswith("green star”"), timeout=15_000)
    qtbot.wait(300)  # nothing stale may arrive after the newest answer
    assert window.grid_title.text().endswith("green star”")
    assert all(n.startswith("green_star") for n in names(window, 2)), names(window, 5)


def test_right_click_find_similar(qtbot, window) -> None:  # noqa: ANN001
    qtbot.waitUntil(lambda: window.controller.model_ready, timeout=15_000)
    row = names(window).index("red_circle_0")
    window.grid.setCurrentIndex(window.photos.index(row))
    menu = window.grid_menu([row])
    labels = [a.text() for a in menu.actions() if a.text()]
    assert labels[:5] == ["Find similar", "Open", "Show in folder", "Copy path", "Add tag…"]
    similar = next(a for a in menu.actions() if a.text() == "Find similar")
    assert similar.isEnabled()
    with qtbot.waitSignal(window.controller.photos_ready, timeout=15_000):
        similar.trigger()
    order = names(window, 4)
    assert order[:2] == ["red_circle_0", "red_circle_1"], order  # itself, then its twin
    assert window.grid_title.text().startswith("Similar to red_circle_0")


def test_copy_path_and_multi_select(qtbot, window) -> None:  # noqa: ANN001
    window.grid.setFocus()
    qtbot.keyClick(window.grid, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    assert len(window.grid.selected_rows()) == 48
    rows = [0, 1, 2]
    menu = window.grid_menu(rows)
    copy = next(a for a in menu.actions() if a.text() == "Copy 3 paths")
    copy.trigger()
    copied = QGuiApplication.clipboard().text().splitlines()
    assert copied == [window.photos.path(r) for r in rows]


def test_add_tag_from_menu(qtbot, window, monkeypatch) -> None:  # noqa: ANN001
    from PySide6.QtWidgets import QInputDialog

    monkeypatch.setattr(QInputDialog, "getItem", lambda *a, **k: ("holiday", True))
    rows = [names(window).index("red_star_0"), names(window).index("red_star_1")]
    with qtbot.waitSignal(window.controller.writes_done, timeout=10_000):
        next(a for a in window.grid_menu(rows).actions() if a.text() == "Add tag…").trigger()
    qtbot.waitUntil(lambda: window.sidebar.item_for("tag", "holiday") is not None,
                    timeout=10_000)
    window.sidebar.activate("tag", "holiday")
    qtbot.waitUntil(lambda: window.photos.rowCount() == 2, timeout=10_000)
    assert sorted(names(window)) == ["red_star_0", "red_star_1"]


def test_rename_a_cluster_tags_its_photos(qtbot, window) -> None:  # noqa: ANN001
    open_entry(qtbot, window, "clusters", "scenes")
    assert window.stack.currentWidget() is window.cluster_page
    qtbot.waitUntil(lambda: window.clusters.rowCount() > 0, timeout=10_000)
    cluster = window.clusters.cluster(0)
    index = window.clusters.index(0)
    # inline rename: the editor opens on the card's name, Enter commits
    view = window.cluster_page.view
    view.edit(index)
    editor = QApplication.focusWidget()
    assert editor is not None and editor is not view
    editor.setText("Shapes I like")
    with qtbot.waitSignal(window.controller.writes_done, timeout=10_000):
        qtbot.keyClick(editor, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.clusters.rowCount() > 0
                    and window.clusters.cluster(0).title == "Shapes I like", timeout=10_000)
    # its photos carry the tag: open the cluster, then the viewer's tags
    window._open_cluster(window.clusters.index(window.clusters.row_of_id(cluster.id)))
    qtbot.waitUntil(lambda: window.photos.rowCount() == cluster.count, timeout=10_000)
    window.open_viewer(window.photos.index(0))
    qtbot.waitUntil(lambda: "Scenes › Shapes I like" in window.viewer.fields["tags"].text(),
                    timeout=10_000)
    # and the tag is in the sidebar
    qtbot.waitUntil(lambda: window.sidebar.item_for("tag", "Scenes|Shapes I like") is not None,
                    timeout=10_000)


def test_merge_and_hide_clusters(qtbot, window) -> None:  # noqa: ANN001
    window.show_clusters("scenes")
    qtbot.waitUntil(lambda: window.clusters.rowCount() >= 2, timeout=10_000)
    before = window.clusters.rowCount()
    first, second = window.clusters.cluster(0), window.clusters.cluster(1)
    # drag-and-drop merge goes through the model's drop handler
    mime = window.clusters.mimeData([window.clusters.index(1)])
    assert window.clusters.canDropMimeData(mime, Qt.DropAction.MoveAction, -1, -1,
                                           window.clusters.index(0))
    with qtbot.waitSignal(window.controller.writes_done, timeout=10_000):
        window.clusters.dropMimeData(mime, Qt.DropAction.MoveAction, -1, -1,
                                     window.clusters.index(0))
    qtbot.waitUntil(lambda: window.clusters.rowCount() == before - 1, timeout=10_000)
    merged = window.clusters.cluster(window.clusters.row_of_id(first.id))
    assert merged.count == first.count + second.count
    hide = next(a for a in window.cluster_menu([0]).actions() if a.text() == "Hide")
    with qtbot.waitSignal(window.controller.writes_done, timeout=10_000):
        hide.trigger()
    qtbot.waitUntil(lambda: window.clusters.rowCount() == before - 2, timeout=10_000)


def test_not_this_one_removes_photos_from_a_cluster(qtbot, window) -> None:  # noqa: ANN001
    window.show_clusters("scenes")
    qtbot.waitUntil(lambda: window.clusters.rowCount() > 0, timeout=10_000)
    info = window.clusters.cluster(0)
    window._open_cluster(window.clusters.index(0))
    qtbot.waitUntil(lambda: window.photos.rowCount() == info.count, timeout=10_000)
    menu = window.grid_menu([0])
    reject = next(a for a in menu.actions() if a.text().startswith("Not "))
    gone = window.photos.photo_id(0)
    with qtbot.waitSignal(window.controller.writes_done, timeout=10_000):
        reject.trigger()
    qtbot.waitUntil(lambda: window.photos.rowCount() == info.count - 1, timeout=10_000)
    assert gone not in window.photos.photos.ids


def test_viewer_opens_moves_and_goes_back(qtbot, window) -> None:  # noqa: ANN001
    window.grid.setFocus()
    window.grid.setCurrentIndex(window.photos.index(3))
    qtbot.keyClick(window.grid, Qt.Key.Key_Return)
    assert window.stack.currentWidget() is window.viewer
    assert window.viewer.photo_id == window.photos.photo_id(3)
    qtbot.waitUntil(lambda: window.viewer.fields["dimensions"].text() != "—", timeout=10_000)
    assert "256 × 256" in window.viewer.fields["dimensions"].text()
    qtbot.waitUntil(window.viewer.canvas.has_pixmap, timeout=10_000)
    qtbot.keyClick(window.viewer, Qt.Key.Key_Right)
    assert window.viewer.photo_id == window.photos.photo_id(4)
    qtbot.keyClick(window.viewer, Qt.Key.Key_Left)
    qtbot.keyClick(window.viewer, Qt.Key.Key_Left)
    assert window.viewer.photo_id == window.photos.photo_id(2)
    qtbot.keyClick(window.viewer, Qt.Key.Key_Escape)
    assert window.stack.currentWidget() is window.grid_page
    assert window.grid.currentIndex().row() == 2
    # double-click opens too
    rect = window.grid.visualRect(window.photos.index(0))
    qtbot.mouseClick(window.grid.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.mouseDClick(window.grid.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert window.stack.currentWidget() is window.viewer


def test_thumbnails_load_lazily_into_the_disk_cache(qtbot, window) -> None:  # noqa: ANN001
    store = window.controller.thumbs
    qtbot.waitUntil(lambda: window.photos.data(window.photos.index(0),
                                               Qt.ItemDataRole.DecorationRole) is not None,
                    timeout=10_000)
    cached = list(config.thumbnail_dir(window.data).rglob("*.jpg"))
    assert 0 < len(cached) < 48  # only what was on screen
    assert store.requests < 48 * 2


def test_folder_status_in_sidebar(qtbot, window) -> None:  # noqa: ANN001
    def folders() -> list:
        return [e for e in window.sidebar.items_of("library") if e.nav[0] == "folder"]

    qtbot.waitUntil(lambda: len(folders()) == 1, timeout=10_000)
    folder = folders()[0]
    assert folder.text == "photos" and window.sidebar.count_of(folder) == "48"
    window.sidebar.activate("folder", folder.nav[1])
    qtbot.waitUntil(lambda: window.grid_title.text() == "photos", timeout=5_000)
    assert window.photos.rowCount() == 48


def test_show_in_folder_uses_the_platform_file_manager(monkeypatch) -> None:  # noqa: ANN001
    from photoorg.ui import desktop

    calls = []
    monkeypatch.setattr(desktop.QProcess, "startDetached", lambda *a: calls.append(a) or (True, 1))
    monkeypatch.setattr(desktop, "_freedesktop_show_items", lambda path: False)
    monkeypatch.setattr(desktop.QDesktopServices, "openUrl", lambda url: calls.append(url) or True)
    for platform, expected in (("win32", "explorer.exe"), ("darwin", "open")):
        monkeypatch.setattr(desktop.sys, "platform", platform)
        calls.clear()
        assert desktop.show_in_folder("/photos/a.jpg")
        assert calls[0][0] == expected
    monkeypatch.setattr(desktop.sys, "platform", "linux")
    calls.clear()
    desktop.show_in_folder("/photos/a.jpg")
    assert calls[0].toLocalFile() == "/photos"


def test_catalog_is_never_written_by_the_gui_thread(qtbot, window, monkeypatch) -> None:  # noqa: ANN001
    import threading

    main = threading.main_thread()
    writes = []
    original = Catalog.execute

    def spy(self, sql, params=()):  # noqa: ANN001, ANN202
        if threading.current_thread() is main and not sql.lstrip().upper().startswith(
                ("SELECT", "PRAGMA", "WITH")):
            writes.append(sql)
        return original(self, sql, params)

    monkeypatch.setattr(Catalog, "execute", spy)
    _search(qtbot, window, "a photo of a yellow star")
    window.show_clusters("scenes")
    qtbot.waitUntil(lambda: window.clusters.rowCount() > 0, timeout=10_000)
    assert writes == []


def test_thumbnail_size_zoom(qtbot, window) -> None:  # noqa: ANN001
    window.zoom.setValue(120)
    assert window.grid.delegate.thumb == 120
    window.grid.set_thumb_size(10_000)
    assert window.zoom.value() == window.grid.delegate.thumb == 320


def test_log_file_is_written(window) -> None:  # noqa: ANN001
    from photoorg.ui.errors import setup_file_logging

    path = setup_file_logging(config.log_dir(window.data))
    import logging

    logging.getLogger("photoorg.ui").warning("hello from the test")
    for handler in logging.getLogger().handlers:
        handler.flush()
    assert "hello from the test" in Path(path).read_text(encoding="utf-8")
    for handler in list(logging.getLogger().handlers):
        if getattr(handler, "baseFilename", None) == str(path):
            logging.getLogger().removeHandler(handler)
            handler.close()


def test_leaving_while_typing_drops_the_pending_search(qtbot, window) -> None:  # noqa: ANN001
    window.search_field.setText("a photo of a red")  # debounce still pending...
    window.show_clusters("scenes")  # ...when the user goes elsewhere
    qtbot.wait(500)
    assert window.stack.currentWidget() is window.cluster_page
    assert window.sidebar.current_nav()[:2] == ("clusters", "scenes")
    assert window.controller.search_text == "" and window.search_field.text() == ""


def second_default(room) -> object:  # noqa: ANN001
    """The size a window gets the first time (what remembering must differ from)."""
    from PySide6.QtCore import QSize

    return QSize(min(1280, int(room.width() * 0.92)), min(820, int(room.height() * 0.92)))


def test_window_fits_the_screen_then_remembers_its_size(qtbot, library: Path) -> None:  # noqa: ANN001
    from photoorg.ui.main_window import MainWindow

    def open_window() -> MainWindow:
        win = MainWindow(library, config.Settings(), model_spec="photoorg-tiny/bundled",
                         index_mode="thread", watch=False, faces=False)
        win.errors.interactive = False
        qtbot.addWidget(win)
        return win

    room = QGuiApplication.primaryScreen().availableGeometry()
    first = open_window()
    assert first.width() <= room.width() and first.height() <= room.height()
    first.show()
    first.resize(760, 520)  # the offscreen screen is 800 x 800
    qtbot.wait(50)
    default_sidebar = first.splitter.sizes()[0]
    first.splitter.setSizes([default_sidebar - 15, 760 - default_sidebar + 15])
    qtbot.wait(50)
    size, sidebar = first.size(), first.splitter.sizes()[0]
    assert size != second_default(room) and sidebar < default_sidebar
    first.close()  # saves
    second = open_window()
    second.show()
    qtbot.wait(50)
    try:
        assert second.size() == size
        assert second.splitter.sizes()[0] == sidebar
    finally:
        second.shutdown()


def test_viewer_keeps_its_place_when_photos_arrive(qtbot, window, library: Path) -> None:  # noqa: ANN001
    """The indexer adds a photo above the one being viewed: the arrows still go to the
    photo's neighbours, and Esc returns to it."""
    from PIL import Image

    window.grid.setFocus()
    window.grid.setCurrentIndex(window.photos.index(3))
    qtbot.keyClick(window.grid, Qt.Key.Key_Return)
    shown, after = window.viewer.photo_id, window.photos.photo_id(4)
    Image.new("RGB", (64, 64), (250, 250, 250)).save(library.parent / "photos" / "new.jpg")
    window.controller.service.rescan()
    qtbot.waitUntil(lambda: window.photos.rowCount() == 49, timeout=30_000)
    assert window.photos.row_of_id(shown) == 4  # the new photo came in above it
    assert window.viewer.position.text() == "5 of 49"
    qtbot.keyClick(window.viewer, Qt.Key.Key_Right)
    assert window.viewer.photo_id == after
    qtbot.keyClick(window.viewer, Qt.Key.Key_Left)
    qtbot.keyClick(window.viewer, Qt.Key.Key_Escape)
    assert window.photos.photo_id(window.grid.currentIndex().row()) == shown
