"""The torch-free preprocess gives open_clip's tensor for the model."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from photoorg.core.models.image_prep import ImagePrep

MEAN = (0.48145466, 0.4578275, 0.40821073)
STD = (0.26862954, 0.26130258, 0.27577711)


def _images():
    rng = np.random.default_rng(3)
    for w, h, mode in [(640, 480, "RGB"), (481, 1001, "RGB"), (224, 224, "RGB"),
                       (225, 300, "L"), (333, 250, "RGBA"), (1000, 224, "RGB"),
                       (64, 48, "RGB"), (300, 301, "P")]:
        arr = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        arr[: h // 2] //= 3  # some structure, not only noise
        yield Image.fromarray(arr, "RGB").convert(mode)


@pytest.mark.parametrize("size", [224, 64])
def test_same_tensor_as_open_clip(size):
    pytest.importorskip("open_clip")
    from open_clip.transform import image_transform

    theirs = image_transform(size, is_train=False, mean=MEAN, std=STD)
    ours = ImagePrep(size, MEAN, STD)
    for image in _images():
        want = theirs(image).numpy()
        got = ours(image)
        assert got.dtype == np.float32 and got.shape == (3, size, size)
        assert np.abs(got - want).max() <= 1e-6, image.size
