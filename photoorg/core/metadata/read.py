"""What other tools wrote about a photo: keywords, rating, label, title, caption, named faces.

:func:`read_metadata` reads the photo's own metadata (embedded XMP, IPTC, EXIF: JPEG,
TIFF, PNG, HEIC, RAW as far as exiv2 reads them) and its XMP sidecars (``IMG_1.jpg.xmp``
and ``IMG_1.xmp``), and merges them without duplicates. Read-only: nothing is written.

Dialects
    keywords: IPTC Keywords, XMP ``dc:subject`` (flat); ``lr:hierarchicalSubject``
    (``|``), ``digiKam:TagsList`` (``/``), ``MicrosoftPhoto:LastKeywordXMP`` (``/``),
    ``mediapro:CatalogSets`` (``|``) (hierarchical; kept as photoorg tags with ``|``).
    A flat keyword that only repeats a level of a hierarchical one is dropped
    (``Alice`` next to ``People|Alice``). Rating: ``xmp:Rating`` (-1 rejected .. 5),
    ``MicrosoftPhoto:Rating`` (percent), EXIF Rating. Label: ``xmp:Label``. Title:
    ``dc:title``, IPTC Object Name. Caption: ``dc:description``, IPTC Caption-Abstract,
    EXIF ImageDescription (cameras' boilerplate such as "OLYMPUS DIGITAL CAMERA" ignored).
    Scalars: the sidecar wins over the file (that is where Lightroom-style tools put later
    edits); XMP wins over IPTC over EXIF.

Face regions
    MWG (``mwg-rs:Regions``; ``Area`` x/y is the *centre*) and Microsoft's
    (``MP:RegionInfo``; ``MPReg:Rectangle`` "x, y, w, h" with x/y the *top-left* corner),
    both on the stored pixel grid: they are turned into top-left boxes normalised to the
    displayed (EXIF-oriented) image, the convention of the ``faces`` table. Only named
    face regions are kept (MWG ``Type`` Face or none; MP regions are people).

Tolerance (as exiftool reads)
    legacy IPTC in Latin-1 / Windows-1252 (the CodedCharacterSet record says UTF-8 or not;
    without it, UTF-8 if the bytes are valid UTF-8); an XMP packet exiv2 rejects is parsed
    leniently (:mod:`photoorg.core.metadata.xmp`) and IPTC / EXIF are then read through Pillow. What
    cannot be read at all (truncated XMP, a region outside the image, an absurd rating) is
    left out and its reason added to ``problems``; the rest still counts.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from photoorg.core.metadata import xmp
from photoorg.core.metadata.sidecar import find_sidecars, stored_to_displayed

log = logging.getLogger(__name__)

Box = tuple[float, float, float, float]

# a little beyond the frame is rounding; more is a region of another image
_EDGE_SLACK = 0.02
_MAX_XMP_SCAN = 64 << 20
# what cameras write into EXIF ImageDescription when nobody wrote anything
_BOILERPLATE = {
    "", "olympus digital camera", "sony dsc", "default", "sam_", "digital camera",
    "kodak digital still camera", "minolta digital camera", "camera", "image",
}
_UTF8_CHARSET = "\x1b%G"


@dataclass(frozen=True)
class Region:
    """A named face region: top-left box normalised to the displayed image."""

    name: str
    box: Box


@dataclass
class PhotoMetadata:
    """What a photo's metadata says (see the module docstring)."""

    keywords: list[str] = field(default_factory=list)
    rating: int | None = None
    label: str | None = None
    title: str | None = None
    caption: str | None = None
    regions: list[Region] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.keywords or self.regions or self.rating is not None or self.label
                    or self.title or self.caption)


@dataclass
class _Source:
    """One place metadata came from (the file itself, or one sidecar)."""

    xmp: dict[str, Any] = field(default_factory=dict)
    iptc: dict[int, list[bytes]] = field(default_factory=dict)  # dataset -> raw values
    exif: dict[str, str] = field(default_factory=dict)


