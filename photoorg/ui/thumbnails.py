"""The on-disk thumbnail cache: one small JPEG per photo (or face crop), made on demand.

A file's name carries the photo id and its content identity (content hash, else size and
mtime), so an edited photo gets a fresh thumbnail and a moved one keeps its old one. Files
live in 256 shards under ``thumbnail_dir(data)``; :func:`prune` trims the cache to the size
the user chose, oldest first. Runs in the thumbnail worker threads (``QImage`` is safe there).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
from pathlib import Path

from PIL import Image
from PySide6.QtGui import QImage

from photoorg.core.imaging import DecodeError, load_rgb, make_thumbnail
from photoorg.ui.workers import ThumbRequest

log = logging.getLogger(__name__)

THUMB_SIZE = 256
FACE_SIZE = 160
JPEG_QUALITY = 85


def photo_key(photo_id: int, content_hash: str | None, size: int, mtime: float) -> str:
    """Cache key of a photo's thumbnail: changes when the content changes."""
    ident = content_hash or f"{size}:{mtime:.6f}"
    digest = hashlib.blake2s(ident.encode(), digest_size=6).hexdigest()
    return f"p{photo_id}-{digest}"


def rotated_key(key: str, degrees: int) -> str:
    """The key of a thumbnail turned ``degrees`` clockwise (the viewer's turn, a setting)."""
    return f"{key}-r{degrees}" if degrees % 360 else key


def key_rotation(key: str) -> int:
    """Degrees clockwise a thumbnail key asks for (0 for most)."""
    tail = key.rsplit("-", 1)[-1]
    return int(tail[1:]) if tail[:1] == "r" and tail[1:] in ("90", "180", "270") else 0


def face_key(face_id: int, photo_key_: str) -> str:
    return f"f{face_id}-{photo_key_.rsplit('-', 1)[-1]}"


def cache_file(thumb_dir: Path, key: str) -> Path:
    shard = hashlib.blake2s(key.encode(), digest_size=1).hexdigest()
    return thumb_dir / shard / f"{key}.jpg"


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


def cache_bytes(thumb_dir: Path) -> int:
    total = 0
    for folder, _dirs, files in os.walk(thumb_dir):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.stat(os.path.join(folder, name)).st_size
    return total


def prune(thumb_dir: Path, max_bytes: int) -> int:
    """Delete the oldest cached thumbnails until the cache fits ``max_bytes``; returns the
    number of files deleted."""
    entries: list[tuple[float, int, str]] = []
    total = 0
    for folder, _dirs, files in os.walk(thumb_dir):
        for name in files:
            path = os.path.join(folder, name)
            try:
                st = os.stat(path)
            except OSError:
                continue
            entries.append((st.st_mtime, st.st_size, path))
            total += st.st_size
    if total <= max_bytes:
        return 0
    entries.sort()
    deleted = 0
    for _mtime, size, path in entries:
        if total <= max_bytes:
            break
        try:
            os.remove(path)
        except OSError:
            continue
        total -= size
        deleted += 1
    return deleted


def clear(thumb_dir: Path) -> None:
    prune(thumb_dir, 0)
