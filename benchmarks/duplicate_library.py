"""A library of real photos with known copies, for judging duplicates (used by
benchmarks/duplicates_quality.py and the tests).

Originals: Debian's mate-backgrounds wallpapers (fetched by people_photos.fetch_mate_backgrounds)
and the labelled portraits in tests/data/faces-dev, reduced to at most ``long_side`` px.
Each original gets copies a user really has:

- exact copies: ``small`` (a 40% export), ``recompressed`` (JPEG quality 45), ``rotated``
  (pixels turned, EXIF Orientation 6 turning them back: looks the same), ``png`` (format
  change, 60%);
- edited copies: ``crop`` (80% of the picture, off centre), ``bright`` (brightness +30%).

Plus "similar scene, different photo": the last ``scenes`` wallpapers are not in the library
themselves; each gives three views of its scene, panned 10% apart (none inside another), and the
faces-dev portraits (two photos each of the
same people). Every file's origin is recorded: a group that mixes origins is a false group.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, ImageEnhance

EXACT_COPIES = ("small", "recompressed", "rotated", "png")
EDITED_COPIES = ("crop", "bright")


@dataclass
class Truth:
    origin: dict[str, str] = field(default_factory=dict)  # file name -> origin id
    copy: dict[str, str] = field(default_factory=dict)  # copy file name -> kind of copy
    original: dict[str, str] = field(default_factory=dict)  # origin id -> original's name

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.__dict__, indent=1))


def _save_jpeg(im: Image.Image, path: Path, quality: int = 92, exif: bytes | None = None) -> None:
    kwargs = {"exif": exif} if exif else {}
    im.convert("RGB").save(path, "JPEG", quality=quality, **kwargs)


def add_copies(original: Image.Image, stem: str, folder: Path, truth: Truth,
               kinds: tuple[str, ...] = EXACT_COPIES + EDITED_COPIES) -> None:
    """Write ``stem.jpg`` and its copies of ``kinds`` into ``folder``."""
    name = f"{stem}.jpg"
    _save_jpeg(original, folder / name)
    truth.origin[name] = stem
    truth.original[stem] = name
    w, h = original.size
    for kind in kinds:
        out = f"{stem}_{kind}.png" if kind == "png" else f"{stem}_{kind}.jpg"
        if kind == "small":
            _save_jpeg(original.resize((w * 2 // 5, h * 2 // 5), Image.Resampling.LANCZOS),
                       folder / out, 85)
        elif kind == "recompressed":
            _save_jpeg(original, folder / out, 45)
        elif kind == "rotated":  # stored turned, EXIF says turn back: displays the same
            exif = Image.Exif()
            exif[0x0112] = 6
            _save_jpeg(original.transpose(Image.Transpose.ROTATE_90), folder / out, 90,
                       exif.tobytes())
        elif kind == "png":
            original.resize((w * 3 // 5, h * 3 // 5), Image.Resampling.BILINEAR).save(
                folder / out, "PNG")
        elif kind == "crop":
            _save_jpeg(original.crop((w // 8, h // 20, w // 8 + w * 4 // 5,
                                      h // 20 + h * 4 // 5)), folder / out)
        elif kind == "bright":
            _save_jpeg(ImageEnhance.Brightness(original).enhance(1.3), folder / out)
        else:
            raise ValueError(kind)
        truth.origin[out] = stem
        truth.copy[out] = kind


def _reduced(path: Path, long_side: int) -> Image.Image:
    from PIL import ImageOps

    with Image.open(path) as im:
        im = ImageOps.exif_transpose(im).convert("RGB")
        im.thumbnail((long_side, long_side), Image.Resampling.LANCZOS)
        return im.copy()


def build(folder: Path, wallpapers: list[Path], portraits: list[Path],
          long_side: int = 1600, scenes: int = 5) -> Truth:
    """The library in ``folder`` (created); returns who comes from where."""
    folder.mkdir(parents=True, exist_ok=True)
    truth = Truth()
    seen: set[str] = set()  # mate ships Elephants at three sizes: one picture, kept once
    wallpapers = [p for p in wallpapers
                  if p.stem.split("_")[0] not in seen and not seen.add(p.stem.split("_")[0])]
    for i, path in enumerate(wallpapers):
        im = _reduced(path, long_side)
        stem = f"w{i:02d}_{path.stem}"[:40]
        if i < len(wallpapers) - scenes:
            add_copies(im, stem, folder, truth)
            continue
        w, h = im.size
        for view in range(3):
            name = f"{stem}_view{view}.jpg"
            x0 = w * view // 10
            _save_jpeg(im.crop((x0, 0, x0 + w * 8 // 10, h)), folder / name)
            truth.origin[name] = name
    for i, path in enumerate(portraits):
        im = _reduced(path, long_side)
        stem = f"p{i:02d}_{path.parent.name}_{path.stem}"
        add_copies(im, stem, folder, truth)
    truth.save(folder.parent / f"{folder.name}-truth.json")
    return truth


def faces_dev(shared: Path) -> list[Path]:
    root = shared / "data" / "faces-dev"
    return sorted(p for p in root.glob("*/*") if p.suffix.lower() in (".jpg", ".jpeg"))