def read_metadata(path: str | os.PathLike[str]) -> PhotoMetadata:
    """Keywords, rating, label, title, caption and named face regions of a photo, from
    its own metadata and its sidecars. Never raises for bad metadata (see ``problems``)."""
    photo = Path(path)
    out = PhotoMetadata()
    embedded, orientation, size = _read_embedded(photo, out.problems)
    sidecars = []
    for sidecar in find_sidecars(photo):
        try:
            size = sidecar.stat().st_size
            if size > xmp.MAX_PACKET_BYTES:  # not even read: a packet this big is refused
                raise xmp.XmpError(f"{size / 1e6:.1f} MB is more than photoorg reads "
                                   f"({xmp.MAX_PACKET_BYTES / 1e6:.0f} MB); skipped")
            sidecars.append(_Source(xmp=xmp.parse(sidecar.read_bytes())))
        except (OSError, xmp.XmpError) as exc:
            out.problems.append(f"sidecar {sidecar.name}: {exc}")
    sources = [*sidecars, embedded]  # first wins for single values
    out.keywords = _keywords(sources)
    out.rating = _rating(sources, out.problems)
    out.label = _first(_text(s.xmp.get("xmp:Label")) for s in sources)
    out.title = _first(
        [_text(s.xmp.get("dc:title")) for s in sources]
        + [_iptc_text(embedded, 5)]
    )
    out.caption = _first(
        [_text(s.xmp.get("dc:description")) for s in sources]
        + [_iptc_text(embedded, 120), _exif_caption(embedded)]
    )
    seen: set[str] = set()
    for source in sources:
        for region in _regions(source.xmp, orientation, size, out.problems):
            if region.name.casefold() not in seen:
                seen.add(region.name.casefold())
                out.regions.append(region)
    bound(out)
    for problem in out.problems:
        log.info("metadata of %s: %s", photo, problem)
    return out


# Bounds on what other tools' metadata may put in the catalog, per photo: with them a photo
# adds at most ~10 kB whatever its files hold (real ones: a few keywords, a sentence).
MAX_KEYWORDS = 200
MAX_KEYWORD_CHARS = 100
MAX_KEYWORDS_TOTAL_CHARS = 4000
MAX_TITLE_CHARS = 500
MAX_CAPTION_CHARS = 2000
MAX_LABEL_CHARS = 64
MAX_REGIONS = 50
MAX_REGION_NAME_CHARS = 100
MAX_PROBLEMS = 10
MAX_PROBLEM_CHARS = 300


def _cut(text: str | None, limit: int, what: str, problems: list[str]) -> str | None:
    if text is None or len(text) <= limit:
        return text
    problems.append(f"{what} of {len(text)} characters cut to {limit}")
    return text[: limit - 1].rstrip() + "…"


def bound(meta: PhotoMetadata) -> None:
    """Cut or skip what is past the bounds, saying so in ``meta.problems``."""
    problems = meta.problems
    kept: list[str] = []
    long_ones = 0
    total = 0
    for word in meta.keywords:
        if len(word) > MAX_KEYWORD_CHARS:
            long_ones += 1  # a cut keyword would be a wrong tag: skipped
            continue
        if len(kept) >= MAX_KEYWORDS or total + len(word) > MAX_KEYWORDS_TOTAL_CHARS:
            break
        kept.append(word)
        total += len(word)
    if long_ones:
        problems.append(f"{long_ones} keywords longer than {MAX_KEYWORD_CHARS} characters "
                        "skipped")
    if len(kept) + long_ones < len(meta.keywords):
        problems.append(f"{len(meta.keywords) - len(kept) - long_ones} keywords past the "
                        f"first {len(kept)} skipped")
    meta.keywords = kept
    meta.title = _cut(meta.title, MAX_TITLE_CHARS, "title", problems)
    meta.caption = _cut(meta.caption, MAX_CAPTION_CHARS, "caption", problems)
    if meta.label is not None and len(meta.label) > MAX_LABEL_CHARS:
        problems.append(f"label of {len(meta.label)} characters skipped")
        meta.label = None
    regions = [r for r in meta.regions if len(r.name) <= MAX_REGION_NAME_CHARS]
    if len(regions) < len(meta.regions):
        problems.append(f"{len(meta.regions) - len(regions)} face names longer than "
                        f"{MAX_REGION_NAME_CHARS} characters skipped")
    if len(regions) > MAX_REGIONS:
        problems.append(f"{len(regions) - MAX_REGIONS} named regions past the first "
                        f"{MAX_REGIONS} skipped")
    meta.regions = regions[:MAX_REGIONS]
    if len(problems) > MAX_PROBLEMS:
        rest = len(problems) - MAX_PROBLEMS + 1
        problems[MAX_PROBLEMS - 1 :] = [f"and {rest} more problems"]
    problems[:] = [p if len(p) <= MAX_PROBLEM_CHARS else p[: MAX_PROBLEM_CHARS - 1] + "…"
                   for p in problems]


