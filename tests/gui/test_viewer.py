"""The viewer: never enlarged past 1:1 unless zoomed, zoom by keys and wheel around the
pointer, pan, turn (a setting, the file untouched), full screen, slideshow, the grid's menu,
and a plain notice when the original is offline."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

from guitools import names, needs_tiny
from PIL import Image
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent

from photoorg import config
from photoorg.core.store.catalog import Catalog

pytestmark = needs_tiny


def _open(qtbot, window, stem: str) -> int:  # noqa: ANN001
    row = names(window).index(stem)
    window.open_viewer(window.photos.index(row))
    canvas = window.viewer.canvas
    qtbot.waitUntil(lambda: canvas.has_pixmap()
                    and window.viewer.fields["dimensions"].text() != "—", timeout=10_000)
    return row


def test_zoom_pan_turn_fullscreen_slideshow_menu(qtbot, window) -> None:  # noqa: ANN001
    viewer, canvas = window.viewer, window.viewer.canvas
    row = _open(qtbot, window, "red_circle_0")
    path = Path(window.photos.path(row))
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    # a 256 px photo in a bigger window: shown at its own size, not blown up
    assert canvas.original.width() == 256
    assert canvas.is_fit() and canvas.scale() == 1.0
    assert canvas.target_rect().width() == 256
    assert viewer.zoom_label.text() == "100%"

    viewer.setFocus()
    qtbot.keyClick(viewer, Qt.Key.Key_Plus)
    assert canvas.scale() == 1.25 and viewer.zoom_label.text() == "125%"
    qtbot.keyClick(viewer, Qt.Key.Key_Plus, Qt.KeyboardModifier.ControlModifier)  # Ctrl+plus
    assert abs(canvas.scale() - 1.5625) < 1e-6
    qtbot.keyClick(viewer, Qt.Key.Key_Minus)
    assert canvas.scale() == 1.25
    qtbot.keyClick(viewer, Qt.Key.Key_1)
    assert canvas.scale() == 1.0 and not canvas.is_fit()
    qtbot.keyClick(viewer, Qt.Key.Key_0)
    assert canvas.is_fit()

    # wheel zooms around the pointer: the photo point under it stays under it
    canvas.set_zoom(4.0)  # bigger than the canvas: it can pan
    target = canvas.target_rect()
    pointer = QPointF(target.center().x() + 40, target.center().y() + 30)
    under = canvas._photo_point(pointer)
    wheel = QWheelEvent(pointer, canvas.mapToGlobal(pointer), QPoint(0, 0), QPoint(0, 120),
                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier,
                        Qt.ScrollPhase.NoScrollPhase, False)
    canvas.wheelEvent(wheel)
    assert canvas.scale() == 5.0
    after = canvas._photo_point(pointer)
    assert abs(after.x() - under.x()) < 1e-3 and abs(after.y() - under.y()) < 1e-3
    # drag pans; the photo never leaves the screen
    left = canvas.target_rect().left()
    canvas.pan(QPointF(60, 0))
    assert canvas.target_rect().left() == left + 60 or canvas.target_rect().left() <= 0
    canvas.pan(QPointF(100_000, 0))
    assert canvas.target_rect().left() == 0

    # turn: shown turned, remembered by photoorg, the file never written
    qtbot.keyClick(viewer, Qt.Key.Key_0)
    with qtbot.waitSignal(window.controller.writes_done, timeout=10_000):
        qtbot.keyClick(viewer, Qt.Key.Key_R)
    assert canvas.rotation == 90
    with Catalog(config.catalog_path(window.data), readonly=True) as cat:
        assert cat.scalar("SELECT rotation FROM photo_view WHERE photo_id = ?",
                          (window.photos.photo_id(row),)) == 90
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
    # its grid thumbnail turns too (a separate cache entry; the file still untouched)
    pid = window.photos.photo_id(row)
    qtbot.waitUntil(lambda: window.photos.photos.keys[window.photos.row_of_id(pid)]
                    .endswith("-r90"), timeout=10_000)
    r = window.photos.row_of_id(pid)
    store = window.controller.thumbs
    qtbot.waitUntil(lambda: store.pixmap(window.photos.photos.keys[r],
                                         window.photos.path(r)) is not None, timeout=10_000)
    turned = store.pixmap(window.photos.photos.keys[r], window.photos.path(r)).toImage()
    with Image.open(path) as im:
        plain = im.convert("RGB")
    w, h = turned.width(), turned.height()
    points = [(x * w // 9, y * h // 9) for x in range(1, 9) for y in range(1, 9)]

    def distance(picture: Image.Image) -> float:  # mean colour difference at 64 points
        return sum(abs(turned.pixelColor(x, y).red() - picture.getpixel(
            (x * picture.width // w, y * picture.height // h))[0])
            + abs(turned.pixelColor(x, y).green() - picture.getpixel(
                (x * picture.width // w, y * picture.height // h))[1])
            for x, y in points) / len(points)

    assert distance(plain.rotate(-90, expand=True)) < 0.5 * distance(plain)
    step = 1 if row + 1 < window.photos.rowCount() else -1
    viewer.move_requested.emit(step)
    qtbot.waitUntil(lambda: canvas.rotation == 0, timeout=5_000)
    viewer.move_requested.emit(-step)  # back: the turn comes back from the catalog
    qtbot.waitUntil(lambda: canvas.rotation == 90, timeout=10_000)

    # full screen: only the photo; F11 again brings the window back
    qtbot.keyClick(viewer, Qt.Key.Key_F11)
    assert viewer.fullscreen and not window.sidebar.isVisible() and not viewer.bar.isVisible()
    qtbot.keyClick(viewer, Qt.Key.Key_F11)
    assert not viewer.fullscreen and window.sidebar.isVisible() and viewer.bar.isVisible()

    # slideshow: moves on by itself; S stops it
    window.open_viewer(window.photos.index(0))
    viewer.setFocus()
    viewer.slideshow.setInterval(50)
    shown = viewer.photo_id
    qtbot.keyClick(viewer, Qt.Key.Key_S)
    qtbot.waitUntil(lambda: viewer.photo_id != shown, timeout=5_000)
    qtbot.keyClick(viewer, Qt.Key.Key_S)
    assert not viewer.slideshow.isActive()

    # right-click: the grid's menu, for the photo shown
    labels = [a.text() for a in window.viewer_menu().actions() if a.text()]
    assert labels[:5] == ["Find similar", "Open", "Show in folder", "Copy path", "Add tag…"]


def test_offline_original_is_said_plainly(qtbot, window, tmp_path) -> None:  # noqa: ANN001
    row = names(window).index("blue_square_0")
    folder = Path(window.photos.path(row)).parent
    # the thumbnail is cached first (the grid made it), then the folder goes away
    window.grid.scrollTo(window.photos.index(row))
    qtbot.waitUntil(lambda: window.controller.thumbs.pixmap(
        window.photos.photos.keys[row], window.photos.path(row)) is not None, timeout=10_000)
    moved = tmp_path / "unplugged"
    shutil.move(str(folder), str(moved))
    try:
        window.open_viewer(window.photos.index(row))
        canvas = window.viewer.canvas
        qtbot.waitUntil(lambda: "offline" in canvas.notice, timeout=10_000)
        assert canvas.has_pixmap()  # the thumbnail, with the notice over it
        assert "Showing the thumbnail" in canvas.notice
    finally:
        shutil.move(str(moved), str(folder))
