"""For the keyframes stage (:class:`photoorg.core.ingest.pipeline.KeyframeStage`): a few
frames of each video embedded with the target model, so search finds a moment
inside a clip (:mod:`photoorg.core.search.video_frames`).

Runs after the embed stage (which gave each video its poster vector and its duration). Per
video its own state in ``photo_stages`` ('keyframes', version = the model spec): a model
switch re-embeds them, a changed file (``mark_changed``) starts over. A video whose frames
cannot be decoded keeps its poster vector and records the error; a decode that runs out of
time keeps the frames it got.
"""

from __future__ import annotations

import logging
from pathlib import Path, PurePosixPath
from typing import Any

from photoorg.core.store.catalog import Catalog

log = logging.getLogger(__name__)

STAGE = "keyframes"

_PENDING = (
    "FROM photos p JOIN roots r ON r.id = p.root_id "
    "LEFT JOIN photo_stages s ON s.photo_id = p.id AND s.stage = 'keyframes' AND s.version = ? "
    "WHERE r.online = 1 AND p.status = 'indexed' AND p.duration IS NOT NULL "
    "AND p.missing_since IS NULL AND s.photo_id IS NULL"
)


def pending_videos(cat: Catalog, spec: str, limit: int = 64, after: int = 0
                   ) -> list[tuple[int, Path]]:
    rows = cat.query(f"SELECT p.id, r.path, p.rel_path {_PENDING} AND p.id > ? "
                     "ORDER BY p.id LIMIT ?", (spec, after, limit))
    return [(pid, Path(root) / PurePosixPath(rel)) for pid, root, rel in rows]


def count_pending(cat: Catalog, spec: str) -> int:
    return int(cat.scalar(f"SELECT COUNT(*) {_PENDING}", (spec,)))


def embed_video(path: Path, encoder: Any, **kwargs: Any) -> list[tuple[float, Any]]:
    """(second, vector) of a video's keyframes. Raises DecodeError when none decodes."""
    from photoorg.core.ingest.indexer import stack_tensors
    from photoorg.core.media import video

    frames = video.keyframes(path, min_side=encoder.image_size, **kwargs)
    if not frames:
        return []
    tensors = stack_tensors([encoder.preprocess(image) for _, image in frames])
    vectors = encoder.encode_image_tensors(tensors)
    return [(t, vec) for (t, _), vec in zip(frames, vectors, strict=True)]
