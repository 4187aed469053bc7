"""open_clip's evaluation transform without torch: Pillow and numpy only.

``Resize(size, bicubic)`` on the shortest side, ``CenterCrop(size)``, RGB, ``ToTensor``,
``Normalize(mean, std)``: the same float32 array as open_clip's transform (tests compare
them), as ``(3, size, size)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from PIL import Image

_RESAMPLE = {"bicubic": 3, "bilinear": 2, "nearest": 0, "lanczos": 1, "box": 4, "hamming": 5}


class ImagePrep:
    """A callable: PIL image -> normalised float32 array (3, size, size)."""

    def __init__(self, size: int, mean: Sequence[float], std: Sequence[float],
                 interpolation: str = "bicubic") -> None:
        if interpolation not in _RESAMPLE:
            raise ValueError(f"unsupported interpolation {interpolation!r}")
        self.size = int(size)
        self.resample = _RESAMPLE[interpolation]
        self.mean = np.asarray(mean, dtype=np.float32).reshape(3, 1, 1)
        self.std = np.asarray(std, dtype=np.float32).reshape(3, 1, 1)

    def __call__(self, image: Image.Image) -> np.ndarray:
        size = self.size
        w, h = image.size
        short, long = (w, h) if w <= h else (h, w)
        if short != size:  # torchvision: the long side is int(size * long / short)
            new_long = int(size * long / short)
            new = (size, new_long) if w <= h else (new_long, size)
            image = image.resize(new, resample=self.resample)
        w, h = image.size
        if w < size or h < size:
            raise ValueError(f"image {w}x{h} smaller than the crop {size}")
        top = int(round((h - size) / 2.0))
        left = int(round((w - size) / 2.0))
        image = image.crop((left, top, left + size, top + size))
        if image.mode != "RGB":
            image = image.convert("RGB")
        pixels = np.asarray(image, dtype=np.uint8).transpose(2, 0, 1).astype(np.float32)
        pixels /= np.float32(255)
        pixels -= self.mean
        pixels /= self.std
        return pixels
