"""Keyframe vectors of videos: stored per (video, model, second), scored beside the library's
own vectors so a query finds the clip *and the moment*.

A video's row in the vector index holds its poster frame; its keyframes live here (a few per
video: :func:`photoorg.core.media.video.keyframe_times`). A search scores every keyframe
of the answering model (a small matrix held in memory, reloaded only when the table
changed), keeps each video's best second, and the search lists the video once, with that
second (:mod:`photoorg.core.search.library_search`).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from photoorg.core.store.catalog import Catalog, vector_blob


def store_frames(cat: Catalog, photo_id: int, model_id: int,
                 frames: Sequence[tuple[float, np.ndarray]]) -> None:
    """Replace a video's keyframe vectors for a model (call inside a transaction)."""
    cat.execute("DELETE FROM video_frames WHERE photo_id = ? AND model_id = ?",
                (photo_id, model_id))
    for t, vector in frames:
        cat.execute(
            "INSERT OR REPLACE INTO video_frames(photo_id, model_id, t, embedding) "
            "VALUES(?, ?, ?, ?)", (photo_id, model_id, float(t), vector_blob(vector)))


def frame_count(cat: Catalog, model_id: int) -> int:
    return int(cat.scalar("SELECT COUNT(*) FROM video_frames WHERE model_id = ?", (model_id,)))


@dataclass
class _Frames:
    key: tuple[int, int]
    ids: np.ndarray  # video photo id per row
    times: np.ndarray
    mat: np.ndarray  # (n, dim) float32, unit rows


_cache: dict[tuple[str, int], _Frames] = {}
_lock = threading.Lock()


def _frames(cat: Catalog, model_id: int, dim: int) -> _Frames:
    key = tuple(cat.query(
        "SELECT COUNT(*), COALESCE(MAX(rowid), 0) FROM video_frames WHERE model_id = ?",
        (model_id,))[0])
    slot = (str(cat.path), model_id)
    with _lock:
        cached = _cache.get(slot)
        if cached is not None and cached.key == key:
            return cached
    rows = cat.query("SELECT photo_id, t, embedding FROM video_frames WHERE model_id = ? "
                     "ORDER BY photo_id, t", (model_id,))
    ids = np.fromiter((r[0] for r in rows), np.int64, len(rows))
    times = np.fromiter((r[1] for r in rows), np.float64, len(rows))
    mat = (np.frombuffer(b"".join(r[2] for r in rows), np.float32).reshape(len(rows), dim)
           if rows else np.zeros((0, dim), np.float32))
    frames = _Frames(key, ids, times, mat)  # type: ignore[arg-type]
    with _lock:
        _cache[slot] = frames
    return frames


def best_moments(cat: Catalog, model_id: int, qvec: np.ndarray
                 ) -> dict[int, tuple[float, float]]:
    """``{video id: (best keyframe score, its second)}`` for every video with keyframes."""
    qvec = np.asarray(qvec, np.float32)
    frames = _frames(cat, model_id, len(qvec))
    if not len(frames.ids):
        return {}
    scores = frames.mat @ qvec
    order = np.lexsort((-scores, frames.ids))  # by video, best first
    first = np.ones(len(order), bool)
    first[1:] = frames.ids[order][1:] != frames.ids[order][:-1]
    best = order[first]
    return {int(frames.ids[i]): (float(scores[i]), float(frames.times[i])) for i in best}


MOMENT_SLACK = 0.25
"""A stored keyframe this close (seconds) to the asked moment stands for it (no decode)."""


def moment_vector(cat: Catalog, model_id: int, dim: int, video_id: int | None,
                  path: Any, seconds: float, encoder: Any = None) -> np.ndarray:
    """The look of a video at ``seconds`` (unit float32): its stored keyframe vector when
    one is within :data:`MOMENT_SLACK`, else the frame decoded there and embedded with
    ``encoder`` (the answering model's). Raises ValueError when neither can be had (no
    encoder, or the frame cannot be decoded: the reason is in the message)."""
    if video_id is not None:
        rows = cat.query(
            "SELECT t, embedding FROM video_frames WHERE photo_id = ? AND model_id = ? "
            "ORDER BY ABS(t - ?) LIMIT 1", (video_id, model_id, float(seconds)))
        if rows and abs(rows[0][0] - seconds) <= MOMENT_SLACK:
            return _unit(np.frombuffer(rows[0][1], np.float32))
    if encoder is None:
        raise ValueError(f"no keyframe at {seconds:.1f} s; embedding that frame needs the model")
    from photoorg.core.media.imaging import DecodeError
    from photoorg.core.media.video import frame_at

    try:
        image = frame_at(path, seconds, min_side=int(getattr(encoder, "image_size", 224)))
    except DecodeError as exc:
        raise ValueError(f"cannot read {path} at {seconds:.1f} s: {exc}") from exc
    vec = np.asarray(encoder.encode_images([image]), np.float32).reshape(-1)
    if len(vec) != dim:
        raise ValueError(f"the model gives {len(vec)}-d vectors, the library holds {dim}-d")
    return _unit(vec)


def _unit(vec: np.ndarray) -> np.ndarray:
    vec = np.asarray(vec, np.float32)
    norm = float(np.linalg.norm(vec))
    return vec / norm if norm > 0 else vec
