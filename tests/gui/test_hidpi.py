"""Thumbnails made for the pixels on screen (issue 25, item 11): at a 2x scale factor the grid
paints every visible thumbnail from at least as many source pixels as the device pixels it
covers. Runs the real window in its own process (the scale factor is read once, at start)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from guitools import TINY, needs_tiny

pytestmark = needs_tiny

SCRIPT = r"""
import json, sys, time
from pathlib import Path
from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QApplication
app = QApplication(sys.argv)
from photoorg import config
from photoorg.ui.main_window import MainWindow

def wait(cond, seconds=60):
    end = time.monotonic() + seconds
    while not cond():
        if time.monotonic() > end:
            raise SystemExit("timed out")
        app.processEvents()
        time.sleep(0.02)

window = MainWindow(Path(sys.argv[1]), config.Settings(), model_spec=sys.argv[2],
                    index_mode="thread", watch=False, faces=False)
window.errors.interactive = False
window.resize(1100, 760)
window.show()
wait(lambda: window.photos.rowCount() == 12)
grid, store = window.grid, window.controller.thumbs
grid.verticalScrollBar().setValue(0)
visible = [r for r in range(12)
           if grid.viewport().rect().contains(grid.visualRect(window.photos.index(r)))]

def loaded():
    app.processEvents()
    return all(store._pixmaps.get((window.photos.photos.keys[r], store.thumb_size))
               for r in visible)

wait(loaded)
grid.viewport().update()
app.processEvents()
shot = grid.viewport().grab().toImage()
ratio = shot.devicePixelRatio()
tiles = []
for r in visible:
    pixmap = window.photos.index(r).data(Qt.ItemDataRole.DecorationRole)
    rect = grid.visualRect(window.photos.index(r))
    thumb = grid.delegate.thumb
    box = QRect(rect.x() + (rect.width() - thumb) // 2, rect.y() + 6, thumb, thumb)
    # the painted square, in device pixels, read back from the grab: how much of it the
    # thumbnail covers (not the placeholder or the background)
    dev = QRect(int(box.x() * ratio), int(box.y() * ratio), int(thumb * ratio),
                int(thumb * ratio))
    colours = {shot.pixel(x, y) for x in range(dev.left(), dev.right(), 3)
               for y in range(dev.top() + dev.height() // 4, dev.bottom() - dev.height() // 4, 7)}
    src_w, src_h = pixmap.width(), pixmap.height()  # source pixels of the picture drawn
    scale = min(thumb / (src_w / pixmap.devicePixelRatio()),
                thumb / (src_h / pixmap.devicePixelRatio()))
    drawn_w = src_w / pixmap.devicePixelRatio() * scale * ratio  # device pixels it covers
    drawn_h = src_h / pixmap.devicePixelRatio() * scale * ratio
    tiles.append({"src": [src_w, src_h], "device": [drawn_w, drawn_h],
                  "colours": len(colours)})
print(json.dumps({"ratio": ratio, "thumb": grid.delegate.thumb, "size": store.thumb_size,
                  "tiles": tiles}))
window.shutdown()
"""


def _run(library: Path, scale: str) -> dict:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "QT_SCALE_FACTOR": scale,
           "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    out = subprocess.run([sys.executable, "-c", SCRIPT, str(library), TINY],
                         capture_output=True, text=True, timeout=180, env=env, check=False)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def _camera_library(tmp_path: Path) -> Path:
    """Twelve camera-sized photos (1600 x 1200, detailed: noise over gradients), scanned."""
    import numpy as np
    from PIL import Image

    from photoorg import config
    from photoorg.core.ingest.scanner import scan_library
    from photoorg.core.store.catalog import Catalog

    photos, data = tmp_path / "photos", tmp_path / "data"
    photos.mkdir()
    data.mkdir()
    rng = np.random.default_rng(25)
    ramp = np.linspace(0, 255, 1600, dtype=np.float32)[None, :, None]
    for i in range(12):
        noise = rng.integers(0, 90, (1200, 1600, 3)).astype(np.float32)
        pixels = np.clip(ramp * (0.3 + 0.05 * i) + noise, 0, 255).astype(np.uint8)
        Image.fromarray(pixels).save(photos / f"camera_{i:02d}.jpg", quality=90)
    with Catalog(config.catalog_path(data)) as cat:
        cat.add_root(photos)
        scan_library(cat)
    return data


def test_thumbnails_at_2x_have_a_source_pixel_per_device_pixel(tmp_path) -> None:  # noqa: ANN001
    got = _run(_camera_library(tmp_path), "2")
    assert got["ratio"] == 2.0
    assert got["size"] >= got["thumb"] * 2  # a cached size with the device pixels (512)
    assert len(got["tiles"]) >= 8
    for tile in got["tiles"]:
        assert tile["colours"] > 3  # a picture was painted there, not the placeholder
        src_w, src_h = tile["src"]
        dev_w, dev_h = tile["device"]
        assert src_w >= dev_w - 1 and src_h >= dev_h - 1, tile
