"""A large library from the indexing benchmark's mixed photos, for measuring at scale.

``benchmarks/indexing.py`` makes 120 camera-like 12 MP photos (96 scenes, 24 with a person, 12
with a painted word) in ``bench-data/indexing/mixed-120/photos``. This writes ``--count``
photos of ``--size`` from them, each a different crop (so no two files are the same) and every
other cycle mirrored: the same shares of people and words, at scale.

    python benchmarks/indexing.py --json                      # makes the 120 first
    python benchmarks/scaled_library.py --count 2000 --out /tmp/lib2k
    /usr/bin/time -f "%e s %M KB" python -m photoorg --data-dir /tmp/d index /tmp/lib2k \\
        --model ViT-B-32/random -q --json
    python benchmarks/indexing.py --child naive --model ViT-B-32/random --folder /tmp/lib2k
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

from PIL import Image, ImageOps

REPO = Path(__file__).resolve().parents[1]
SIZES = {"2mp": (1600, 1200), "12mp": (4000, 3000)}


def write_scaled(sources: list[Path], out: Path, count: int, size: tuple[int, int],
                 seed: int = 7) -> int:
    """Write ``count`` JPEGs of ``size`` cut from ``sources`` into ``out``; returns count."""
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    for i in range(count):
        src = sources[i % len(sources)]
        with Image.open(src) as im:
            im.draft("RGB", (size[0] * 5 // 4, size[1] * 5 // 4))
            im = im.convert("RGB")
        # a crop 3% smaller than the photo, placed at random: every file differs
        w, h = round(im.width * 0.97), round(im.height * 0.97)
        x, y = rng.randint(0, im.width - w), rng.randint(0, im.height - h)
        im = im.crop((x, y, x + w, y + h)).resize(size, Image.Resampling.BILINEAR)
        if (i // len(sources)) % 2:
            im = ImageOps.mirror(im)
        im.save(out / f"{i:05d}_{src.stem}.jpg", quality=90)
    return count


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--size", choices=sorted(SIZES), default="2mp")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--photos", type=Path,
                        default=REPO / "bench-data" / "indexing" / "mixed-120" / "photos")
    args = parser.parse_args()
    sources = sorted(args.photos.glob("*.jpg"))
    if not sources:
        parser.error(f"no photos in {args.photos}: run benchmarks/indexing.py first")
    print(write_scaled(sources, args.out, args.count, SIZES[args.size]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
