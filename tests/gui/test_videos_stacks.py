"""Videos and stacks in the window, as a person uses them: a library with a photo, an MPEG-4
clip, an H.264 clip, an AV1 clip (no decoder in Qt's FFmpeg: the fallback) and a burst of
four shots (one stack), indexed by ``photoorg index``; the grid shows the burst as one tile
with a count badge and each video with its length; the keyboard plays a clip in the viewer;
the stack opens, changes cover, unstacks and Ctrl+Z undoes it."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from guitools import TINY, make_window, needs_tiny, open_by_keys
from PIL import ImageFilter
from PySide6.QtCore import Qt, QUrl
from PySide6.QtTest import QTest

from photoorg import config
from photoorg.core.media.synthetic import draw_shape_image
from photoorg.core.store.catalog import Catalog
from photoorg.ui import desktop
from photoorg.ui.models.photos import PhotoRole
from photoorg.ui.views.grid import duration_text, stack_text
from tests.unit.test_cli_e2e import run_cli
from tests.unit.test_stacks import save_jpeg
from tests.unit.test_video import shape_frames, write_clip

pytestmark = needs_tiny


def _frames(n: int, colour: str, size: int = 96) -> list[np.ndarray]:
    return [np.asarray(draw_shape_image(colour, "circle", size=size, seed=i % 5))
            for i in range(n)]


def _av1(path: Path, frames: list[np.ndarray]) -> Path | None:
    try:
        return write_clip(path, frames, codec="libsvtav1")
    except Exception:  # an FFmpeg build without the AV1 encoder
        path.unlink(missing_ok=True)
        return None


@pytest.fixture(scope="module")
def media_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("videos-stacks")
    photos, data = root / "photos", root / "data"
    photos.mkdir()
    save_jpeg(photos / "photo.jpg", draw_shape_image("green", "square", 128, seed=3),
              "2021:07:01 10:00:00", camera=("Apple", "iPhone 12"))
    # 8 s: a blue square, then a red circle from 4 s (the moment a search finds)
    write_clip(photos / "clip_mpeg4.mp4", shape_frames(80, range(40, 80)), codec="mpeg4")
    write_clip(photos / "clip_h264.mp4", _frames(30, "blue"))  # 3 s
    _av1(photos / "clip_av1.mp4", _frames(20, "yellow"))
    scene = draw_shape_image("blue", "triangle", 160, seed=5)
    for i, sub in enumerate(("00", "30", "60", "90")):
        shot = scene if i == 2 else scene.filter(ImageFilter.GaussianBlur(2.5))
        save_jpeg(photos / f"BURST_{i}.JPG", shot, "2021:07:04 14:00:00", subsec=sub)
    run_cli(data, "index", str(photos), "--model", TINY, "--no-faces")
    return root


@pytest.fixture
def media_library(media_template: Path, tmp_path: Path) -> Path:
    root = tmp_path / "lib"
    shutil.copytree(media_template, root)
    data = root / "data"
    with Catalog(config.catalog_path(data)) as cat:  # the copy lives elsewhere: re-point
        (root_row,) = cat.roots()
        cat.relocate_root(root_row.id, root / "photos")
    return data


def _row_of(window, name: str) -> int:  # noqa: ANN001
    return next(i for i, p in enumerate(window.photos.photos.paths) if Path(p).name == name)


def _open_window(qtbot, data: Path, rows: int):  # noqa: ANN001, ANN202
    window = make_window(qtbot, data)
    qtbot.waitUntil(lambda: window.photos.rowCount() == rows, timeout=20_000)
    return window


def _visible_rows(media_template: Path) -> int:
    videos = 2 + (media_template / "photos" / "clip_av1.mp4").exists()
    return 1 + videos + 1  # the photo, the videos, the burst as one tile


def test_grid_badges_and_keyboard_playback(qtbot, media_template: Path) -> None:  # noqa: ANN001
    data = media_template / "data"
    window = _open_window(qtbot, data, _visible_rows(media_template))
    names = sorted(Path(p).name for p in window.photos.photos.paths)
    burst = [n for n in names if n.startswith("BURST_")]
    assert burst == ["BURST_2.JPG"]  # one tile for the stack: its cover, the sharpest
    model = window.photos
    cover = model.index(_row_of(window, "BURST_2.JPG"))
    assert cover.data(PhotoRole.StackCount) == 4
    assert stack_text(4) == "4"
    video = model.index(_row_of(window, "clip_mpeg4.mp4"))
    assert duration_text(video.data(PhotoRole.Duration)) == "▶ 0:08"
    assert model.index(_row_of(window, "photo.jpg")).data(PhotoRole.Duration) is None
    assert window.grid_count.text() == f"{model.rowCount()} photos (+3 in stacks)"

    # keyboard: focus the grid, arrow to the video, Enter opens it
    target = video.row()
    viewer = open_by_keys(qtbot, window, target)
    panel = viewer.video
    assert viewer.is_video and viewer.media.currentWidget() is panel
    qtbot.waitUntil(lambda: panel.frames > 0, timeout=15_000)  # the first frame, paused
    assert not panel.playing and not panel.showing_fallback()

    QTest.keyClick(viewer, Qt.Key.Key_Space)  # play: the position advances
    qtbot.waitUntil(lambda: panel.playing and panel.position_ms() > 1500, timeout=15_000)
    assert panel.slider.value() > 0
    QTest.keyClick(viewer, Qt.Key.Key_M)
    assert panel.muted and panel.mute_button.isChecked()
    QTest.keyClick(viewer, Qt.Key.Key_Space)  # pause
    qtbot.waitUntil(lambda: not panel.playing)
    before = panel.position_ms()
    QTest.keyClick(viewer, Qt.Key.Key_Left)  # seek back
    qtbot.waitUntil(lambda: panel.position_ms() < before, timeout=10_000)
    QTest.keyClick(viewer, Qt.Key.Key_F)  # full screen, Esc leaves it, Esc again closes
    assert viewer.fullscreen and not viewer.bar.isVisible()
    QTest.keyClick(viewer, Qt.Key.Key_Escape)
    assert not viewer.fullscreen
    QTest.keyClick(viewer, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: window.stack.currentWidget() is window.grid_page)
    assert panel.player.source().isEmpty()  # stopped and let go of the file
    assert window.grid.currentIndex().row() == target
    window.shutdown()
    assert window.errors.shown == []


def test_undecodable_clip_shows_poster_and_open_in_player(qtbot, media_template: Path,  # noqa: ANN001
                                                          monkeypatch) -> None:  # noqa: ANN001
    if not (media_template / "photos" / "clip_av1.mp4").exists():
        pytest.skip("PyAV here cannot write AV1")
    asked: list[QUrl] = []
    monkeypatch.setattr(desktop, "open_url", lambda url: asked.append(url) or True)
    window = _open_window(qtbot, media_template / "data", _visible_rows(media_template))
    row = _row_of(window, "clip_av1.mp4")
    window.grid.setFocus()
    window.grid.setCurrentIndex(window.photos.index(row))
    QTest.keyClick(window.grid, Qt.Key.Key_Return)
    panel = window.viewer.video
    qtbot.waitUntil(panel.showing_fallback, timeout=20_000)
    assert "cannot" in panel.message.text() and panel.open_external.isVisible()
    assert not panel.controls.isVisible()
    qtbot.waitUntil(lambda: panel.poster.pixmap() is not None
                    and not panel.poster.pixmap().isNull(), timeout=10_000)
    QTest.mouseClick(panel.open_external, Qt.MouseButton.LeftButton)
    assert [u.toLocalFile() for u in asked] == [window.photos.path(row)]

    # the H.264 clip: played where this Qt has a decoder for it, else the same fallback
    QTest.keyClick(window.viewer, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: window.stack.currentWidget() is window.grid_page)
    window.grid.setCurrentIndex(window.photos.index(_row_of(window, "clip_h264.mp4")))
    QTest.keyClick(window.grid, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: panel.frames > 0 or panel.showing_fallback(), timeout=20_000)
    assert (panel.frames > 0) != panel.showing_fallback()
    window.shutdown()
    assert window.errors.shown == []


def test_stack_expand_cover_unstack_and_undo(qtbot, qtmodeltester,  # noqa: ANN001
                                             media_library: Path) -> None:
    template_rows = 1 + 2 + 1 + any((media_library.parent / "photos").glob("clip_av1.mp4"))
    window = _open_window(qtbot, media_library, template_rows)
    model, grid = window.photos, window.grid
    row = _row_of(window, "BURST_2.JPG")
    grid.setFocus()
    grid.setCurrentIndex(model.index(row))

    # the right-click menu offers to open the stack; S does it from the keyboard
    labels = [a.text() for a in window.grid_menu([row]).actions() if a.text()]
    assert "Open stack (4 photos)" in labels and "Unstack" in labels
    QTest.keyClick(grid, Qt.Key.Key_S)
    qtbot.waitUntil(lambda: model.photos.stack_id is not None and model.rowCount() == 4,
                    timeout=10_000)
    assert [Path(p).name for p in model.photos.paths][0] == "BURST_2.JPG"  # cover first
    assert window.grid_title.text() == "Stack of 4"
    assert model.index(0).data(PhotoRole.StackCount) == 0  # no count badge inside
    assert model.index(0).data(PhotoRole.Stack).cover
    qtmodeltester.check(model)  # the badge roles keep the model's contract

    # choose another cover with C: the stack's tile shows it
    grid.setCurrentIndex(model.index(_row_of(window, "BURST_0.JPG")))
    grid.selectionModel().select(grid.currentIndex(),
                                 grid.selectionModel().SelectionFlag.ClearAndSelect)
    cover_action = next(a for a in window.grid_menu(window.selected_rows()).actions()
                        if a.text() == "Use as cover")
    assert cover_action.isEnabled()
    with qtbot.waitSignal(window.controller.writes_done, timeout=10_000):
        QTest.keyClick(grid, Qt.Key.Key_C)
    qtbot.waitUntil(lambda: model.rowCount() == 4 and model.index(
        _row_of(window, "BURST_0.JPG")).data(PhotoRole.Stack).cover, timeout=10_000)
    qtbot.waitUntil(lambda: window.undo_action.isEnabled(), timeout=10_000)

    # Esc goes back to All photos, where BURST_0 is now the stack's tile
    QTest.keyClick(grid, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: model.photos.stack_id is None and model.rowCount() == template_rows,
                    timeout=10_000)
    names = [Path(p).name for p in model.photos.paths]
    assert "BURST_0.JPG" in names and "BURST_2.JPG" not in names

    # unstack from the menu: the four shots come back one by one; Ctrl+Z stacks them again
    row = _row_of(window, "BURST_0.JPG")
    grid.setCurrentIndex(model.index(row))
    unstack = next(a for a in window.grid_menu([row]).actions() if a.text() == "Unstack")
    with qtbot.waitSignal(window.controller.writes_done, timeout=10_000):
        unstack.trigger()
    qtbot.waitUntil(lambda: model.rowCount() == template_rows + 3, timeout=10_000)
    assert all(model.index(r).data(PhotoRole.StackCount) == 0 for r in range(model.rowCount()))
    qtbot.waitUntil(lambda: window.undo_action.text().startswith("Undo: Unstack"),
                    timeout=10_000)
    grid.setFocus()
    QTest.keyClick(grid, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: model.rowCount() == template_rows, timeout=10_000)
    row = _row_of(window, "BURST_0.JPG")
    assert model.index(row).data(PhotoRole.StackCount) == 4

    # and the cover choice is undone too
    QTest.keyClick(grid, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: "BURST_2.JPG" in [Path(p).name for p in model.photos.paths],
                    timeout=10_000)

    # a click on the count badge opens the stack; U unstacks and Shift+S stacks it again there
    row = _row_of(window, "BURST_2.JPG")
    grid.scrollTo(model.index(row))
    badge = grid.delegate.stack_badge_rect(grid.visualRect(model.index(row)))
    QTest.mouseClick(grid.viewport(), Qt.MouseButton.LeftButton, pos=badge.center())
    qtbot.waitUntil(lambda: model.photos.stack_id is not None and model.rowCount() == 4,
                    timeout=10_000)
    grid.setFocus()
    grid.setCurrentIndex(model.index(0))
    with qtbot.waitSignal(window.controller.writes_done, timeout=10_000):
        QTest.keyClick(grid, Qt.Key.Key_U)
    qtbot.waitUntil(lambda: model.rowCount() == 4 and not model.index(0).data(
        PhotoRole.Stack).stacked, timeout=10_000)
    labels = [a.text() for a in window.grid_menu([0]).actions() if a.text()]
    assert "Stack again" in labels and "Unstack" not in labels
    grid.setCurrentIndex(model.index(0))
    with qtbot.waitSignal(window.controller.writes_done, timeout=10_000):
        QTest.keyClick(grid, Qt.Key.Key_S, Qt.KeyboardModifier.ShiftModifier)
    qtbot.waitUntil(lambda: model.rowCount() == 4 and model.index(0).data(
        PhotoRole.Stack).stacked, timeout=10_000)
    QTest.keyClick(grid, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: model.photos.stack_id is None and model.rowCount() == template_rows,
                    timeout=10_000)
    window.shutdown()
    assert window.errors.shown == []


def test_a_search_opens_the_clip_at_its_moment(qtbot, media_template: Path) -> None:  # noqa: ANN001
    window = _open_window(qtbot, media_template / "data", _visible_rows(media_template))
    qtbot.waitUntil(lambda: window.controller.model_ready, timeout=20_000)
    with qtbot.waitSignal(window.controller.photos_ready, timeout=15_000):
        window.search_field.setText("a photo of a red circle")
    qtbot.waitUntil(lambda: window.photos.photos.scores is not None, timeout=5_000)
    row = _row_of(window, "clip_mpeg4.mp4")
    moment = window.photos.index(row).data(PhotoRole.Time)
    assert moment is not None and moment >= 4.0  # a keyframe with the red circle
    window.grid.setFocus()
    window.grid.setCurrentIndex(window.photos.index(row))
    QTest.keyClick(window.grid, Qt.Key.Key_Return)
    panel = window.viewer.video
    qtbot.waitUntil(lambda: panel.frames > 0, timeout=15_000)
    qtbot.waitUntil(lambda: abs(panel.position_ms() - moment * 1000) < 600, timeout=10_000)
    assert not panel.playing
    window.shutdown()
    assert window.errors.shown == []
