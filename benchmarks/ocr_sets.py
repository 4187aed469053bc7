"""The OCR gate's test sets for ``benchmarks/ocr.py --sets``: kinds of photos, each with its
truth (the word painted or written on it, or none), made once into ``bench-data/ocr-sets``.

- ``plain``: real photos without words: Debian's ``mate-backgrounds`` cropped to 12 MP
  (some mirrored) and the labelled faces of ``tests/data/faces-dev``;
- ``words``: those photos with a word painted at 4.5-9% of the photo's height;
- ``small``: the same at 2-3% of the height (small print, a far sign);
- ``large``: the same at 12-25% of the height (a shop front, a poster: strokes wider than
  the gate's stroke test sees in its own copy);
- ``screens``: the app's own screenshots (``docs/screenshots``) and rendered documents
  (pages, slides, light and dark, one photographed on a background).

Words are painted in several fonts (the system's DejaVu and URW fonts where installed,
Pillow's bundled one always) and styles: dark on a light plate, white with an outline,
bare coloured letters (red on green leaves has little contrast in grey), white on a
coloured plate.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont, ImageOps

FONT_FILES = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf",
    "/usr/share/fonts/opentype/urw-base35/NimbusSans-Regular.otf",
    "/usr/share/fonts/opentype/urw-base35/URWBookman-Light.otf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSansMono-Bold.ttf",
    "/usr/share/fonts/opentype/urw-base35/P052-Italic.otf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSansCondensed-Bold.ttf",
]
DOC_WORDS = ["Invoice", "Quarterly", "Delivery", "Budget", "Meeting", "Address", "Revenue",
             "Friday"]
LOREM = " ".join([
    "The quarterly report shows revenue growth across all regions. Please review the",
    "attached invoice and confirm the delivery address before Friday. Meeting notes:",
    "budget approved."]).split(" ")


def _font(i: int, size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    files = [None] + [f for f in FONT_FILES if Path(f).is_file()]
    name = files[i % len(files)]
    return ImageFont.load_default(size=size) if name is None else ImageFont.truetype(name, size)


def paint_styled(im: Image.Image, word: str, height: float, style: int, font: int,
                 rng: random.Random) -> None:
    """Paint ``word`` at ``height`` (share of the photo's height) in one of four styles."""
    w, h = im.size
    size = max(6, int(h * height))
    f = _font(font, size)
    draw = ImageDraw.Draw(im)
    box = draw.textbbox((0, 0), word, font=f)
    tw, th = box[2] - box[0], box[3] - box[1]
    x = rng.randint(w // 20, max(w // 20, w - tw - w // 20))
    y = rng.randint(h // 20, max(h // 20, h - th - h // 20))
    at = (x - box[0], y - box[1])
    pad = size // 3
    plate = (x - pad, y - pad, x + tw + pad, y + th + 2 * pad)
    if style == 0:
        draw.rectangle(plate, fill=(240, 238, 228))
        draw.text(at, word, font=f, fill=(20, 20, 25))
    elif style == 1:
        draw.text(at, word, font=f, fill=(255, 255, 255), stroke_width=max(2, size // 15),
                  stroke_fill=(0, 0, 0))
    elif style == 2:
        draw.text(at, word, font=f, fill=rng.choice(
            [(255, 220, 0), (230, 30, 30), (255, 255, 255), (10, 10, 10)]))
    else:
        draw.rectangle(plate, fill=rng.choice([(20, 60, 160), (170, 20, 20), (20, 110, 50)]))
        draw.text(at, word, font=f, fill=(255, 255, 255))


def _document(i: int, word: str, background: Image.Image) -> Image.Image:
    width, height = (2480, 3508) if i % 2 else (1920, 1080)
    dark = i % 3 == 0
    page = Image.new("RGB", (width, height), (30, 30, 34) if dark else (255, 255, 255))
    draw = ImageDraw.Draw(page)
    ink = (220, 220, 220) if dark else (20, 20, 20)
    size = int(height * (0.012 if i % 2 else 0.018))
    y = height // 12
    draw.text((width // 12, y), word + " " + " ".join(LOREM[:6]), font=_font(i, size * 2),
              fill=ink)
    y += size * 4
    k = 0
    while y < height - height // 12:
        draw.text((width // 12, y), " ".join(LOREM[k:k + 9]), font=_font(i, size), fill=ink)
        k = (k + 9) % (len(LOREM) - 9)
        y += int(size * 1.6)
    if i % 4 == 3:  # a photographed page: tilted, on a photo
        photo = background.resize((width, height))
        photo.paste(page.resize((width * 2 // 3, height * 2 // 3)).rotate(3),
                    (width // 6, height // 6))
        page = photo
    return page


def make_sets(folder: Path, sources: list[Path], faces_dev: Path, screenshots: Path,
              words: list[str], plain: int = 24, painted: int = 16, small: int = 24,
              large: int = 12, seed: int = 1) -> dict[str, dict[str, str | None]]:
    """``{set: {file name: word or None ("?" for a screenshot: text, no single word)}}``,
    made once (kept with ``truth.json``)."""
    truth_file = folder / "truth.json"
    if truth_file.is_file():
        truth = json.loads(truth_file.read_text())
        if "large" not in truth:  # sets made before the large words: add them alone
            truth["large"] = _painted(folder, "large", (0.12, 0.25), large, words,
                                      sorted(sources), random.Random(seed + 1))
            truth_file.write_text(json.dumps(truth, indent=1))
        return truth
    rng = random.Random(seed)
    sources = sorted(sources)

    def base(i: int) -> Image.Image:
        return _base(sources, i)

    truth: dict[str, dict[str, str | None]] = {k: {} for k in ("plain", "words", "small",
                                                             "screens", "large")}
    for name in truth:
        (folder / name).mkdir(parents=True, exist_ok=True)
    for i in range(plain):
        base(i).save(folder / "plain" / f"{i:03d}.jpg", quality=92)
        truth["plain"][f"{i:03d}.jpg"] = None
    faces = sorted(p for p in faces_dev.rglob("*") if p.suffix.lower() in (".jpg", ".jpeg"))
    for i, path in enumerate(faces):
        with Image.open(path) as im:
            im.convert("RGB").save(folder / "plain" / f"face{i:02d}.jpg", quality=92)
        truth["plain"][f"face{i:02d}.jpg"] = None
    for kind, heights, count in (("words", (0.045, 0.09), painted),
                                 ("small", (0.02, 0.03), small)):
        for i in range(count):
            word = words[i % len(words)]
            im = base(i * 3 + 1)
            paint_styled(im, word, rng.uniform(*heights), i % 4, i, rng)
            im.save(folder / kind / f"{i:03d}.jpg", quality=92)
            truth[kind][f"{i:03d}.jpg"] = word
    for i, path in enumerate(sorted(screenshots.glob("*.png"))):
        with Image.open(path) as im:
            im.convert("RGB").save(folder / "screens" / f"shot{i:02d}.png")
        truth["screens"][f"shot{i:02d}.png"] = "?"
    for i, word in enumerate(DOC_WORDS):
        _document(i, word, base(i)).save(folder / "screens" / f"doc{i:02d}.jpg", quality=90)
        truth["screens"][f"doc{i:02d}.jpg"] = word
    truth["large"] = _painted(folder, "large", (0.12, 0.25), large, words, sources,
                              random.Random(seed + 1))
    truth_file.write_text(json.dumps(truth, indent=1))
    return truth


def _base(sources: list[Path], i: int) -> Image.Image:
    with Image.open(sources[i % len(sources)]) as im:
        im = ImageOps.fit(im.convert("RGB"), (4000, 3000))
    return ImageOps.mirror(im) if (i // len(sources)) % 2 else im


def _painted(folder: Path, kind: str, heights: tuple[float, float], count: int,
             words: list[str], sources: list[Path], rng: random.Random) -> dict[str, str | None]:
    """``count`` photos with a word painted at ``heights`` (share of the photo's height)."""
    (folder / kind).mkdir(parents=True, exist_ok=True)
    truth: dict[str, str | None] = {}
    for i in range(count):
        word = words[(i * 5 + 3) % len(words)]
        im = _base(sources, i * 3 + 2)
        paint_styled(im, word, rng.uniform(*heights), i % 4, i + 1, rng)
        im.save(folder / kind / f"{i:03d}.jpg", quality=92)
        truth[f"{i:03d}.jpg"] = word
    return truth


def bold_sign(im: Image.Image, word: str, height: float) -> Image.Image:
    """A shop front on ``im`` (changed in place, returned): bold white letters ``height``
    of its height on a green plate, near the top left; Pillow's bundled font thickened by
    a stroke of its own colour (the same on every machine)."""
    size = int(im.height * height)
    font = ImageFont.load_default(size=size)
    draw = ImageDraw.Draw(im)
    bold = max(2, size // 12)
    box = draw.textbbox((0, 0), word, font=font, stroke_width=bold)
    x, y, pad = im.width // 16, im.height // 6, size // 4
    draw.rectangle((x - pad, y - pad, x + box[2] - box[0] + pad, y + box[3] - box[1] + pad),
                   fill=(20, 110, 50))
    draw.text((x - box[0], y - box[1]), word, font=font, fill=(255, 255, 255),
              stroke_width=bold, stroke_fill=(255, 255, 255))
    return im


def plate_sign(path: Path, word: str) -> None:
    """A 640x480 photo at ``path``: ``word`` in dark letters on a light plate (the OCR stage
    reads it at once)."""
    image = Image.new("RGB", (640, 480), (70, 110, 60))
    draw = ImageDraw.Draw(image)
    draw.rectangle((60, 180, 560, 300), fill=(240, 238, 228))
    draw.text((90, 200), word, font=ImageFont.load_default(size=72), fill=(20, 20, 25))
    image.save(path, quality=92)