# -- the file's own metadata --------------------------------------------------------------


def _read_embedded(
    photo: Path, problems: list[str]
) -> tuple[_Source, int, tuple[int, int] | None]:
    """(what the file says, EXIF orientation, stored pixel size)."""
    import pyexiv2

    pyexiv2.set_log_level(3)  # exiv2's warnings about bad XMP: we report those ourselves
    source = _Source()
    try:
        with pyexiv2.Image(str(photo)) as img:
            raw_xmp = img.read_raw_xmp(encoding="latin-1").encode("latin-1")
            iptc = img.read_iptc(encoding="latin-1")
            exif = img.read_exif(encoding="latin-1")
            size = (img.get_pixel_width(), img.get_pixel_height())
    except (RuntimeError, OSError, ValueError) as exc:  # exiv2 refused the file: salvage
        log.debug("exiv2 cannot read %s (%s); reading it leniently", photo, exc)
        return _read_leniently(photo, problems, str(exc).strip())
    if not raw_xmp.strip(b"\x00 \r\n\t") and photo.suffix.lower() in _BMFF:
        raw_xmp = _scan_for_packet(photo) or b""  # exiv2 misses XMP items of some HEICs
    if raw_xmp.strip(b"\x00 \r\n\t"):
        try:
            source.xmp = xmp.parse(raw_xmp)
        except xmp.XmpError as exc:
            problems.append(f"embedded XMP: {exc}")
    for key, value in iptc.items():
        dataset = _IPTC_DATASETS.get(key)
        if dataset is not None:
            values = value if isinstance(value, list) else [value]
            source.iptc[dataset] = [v.encode("latin-1") for v in values]
    source.exif = {k: v for k, v in exif.items() if isinstance(v, str)}
    orientation = _orientation(source.exif.get("Exif.Image.Orientation"))
    return source, orientation, size if size[0] and size[1] else None


_BMFF = {".heic", ".heif", ".hif", ".avif"}


def _scan_for_packet(photo: Path) -> bytes | None:
    try:
        with open(photo, "rb") as fh:
            return xmp.find_packet(fh.read(_MAX_XMP_SCAN))
    except OSError:
        return None


_IPTC_DATASETS = {
    "Iptc.Envelope.CharacterSet": 90,  # record 1, the only one we read from it
    "Iptc.Application2.ObjectName": 5,
    "Iptc.Application2.Keywords": 25,
    "Iptc.Application2.Caption": 120,
}


def _read_leniently(
    photo: Path, problems: list[str], why: str
) -> tuple[_Source, int, tuple[int, int] | None]:
    """The file's metadata without exiv2: XMP found in the bytes, IPTC and EXIF by Pillow."""
    from PIL import Image, IptcImagePlugin

    source = _Source()
    try:
        with open(photo, "rb") as fh:
            data = fh.read(_MAX_XMP_SCAN)
    except OSError as exc:
        problems.append(f"cannot read the file: {exc}")
        return source, 1, None
    packet = xmp.find_packet(data)
    if packet is not None:
        try:
            source.xmp = xmp.parse(packet)
            problems.append(f"embedded XMP rejected by exiv2 ({why}), read leniently")
        except xmp.XmpError as exc:
            problems.append(f"embedded XMP skipped: {exc}")
    orientation, size = 1, None
    try:
        with Image.open(photo) as im:
            size = im.size
            exif = im.getexif()
            orientation = _orientation(exif.get(0x0112))
            for tag, key in ((0x010E, "Exif.Image.ImageDescription"),
                             (0x4746, "Exif.Image.Rating")):
                value = exif.get(tag)
                if isinstance(value, bytes):
                    value = value.decode("latin-1")
                if value is not None:
                    source.exif[key] = str(value)
            info = IptcImagePlugin.getiptcinfo(im) or {}
    except Exception as exc:  # Pillow cannot open it either: what XMP gave is all
        problems.append(f"IPTC/EXIF unreadable: {exc}")
        return source, orientation, size
    for (record, dataset), value in info.items():
        if (record, dataset) in ((1, 90), (2, 5), (2, 25), (2, 120)):
            source.iptc[dataset] = value if isinstance(value, list) else [value]
    return source, orientation, size


