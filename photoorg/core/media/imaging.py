"""Decoding photos for the indexer, the viewer and thumbnails, without ever dying on a file.

Every public function either returns a result or raises :class:`DecodeError`, whose ``reason``
is a short category used to group skipped files. Images come back in mode "RGB", with the EXIF
orientation applied and transparency composited over white.
"""

from __future__ import annotations

import errno
import functools
import io
import math
import os
import re
import stat
import struct
import threading
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import IO, Any

import numpy as np
from PIL import Image, UnidentifiedImageError, features

from photoorg.core.media.errors import REASON_TOO_LARGE, DecodeError
from photoorg.core.media.platform_paths import os_path
from photoorg.core.media.video import VIDEO_EXTENSIONS

MAX_PIXELS: int = 200_000_000

REASON_EMPTY = "empty file"
REASON_CORRUPT = "truncated or corrupt image"
REASON_UNRECOGNISED = "not a recognised image format"
REASON_PERMISSION = "permission denied"
REASON_VANISHED = "file vanished"
REASON_NOT_REGULAR = "not a regular file"
REASON_READ_ERROR = "read error"
REASON_RAW_UNSUPPORTED = "unsupported camera RAW"
REASON_RAW_NOT_INSTALLED = "camera RAW support not installed"
REASON_HEIF_NOT_INSTALLED = "HEIF support not installed"
REASON_BAD_MODE = "unsupported image mode"
REASON_OUT_OF_MEMORY = "out of memory"

