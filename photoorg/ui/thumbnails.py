"""Making thumbnails (one small JPEG per photo or face crop) on demand, as ``QImage``.

Keys, file layout and pruning of the on-disk cache are Qt-free, in
:mod:`photoorg.core.media.thumbcache`. Runs in the thumbnail worker threads (``QImage`` is
safe there).
"""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path

from PIL import Image
from PySide6.QtGui import QImage

from photoorg.core.app.api import DecodeError, cache_file, key_rotation, load_rgb, make_thumbnail
from photoorg.ui.workers import ThumbRequest

log = logging.getLogger(__name__)

THUMB_SIZE = 256
FACE_SIZE = 160
JPEG_QUALITY = 85
# cached sizes, as the freedesktop thumbnail spec's large / x-large / xx-large: a tile asks
# for the smallest that has at least its device pixels (tile size x device pixel ratio)
CACHE_SIZES = (256, 512, 1024)


def cache_size(device_pixels: float, sizes: tuple[int, ...] = CACHE_SIZES) -> int:
    """The cached size to make for a tile this many device pixels wide."""
    return next((s for s in sizes if s >= device_pixels), sizes[-1])


def sized_key(key: str, size: int) -> str:
    """The cache file's key for a size (256, the first size made, keeps the plain key)."""
    return key if size in (THUMB_SIZE, FACE_SIZE) else f"{key}@{size}"


class ThumbnailCache:
    """Makes and reads cached thumbnails; called from worker threads only."""

    def __init__(self, thumb_dir: Path) -> None:
        self.dir = thumb_dir

    def load(self, req: ThumbRequest) -> QImage | None:
        target = cache_file(self.dir, sized_key(req.key, req.size))
        if target.exists():
            image = QImage(str(target))
            if not image.isNull():
                return image
        return self._make(req, target)

    def _make(self, req: ThumbRequest, target: Path) -> QImage | None:
        try:
            if req.crop is None:
                picture = make_thumbnail(Path(req.path), req.size)
            else:
                picture = _crop(load_rgb(Path(req.path), 1600), req.crop, req.size)
        except (DecodeError, OSError) as exc:
            log.info("no thumbnail for %s: %s", req.path, exc)
            return None
        picture = picture.convert("RGB")
        turn = key_rotation(req.key)
        if turn:
            picture = picture.rotate(-turn, expand=True)  # PIL turns counter-clockwise
        tmp = target.with_name(f"{target.stem}.{os.getpid()}.tmp")
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            picture.save(tmp, "JPEG", quality=JPEG_QUALITY)
            os.replace(tmp, target)
        except OSError as exc:  # a full or read-only disk: still show the picture
            with contextlib.suppress(OSError):
                tmp.unlink()  # no half-written file left behind
            log.warning("cannot write thumbnail cache %s: %s", target.parent,
                        exc.strerror or exc)
        return to_qimage(picture)


def to_qimage(picture: Image.Image) -> QImage:
    """A PIL RGB picture as a QImage that owns its pixels (safe in worker threads)."""
    picture = picture.convert("RGB")
    data = picture.tobytes()
    image = QImage(data, picture.width, picture.height, picture.width * 3,
                   QImage.Format.Format_RGB888)
    return image.copy()  # ``data`` goes away with this frame


def load_viewer_image(path: str, max_side: int) -> QImage:
    """The viewer's picture, oriented and fitted to ``max_side`` (raises DecodeError)."""
    return to_qimage(load_rgb(Path(path), max_side))


def _crop(picture: Image.Image, box: tuple[float, float, float, float], size: int) -> Image.Image:
    """A square crop around a face box (fractions of the picture), with some margin."""
    width, height = picture.size
    x, y, w, h = box
    cx, cy = (x + w / 2) * width, (y + h / 2) * height
    side = max(w * width, h * height) * 1.6
    left = max(0, min(width - side, cx - side / 2))
    top = max(0, min(height - side, cy - side / 2))
    face = picture.crop((int(left), int(top), int(left + side), int(top + side)))
    face.thumbnail((size, size))
    return face
