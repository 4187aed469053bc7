"""Helpers shared by the GUI tests (fixtures live in ``conftest.py``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from photoorg import config

TINY = "photoorg-tiny/bundled"


def tiny_available() -> bool:
    """Whether the bundled tiny model is here (a file check: torch stays unloaded)."""
    from photoorg.core.models.embedder import TINY_WEIGHTS, bundled_model_dir

    folder = bundled_model_dir()
    return (folder / TINY_WEIGHTS).is_file() and (folder / "photoorg-tiny.json").is_file()


needs_tiny = pytest.mark.skipif(not tiny_available(),
                                reason="bundled tiny model missing (tools/train_tiny_model.py)")


def make_window(qtbot, data: Path, **kwargs):  # noqa: ANN001, ANN201
    from photoorg.ui.main_window import MainWindow

    kwargs.setdefault("model_spec", TINY)
    kwargs.setdefault("index_mode", "thread")
    kwargs.setdefault("watch", False)
    kwargs.setdefault("faces", False)
    window = MainWindow(data, config.Settings(), **kwargs)
    window.errors.interactive = False
    qtbot.addWidget(window)
    window.resize(1100, 760)
    window.show()
    return window


def names(window, limit: int | None = None) -> list[str]:  # noqa: ANN001
    paths = window.photos.photos.paths[:limit]
    return [Path(p).stem for p in paths]


def open_entry(qtbot, window, kind: str, arg=None) -> None:  # noqa: ANN001
    """Click a sidebar entry once it exists: entries come with the window's first overview,
    which a loaded machine may deliver after the grid's rows."""
    qtbot.waitUntil(lambda: window.sidebar.item_for(kind, arg) is not None, timeout=20_000)
    window.sidebar.activate(kind, arg)


def open_by_keys(qtbot, window, row: int):  # noqa: ANN001, ANN201
    """Open the grid's ``row`` as a person does: focus the grid, arrow right from the first
    photo, Enter; returns the viewer once it is on screen."""
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    grid = window.grid
    grid.setFocus()
    qtbot.waitUntil(grid.hasFocus)
    grid.setCurrentIndex(window.photos.index(0))
    for _ in range(row):
        QTest.keyClick(grid, Qt.Key.Key_Right)
    assert grid.currentIndex().row() == row
    QTest.keyClick(grid, Qt.Key.Key_Return)
    viewer = window.viewer
    qtbot.waitUntil(lambda: window.stack.currentWidget() is viewer)
    return viewer
