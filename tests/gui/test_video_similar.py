"""Find similar from a video frame in the window (issue 27): open a clip in the viewer with
the keyboard, seek with → to its second picture, press G (the viewer's "Find similar"): the
results are the ones ``Library.similar_moment`` gives for that second, not the poster's."""

from __future__ import annotations

from pathlib import Path

import pytest
from guitools import TINY, make_window, needs_tiny, open_by_keys
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from photoorg.ui.controller import SEARCH_RESULTS
from photoorg.ui.models.photos import PhotoRole
from tests.unit.test_cli_e2e import run_cli
from tests.unit.test_service_similar_moment import write_two_picture_library

pytestmark = needs_tiny


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("video-similar")
    photos, data = root / "photos", root / "data"
    clip = write_two_picture_library(photos)  # blue square, then a red circle from 4 s
    run_cli(data, "index", str(photos), "--model", TINY, "--no-faces")
    return clip, data


def test_find_similar_from_the_paused_frame(qtbot, library: tuple[Path, Path]) -> None:  # noqa: ANN001
    from photoorg.core.app.library import Library

    clip, data = library
    window = make_window(qtbot, data)
    qtbot.waitUntil(lambda: window.photos.rowCount() == 7, timeout=20_000)
    qtbot.waitUntil(lambda: window.controller.model_ready, timeout=20_000)
    model = window.photos
    row = next(i for i, p in enumerate(model.photos.paths) if Path(p).name == clip.name)
    vid = model.photo_id(row)
    viewer = open_by_keys(qtbot, window, row)
    panel = viewer.video
    qtbot.waitUntil(lambda: panel.frames > 0, timeout=15_000)
    assert viewer.is_video and not panel.playing
    QTest.keyClick(viewer, Qt.Key.Key_Right)  # 5 s on: the red circle
    qtbot.waitUntil(lambda: panel.position_ms() >= 4500, timeout=10_000)
    seconds = panel.position_ms() / 1000

    with qtbot.waitSignal(window.controller.photos_ready, timeout=30_000):
        QTest.keyClick(viewer, Qt.Key.Key_G)  # the viewer's Find similar key
    qtbot.waitUntil(lambda: window.stack.currentWidget() is window.grid_page)
    qtbot.waitUntil(lambda: model.photos.scores is not None, timeout=5_000)
    title = window.grid_title.text()
    shown = list(model.photos.ids)
    clip_row = shown.index(vid)
    assert model.index(clip_row).data(PhotoRole.Time) is not None  # the clip, at a moment
    window.shutdown()
    assert window.errors.shown == []

    with Library(data, model=TINY) as lib:
        moment = [h.photo_id for h in lib.similar_moment(vid, seconds, k=SEARCH_RESULTS).hits]
        poster = [h.photo_id for h in
                  lib.similar([vid], k=SEARCH_RESULTS, include_self=True).hits]
        names = [Path(p).name for p in lib.paths(shown)]
    assert shown[:5] == moment[:5] and shown == moment
    assert poster != moment  # the poster (a blue square) finds other photos first
    assert [n for n in names if n != clip.name][0].startswith("red_circle"), names
    assert title.startswith(f"Similar to {clip.name} at 0:0"), title
