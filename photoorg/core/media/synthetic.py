"""Synthetic test pictures: coloured shapes on plain backgrounds, with matching captions.

Used to train and check the bundled tiny CLIP (``tools/train_tiny_model.py``), by the tests,
and by the app's self-test. Pillow and numpy only: importing this never pulls in torch.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

COLORS: dict[str, tuple[int, int, int]] = {
    "red": (220, 30, 30),
    "green": (30, 170, 50),
    "blue": (30, 70, 220),
    "yellow": (240, 220, 30),
    "purple": (140, 40, 190),
    "orange": (245, 130, 20),
}
"""Colour names and their base RGB value (each drawing jitters it a little)."""

SHAPES: tuple[str, ...] = ("circle", "square", "triangle", "star")
"""Shape names that :func:`draw_shape_image` can draw."""

CLASSES: tuple[tuple[str, str], ...] = tuple((c, s) for c in COLORS for s in SHAPES)
"""Every (colour, shape) pair, in a fixed order."""

_SUPERSAMPLE = 2


def caption(color: str, shape: str) -> str:
    """The canonical caption of a picture, e.g. ``"a photo of a red circle"``."""
    return f"a photo of a {color} {shape}"


def _shape_points(shape: str, cx: float, cy: float, r: float, angle: float) -> list[tuple]:
    """Polygon vertices of a shape of 'radius' ``r`` centred on (cx, cy), rotated by ``angle``."""
    if shape == "square":
        corners = [(math.pi / 4 + k * math.pi / 2) for k in range(4)]
        radii = [r] * 4
    elif shape == "triangle":
        corners = [(-math.pi / 2 + k * 2 * math.pi / 3) for k in range(3)]
        radii = [r * 1.15] * 3
    elif shape == "star":
        corners = [(-math.pi / 2 + k * math.pi / 5) for k in range(10)]
        radii = [r * 1.1 if k % 2 == 0 else r * 0.45 for k in range(10)]
    else:
        raise ValueError(f"unknown shape {shape!r}; known: {', '.join(SHAPES)}")
    return [
        (cx + rad * math.cos(a + angle), cy + rad * math.sin(a + angle))
        for a, rad in zip(corners, radii, strict=True)
    ]


def draw_shape_image(
    color: str, shape: str, size: int = 256, seed: int = 0, max_rotation: float = 20.0
) -> Image.Image:
    """Draw one ``color`` ``shape`` on a random plain background (RGB, ``size`` x ``size``).

    The seed fixes the background shade, the shape's position, scale, rotation (up to
    ``max_rotation`` degrees either way), the exact colour tint and the sensor-like noise, so two
    seeds give similar but not identical pictures.
    """
    if color not in COLORS:
        raise ValueError(f"unknown color {color!r}; known: {', '.join(COLORS)}")
    if shape not in SHAPES:
        raise ValueError(f"unknown shape {shape!r}; known: {', '.join(SHAPES)}")
    rng = np.random.default_rng(seed)
    big = size * _SUPERSAMPLE

    # Background: a greyish shade with a slight tint and a soft vertical gradient.
    grey = rng.uniform(45, 215)
    tint = rng.uniform(-12, 12, size=3)
    top = np.clip(grey + tint + rng.uniform(-20, 20), 0, 255)
    bottom = np.clip(grey + tint + rng.uniform(-20, 20), 0, 255)
    ramp = np.linspace(0.0, 1.0, big, dtype=np.float32)[:, None, None]
    bg = top[None, None, :] * (1 - ramp) + bottom[None, None, :] * ramp
    canvas = Image.fromarray(np.broadcast_to(bg, (big, big, 3)).astype(np.uint8), "RGB")

    # Shape: jittered colour, random scale / position / rotation.
    base = np.array(COLORS[color], dtype=np.float64)
    fill = np.clip(base * rng.uniform(0.8, 1.1) + rng.uniform(-18, 18, size=3), 0, 255)
    fill_rgb = tuple(int(v) for v in fill)
    r = big * rng.uniform(0.2, 0.33)
    margin = r * 1.15
    cx = float(np.clip(big * (0.5 + rng.uniform(-0.18, 0.18)), margin, big - margin))
    cy = float(np.clip(big * (0.5 + rng.uniform(-0.18, 0.18)), margin, big - margin))
    angle = math.radians(rng.uniform(-max_rotation, max_rotation))
    draw = ImageDraw.Draw(canvas)
    if shape == "circle":
        ry = r * rng.uniform(0.92, 1.08)
        draw.ellipse((cx - r, cy - ry, cx + r, cy + ry), fill=fill_rgb)
    else:
        draw.polygon(_shape_points(shape, cx, cy, r, angle), fill=fill_rgb)

    image = canvas.resize((size, size), Image.Resampling.LANCZOS)
    if rng.random() < 0.3:
        image = image.filter(ImageFilter.GaussianBlur(radius=rng.uniform(0.3, 1.2) * size / 128))
    noisy = np.asarray(image, dtype=np.float32) + rng.normal(0, 5, size=(size, size, 3))
    return Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8), "RGB")


def write_sample_library(
    folder: str | Path, per_class: int = 2, seed: int = 0, size: int = 256
) -> list[tuple[Path, str, str]]:
    """Write ``per_class`` JPEGs of every (colour, shape) into ``folder``.

    Files are named ``{color}_{shape}_{i}.jpg``. Returns ``(path, color, shape)`` per file,
    in a fixed order. The same ``seed`` always writes the same pictures.
    """
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    written: list[tuple[Path, str, str]] = []
    for k, (color, shape) in enumerate(CLASSES):
        for i in range(per_class):
            image_seed = seed * 1_000_003 + k * 1009 + i
            path = out / f"{color}_{shape}_{i}.jpg"
            draw_shape_image(color, shape, size=size, seed=image_seed).save(path, quality=90)
            written.append((path, color, shape))
    return written
