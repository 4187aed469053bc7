"""The window's indexing service lets its models go when nothing is indexed or searched
(issue 26); a search typed afterwards loads them again and still finds the right photos."""

from __future__ import annotations

from pathlib import Path

import pytest
from guitools import make_window, names, needs_tiny
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

pytestmark = needs_tiny


def _type_search(qtbot, window, text: str) -> None:  # noqa: ANN001
    QTest.keyClick(window, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)  # Ctrl+F
    qtbot.waitUntil(window.search_field.hasFocus, timeout=5_000)
    field = window.search_field
    field.selectAll()
    QTest.keyClick(field, Qt.Key.Key_Delete)
    with qtbot.waitSignal(window.controller.photos_ready, timeout=60_000):
        QTest.keyClicks(field, text)
        QTest.keyClick(field, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.photos.photos.scores is not None, timeout=30_000)


def test_models_let_go_when_idle_and_search_brings_them_back(
        qtbot, library: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    monkeypatch.setenv("PHOTOORG_IDLE_RELEASE", "1.5")
    window = make_window(qtbot, library)
    memory: list[tuple[str, str]] = []
    models: list[str] = []
    window.controller.service.memory.connect(lambda state, spec: memory.append((state, spec)))
    window.controller.model_state.connect(lambda state, spec, msg: models.append(state))
    try:
        qtbot.waitUntil(lambda: window.controller.model_ready, timeout=60_000)
        _type_search(qtbot, window, "a photo of a red circle")
        assert sorted(names(window, 2)) == ["red_circle_0", "red_circle_1"]

        qtbot.waitUntil(lambda: ("released", "photoorg-tiny/bundled") in memory,
                        timeout=30_000)
        assert window.controller.service.running  # the service stays: only models went
        models.clear()
        _type_search(qtbot, window, "a photo of a green star")
        assert sorted(names(window, 2)) == ["green_star_0", "green_star_1"]
        assert "loading" in models and models[-1] == "ready"  # shown loading, then ready
    finally:
        window.shutdown()
    assert window.errors.shown == []
