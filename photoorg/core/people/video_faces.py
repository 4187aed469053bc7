"""Faces in a video: found on its keyframes (:func:`photoorg.core.media.video.keyframes`), then
one face per person per video, the best one, so a clip of someone talking for a minute is
one appearance of that person, not twenty-four (and, one face per person per photo being
the clustering's rule, the video's remaining faces are all different people).

Two faces of one video are taken for the same person when their descriptors are closer
than :data:`SAME_PERSON` (inside the people clustering's merge threshold) and they were
seen in different frames (two faces in one frame are two people). The face kept is the
most confident, largest one; it keeps the second it was seen at (``t``).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import numpy as np
from PIL import Image

from photoorg.core.media import video
from photoorg.core.media.errors import DecodeError

SAME_PERSON = 0.5
FRAME_SIDE = 720
"""Keyframes are decoded with this shortest side at most (720p kept as it is; faces of 40 px
and more are found there, and the frames held while a clip is read stay small)."""

F = TypeVar("F")


def best_per_person(faces: Sequence[F]) -> list[F]:
    """One face per person among a video's faces (each with ``box``, ``score``,
    ``descriptor`` and ``t``), best first."""
    def quality(face: Any) -> float:
        return float(face.score) * float(face.box[2]) * float(face.box[3])

    kept: list[Any] = []
    for face in sorted(faces, key=quality, reverse=True):
        x = np.asarray(face.descriptor, np.float64)
        if not any(other.t != face.t and float(np.linalg.norm(
                np.asarray(other.descriptor, np.float64) - x)) < SAME_PERSON for other in kept):
            kept.append(face)
    return kept


def analyze_video(path: str | os.PathLike[str], detect: Callable[[Image.Image], list[F]],
                  frame_side: int = FRAME_SIDE) -> list[F]:
    """The faces of a video's keyframes, one per person (see :func:`best_per_person`), each
    carrying its second (``t``). Raises DecodeError when no keyframe decodes."""
    found: list[Any] = []
    frames = 0
    try:
        for t, image in video.iter_keyframes(path, min_side=frame_side):
            frames += 1
            found.extend(dataclasses.replace(face, t=t)  # type: ignore[type-var]
                         for face in detect(image))
    except DecodeError:
        if not frames:
            raise  # nothing decoded: the caller says why
    return best_per_person(found)