def _orientation(value: Any) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return 1
    return number if 1 <= number <= 8 else 1


# -- text ------------------------------------------------------------------------------------


def _decode_iptc(raw: bytes, charset: bytes | None) -> str:
    """IPTC text honouring CodedCharacterSet (1:90): ESC % G is UTF-8; without the record,
    UTF-8 when the bytes are valid UTF-8, else Windows-1252 (exiftool's default)."""
    if charset is not None and charset.decode("latin-1") == _UTF8_CHARSET:
        return raw.decode("utf-8", errors="replace")
    if charset is None:
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            pass
    return raw.decode("cp1252", errors="replace").replace("\ufffd", "")


def _iptc_values(source: _Source, dataset: int) -> list[str]:
    charset = (source.iptc.get(90) or [None])[0]
    values = [_decode_iptc(v, charset).strip().strip("\x00") for v in source.iptc.get(dataset, [])]
    return [v for v in values if v]


def _iptc_text(source: _Source, dataset: int) -> str | None:
    values = _iptc_values(source, dataset)
    return values[0] if values else None


def _fix_latin1(text: str) -> str:
    """EXIF "ASCII" that is really UTF-8 (most writers), read here as Latin-1."""
    try:
        return text.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return text


def _exif_caption(source: _Source) -> str | None:
    text = _fix_latin1(source.exif.get("Exif.Image.ImageDescription", "")).strip().strip("\x00")
    if text.casefold() in _BOILERPLATE or text.casefold().startswith("sam_"):
        return None
    return text


def _text(value: Any) -> str | None:
    if isinstance(value, xmp.LangAlt):
        value = value.default()
    elif isinstance(value, list):
        value = next((v for v in value if isinstance(v, str) and v.strip()), None)
    if not isinstance(value, str):
        return None
    return value.strip() or None


def _first(values: Iterable[str | None]) -> str | None:
    return next((v for v in values if v), None)


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []


# -- keywords --------------------------------------------------------------------------------

_HIERARCHICAL = (
    ("lr:hierarchicalSubject", "|"),
    ("mediapro:CatalogSets", "|"),
    ("digiKam:TagsList", "/"),
    ("MicrosoftPhoto:LastKeywordXMP", "/"),
)


def _path(text: str, sep: str) -> str | None:
    parts = [p.strip() for p in text.split(sep) if p.strip()]
    return "|".join(parts) if parts else None


def _keywords(sources: list[_Source]) -> list[str]:
    hierarchical: list[str] = []
    flat: list[str] = []
    for source in sources:
        for key, sep in _HIERARCHICAL:
            hierarchical += [p for v in _strings(source.xmp.get(key)) if (p := _path(v, sep))]
        flat += [v.strip() for v in _strings(source.xmp.get("dc:subject"))]
        flat += _iptc_values(source, 25)
    levels = {part.casefold() for tag in hierarchical for part in tag.split("|")}
    out: list[str] = []
    seen: set[str] = set()
    for tag in hierarchical + [f for f in flat if f.casefold() not in levels]:
        if tag and tag.casefold() not in seen:
            seen.add(tag.casefold())
            out.append(tag)
    return out


# -- rating ----------------------------------------------------------------------------------


