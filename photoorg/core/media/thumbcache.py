"""The thumbnail cache's layout on disk, without Qt: keys, file paths, size and pruning.

A key carries the photo id and its content identity (content hash, else size and mtime), so
an edited photo gets a fresh thumbnail and a moved one keeps its old one. Files live in 256
shards under ``thumbnail_dir(data)``. The window's thumbnail workers (``ui/thumbnails.py``)
make the pictures; queries and settings only need the keys and the sizes here.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from pathlib import Path


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