RAW_EXTENSIONS: frozenset[str] = frozenset(
    {".cr2", ".cr3", ".nef", ".arw", ".dng", ".orf", ".rw2", ".raf", ".pef", ".srw"}
)
_HEIF_EXTENSIONS = frozenset({".heic", ".heif", ".hif"})
_HEIF_BRANDS = frozenset({b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"})


def _avif_supported() -> bool:
    try:
        if features.check("avif"):  # Pillow >= 11.2 decodes AVIF natively
            return True
        from pillow_heif import libheif_info

        return bool(libheif_info().get("AVIF"))
    except Exception:
        return False


SUPPORTED_EXTENSIONS: frozenset[str] = frozenset(
    {".jpg", ".jpeg", ".jpe", ".jfif", ".mpo", ".png", ".webp", ".tif", ".tiff", ".bmp",
     ".gif"}
    | _HEIF_EXTENSIONS
    | ({".avif"} if _avif_supported() else set())
    | RAW_EXTENSIONS
    | VIDEO_EXTENSIONS
)
# Image formats photoorg does not read: listed (skipped, "not supported (TGA)") so the user
# sees them in Couldn't read instead of wondering where they went.
UNSUPPORTED_EXTENSIONS: dict[str, str] = {
    ".j2k": "JPEG 2000", ".jp2": "JPEG 2000", ".jpx": "JPEG 2000", ".jpf": "JPEG 2000",
    ".tga": "TGA", ".sgi": "SGI", ".rgb": "SGI", ".bw": "SGI", ".eps": "EPS", ".ps": "EPS",
    ".dds": "DDS", ".avifs": "AVIF sequence", ".psd": "Photoshop", ".xcf": "GIMP",
    ".jxl": "JPEG XL", ".ico": "icon", ".icns": "icon", ".pcx": "PCX", ".ppm": "PPM",
    ".pgm": "PGM", ".pbm": "PBM", ".exr": "OpenEXR", ".hdr": "Radiance HDR", ".svg": "SVG",
    ".qoi": "QOI", ".x3f": "Sigma RAW", ".rw1": "RAW", ".3fr": "Hasselblad RAW",
    ".iiq": "Phase One RAW", ".mos": "Leaf RAW", ".kdc": "Kodak RAW", ".mrw": "Minolta RAW",
    ".nrw": "Nikon RAW", ".sr2": "Sony RAW", ".srf": "Sony RAW", ".erf": "Epson RAW",
}
REASON_NOT_SUPPORTED = "not supported"
if _avif_supported():
    UNSUPPORTED_EXTENSIONS.pop(".avif", None)
for _ext in SUPPORTED_EXTENSIONS:
    UNSUPPORTED_EXTENSIONS.pop(_ext, None)

# Pillow refuses PNG text chunks over 1 MB ("truncated or corrupt" for a Photoshop export
# with a 1.15 MB XMP packet); 16 MB still guards against a decompression bomb.
_MAX_TEXT_CHUNK = 16 * 1024 * 1024


def _raise_text_guard() -> None:
    from PIL import PngImagePlugin

    PngImagePlugin.MAX_TEXT_CHUNK = max(PngImagePlugin.MAX_TEXT_CHUNK, _MAX_TEXT_CHUNK)
    PngImagePlugin.MAX_TEXT_MEMORY = max(PngImagePlugin.MAX_TEXT_MEMORY, 4 * _MAX_TEXT_CHUNK)


_raise_text_guard()

# Pillow plugins we let identify a file; anything else (EPS, PSD, ICO, ...) is "not recognised".
# EPS in particular would shell out to Ghostscript.
_PILLOW_FORMATS = ("JPEG", "MPO", "PNG", "WEBP", "TIFF", "BMP", "GIF", "HEIF", "AVIF")
_FORMAT_NAMES = {"MPO": "JPEG"}

# LibRaw's `flip` -> the EXIF orientation that describes the same transform.
_FLIP_TO_ORIENTATION = {0: 1, 1: 2, 2: 4, 3: 3, 4: 5, 5: 8, 6: 6, 7: 7}
_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}

_TAG_ORIENTATION = 0x0112
_TAG_MAKE = 0x010F
_TAG_MODEL = 0x0110
_TAG_DATETIME = 0x0132
_IFD_EXIF = 0x8769
_IFD_GPS = 0x8825
# (date tag, offset tag, sub-second tag), most trustworthy first.
_DATE_TAGS = ((0x9003, 0x9011, 0x9291), (0x9004, 0x9012, 0x9292), (_TAG_DATETIME, 0x9010, 0x9290))
_DATE_RE = re.compile(
    r"\s*(\d{4})[:\-/.](\d{1,2})[:\-/.](\d{1,2})[ T]+(\d{1,2}):(\d{1,2})(?::(\d{1,2}))?"
    r"(?:\.(\d+))?\s*(Z|[+-]\d{1,2}:?\d{2})?"
)
_OFFSET_RE = re.compile(r"\s*(?:(Z)|([+-])(\d{1,2}):?(\d{2}))")
_CR3_CANON_UUID = bytes.fromhex("85c0b687820f11e08111f4ce462b6a48")


@dataclass(frozen=True)
class PhotoInfo:
    """Metadata of a photo; width/height are full-resolution and after EXIF orientation."""

    width: int
    height: int
    taken_at: float | None
    latitude: float | None
    longitude: float | None
    camera: str | None
    orientation: int
    format: str
    tz_offset: int | None = None  # minutes east of UTC, when EXIF recorded it (OffsetTime*)
    duration: float | None = None  # seconds, for a video (its poster frame is the image)


@dataclass
class DecodedPhoto:
    """A reduced RGB image for embedding plus the photo's metadata. ``look``: when asked
    for, a second copy from the same decode, fitted into ``look_side`` (see
    :func:`decode_photo`); None where the file gives none (RAW, video, another decoder)."""

    image: Image.Image
    info: PhotoInfo
    look: Image.Image | None = None


@dataclass
class _LookRequest:
    """A second copy wanted from the same decode: fitted into ``side`` the way
    :func:`load_rgb` with ``slack`` fits it, so it equals what that call returns."""

    side: int
    slack: float
    image: Image.Image | None = None


@dataclass
class _Meta:
    orientation: int = 1
    taken_at: float | None = None
    latitude: float | None = None
    longitude: float | None = None
    camera: str | None = None
    tz_offset: int | None = None

    def merged(self, other: _Meta) -> _Meta:
        """Fill fields missing here from ``other`` (orientation is kept)."""
        lat, lon = self.latitude, self.longitude
        if lat is None or lon is None:
            lat, lon = other.latitude, other.longitude
        return _Meta(
            orientation=self.orientation,
            taken_at=self.taken_at if self.taken_at is not None else other.taken_at,
            latitude=lat,
            longitude=lon,
            camera=self.camera or other.camera,
            tz_offset=self.tz_offset if self.taken_at is not None else other.tz_offset,
        )


# ---------------------------------------------------------------------------------------------
# Public API


def is_supported(path: str | os.PathLike[str]) -> bool:
    """Whether the file name has an extension we try to decode (case-insensitive)."""
    name = os.path.basename(os.fsdecode(path))
    if name.startswith("._"):  # macOS AppleDouble side files, not images
        return False
    ext = os.path.splitext(name)[1].lower()
    return ext in SUPPORTED_EXTENSIONS or ext in UNSUPPORTED_EXTENSIONS


def decode_photo(
    path: str | os.PathLike[str], min_side: int = 224, max_pixels: int = MAX_PIXELS, *,
    look_side: int | None = None, look_slack: float = 1.0,
) -> DecodedPhoto:
    """Read metadata and a reduced RGB image whose shortest side is ``min_side``.

    The image is only smaller than ``min_side`` when the original is. Raises DecodeError only.
    ``look_side``: also the copy ``load_rgb(path, look_side, slack=look_slack)`` would give,
    from the same decode (a JPEG is decoded once, at the larger of the two drafts), as
    ``look``; for files Pillow reads (not RAW or video: ``look`` is None there).
    """
    look = None if look_side is None else _LookRequest(max(1, int(look_side)),
                                                       max(1.0, float(look_slack)))
    image, info = _decode(
        path, min_side=max(1, int(min_side)), max_side=None, max_pixels=max_pixels, want_image=True,
        look=look,
    )
    assert image is not None
    return DecodedPhoto(image=image, info=info, look=None if look is None else look.image)


def read_info(path: str | os.PathLike[str], max_pixels: int = MAX_PIXELS) -> PhotoInfo:
    """Metadata only, without decoding the pixels. Raises DecodeError only."""
    return _decode(path, min_side=None, max_side=None, max_pixels=max_pixels, want_image=False)[1]


def load_rgb(
    path: str | os.PathLike[str],
    max_side: int | None = None,
    max_pixels: int = MAX_PIXELS,
    *,
    slack: float = 1.0,
) -> Image.Image:
    """The oriented RGB image, fitted into a ``max_side`` box if given (never enlarged).

    ``slack`` > 1: any size from ``max_side / slack`` to ``max_side`` will do, so a JPEG
    whose DCT scaling lands in that range is not resampled at all (a 4000x3000 photo asked
    for 2048 decodes at 2000x1500 in ~20 ms instead of full size plus a resize, ~250 ms)."""
    box = None if max_side is None else max(1, int(max_side))
    image, _ = _decode(path, min_side=None, max_side=box, max_pixels=max_pixels, want_image=True,
                       slack=max(1.0, float(slack)))
    assert image is not None
    return image


def raw_preview(path: str | os.PathLike[str], min_side: int = 160,
                max_pixels: int = MAX_PIXELS) -> Image.Image | None:
    """The camera's own rendering embedded in a RAW file (oriented, shortest side about
    ``min_side``), or None when it carries none that large and whole. The raw data is not
    demosaiced. Raises DecodeError when the file cannot be read."""
    with _guard():
        try:
            import rawpy
        except ImportError as exc:
            raise DecodeError(REASON_RAW_NOT_INSTALLED, str(exc)) from exc
        name = os_path(os.fsdecode(path))
        _check_regular_file(name)
        with _raw_errors(rawpy), rawpy.imread(name) as raw:
            full = (int(raw.sizes.width), int(raw.sizes.height))
            flip = _FLIP_TO_ORIENTATION.get(int(raw.sizes.flip), 1)
            _, image = _raw_preview(raw, rawpy, full, flip, max_pixels, min_side, None, True)
        return image


def make_thumbnail(
    path: str | os.PathLike[str], size: int = 256, max_pixels: int = MAX_PIXELS
) -> Image.Image:
    """An RGB thumbnail whose longest side is ``size`` (or less for smaller images)."""
    return load_rgb(path, max_side=size, max_pixels=max_pixels)


# ---------------------------------------------------------------------------------------------
# Dispatch and error mapping


def _decode(
    path: str | os.PathLike[str],
    *,
    min_side: int | None,
    max_side: int | None,
    max_pixels: int,
    want_image: bool,
    slack: float = 1.0,
    look: _LookRequest | None = None,
) -> tuple[Image.Image | None, PhotoInfo]:
    with _guard():
        name = os_path(os.fsdecode(path))  # \\?\ prefix for long paths on Windows
        ext = os.path.splitext(name)[1].lower()
        _check_regular_file(name)
        if ext in UNSUPPORTED_EXTENSIONS:
            raise DecodeError(f"{REASON_NOT_SUPPORTED} ({UNSUPPORTED_EXTENSIONS[ext]})",
                              "photoorg does not read this image format")
        # a photo with a video's name (a renamed or mislabelled JPEG) is read as the photo
        if ext in VIDEO_EXTENSIONS and _sniff_file(name) is None:
            return _decode_video(name, min_side, max_side, max_pixels, want_image)
        if ext not in RAW_EXTENSIONS:
            return _decode_pillow(name, ext, min_side, max_side, max_pixels, want_image, slack,
                                  look)
        try:
            return _decode_raw(name, min_side, max_side, max_pixels, want_image)
        except DecodeError as raw_error:
            # A JPEG/PNG/... that merely carries a RAW extension still decodes.
            if raw_error.reason != REASON_RAW_UNSUPPORTED or _sniff_file(name) in (None, "TIFF"):
                raise
            return _decode_pillow(name, ext, min_side, max_side, max_pixels, want_image, slack)


def _decode_video(
    name: str, min_side: int | None, max_side: int | None, max_pixels: int, want_image: bool
) -> tuple[Image.Image | None, PhotoInfo]:
    """A video as a photo: its poster frame, and what the container says."""
    from photoorg.core.media import video

    if want_image:
        image, vinfo = video.poster(name, min_side=min_side, max_side=max_side)
    else:
        image, vinfo = None, video.probe(name)
    _check_pixels(vinfo.width, vinfo.height, max_pixels)
    info = PhotoInfo(width=vinfo.width, height=vinfo.height, taken_at=vinfo.taken_at,
                     latitude=vinfo.latitude, longitude=vinfo.longitude, camera=vinfo.camera,
                     orientation=1, format=f"video/{vinfo.codec}", tz_offset=vinfo.tz_offset,
                     duration=vinfo.duration)
    return image, info


_warnings_lock = threading.Lock()
_warnings_depth = 0
_warnings_filter: Any = None


@contextmanager
def _quiet_warnings() -> Iterator[None]:
    """Ignore warnings while any decode runs.

    Pillow warns about corrupt EXIF, palette transparency and images above its own (global)
    bomb threshold; we enforce ``max_pixels`` ourselves, so none of it may escape. Unlike
    ``warnings.catch_warnings``, which swaps the global filter list and so can leave it wrong
    when threads overlap, this adds one filter while the first call runs and removes exactly
    that filter when the last call ends.
    """
    global _warnings_depth, _warnings_filter
    with _warnings_lock:
        if _warnings_depth == 0:
            warnings.filterwarnings("ignore")
            _warnings_filter = warnings.filters[0]
        _warnings_depth += 1
    try:
        yield
    finally:
        with _warnings_lock:
            _warnings_depth -= 1
            if _warnings_depth == 0:
                for i, item in enumerate(warnings.filters):
                    if item is _warnings_filter:
                        del warnings.filters[i]
                        mutated = getattr(warnings, "_filters_mutated", None)
                        if callable(mutated):
                            mutated()  # invalidate per-module "already warned" caches
                        break
                _warnings_filter = None


@contextmanager
def _guard() -> Iterator[None]:
    """Silence warnings and turn every exception into a DecodeError."""
    with _quiet_warnings():
        try:
            yield
        except DecodeError:
            raise
        except Image.DecompressionBombError as exc:
            raise DecodeError(REASON_TOO_LARGE, str(exc)) from exc
        except UnidentifiedImageError as exc:
            raise DecodeError(REASON_UNRECOGNISED, _readable(str(exc))) from exc
        except FileNotFoundError as exc:
            raise DecodeError(REASON_VANISHED, str(exc)) from exc
        except PermissionError as exc:
            raise DecodeError(REASON_PERMISSION, str(exc)) from exc
        except (IsADirectoryError, NotADirectoryError) as exc:
            raise DecodeError(REASON_NOT_REGULAR, str(exc)) from exc
        except MemoryError as exc:
            raise DecodeError(REASON_OUT_OF_MEMORY, str(exc)) from exc
        except OSError as exc:
            # Pillow reports broken data as OSError without errno; a real errno is the disk's.
            if exc.errno is None or exc.errno == errno.EINVAL:
                raise DecodeError(REASON_CORRUPT, str(exc) or type(exc).__name__) from exc
            raise DecodeError(REASON_READ_ERROR, str(exc)) from exc
        except Exception as exc:  # SyntaxError, ValueError, struct.error, EOFError, ...
            raise DecodeError(REASON_CORRUPT, f"{type(exc).__name__}: {exc}") from exc


_PY_OBJECT = re.compile(r"<_?[\w.]+ (?:name=(['\"]).*?\1[^>]*|object at 0x[0-9a-f]+)>")


def _readable(text: str) -> str:
    """Pillow's messages without Python object reprs ("cannot identify image file
    <_io.BufferedReader name='...'>" -> "cannot identify image file")."""
    return _PY_OBJECT.sub("", text).strip() or "unknown format"


def _check_regular_file(name: str) -> None:
    st = os.stat(name)  # before open(): opening a FIFO would block forever
    if not stat.S_ISREG(st.st_mode):
        raise DecodeError(REASON_NOT_REGULAR, name)
    if st.st_size == 0:
        raise DecodeError(REASON_EMPTY, name)


def _check_pixels(width: int, height: int, max_pixels: int) -> None:
    if width <= 0 or height <= 0:
        raise DecodeError(REASON_CORRUPT, f"invalid size {width}x{height}")
    if width * height > max_pixels:
        raise DecodeError(
            REASON_TOO_LARGE, f"{width}x{height} = {width * height} pixels > {max_pixels}"
        )


def _sniff_file(name: str) -> str | None:
    with open(name, "rb") as f:
        return _sniff(f.read(16))


# ---------------------------------------------------------------------------------------------
# Pillow path (JPEG, PNG, WebP, TIFF, BMP, GIF, HEIF, AVIF)

_heif_lock = threading.Lock()
_heif_state: bool | None = None


def _ensure_heif() -> bool:
    """Register pillow-heif's opener once; False when it is not installed."""
    global _heif_state
    with _heif_lock:
        if _heif_state is None:
            try:
                import pillow_heif

                pillow_heif.register_heif_opener()
                _heif_state = True
            except Exception:
                _heif_state = False
        return _heif_state


def _sniff(head: bytes) -> str | None:
    """The format a file's magic number claims, for telling damaged from unknown files."""
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "GIF"
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "WebP"
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return "TIFF"
    if head.startswith(b"BM"):
        return "BMP"
    if head[4:8] == b"ftyp" and head[8:12] in _HEIF_BRANDS:
        return "HEIF"
    if head[4:8] == b"ftyp" and head[8:12] in (b"avif", b"avis"):
        return "AVIF"
    return None  # including other ISO-BMFF files: CR3, MP4, MOV


def _pillow_formats() -> tuple[str, ...]:
    Image.init()
    return tuple(f for f in _PILLOW_FORMATS if f in Image.OPEN)


def _decode_pillow(
    name: str,
    ext: str,
    min_side: int | None,
    max_side: int | None,
    max_pixels: int,
    want_image: bool,
    slack: float = 1.0,
    look: _LookRequest | None = None,
) -> tuple[Image.Image | None, PhotoInfo]:
    heif_ok = _ensure_heif()
    with open(name, "rb") as fp:
        try:
            im = Image.open(fp, formats=_pillow_formats())
        except UnidentifiedImageError as exc:
            fp.seek(0)
            kind = _sniff(fp.read(16))
            if not heif_ok and (kind == "HEIF" or ext in _HEIF_EXTENSIONS):
                raise DecodeError(REASON_HEIF_NOT_INSTALLED, name) from exc
            if kind:  # Pillow reports a damaged header as "cannot identify"
                raise DecodeError(REASON_CORRUPT, f"damaged {kind} file") from exc
            raise
        with im:
            return _from_pillow_image(im, min_side, max_side, max_pixels, want_image, slack,
                                      look)


def _from_pillow_image(
    im: Image.Image,
    min_side: int | None,
    max_side: int | None,
    max_pixels: int,
    want_image: bool,
    slack: float = 1.0,
    look: _LookRequest | None = None,
) -> tuple[Image.Image | None, PhotoInfo]:
    width, height = im.size
    _check_pixels(width, height, max_pixels)
    fmt = _FORMAT_NAMES.get(im.format or "", im.format or "UNKNOWN")
    meta = _meta_from_pillow(im, allow_load=False)  # before loading: plugins may alter EXIF
    image = None
    if want_image:
        target = _target_size(width, height, min_side, max_side)
        draft = None if target is None else target if slack == 1.0 else _shrunk(target, slack)
        look_target = None
        if look is not None:  # the draft must serve both copies: the larger one
            look_target = _target_size(width, height, None, look.side)
            wanted = (width, height) if look_target is None else _shrunk(look_target, look.slack)
            if draft is not None and wanted[0] * wanted[1] > draft[0] * draft[1]:
                draft = wanted  # (no draft at all when the main copy wants full size)
        if draft is not None:
            # JPEG: DCT scaling; HEIF: embedded thumbnail; else no-op
            im.draft("RGB", draft)
        im.load()
        if slack != 1.0 and _within(target, im.size, slack):
            target = None  # the draft size is within the slack: no resampling
        if meta is None:
            meta = _meta_from_pillow(im, allow_load=True)
        # Whatever orientation is still in EXIF after loading has not been applied yet
        # (pillow-heif and Pillow >= 12's TIFF plugin rotate while loading and drop the tag).
        pending = _safe(lambda: _orientation(im.getexif().get(_TAG_ORIENTATION)), 1)
        if look is not None:
            if look.slack != 1.0 and _within(look_target, im.size, look.slack):
                look_target = None
            look.image = _finish(im, look_target, pending)
        image = _finish(im, target, pending)
    meta = meta or _Meta()
    orientation = _tag_orientation(im, meta)
    swap = orientation in (5, 6, 7, 8) and not _size_already_oriented(im)
    return image, _photo_info(width, height, meta, fmt, orientation, swap)


def _tag_orientation(im: Image.Image, meta: _Meta) -> int:
    # pillow-heif applies the container's rotation itself and resets EXIF orientation to 1,
    # keeping the tag's value in info.
    original = im.info.get("original_orientation")
    return original if isinstance(original, int) and 1 <= original <= 8 else meta.orientation


def _size_already_oriented(im: Image.Image) -> bool:
    """Whether the plugin reports the size after orientation (pillow-heif, newer Pillow TIFF)."""
    if "original_orientation" in im.info:
        return True
    tags = getattr(im, "tag_v2", None)
    if tags is None:
        return False
    stored = _safe(lambda: (int(tags[256]), int(tags[257])))
    return stored is not None and stored[0] != stored[1] and im.size == stored[::-1]


def _photo_info(
    width: int, height: int, meta: _Meta, fmt: str, orientation: int, swap: bool
) -> PhotoInfo:
    if swap:
        width, height = height, width
    return PhotoInfo(
        width=width,
        height=height,
        taken_at=meta.taken_at,
        latitude=meta.latitude,
        longitude=meta.longitude,
        camera=meta.camera,
        orientation=orientation,
        format=fmt,
        tz_offset=meta.tz_offset,
    )


def _within(target: tuple[int, int] | None, size: tuple[int, int], slack: float) -> bool:
    """Whether a decoded ``size`` is close enough to ``target`` (from ``target / slack`` to
    ``target``) to be used as it is."""
    return target is not None and max(target) / slack <= max(size) <= max(target)


def _shrunk(size: tuple[int, int], factor: float) -> tuple[int, int]:
    return max(1, math.ceil(size[0] / factor)), max(1, math.ceil(size[1] / factor))


def _target_size(
    width: int, height: int, min_side: int | None, max_side: int | None
) -> tuple[int, int] | None:
    """Size (same orientation as the input) to reduce to, or None to keep it as it is."""
    if min_side is not None and min(width, height) > min_side:
        scale = min_side / min(width, height)
    elif max_side is not None and max(width, height) > max_side:
        scale = max_side / max(width, height)
    else:
        return None
    return max(1, round(width * scale)), max(1, round(height * scale))


# ---------------------------------------------------------------------------------------------
# Pixels: mode normalisation, resizing, colour management, orientation


def _finish(im: Image.Image, target: tuple[int, int] | None, orientation: int) -> Image.Image:
    """Turn a loaded image into a reduced, oriented, detached RGB image."""
    icc = im.info.get("icc_profile")
    out = _before_resize(im)
    if target is not None and out.size != target:
        out = out.resize(target, Image.Resampling.LANCZOS, reducing_gap=2.0)
    out = _to_rgb(out, icc if isinstance(icc, bytes) else None)
    op = _TRANSPOSE.get(orientation)
    if op is not None:
        out = out.transpose(op)
    if out is im:
        out = im.copy()  # `im` is closed by our caller
    out.info = {}  # stale EXIF orientation / ICC profile must not travel with the pixels
    return out


def _before_resize(im: Image.Image) -> Image.Image:
    """Convert modes that Pillow cannot resample well (palette, 1-bit, colour-key alpha)."""
    mode = im.mode
    has_key = "transparency" in im.info
    if mode in ("P", "PA"):
        return im.convert("RGBA" if has_key or mode == "PA" else "RGB")
    if mode == "1":
        return im.convert("L")
    if mode == "La":
        return im.convert("LA")
    if mode in ("L", "RGB") and has_key:
        return im.convert("RGBA")
    return im


def _to_rgb(im: Image.Image, icc: bytes | None) -> Image.Image:
    mode = im.mode
    if mode.startswith("I") or mode == "F":
        im = _high_depth_to_l(im)
    elif mode in ("LA", "RGBA", "RGBa"):
        rgba = im.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        im = Image.alpha_composite(white, rgba).convert("RGB")
    if icc and im.mode in ("RGB", "CMYK"):
        transform = _icc_transform(icc, im.mode)
        if transform is not None:
            try:
                from PIL import ImageCms

                converted = ImageCms.applyTransform(im, transform)
                if converted is not None:
                    return converted
            except Exception:
                pass  # a broken profile: fall back to Pillow's naive conversion
    if im.mode == "RGB":
        return im
    try:
        return im.convert("RGB")
    except ValueError as exc:
        raise DecodeError(REASON_BAD_MODE, f"{mode}: {exc}") from exc


def _high_depth_to_l(im: Image.Image) -> Image.Image:
    """16-bit, 32-bit int and float greyscale -> 8-bit, scaling rather than clipping."""
    arr = np.asarray(im)
    if im.mode.startswith("I;16"):
        out = (arr.astype(np.uint32) + 128) // 257  # rounds: 65535 -> 255, 32768 -> 128
        return Image.fromarray(out.astype(np.uint8))
    values = arr.astype(np.float32)
    finite = np.isfinite(values)
    if not finite.any():
        return Image.new("L", im.size, 0)
    lo, hi = float(values[finite].min()), float(values[finite].max())
    if im.mode == "F" and lo >= 0 and hi <= 1.0:
        values = values * 255
    elif lo >= 0 and hi <= 255:
        pass
    elif lo >= 0 and hi <= 65535:  # 16-bit data held in a 32-bit image
        values = values / 257
    elif hi > lo:
        values = (values - lo) * (255 / (hi - lo))
    else:
        values = np.zeros_like(values)
    values = np.where(finite, values, 0)
    return Image.fromarray(np.clip(np.rint(values), 0, 255).astype(np.uint8))


@functools.lru_cache(maxsize=8)
def _icc_transform(icc: bytes, mode: str) -> Any:
    """A cached transform from an embedded profile to sRGB; None if not needed or unusable."""
    try:
        from PIL import ImageCms

        src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        if mode == "RGB" and ImageCms.getProfileDescription(src).strip().lower().startswith("srgb"):
            return None
        return ImageCms.buildTransform(
            src, ImageCms.createProfile("sRGB"), mode, "RGB", flags=ImageCms.Flags.NOCACHE
        )
    except Exception:
        return None


# ---------------------------------------------------------------------------------------------
# Metadata


def _safe(fn: Any, default: Any = None) -> Any:
    try:
        return fn()
    except Exception:
        return default


def _meta_from_pillow(im: Image.Image, allow_load: bool) -> _Meta | None:
    """EXIF metadata; None when it cannot be read without decoding the pixels (PNG)."""
    info = im.info
    if (
        not allow_load
        and im.format == "PNG"
        and "exif" not in info
        and "Raw profile type exif" not in info
    ):
        return None  # PngImageFile.getexif() would decode the whole image to look further
    exif = _safe(im.getexif)
    if exif is None:
        return _Meta()
    return _meta_from_ifds(
        exif, _safe(lambda: exif.get_ifd(_IFD_EXIF), {}), _safe(lambda: exif.get_ifd(_IFD_GPS), {})
    )


def _meta_from_ifds(
    ifd0: Mapping[int, Any], exif_ifd: Mapping[int, Any], gps_ifd: Mapping[int, Any]
) -> _Meta:
    lat, lon = _safe(lambda: _gps(gps_ifd), (None, None))
    taken_at, tz_offset = _safe(lambda: _taken_at(ifd0, exif_ifd), (None, None))
    return _Meta(
        orientation=_safe(lambda: _orientation(ifd0.get(_TAG_ORIENTATION)), 1),
        taken_at=taken_at,
        latitude=lat,
        longitude=lon,
        camera=_safe(lambda: _camera(ifd0.get(_TAG_MAKE), ifd0.get(_TAG_MODEL))),
        tz_offset=tz_offset,
    )


def _orientation(value: Any) -> int:
    if isinstance(value, tuple | list) and value:
        value = value[0]
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def _as_text(value: Any) -> str:
    if isinstance(value, tuple | list) and value:
        value = value[0]
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if not isinstance(value, str):
        return ""
    value = value.split("\x00", 1)[0]
    return " ".join("".join(c for c in value if c.isprintable()).split())


def _camera(make: Any, model: Any) -> str | None:
    make_s, model_s = _as_text(make), _as_text(model)
    # "Canon" + "Canon EOS R5", "NIKON CORPORATION" + "NIKON D850": the model says it all.
    if make_s and model_s and model_s.lower().startswith(make_s.split()[0].lower()):
        return model_s
    return " ".join(s for s in (make_s, model_s) if s) or None


def _taken_at(
    ifd0: Mapping[int, Any], exif_ifd: Mapping[int, Any]
) -> tuple[float | None, int | None]:
    """(POSIX time, UTC offset in minutes when the file recorded one)."""
    for date_tag, offset_tag, subsec_tag in _DATE_TAGS:
        raw = exif_ifd.get(date_tag)
        if raw is None:
            raw = ifd0.get(date_tag)  # some writers put everything in IFD0
        stamp = _safe(
            lambda raw=raw, o=offset_tag, s=subsec_tag: _parse_datetime(
                _as_text(raw),
                _as_text(exif_ifd.get(o, ifd0.get(o))),
                _as_text(exif_ifd.get(s, ifd0.get(s))),
            )
        )
        if stamp is not None:
            return stamp
    return None, None


def _parse_datetime(text: str, offset: str, subsec: str) -> tuple[float, int | None] | None:
    """EXIF "YYYY:MM:DD HH:MM:SS" -> (POSIX time, offset minutes or None); naive times are
    taken as UTC (so they read back as the camera's wall clock)."""
    match = _DATE_RE.match(text)
    if not match:
        return None
    year, month, day, hour, minute = (int(match.group(i)) for i in range(1, 6))
    second = min(int(match.group(6) or 0), 59)
    known = _parse_offset(match.group(8) or offset)
    tz = known or UTC
    when = datetime(year, month, day, hour, minute, second, tzinfo=tz)  # ValueError if bogus
    fraction = match.group(7) or (subsec if subsec.isdigit() else "")
    stamp = when.timestamp() + (int(fraction) / 10 ** len(fraction) if fraction else 0.0)
    minutes = None if known is None else int(known.utcoffset(None).total_seconds() // 60)
    return stamp, minutes


def _parse_offset(text: str) -> timezone | None:
    match = _OFFSET_RE.fullmatch(text.strip()) if text.strip() else None
    if not match:
        return None
    if match.group(1):
        return UTC
    minutes = int(match.group(3)) * 60 + int(match.group(4))
    if minutes > 18 * 60:
        return None
    return timezone(timedelta(minutes=-minutes if match.group(2) == "-" else minutes))


def _gps(gps: Mapping[int, Any]) -> tuple[float | None, float | None]:
    lat = _dms(gps.get(2), gps.get(1), "S")
    lon = _dms(gps.get(4), gps.get(3), "W")
    if lat is None or lon is None or not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None, None
    return lat, lon


def _dms(value: Any, ref: Any, negative_ref: str) -> float | None:
    if value is None:
        return None
    parts = tuple(value) if isinstance(value, tuple | list) else (value,)
    if not 1 <= len(parts) <= 3:
        return None
    total = 0.0
    for part, divisor in zip(parts, (1, 60, 3600), strict=False):
        number = float(part)  # IFDRational with a zero denominator gives NaN
        if not math.isfinite(number):
            return None
        total += number / divisor
    if _as_text(ref).upper().startswith(negative_ref):
        total = -abs(total)
    return total


# ---------------------------------------------------------------------------------------------
# Camera RAW via rawpy


def _rawpy_errors(rawpy: Any) -> dict[str, tuple[type[BaseException], ...]]:
    def pick(*names: str) -> tuple[type[BaseException], ...]:
        return tuple(getattr(rawpy, n) for n in names if isinstance(getattr(rawpy, n, None), type))

    return {
        REASON_RAW_UNSUPPORTED: pick(
            "LibRawFileUnsupportedError", "LibRawNotImplementedError", "NotSupportedError"
        ),
        REASON_TOO_LARGE: pick("LibRawTooBigError"),
        REASON_OUT_OF_MEMORY: pick(
            "LibRawUnsufficientMemoryError",
            "LibRawInsufficientMemoryError",
            "LibRawMemPoolOverflowError",
        ),
        REASON_CORRUPT: pick("LibRawError"),
    }


@contextmanager
def _raw_errors(rawpy: Any) -> Iterator[None]:
    try:
        yield
    except DecodeError:
        raise
    except Exception as exc:
        for reason, types in _rawpy_errors(rawpy).items():
            if types and isinstance(exc, types):
                raise DecodeError(reason, f"{type(exc).__name__}: {exc}") from exc
        raise


def _decode_raw(
    name: str,
    min_side: int | None,
    max_side: int | None,
    max_pixels: int,
    want_image: bool,
) -> tuple[Image.Image | None, PhotoInfo]:
    try:
        import rawpy
    except ImportError as exc:
        raise DecodeError(REASON_RAW_NOT_INSTALLED, str(exc)) from exc

    with _raw_errors(rawpy), rawpy.imread(name) as raw:
        sizes = raw.sizes
        width, height = int(sizes.width), int(sizes.height)
        _check_pixels(width, height, max_pixels)
        flip_orientation = _FLIP_TO_ORIENTATION.get(int(sizes.flip), 1)
        meta = _raw_header_meta(name)
        meta.orientation = flip_orientation
        image: Image.Image | None = None

        if want_image or meta.taken_at is None or meta.camera is None:
            preview_meta, image = _raw_preview(
                raw,
                rawpy,
                (width, height),
                flip_orientation,
                max_pixels,
                min_side,
                max_side,
                want_image,
            )
            meta = meta.merged(preview_meta)

        if want_image and image is None:
            need = min_side if min_side is not None else max_side
            dim = min(width, height) if min_side is not None else max(width, height)
            half = need is not None and dim // 2 >= need
            rgb = raw.postprocess(half_size=half, use_camera_wb=True, output_bps=8)
            decoded = Image.fromarray(np.ascontiguousarray(rgb[..., :3]))  # LibRaw applied flip
            target = _target_size(*decoded.size, min_side, max_side)
            image = _finish(decoded, target, 1)

    swap = flip_orientation in (5, 6, 7, 8)
    return image, _photo_info(width, height, meta, "RAW", flip_orientation, swap)


def _raw_preview(
    raw: Any,
    rawpy: Any,
    full_size: tuple[int, int],
    flip_orientation: int,
    max_pixels: int,
    min_side: int | None,
    max_side: int | None,
    want_image: bool,
) -> tuple[_Meta, Image.Image | None]:
    """EXIF of the embedded preview, and the finished image when the preview is big enough."""
    try:
        thumb = raw.extract_thumb()
        if thumb.format == rawpy.ThumbFormat.JPEG:
            with Image.open(io.BytesIO(thumb.data), formats=("JPEG", "MPO")) as im:
                _check_pixels(*im.size, max_pixels)
                meta = _meta_from_pillow(im, allow_load=False) or _Meta()
                software = _safe(lambda im=im: _as_text(im.getexif().get(0x0131)), "")
                if software.startswith("dcraw") and (meta.taken_at or 0) < 2 * 86400:
                    # LibRaw writes EXIF for previews that lack it, dated 1970 when unknown.
                    meta.taken_at = meta.tz_offset = None
                orientation = _preview_orientation(im.size, full_size, meta, flip_orientation)
                if not want_image or not _preview_is_enough(
                    im.size, full_size, min_side, max_side, orientation
                ):
                    return meta, None
                target = _target_size(*im.size, min_side, max_side)
                if target is not None:
                    im.draft("RGB", target)
                im.load()
                return meta, _finish(im, target, orientation)
        if thumb.format == rawpy.ThumbFormat.BITMAP and want_image:
            arr = np.asarray(thumb.data)
            if arr.dtype != np.uint8 or arr.ndim != 3 or arr.shape[2] < 3:
                return _Meta(), None
            bitmap = Image.fromarray(np.ascontiguousarray(arr[..., :3]))
            orientation = _preview_orientation(bitmap.size, full_size, _Meta(), flip_orientation)
            if not _preview_is_enough(bitmap.size, full_size, min_side, max_side, orientation):
                return _Meta(), None
            return _Meta(), _finish(
                bitmap, _target_size(*bitmap.size, min_side, max_side), orientation
            )
    except Exception:
        pass  # no, unsupported or broken preview: the caller demosaics instead
    return _Meta(), None


def _preview_orientation(
    size: tuple[int, int], full_size: tuple[int, int], meta: _Meta, flip_orientation: int
) -> int:
    """Orientation still to apply to a preview, or -1 when it does not show the whole frame."""
    orientation = meta.orientation if meta.orientation != 1 else flip_orientation
    (tw, th), (width, height) = size, full_size
    if _same_aspect(tw, th, width, height):
        return orientation
    if _same_aspect(tw, th, height, width) and orientation in (5, 6, 7, 8):
        return 1  # the camera stored an already rotated preview
    return -1  # letterboxed or cropped


def _same_aspect(w1: int, h1: int, w2: int, h2: int, tolerance: float = 0.05) -> bool:
    return abs(w1 * h2 - h1 * w2) <= tolerance * h1 * w2


def _preview_is_enough(
    size: tuple[int, int],
    full_size: tuple[int, int],
    min_side: int | None,
    max_side: int | None,
    orientation: int = 1,
) -> bool:
    if orientation < 0:
        return False
    (tw, th), (width, height) = size, full_size
    if min_side is not None:
        return min(tw, th) >= min(min_side, width, height)
    if max_side is not None:
        return max(tw, th) >= min(max_side, max(width, height))
    return max(tw, th) >= 0.9 * max(width, height)  # full-size previews are common


def _raw_header_meta(name: str) -> _Meta:
    """EXIF from a TIFF-based RAW's IFDs (CR2, NEF, ARW, DNG, ORF, RW2, PEF, SRW) or CR3 boxes."""
    try:
        with open(name, "rb") as f:
            head = f.read(16)
            if head[4:12] == b"ftypcrx ":
                return _cr3_meta(f)
            if head[:2] not in (b"II", b"MM"):
                return _Meta()
            endian = "<" if head[:2] == b"II" else ">"
            (offset,) = struct.unpack(endian + "I", head[4:8])
            exif = Image.Exif()
            exif.endian = endian  # ORF ("IIRO") and RW2 ("IIU") have non-standard magic
            exif.load_from_fp(f, offset)
            return _meta_from_ifds(
                exif,
                _safe(lambda: exif.get_ifd(_IFD_EXIF), {}),
                _safe(lambda: exif.get_ifd(_IFD_GPS), {}),
            )
    except Exception:
        return _Meta()


def _iter_boxes(f: IO[bytes], start: int, end: int) -> Iterator[tuple[bytes, int, int]]:
    """ISO-BMFF boxes in [start, end) as (type, payload start, box end)."""
    pos = start
    while pos + 8 <= end:
        f.seek(pos)
        size, kind = struct.unpack(">I4s", f.read(8))
        header = 8
        if size == 1:
            (size,) = struct.unpack(">Q", f.read(8))
            header = 16
        elif size == 0:
            size = end - pos
        if size < header or pos + size > end:
            return
        yield kind, pos + header, pos + size
        pos += size


def _cr3_meta(f: IO[bytes]) -> _Meta:
    """Canon CR3 keeps IFD0, the Exif IFD and the GPS IFD as TIFF blobs CMT1, CMT2, CMT4."""
    end = f.seek(0, os.SEEK_END)
    blobs: dict[bytes, Image.Exif] = {}
    for kind, start, stop in _iter_boxes(f, 0, end):
        if kind != b"moov":
            continue
        for sub, sub_start, sub_stop in _iter_boxes(f, start, stop):
            f.seek(sub_start)
            if sub != b"uuid" or f.read(16) != _CR3_CANON_UUID:
                continue
            for cmt, c_start, c_stop in _iter_boxes(f, sub_start + 16, sub_stop):
                if cmt in (b"CMT1", b"CMT2", b"CMT4") and c_stop - c_start <= 1 << 20:
                    f.seek(c_start)
                    exif = Image.Exif()
                    exif.load(f.read(c_stop - c_start))
                    blobs[cmt] = exif
        break
    empty = Image.Exif()
    return _meta_from_ifds(
        blobs.get(b"CMT1", empty), blobs.get(b"CMT2", empty), blobs.get(b"CMT4", empty)
    )
