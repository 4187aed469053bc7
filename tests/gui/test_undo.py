"""The window: merging two named groups asks first, and Edit › Undo (Ctrl+Z) undoes the
last decision, also after the window was closed and opened again."""

from __future__ import annotations

from pathlib import Path

from guitools import make_window
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from photoorg import config
from photoorg.core.groups import clusters
from photoorg.core.store.catalog import Catalog


def _name_two_scenes(library: Path) -> tuple[int, int]:
    with Catalog(config.catalog_path(library)) as cat:
        first, second = clusters.list_clusters(cat, "scenes")[:2]
        cat.execute("UPDATE clusters SET name = 'Beach' WHERE id = ?", (first.id,))
        cat.execute("UPDATE clusters SET name = 'Garden' WHERE id = ?", (second.id,))
    return first.id, second.id


def _merge_by_drop(window, source: int, target: int) -> None:  # noqa: ANN001
    model = window.clusters
    mime = model.mimeData([model.index(model.row_of_id(source))])
    model.dropMimeData(mime, Qt.DropAction.MoveAction, -1, -1,
                       model.index(model.row_of_id(target)))


def test_merge_named_asks_and_ctrl_z_undoes_after_restart(qtbot, library: Path,  # noqa: ANN001
                                                          monkeypatch) -> None:  # noqa: ANN001
    beach, garden = _name_two_scenes(library)
    window = make_window(qtbot, library)
    window.show_clusters("scenes")
    qtbot.waitUntil(lambda: window.clusters.row_of_id(garden) is not None, timeout=15_000)
    count = window.clusters.rowCount()
    asked: list[str] = []

    def answer(reply: QMessageBox.StandardButton):  # noqa: ANN202
        def question(_parent, _title, text, *_a, **_k):  # noqa: ANN001, ANN202
            asked.append(text)
            return reply
        return question

    monkeypatch.setattr(QMessageBox, "question", answer(QMessageBox.StandardButton.Cancel))
    _merge_by_drop(window, garden, beach)
    assert asked and "“Beach”" in asked[0] and "“Garden”" in asked[0]
    qtbot.wait(300)
    assert window.clusters.rowCount() == count  # declined: nothing merged

    monkeypatch.setattr(QMessageBox, "question", answer(QMessageBox.StandardButton.Yes))
    with qtbot.waitSignal(window.controller.writes_done, timeout=10_000):
        _merge_by_drop(window, garden, beach)
    qtbot.waitUntil(lambda: window.clusters.rowCount() == count - 1, timeout=10_000)
    qtbot.waitUntil(lambda: window.undo_action.isEnabled(), timeout=10_000)
    assert window.undo_action.text() == "Undo: Merge “Garden” into “Beach”"
    window.shutdown()

    # a restart: the journal is in the catalog
    again = make_window(qtbot, library)
    qtbot.waitUntil(lambda: again.undo_action.isEnabled(), timeout=15_000)
    again.show_clusters("scenes")
    qtbot.waitUntil(lambda: again.clusters.rowCount() == count - 1, timeout=15_000)
    again.grid.setFocus()
    with qtbot.waitSignal(again.controller.writes_done, timeout=10_000) as done:
        qtbot.keyClick(again, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert done.args == ["Undone: Merge “Garden” into “Beach”"]
    qtbot.waitUntil(lambda: again.clusters.rowCount() == count, timeout=10_000)
    assert again.clusters.row_of_id(garden) is not None
    with Catalog(config.catalog_path(library)) as cat:
        assert clusters.get_cluster(cat, garden).name == "Garden"
    again.shutdown()
    assert again.errors.shown == []


def test_a_damaged_catalog_is_offered_its_backup(qtbot, library: Path,  # noqa: ANN001
                                                 monkeypatch) -> None:  # noqa: ANN001
    from photoorg.core.store import backup

    beach, garden = _name_two_scenes(library)
    with Catalog(config.catalog_path(library)) as cat:
        clusters.add_tag(cat, [1, 2, 3], "Favourites")
        tags = clusters.all_tags(cat)
    backup.make_backup(config.catalog_path(library), library)
    with open(config.catalog_path(library), "r+b") as fh:  # the disk let us down
        fh.write(b"garbage" * 20)
    offered: list[str] = []

    def accept(_parent, title, text, *_a, **_k):  # noqa: ANN001, ANN202
        offered.append(f"{title}: {text}")
        return QMessageBox.StandardButton.Yes

    monkeypatch.setattr(QMessageBox, "question", accept)
    window = make_window(qtbot, library)
    assert offered and "damaged" in offered[0]
    qtbot.waitUntil(lambda: window.photos.rowCount() == 48, timeout=15_000)
    qtbot.waitUntil(lambda: window.sidebar.item_for("tag", "Favourites") is not None,
                    timeout=10_000)
    window.shutdown()
    assert window.errors.shown == []
    with Catalog(config.catalog_path(library)) as cat:  # nothing made before the backup lost
        assert clusters.all_tags(cat) == tags
        assert clusters.get_cluster(cat, beach).name == "Beach"
        assert clusters.get_cluster(cat, garden).name == "Garden"


def test_missing_photos_shown_forgotten_and_a_backup_restored(qtbot, library: Path,  # noqa: ANN001
                                                              monkeypatch) -> None:  # noqa: ANN001
    """A photo moved out of the library leaves All photos (kept, missing) and its folder
    shows as missing; Edit › Forget missing photos asks, then forgets; Edit › Restore a
    catalog backup brings the catalog of the backup back at the next start."""
    import shutil

    from photoorg.core.ingest.scanner import scan_library
    from photoorg.core.store import backup, missing

    photos = library.parent / "photos"
    sub = photos / "trip"
    sub.mkdir()
    first = sorted(photos.glob("*.jpg"))[:2]
    for path in first:
        shutil.move(path, sub / path.name)
    with Catalog(config.catalog_path(library)) as cat:
        scan_library(cat)
        backup.make_backup(config.catalog_path(library), library)
        shutil.move(sub, library.parent / "away")  # the subfolder leaves
        scan_library(cat)
        assert missing.count_missing(cat) == 2
    window = make_window(qtbot, library)
    qtbot.waitUntil(lambda: window.photos.rowCount() == 46, timeout=15_000)
    qtbot.waitUntil(lambda: window._missing == 2, timeout=10_000)
    model = window.sidebar.sidebar_model
    entries = [model.entry(i) for i in _all_indexes(window.sidebar)]
    assert ("trip", "missing") in [(e.text, e.count) for e in entries if e is not None]

    asked: list[str] = []

    def yes(_parent, _title, text, *_a, **_k):  # noqa: ANN001, ANN202
        asked.append(text)
        return QMessageBox.StandardButton.Yes

    monkeypatch.setattr(QMessageBox, "question", yes)
    with qtbot.waitSignal(window.controller.writes_done, timeout=10_000):
        window.forget_missing_action.trigger()
    assert "2 photos" in asked[0]
    with Catalog(config.catalog_path(library)) as cat:
        assert missing.count_missing(cat) == 0
        assert cat.scalar("SELECT COUNT(*) FROM photos") == 46

    from PySide6.QtWidgets import QInputDialog

    monkeypatch.setattr(QInputDialog, "getItem", lambda _p, _t, _l, items, *a, **k:
                        (items[0], True))
    window.restore_action.trigger()  # the window closes; the next start restores
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=10_000)
    again = make_window(qtbot, library)
    qtbot.waitUntil(lambda: again.photos.rowCount() == 48, timeout=15_000)
    again.shutdown()
    assert again.errors.shown == [] and window.errors.shown == []


def _all_indexes(view) -> list:  # noqa: ANN001
    model = view.sidebar_model
    out, stack = [], [model.index(r, 0) for r in range(model.rowCount())]
    while stack:
        index = stack.pop()
        out.append(index)
        stack += [model.index(r, 0, index) for r in range(model.rowCount(index))]
    return out
