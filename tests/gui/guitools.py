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