def _stars_from_percent(percent: float) -> int:
    """Windows' RatingPercent (1, 25, 50, 75, 99) -> stars."""
    if percent <= 0:
        return 0
    return min(5, 1 + int((percent + 12) // 25))


def _rating(sources: list[_Source], problems: list[str]) -> int | None:
    candidates: list[tuple[str, Any, bool]] = []
    for source in sources:
        candidates.append(("xmp:Rating", source.xmp.get("xmp:Rating"), False))
        candidates.append(("MicrosoftPhoto:Rating", source.xmp.get("MicrosoftPhoto:Rating"), True))
        candidates.append(("EXIF Rating", source.exif.get("Exif.Image.Rating"), False))
    for name, raw, percent in candidates:
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            continue
        try:
            value = float(raw)
        except (TypeError, ValueError):
            problems.append(f"{name} {raw!r} is not a number: ignored")
            continue
        if percent:
            if not 0 <= value <= 100:
                problems.append(f"{name} {raw!r} is outside 0..100: ignored")
                continue
            return _stars_from_percent(value)
        if not -1 <= value <= 5 or value != int(value):
            problems.append(f"{name} {raw!r} is outside -1..5: ignored")
            continue
        return int(value)
    return None


# -- face regions ----------------------------------------------------------------------------


def _float(value: Any) -> float:
    return float(str(value).strip())


def _regions(
    props: dict[str, Any], orientation: int, size: tuple[int, int] | None, problems: list[str]
) -> list[Region]:
    out: list[Region] = []
    found: list[tuple[str, Box, bool]] = []  # (name, stored top-left box, as displayed)
    mwg = props.get("mwg-rs:Regions")
    if isinstance(mwg, dict):
        as_displayed = _applied_as_displayed(mwg.get("mwg-rs:AppliedToDimensions"),
                                             orientation, size)
        items = mwg.get("mwg-rs:RegionList")
        for item in items if isinstance(items, list) else []:
            if not isinstance(item, dict):
                continue
            name = _text(item.get("mwg-rs:Name"))
            kind = _text(item.get("mwg-rs:Type")) or "Face"
            area = item.get("mwg-rs:Area")
            if not name or kind.casefold() != "face" or not isinstance(area, dict):
                continue
            if (_text(area.get("stArea:unit")) or "normalized").casefold() != "normalized":
                problems.append(f"region {name!r}: unit {area.get('stArea:unit')!r} ignored")
                continue
            try:
                cx, cy = _float(area["stArea:x"]), _float(area["stArea:y"])
                w, h = _float(area.get("stArea:w", 0)), _float(area.get("stArea:h", 0))
            except (KeyError, ValueError) as exc:
                problems.append(f"region {name!r}: unreadable area ({exc})")
                continue
            found.append((name, (cx - w / 2, cy - h / 2, w, h), as_displayed))
    info = props.get("MP:RegionInfo")
    items = info.get("MPRI:Regions") if isinstance(info, dict) else None
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict):
            continue
        name = _text(item.get("MPReg:PersonDisplayName"))
        rect = _text(item.get("MPReg:Rectangle"))
        if not name or not rect:
            continue  # a name without a rectangle is a keyword, not a region
        try:
            x, y, w, h = (float(v) for v in rect.split(","))
        except ValueError:
            problems.append(f"region {name!r}: unreadable rectangle {rect!r}")
            continue
        found.append((name, (x, y, w, h), False))
    for name, box, as_displayed in found:
        x, y, w, h = box
        inside = (
            w > 0 and h > 0 and x >= -_EDGE_SLACK and y >= -_EDGE_SLACK
            and x + w <= 1 + _EDGE_SLACK and y + h <= 1 + _EDGE_SLACK
        )
        if not inside:
            problems.append(f"region {name!r} lies outside the image ({x:g}, {y:g}, {w:g}, "
                            f"{h:g}): ignored")
            continue
        x0, y0 = max(0.0, x), max(0.0, y)
        box = (x0, y0, min(1.0, x + w) - x0, min(1.0, y + h) - y0)
        out.append(Region(name, box if as_displayed else stored_to_displayed(box, orientation)))
    return out


def _applied_as_displayed(dims: Any, orientation: int, size: tuple[int, int] | None) -> bool:
    """Some writers give ``AppliedToDimensions`` of the displayed (rotated) image and
    regions on that grid: true when the dimensions are the stored size swapped."""
    if orientation not in (5, 6, 7, 8) or size is None or not isinstance(dims, dict):
        return False
    try:
        applied = (int(_float(dims["stDim:w"])), int(_float(dims["stDim:h"])))
    except (KeyError, ValueError):
        return False
    return applied == (size[1], size[0]) and applied != size
