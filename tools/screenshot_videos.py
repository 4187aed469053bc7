"""Render videos and stacks in the real app into ``docs/screenshots/``.

A library of a few shipped sample shapes, two clips made here with PyAV (MPEG-4, which every
Qt build plays: a red ball crossing a sky, and a short one) and a burst of four shots of one
scene (one sharp), indexed by the app itself with the bundled tiny model. Captures:

* ``videos-grid.png``    – the grid: video tiles with their length, the burst as one tile
  with its count (the stack collapsed);
* ``video-playing.png``  – the viewer playing the clip (controls, position);
* ``stack-expanded.png`` – the burst's own page: its four shots, the cover marked.

::

    python tools/screenshot_videos.py [--out docs/screenshots]

Offscreen by default (``QWidget.grab``), where the video surface stays blank; for
``video-playing.png`` run it under Xvfb, which grabs the screen::

    xvfb-run -s "-screen 0 1600x1000x24" python tools/screenshot_videos.py
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tools"))
if not os.environ.get("DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from screenshots import _grab_screen, settle, wait_for  # noqa: E402

SIZE = (1100, 700)


def _jpeg(path: Path, image, when: str, subsec: str = "") -> None:  # noqa: ANN001
    from PIL import Image

    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = "Canon", "Canon EOS R6"
    sub = exif.get_ifd(0x8769)
    sub[0x9003] = when
    if subsec:
        sub[0x9291] = subsec
    image.save(path, "JPEG", exif=exif.tobytes(), quality=90)


def _clip(path: Path, seconds: int, fps: int = 15, size: tuple[int, int] = (320, 240)) -> None:
    import av
    import numpy as np

    w, h = size
    yy, xx = np.mgrid[0:h, 0:w]
    sky = np.stack([60 + 120 * yy / h, 140 + 80 * yy / h, 255 - 40 * yy / h], -1)
    grass = yy > h * 0.72
    with av.open(str(path), "w", format="mp4") as out:
        stream = out.add_stream("mpeg4", rate=fps)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.bit_rate = 800_000
        for i in range(seconds * fps):
            t = i / (seconds * fps)
            frame = sky.copy()
            frame[grass] = (70, 160, 60)
            cx, cy = 20 + t * (w - 40), h * 0.72 - 22 - abs(np.sin(t * 9)) * h * 0.45
            frame[(xx - cx) ** 2 + (yy - cy) ** 2 < 18 ** 2] = (220, 40, 40)
            img = av.VideoFrame.from_ndarray(frame.astype(np.uint8), format="rgb24")
            for packet in stream.encode(img):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)


def stage(photos: Path) -> None:
    from PIL import ImageFilter

    from photoorg.core.media.synthetic import draw_shape_image

    photos.mkdir(parents=True)
    shapes = sorted((REPO / "resources" / "samples" / "shapes").glob("*.jpg"))[::6][:6]
    for i, path in enumerate(shapes):
        shutil.copy(path, photos / path.name)
        os.utime(photos / path.name, (1_650_000_000 + i, 1_650_000_000 + i))
    _clip(photos / "ball.mp4", 12)
    _clip(photos / "garden.mp4", 4, size=(240, 240))
    scene = draw_shape_image("orange", "triangle", 320, seed=5)
    for i, sub in enumerate(("00", "25", "50", "75")):
        shot = scene if i == 1 else scene.filter(ImageFilter.GaussianBlur(3))
        _jpeg(photos / f"BURST_{i}.JPG", shot, "2024:06:01 10:00:00", sub)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(REPO / "docs" / "screenshots"))
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    from photoorg import config
    from photoorg.core.models.embedder import TEST_MODEL
    from photoorg.core.store.catalog import Catalog
    from photoorg.ui.app import create_application
    from photoorg.ui.main_window import MainWindow

    app = create_application()
    work = Path(tempfile.mkdtemp(prefix="photoorg-videoshots-"))
    os.environ[config.ENV_CACHE_DIR] = str(work / "cache")
    stage(work / "photos")
    (work / "data").mkdir()
    with Catalog(config.catalog_path(work / "data")) as cat:
        cat.add_root(work / "photos")
    window = MainWindow(work / "data", config.Settings(), model_spec=TEST_MODEL,
                        index_mode="thread", watch=False, faces=False)
    window.errors.interactive = False
    window.resize(*SIZE)
    window.show()
    model = window.photos
    # 6 photos, 2 videos, the burst as one tile
    wait_for(app, lambda: not window.controller.service.busy and model.rowCount() == 9
             and any(model.stack_count(r) for r in range(model.rowCount())), timeout=300)
    settle(app, 2.0)
    window.grab().save(str(out / "videos-grid.png"))
    print(out / "videos-grid.png")

    ball = next(r for r in range(model.rowCount()) if model.path(r).endswith("ball.mp4"))
    window.grid.setCurrentIndex(model.index(ball))
    window.open_viewer(model.index(ball))
    panel = window.viewer.video
    wait_for(app, lambda: panel.frames > 0, timeout=30)
    panel.toggle_play()
    wait_for(app, lambda: panel.position_ms() > 4200, timeout=30)
    panel.toggle_play()
    settle(app, 0.8)
    _grab_screen(window, app, out / "video-playing.png")  # the video is a native surface
    print(out / "video-playing.png")
    window.close_viewer()

    cover = next(r for r in range(model.rowCount()) if model.stack_count(r))
    window.grid.setCurrentIndex(model.index(cover))
    window.stacks.open_row(cover)
    wait_for(app, lambda: model.photos.stack_id is not None and model.rowCount() == 4)
    settle(app, 2.0)
    window.grab().save(str(out / "stack-expanded.png"))
    print(out / "stack-expanded.png")
    window.shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
