"""Making thumbnails (one small JPEG per photo or face crop) on demand, as ``QImage``.

Keys, file layout and pruning of the on-disk cache are Qt-free, in
:mod:`photoorg.core.media.thumbcache`. Runs in the thumbnail worker threads (``QImage`` is
safe there).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from PIL import Image
from PySide6.QtGui import QImage

from photoorg.core.media.imaging import DecodeError, load_rgb, make_thumbnail
from photoorg.core.media.thumbcache import cache_file, key_rotation
from photoorg.ui.workers import ThumbRequest

log = logging.getLogger(__name__)

THUMB_SIZE = 256
FACE_SIZE = 160
JPEG_QUALITY = 85


class ThumbnailCache:
    """Makes and reads cached thumbnails; called from worker threads only."""

    def __init__(self, thumb_dir: Path) -> None:
        self.dir = thumb_dir

    def load(self, req: ThumbRequest) -> QImage | None:
        target = cache_file(self.dir, req.key)
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
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(f"{target.stem}.{os.getpid()}.tmp")
            picture.save(tmp, "JPEG", quality=JPEG_QUALITY)
            os.replace(tmp, target)
        except OSError as exc:  # a full or read-only disk: still show the picture
            log.warning("cannot write thumbnail cache %s: %s", target, exc)
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
