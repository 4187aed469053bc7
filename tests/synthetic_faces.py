"""Made-up face descriptors for tests and benchmarks (test data, not product code)."""

from __future__ import annotations

import math

import numpy as np

from photoorg.core.people.faces import DESCRIPTOR_DIM


def synthetic_descriptors(
    identities: int = 200,
    per_identity: int = 50,
    seed: int = 0,
    group_share: float = 0.2,
    lookalike_share: float = 0.1,
    bad_share: float = 0.05,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Made-up dlib-like descriptors for benchmarks and tests: (descriptors float32
    [n, 128], identity labels, photo ids). Identities sit ~0.85 apart, except
    ``lookalike_share`` of them placed 0.6-0.7 from another (siblings, look-alikes); faces
    of one identity are 0.3-0.5 apart (as dlib's are); ``bad_share`` are degraded faces
    pulled 10-30% of the way to a common "blurry face" point; ``group_share`` of the faces
    are in group photos of 2-5 different identities."""
    rng = np.random.default_rng(seed)
    dim = DESCRIPTOR_DIM
    base = rng.normal(0, 0.12, dim)
    centres = base + rng.normal(0, 0.85 / math.sqrt(2 * dim), (identities, dim))
    for i in np.flatnonzero(rng.random(identities) < lookalike_share):
        other = int(rng.integers(identities))
        if other != i:
            step = rng.normal(0, 1, dim)
            centres[i] = centres[other] + step / np.linalg.norm(step) * rng.uniform(0.6, 0.7)
    spread = rng.uniform(0.30, 0.50, identities) / math.sqrt(2 * dim)
    labels = np.repeat(np.arange(identities), per_identity)
    noise = rng.normal(0, 1, (len(labels), dim)) * spread[labels, None]
    x = centres[labels] + noise
    # Degraded faces (blur, tiny, profile) drift towards one another: measured on dlib with
    # blurred faces-dev chips, the closest two people go from 0.78 apart to 0.56 (blur 4).
    bad = np.flatnonzero(rng.random(len(labels)) < bad_share)
    blur_centre = base + rng.normal(0, 0.85 / math.sqrt(2 * dim), dim)
    pull = rng.uniform(0.1, 0.3, len(bad))[:, None]
    x[bad] = (1 - pull) * x[bad] + pull * blur_centre
    x = x.astype(np.float32)
    photos = np.arange(len(labels), dtype=np.int64)
    grouped = rng.permutation(len(labels))[: int(group_share * len(labels))]
    next_photo = len(labels)
    pos = 0
    while pos < len(grouped):
        size = int(rng.integers(2, 6))
        members = grouped[pos : pos + size]
        if len(set(labels[members].tolist())) == len(members):
            photos[members] = next_photo
            next_photo += 1
        pos += size
    return x, labels, photos
