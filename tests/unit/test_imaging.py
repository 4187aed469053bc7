"""Tests for photoorg.core.media.imaging: every format, every mode, every way a file can be
broken."""

from __future__ import annotations

import io
import os
import pickle
import random
import struct
import tracemalloc
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image, ImageFile, ImageOps, JpegImagePlugin, features

from photoorg.core.media import imaging
from photoorg.core.media.imaging import (
    MAX_PIXELS,
    SUPPORTED_EXTENSIONS,
    DecodedPhoto,
    DecodeError,
    PhotoInfo,
    decode_photo,
    is_supported,
    load_rgb,
    make_thumbnail,
    read_info,
)

RED = (255, 0, 0)
GREEN = (0, 200, 0)
BLUE = (0, 0, 255)
WHITE = (255, 255, 255)


def _close(actual: tuple[int, ...], expected: tuple[int, ...], tol: int = 12) -> bool:
    return all(abs(a - e) <= tol for a, e in zip(actual, expected, strict=True))


def _smooth_rgb(width: int, height: int) -> Image.Image:
    """A photo-like (compressible) image: a colour gradient."""
    x = np.linspace(0, 255, width, dtype=np.float32)[None, :].repeat(height, 0)
    y = np.linspace(0, 255, height, dtype=np.float32)[:, None].repeat(width, 1)
    arr = np.stack([x, y, (x + y) / 2], axis=2).astype(np.uint8)
    return Image.fromarray(arr)


def _marked(width: int, height: int, fill: tuple[int, int, int] = BLUE) -> Image.Image:
    """``fill`` with a red square in the (stored) top-left corner."""
    im = Image.new("RGB", (width, height), fill)
    im.paste(RED, (0, 0, width // 4, height // 4))
    return im


def _reason(path: Path, fn: Any = decode_photo, **kwargs: Any) -> str:
    with pytest.raises(DecodeError) as info:
        fn(path, **kwargs)
    return info.value.reason


def _png_with_header_size(path: Path, width: int, height: int) -> Path:
    """A 1x1 PNG whose IHDR claims ``width`` x ``height`` (CRC fixed up)."""
    buf = io.BytesIO()
    Image.new("L", (1, 1)).save(buf, "PNG")
    data = bytearray(buf.getvalue())
    assert data[12:16] == b"IHDR"
    struct.pack_into(">II", data, 16, width, height)
    struct.pack_into(">I", data, 29, zlib.crc32(bytes(data[12:29])) & 0xFFFFFFFF)
    path.write_bytes(bytes(data))
    return path


# ---------------------------------------------------------------------------------------------
# A tiny DNG writer (linear raw, optional JPEG preview, EXIF and GPS IFDs) for the RAW tests.

BYTE, ASCII, SHORT, LONG, RATIONAL, SRATIONAL = 1, 2, 3, 4, 5, 10


@dataclass(frozen=True)
class _Ref:
    kind: str  # "blob" (offset of a blob), "len" (its length), "ifd" (offset of an IFD)
    key: object


def _encode(typ: int, values: Any) -> tuple[bytes, int]:
    if typ == ASCII:
        raw = values.encode() + b"\0"
        return raw, len(raw)
    if typ in (RATIONAL, SRATIONAL):
        flat = [x for pair in values for x in pair]
        return struct.pack("<" + ("ii" if typ == SRATIONAL else "II") * len(values), *flat), len(
            values
        )
    fmt = {BYTE: "B", SHORT: "H", LONG: "I"}[typ]
    return struct.pack("<" + fmt * len(values), *values), len(values)


def _tiff_bytes(ifds: list[dict[int, tuple[int, Any]]], blobs: dict[str, bytes]) -> bytes:
    out = bytearray(b"II*\0\0\0\0\0")
    refs: dict[_Ref, int] = {}
    for key, blob in blobs.items():
        refs[_Ref("blob", key)] = len(out)
        refs[_Ref("len", key)] = len(blob)
        out += blob + b"\0" * (len(blob) % 2)

    def encoded(ifd: dict[int, tuple[int, Any]]) -> dict[int, tuple[bytes, int]]:
        return {
            tag: _encode(
                typ,
                values
                if typ in (ASCII, RATIONAL, SRATIONAL)
                else [refs.get(v, 0) if isinstance(v, _Ref) else v for v in values],
            )
            for tag, (typ, values) in ifd.items()
        }

    pos = len(out)
    for i, ifd in enumerate(ifds):  # sizes do not depend on the offsets still unknown
        refs[_Ref("ifd", i)] = pos
        extra = sum(len(d) + len(d) % 2 for d, _ in encoded(ifd).values() if len(d) > 4)
        pos += 2 + 12 * len(ifd) + 4 + extra
    for ifd in ifds:
        enc = encoded(ifd)
        extra_at = len(out) + 2 + 12 * len(ifd) + 4
        entries, extra = b"", b""
        for tag in sorted(ifd):
            data, count = enc[tag]
            head = struct.pack("<HHI", tag, ifd[tag][0], count)
            if len(data) <= 4:
                entries += head + data.ljust(4, b"\0")
            else:
                entries += head + struct.pack("<I", extra_at + len(extra))
                extra += data + b"\0" * (len(data) % 2)
        out += struct.pack("<H", len(ifd)) + entries + b"\0\0\0\0" + extra
    struct.pack_into("<I", out, 4, refs[_Ref("ifd", 0)])
    return bytes(out)


def _write_dng(path: Path, *, preview_size: tuple[int, int] | None, orientation: int = 6) -> Path:
    """600x400 linear DNG: red with a blue top-left quarter; the preview is green instead."""
    width, height = 600, 400
    raw = np.zeros((height, width, 3), np.uint16)
    raw[...] = (60000, 0, 0)
    raw[: height // 4, : width // 4] = (0, 0, 60000)
    blobs = {"raw": raw.tobytes()}
    ifd0: dict[int, tuple[int, Any]] = {
        254: (LONG, [0]),
        256: (LONG, [width]),
        257: (LONG, [height]),
        258: (SHORT, [16, 16, 16]),
        259: (SHORT, [1]),
        262: (SHORT, [34892]),  # LinearRaw
        271: (ASCII, "Canon"),
        272: (ASCII, "Canon EOS Test"),
        273: (LONG, [_Ref("blob", "raw")]),
        274: (SHORT, [orientation]),
        277: (SHORT, [3]),
        278: (LONG, [height]),
        279: (LONG, [_Ref("len", "raw")]),
        284: (SHORT, [1]),
        34665: (LONG, [_Ref("ifd", 1)]),
        34853: (LONG, [_Ref("ifd", 2)]),
        50706: (BYTE, [1, 4, 0, 0]),
        50708: (ASCII, "Canon EOS Test"),
        50721: (SRATIONAL, [(1, 1) if i % 4 == 0 else (0, 1) for i in range(9)]),  # identity
        50728: (RATIONAL, [(1, 1), (1, 1), (1, 1)]),
    }
    exif_ifd = {0x9003: (ASCII, "2021:07:04 12:30:00"), 0x9011: (ASCII, "+02:00")}
    gps_ifd = {
        1: (ASCII, "S"),
        2: (RATIONAL, [(33, 1), (51, 1), (54, 1)]),
        3: (ASCII, "E"),
        4: (RATIONAL, [(151, 1), (12, 1), (36, 1)]),
    }
    ifds = [ifd0, exif_ifd, gps_ifd]
    if preview_size is not None:
        buf = io.BytesIO()
        pw, ph = preview_size
        preview = Image.new("RGB", preview_size, GREEN)
        preview.paste(BLUE, (0, 0, pw // 4, ph // 4))
        preview.save(buf, "JPEG", quality=95)
        blobs["jpg"] = buf.getvalue()
        ifd0[330] = (LONG, [_Ref("ifd", 3)])  # SubIFDs
        ifds.append(
            {
                254: (LONG, [1]),  # a reduced-resolution (preview) image
                256: (LONG, [pw]),
                257: (LONG, [ph]),
                258: (SHORT, [8, 8, 8]),
                259: (SHORT, [7]),
                262: (SHORT, [6]),
                273: (LONG, [_Ref("blob", "jpg")]),
                277: (SHORT, [3]),
                278: (LONG, [ph]),
                279: (LONG, [_Ref("len", "jpg")]),
            }
        )
    path.write_bytes(_tiff_bytes(ifds, blobs))
    return path


# ---------------------------------------------------------------------------------------------
# API basics


def test_supported_extensions_and_is_supported() -> None:
    for ext in (".jpg", ".jpeg", ".jpe", ".png", ".webp", ".tif", ".tiff", ".bmp", ".gif"):
        assert ext in SUPPORTED_EXTENSIONS
    for ext in (".heic", ".heif", ".cr2", ".cr3", ".nef", ".arw", ".dng", ".orf", ".rw2"):
        assert ext in SUPPORTED_EXTENSIONS
    for ext in (".raf", ".pef", ".srw"):
        assert ext in SUPPORTED_EXTENSIONS
    assert all(e == e.lower() and e.startswith(".") for e in SUPPORTED_EXTENSIONS)
    assert is_supported("a/b/IMG_0001.JPG")
    assert is_supported(Path("x.Cr3"))
    assert not is_supported("notes.txt")
    assert not is_supported("folder/jpg")
    assert not is_supported("._IMG_0001.JPG")  # macOS AppleDouble side file
    assert MAX_PIXELS == 200_000_000


def test_decode_error_str_and_pickle() -> None:
    err = DecodeError("empty file", "/x.jpg")
    assert str(err) == "empty file: /x.jpg"
    assert str(DecodeError("empty file")) == "empty file"
    back = pickle.loads(pickle.dumps(err))
    assert (back.reason, back.detail) == ("empty file", "/x.jpg")


# ---------------------------------------------------------------------------------------------
# JPEG: draft, reduction, orientation, CMYK


@pytest.mark.parametrize(
    ("size", "min_side"),
    [((4000, 3000), 224), ((3000, 4000), 224), ((4000, 3000), 300), ((1000, 700), 224)],
)
def test_jpeg_is_drafted_and_reduced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, size: tuple[int, int], min_side: int
) -> None:
    path = tmp_path / "big.jpg"
    _smooth_rgb(*size).save(path, quality=90)
    drafts: list[Any] = []
    original = JpegImagePlugin.JpegImageFile.draft

    def spy(self: Any, mode: Any, req: Any) -> Any:
        result = original(self, mode, req)
        drafts.append((req, self.size))
        return result

    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "draft", spy)
    photo = decode_photo(path, min_side=min_side)
    assert isinstance(photo, DecodedPhoto)
    assert photo.image.mode == "RGB"
    w, h = photo.image.size
    assert min_side <= min(w, h) < 2 * min_side
    assert abs(w / h - size[0] / size[1]) < 0.02
    assert (photo.info.width, photo.info.height) == size
    assert photo.info.format == "JPEG"
    assert drafts, "draft() was not used"
    drafted = drafts[0][1]
    assert min(drafted) >= min_side  # the draft never goes below what was asked for
    if min(size) >= 4 * min_side:
        assert max(drafted) < max(size)  # ...but does reduce big images


def test_small_image_is_not_enlarged(tmp_path: Path) -> None:
    path = tmp_path / "small.jpg"
    _smooth_rgb(120, 90).save(path)
    photo = decode_photo(path)
    assert photo.image.size == (120, 90)
    assert make_thumbnail(path, 256).size == (120, 90)


def test_decoded_image_is_detached_from_file(tmp_path: Path) -> None:
    path = tmp_path / "small.png"
    Image.new("RGB", (50, 40), RED).save(path)
    image = decode_photo(path).image  # no resize, no conversion: must still be usable
    os.remove(path)
    assert image.getpixel((10, 10)) == RED
    assert image.info == {}


def _orientation_file(tmp_path: Path, orientation: int, ext: str = ".jpg") -> Path:
    path = tmp_path / f"o{orientation}{ext}"
    exif = Image.Exif()
    exif[0x0112] = orientation
    _marked(400, 200).save(path, exif=exif, quality=95)
    return path


def test_exif_orientation_6_rotates_and_swaps(tmp_path: Path) -> None:
    path = _orientation_file(tmp_path, 6)
    info = read_info(path)
    assert (info.width, info.height, info.orientation) == (200, 400, 6)
    photo = decode_photo(path, min_side=100)
    assert photo.image.size == (100, 200)
    assert (photo.info.width, photo.info.height) == (200, 400)
    # Orientation 6: rotate 90 degrees clockwise, so the stored top-left lands top-right.
    assert _close(photo.image.getpixel((95, 5)), RED, 40)
    assert _close(photo.image.getpixel((5, 5)), BLUE, 40)
    assert _close(photo.image.getpixel((95, 195)), BLUE, 40)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_all_orientations_match_exif_transpose(tmp_path: Path, orientation: int) -> None:
    path = _orientation_file(tmp_path, orientation, ".png")
    with Image.open(path) as im:
        expected = ImageOps.exif_transpose(im).convert("RGB")
    got = load_rgb(path)
    assert got.size == expected.size
    assert np.array_equal(np.asarray(got), np.asarray(expected))
    info = read_info(path)
    assert (info.width, info.height) == expected.size
    assert info.orientation == orientation


@pytest.mark.parametrize(
    "exif_bytes",
    [
        b"Exif\x00\x00garbage that is not tiff",
        b"Exif\x00\x00II*\x00\xff\xff\xff\x7f" + b"\x00" * 20,
        b"Exif\x00\x00MM\x00*\x00\x00\x00\x08\x00\x05\x01\x12\x00\x03",
    ],
)
def test_broken_exif_never_raises(tmp_path: Path, exif_bytes: bytes) -> None:
    path = tmp_path / "broken_exif.jpg"
    _marked(80, 60).save(path, exif=exif_bytes)
    photo = decode_photo(path)
    assert photo.image.size == (80, 60)
    assert photo.info.orientation == 1
    assert photo.info.taken_at is None
    assert photo.info.latitude is None


def test_invalid_orientation_value_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "o9.jpg"
    exif = Image.Exif()
    exif[0x0112] = 9
    _marked(80, 60).save(path, exif=exif)
    photo = decode_photo(path)
    assert photo.info.orientation == 1
    assert photo.image.size == (80, 60)


@pytest.mark.parametrize(
    ("cmyk", "rgb"),
    [
        ((255, 0, 0, 0), (0, 255, 255)),
        ((0, 255, 0, 0), (255, 0, 255)),
        ((0, 0, 255, 0), (255, 255, 0)),
        ((0, 0, 0, 255), (0, 0, 0)),
        ((0, 0, 0, 0), (255, 255, 255)),
    ],
)
def test_cmyk_jpeg_becomes_rgb(
    tmp_path: Path, cmyk: tuple[int, ...], rgb: tuple[int, int, int]
) -> None:
    path = tmp_path / "cmyk.jpg"
    Image.new("CMYK", (64, 48), cmyk).save(path, quality=95)
    with Image.open(path) as im:
        assert im.mode == "CMYK"
    image = load_rgb(path)
    assert image.mode == "RGB"
    assert _close(image.getpixel((30, 20)), rgb, 10)


def test_greyscale_jpeg(tmp_path: Path) -> None:
    path = tmp_path / "grey.jpg"
    Image.new("L", (500, 300), 77).save(path)
    photo = decode_photo(path)
    assert photo.image.mode == "RGB"
    assert min(photo.image.size) == 224
    assert _close(photo.image.getpixel((10, 10)), (77, 77, 77), 3)


def test_srgb_and_garbage_icc_profiles(tmp_path: Path) -> None:
    from PIL import ImageCms

    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    good, bad = tmp_path / "srgb.jpg", tmp_path / "bad_icc.png"
    Image.new("RGB", (40, 30), (200, 100, 50)).save(good, icc_profile=srgb, quality=100)
    Image.new("RGB", (40, 30), (200, 100, 50)).save(bad, icc_profile=b"not a profile")
    assert _close(load_rgb(good).getpixel((5, 5)), (200, 100, 50), 3)
    assert load_rgb(bad).getpixel((5, 5)) == (200, 100, 50)


# A CMYK profile each OS ships: Debian/Ubuntu's libgs-common (ghostscript), Windows' SWOP
# profile, macOS's generic one
_SYSTEM_CMYK = next(
    (p for p in (Path("/usr/share/color/icc/ghostscript/default_cmyk.icc"),
                 Path(os.environ.get("SYSTEMROOT", "C:/Windows"))
                 / "System32/spool/drivers/color/RSWOP.icm",
                 Path("/System/Library/ColorSync/Profiles/Generic CMYK Profile.icc"))
     if p.is_file()),
    Path("/usr/share/color/icc/ghostscript/default_cmyk.icc"))


@pytest.mark.skipif(not _SYSTEM_CMYK.exists(), reason="no CMYK ICC profile on this system")
def test_cmyk_with_embedded_profile_is_colour_managed(tmp_path: Path) -> None:
    path = tmp_path / "cmyk_icc.jpg"
    Image.new("CMYK", (32, 32), (255, 0, 0, 0)).save(
        path, icc_profile=_SYSTEM_CMYK.read_bytes(), quality=100
    )
    r, g, b = load_rgb(path).getpixel((5, 5))
    assert r < 40 and 120 < g < 220 and b > 200  # real press cyan, not naive (0, 255, 255)


def test_concurrent_decoding(tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    paths = []
    for i, ext in enumerate([".jpg", ".png", ".webp", ".tif"] * 3):
        path = tmp_path / f"c{i}{ext}"
        _smooth_rgb(400 + i, 300).save(path)
        paths.append(path)
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(decode_photo, paths))
    assert [min(r.image.size) for r in results] == [224] * len(paths)


def test_concurrent_calls_leave_warning_filters_alone(tmp_path: Path) -> None:
    import warnings
    from concurrent.futures import ThreadPoolExecutor

    # Image.open warns (DecompressionBombWarning) for this 100 MP header on every call.
    path = _png_with_header_size(tmp_path / "pano.png", 10_000, 10_000)
    before = list(warnings.filters)
    with ThreadPoolExecutor(8) as pool:
        widths = set(pool.map(lambda _: read_info(path).width, range(200)))
    assert widths == {10_000}
    assert warnings.filters == before


# ---------------------------------------------------------------------------------------------
# Modes: 16-bit, 32-bit, float, alpha, palette, 1-bit


@pytest.mark.parametrize("fmt", ["PNG", "TIFF"])
def test_16bit_greyscale_scales_not_clips(tmp_path: Path, fmt: str) -> None:
    values = np.array([[0, 257, 32768, 65535, 1000, 12850]], dtype=np.uint16)
    path = tmp_path / f"g16.{fmt.lower()}"
    Image.fromarray(values).save(path, fmt)
    with Image.open(path) as im:
        assert im.mode.startswith("I")
    image = load_rgb(path)
    assert image.mode == "RGB"
    got = [image.getpixel((x, 0))[0] for x in range(values.shape[1])]
    assert got == [0, 1, 128, 255, 4, 50]


def test_16bit_gradient_png_reduced(tmp_path: Path) -> None:
    ramp = np.linspace(0, 65535, 1024, dtype=np.float64).round().astype(np.uint16)
    path = tmp_path / "ramp16.png"
    Image.fromarray(np.tile(ramp, (600, 1))).save(path)
    photo = decode_photo(path)
    row = np.asarray(photo.image)[100, :, 0].astype(int)
    assert row.max() >= 250 and row.min() <= 5  # full range kept, not clipped to dark/white
    assert np.all(np.diff(row) >= -1)  # still a ramp
    mid = row[len(row) // 2]
    assert 120 <= mid <= 136


def test_32bit_int_and_float_tiff(tmp_path: Path) -> None:
    ints = tmp_path / "i32.tif"
    Image.fromarray(np.array([[0, 32768, 65535]], dtype=np.int32)).save(ints)
    assert [load_rgb(ints).getpixel((x, 0))[0] for x in range(3)] == [0, 128, 255]
    floats = tmp_path / "f32.tif"
    Image.fromarray(np.array([[0.0, 0.5, 1.0, np.nan]], dtype=np.float32)).save(floats)
    assert [load_rgb(floats).getpixel((x, 0))[0] for x in range(4)] == [0, 128, 255, 0]


def test_rgba_and_la_composite_over_white(tmp_path: Path) -> None:
    rgba = Image.new("RGBA", (40, 20), (255, 0, 0, 255))
    rgba.paste((0, 0, 255, 0), (0, 0, 10, 20))
    rgba.paste((255, 0, 0, 128), (10, 0, 20, 20))
    path = tmp_path / "rgba.png"
    rgba.save(path)
    image = load_rgb(path)
    assert image.mode == "RGB"
    assert image.getpixel((5, 5)) == WHITE  # fully transparent -> white, not blue or black
    assert _close(image.getpixel((15, 5)), (255, 127, 127), 2)
    assert image.getpixel((30, 5)) == RED
    la = Image.new("LA", (10, 10), (0, 0))
    path_la = tmp_path / "la.png"
    la.save(path_la)
    assert load_rgb(path_la).getpixel((3, 3)) == WHITE


def test_rgba_reduced_keeps_white_background(tmp_path: Path) -> None:
    rgba = Image.new("RGBA", (1000, 800), (0, 0, 0, 0))
    rgba.paste((0, 0, 255, 255), (500, 0, 1000, 800))
    path = tmp_path / "big_rgba.webp"
    rgba.save(path, lossless=True)
    photo = decode_photo(path)
    assert photo.info.format == "WEBP"
    assert photo.image.getpixel((10, 10)) == WHITE
    assert _close(photo.image.getpixel((photo.image.width - 10, 10)), BLUE, 2)


def test_palette_with_transparency(tmp_path: Path) -> None:
    pal = Image.new("P", (30, 30), 0)
    pal.putpalette([0, 255, 0] + [255, 0, 0] * 255)
    pal.paste(1, (15, 0, 30, 30))
    png, gif = tmp_path / "pal.png", tmp_path / "pal.gif"
    pal.save(png, transparency=0)
    pal.save(gif, transparency=0)
    # per-entry alpha (tRNS as bytes) triggers a Pillow warning, which must not escape
    alpha_png = tmp_path / "pal_alpha.png"
    pal.save(alpha_png, transparency=bytes([0, 255] + [255] * 254))
    for path in (png, gif, alpha_png):
        image = load_rgb(path)
        assert image.getpixel((5, 5)) == WHITE, path
        assert image.getpixel((20, 5)) == RED, path


def test_palette_without_transparency_and_1bit(tmp_path: Path) -> None:
    pal = Image.new("RGB", (300, 300), (10, 200, 30)).convert("P", palette=Image.Palette.ADAPTIVE)
    path = tmp_path / "pal.png"
    pal.save(path)
    photo = decode_photo(path)
    assert photo.image.mode == "RGB"
    assert _close(photo.image.getpixel((100, 100)), (10, 200, 30), 4)
    one = Image.new("1", (300, 300), 1)
    one.paste(0, (0, 0, 150, 300))
    path1 = tmp_path / "one.bmp"
    one.save(path1)
    image = decode_photo(path1).image
    assert image.getpixel((10, 10)) == (0, 0, 0)
    assert image.getpixel((image.width - 10, 10)) == WHITE


# ---------------------------------------------------------------------------------------------
# Other formats


def test_gif_first_frame(tmp_path: Path) -> None:
    path = tmp_path / "anim.gif"
    frames = [Image.new("RGB", (60, 40), c) for c in (RED, GREEN, BLUE)]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, loop=0)
    photo = decode_photo(path)
    assert photo.info.format == "GIF"
    assert _close(photo.image.getpixel((30, 20)), RED, 2)


@pytest.mark.parametrize(
    ("ext", "fmt", "kwargs", "tol"),
    [
        (".webp", "WEBP", {"quality": 95}, 12),
        (".tif", "TIFF", {}, 0),
        (".tiff", "TIFF", {"compression": "tiff_lzw"}, 0),
        (".bmp", "BMP", {}, 0),
        (".png", "PNG", {}, 0),
    ],
)
def test_format_round_trip(
    tmp_path: Path, ext: str, fmt: str, kwargs: dict[str, Any], tol: int
) -> None:
    path = tmp_path / f"img{ext}"
    _marked(640, 480, BLUE).save(path, fmt, **kwargs)
    photo = decode_photo(path)
    assert photo.info.format == fmt
    assert (photo.info.width, photo.info.height) == (640, 480)
    assert photo.image.size == (299, 224)
    assert _close(photo.image.getpixel((5, 5)), RED, tol + 2)
    assert _close(photo.image.getpixel((250, 200)), BLUE, tol + 2)
    assert read_info(path) == photo.info


def test_tiff_exif_orientation(tmp_path: Path) -> None:
    path = tmp_path / "o.tif"
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x010F] = "Scanner Co"
    _marked(400, 200).save(path, exif=exif)
    info = read_info(path)
    assert (info.width, info.height, info.orientation) == (200, 400, 6)
    assert info.camera == "Scanner Co"
    assert load_rgb(path).getpixel((195, 5)) == RED


def test_heic_round_trip(tmp_path: Path) -> None:
    pillow_heif = pytest.importorskip("pillow_heif")
    if not pillow_heif.libheif_info().get("HEIF"):
        pytest.skip("this libheif build cannot encode HEIF")
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x010F] = "Apple"
    exif[0x0110] = "iPhone 13"
    exif.get_ifd(0x8769)[0x9003] = "2023:05:06 07:08:09"
    path = tmp_path / "IMG_0001.HEIC"
    pillow_heif.from_pillow(_marked(800, 600)).save(path, quality=90, exif=exif.tobytes())
    photo = decode_photo(path)
    assert photo.info.format == "HEIF"
    assert (photo.info.width, photo.info.height) == (600, 800)
    assert photo.info.orientation == 6
    assert photo.info.camera == "Apple iPhone 13"
    assert photo.info.taken_at == datetime(2023, 5, 6, 7, 8, 9, tzinfo=UTC).timestamp()
    image = photo.image
    assert image.size == (224, 299)
    assert _close(image.getpixel((image.width - 5, 5)), RED, 30)  # rotated exactly once
    assert _close(image.getpixel((5, 5)), BLUE, 30)
    assert read_info(path) == photo.info


def test_heic_named_jpg_decodes(tmp_path: Path) -> None:
    pillow_heif = pytest.importorskip("pillow_heif")
    if not pillow_heif.libheif_info().get("HEIF"):
        pytest.skip("this libheif build cannot encode HEIF")
    path = tmp_path / "export.jpg"
    pillow_heif.from_pillow(Image.new("RGB", (64, 64), GREEN)).save(path, format="HEIF")
    assert decode_photo(path).info.format == "HEIF"


def test_heif_missing_gives_decode_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "x.heic"
    path.write_bytes(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64)
    monkeypatch.setattr(imaging, "_ensure_heif", lambda: False)
    monkeypatch.setattr(imaging, "_pillow_formats", lambda: ("JPEG", "PNG"))
    assert _reason(path) == "HEIF support not installed"


@pytest.mark.skipif(".avif" not in SUPPORTED_EXTENSIONS, reason="no AVIF decoder")
def test_avif_round_trip(tmp_path: Path) -> None:
    if not features.check("avif"):
        pytest.skip("Pillow cannot encode AVIF here")
    path = tmp_path / "x.avif"
    _marked(400, 300).save(path, quality=90)
    photo = decode_photo(path, min_side=100)
    assert photo.info.format == "AVIF"
    assert photo.image.size == (133, 100)
    assert _close(photo.image.getpixel((5, 5)), RED, 40)


# ---------------------------------------------------------------------------------------------
# Broken files


def test_truncated_jpeg(tmp_path: Path) -> None:
    full = tmp_path / "full.jpg"
    _smooth_rgb(800, 600).save(full, quality=90)
    data = full.read_bytes()
    path = tmp_path / "truncated.jpg"
    path.write_bytes(data[: len(data) // 2])
    assert not ImageFile.LOAD_TRUNCATED_IMAGES
    assert _reason(path) == "truncated or corrupt image"
    assert _reason(path, load_rgb) == "truncated or corrupt image"
    assert _reason(path, make_thumbnail) == "truncated or corrupt image"
    assert not ImageFile.LOAD_TRUNCATED_IMAGES


def test_truncated_png(tmp_path: Path) -> None:
    full = tmp_path / "full.png"
    _smooth_rgb(300, 200).save(full)
    path = tmp_path / "truncated.png"
    path.write_bytes(full.read_bytes()[:500])
    assert _reason(path) == "truncated or corrupt image"


@pytest.mark.parametrize("fmt", ["PNG", "WEBP"])
def test_damaged_header_is_corrupt_not_unknown(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / f"damaged.{fmt.lower()}"
    _smooth_rgb(64, 48).save(path, fmt)
    data = bytearray(path.read_bytes())
    data[13:24] = b"\xff" * 11  # inside the PNG IHDR / the WebP chunk header
    path.write_bytes(bytes(data))
    assert _reason(path) in ("truncated or corrupt image", "image too large")


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.jpg"
    path.touch()
    assert _reason(path) == "empty file"
    assert _reason(path, read_info) == "empty file"


def test_text_named_jpg(tmp_path: Path) -> None:
    path = tmp_path / "notes.jpg"
    path.write_text("these are not the pixels you are looking for\n" * 20)
    assert _reason(path) == "not a recognised image format"
    assert _reason(path, read_info) == "not a recognised image format"


def test_other_pillow_formats_are_not_accepted(tmp_path: Path) -> None:
    path = tmp_path / "icon.jpg"
    Image.new("RGB", (32, 32), RED).save(path, "ICO")
    assert _reason(path) == "not a recognised image format"


def test_png_named_jpg_decodes(tmp_path: Path) -> None:
    path = tmp_path / "actually_png.jpg"
    Image.new("RGB", (300, 250), GREEN).save(path, "PNG")
    photo = decode_photo(path)
    assert photo.info.format == "PNG"
    assert photo.image.getpixel((10, 10)) == GREEN


def test_missing_file_and_broken_symlink(tmp_path: Path) -> None:
    assert _reason(tmp_path / "gone.jpg") == "file vanished"
    assert _reason(tmp_path / "gone.jpg", read_info) == "file vanished"
    link = tmp_path / "dangling.jpg"
    link.symlink_to(tmp_path / "nowhere.jpg")
    assert _reason(link) == "file vanished"


def test_directory_and_fifo(tmp_path: Path) -> None:
    folder = tmp_path / "folder.jpg"
    folder.mkdir()
    assert _reason(folder) == "not a regular file"
    if hasattr(os, "mkfifo"):
        fifo = tmp_path / "pipe.jpg"
        os.mkfifo(fifo)
        assert _reason(fifo) == "not a regular file"  # and does not block


def test_permission_denied(tmp_path: Path) -> None:
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        pytest.skip("root ignores file permissions")
    path = tmp_path / "secret.jpg"
    Image.new("RGB", (10, 10)).save(path)
    path.chmod(0)
    try:
        assert _reason(path) == "permission denied"
    finally:
        path.chmod(0o644)


def test_permission_denied_simulated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "secret.jpg"
    Image.new("RGB", (10, 10)).save(path)

    def deny(*args: Any, **kwargs: Any) -> Any:
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(imaging, "open", deny, raising=False)  # shadows the builtin
    assert _reason(path) == "permission denied"
    assert _reason(path, read_info) == "permission denied"


def test_io_error_is_read_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "disk.jpg"
    Image.new("RGB", (10, 10)).save(path)

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(imaging, "open", broken, raising=False)
    assert _reason(path) == "read error"


def test_memory_error_is_decode_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "x.png"
    Image.new("RGB", (10, 10)).save(path)

    def boom(self: Any) -> Any:
        raise MemoryError

    monkeypatch.setattr(ImageFile.ImageFile, "load", boom)
    assert _reason(path) == "out of memory"


# ---------------------------------------------------------------------------------------------
# Decompression bombs


def test_huge_header_is_refused_without_allocating(tmp_path: Path) -> None:
    path = _png_with_header_size(tmp_path / "bomb.png", 50_000, 50_000)
    tracemalloc.start()
    try:
        for fn in (decode_photo, read_info, load_rgb, make_thumbnail):
            with pytest.raises(DecodeError) as info:
                fn(path)
            assert info.value.reason == "image too large"
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 20_000_000


def test_max_pixels_is_per_call(tmp_path: Path) -> None:
    path = tmp_path / "normal.jpg"
    Image.new("RGB", (200, 100)).save(path)
    with pytest.raises(DecodeError) as info:
        decode_photo(path, max_pixels=10_000)
    assert info.value.reason == "image too large"
    assert "200x100" in info.value.detail
    assert _reason(path, read_info, max_pixels=19_999) == "image too large"
    assert read_info(path, max_pixels=20_000).width == 200  # the limit is inclusive
    assert decode_photo(path).image.size == (200, 100)  # and nothing global changed


def test_above_pillow_threshold_but_within_our_cap(tmp_path: Path) -> None:
    # 100 MP: above Pillow's default warning threshold (~89 MP), below MAX_PIXELS. The
    # DecompressionBombWarning must neither escape (pytest turns warnings into errors) nor
    # reject the photo.
    path = _png_with_header_size(tmp_path / "pano.png", 10_000, 10_000)
    info = read_info(path)
    assert (info.width, info.height) == (10_000, 10_000)


# ---------------------------------------------------------------------------------------------
# Metadata


def _exif_with(
    *,
    gps: dict[int, Any] | None = None,
    exif_ifd: dict[int, Any] | None = None,
    ifd0: dict[int, Any] | None = None,
) -> Image.Exif:
    exif = Image.Exif()
    for tag, value in (ifd0 or {}).items():
        exif[tag] = value
    if exif_ifd:
        exif.get_ifd(0x8769).update(exif_ifd)
    if gps:
        exif.get_ifd(0x8825).update(gps)
    return exif


@pytest.mark.parametrize(
    ("refs", "signs"),
    [(("N", "E"), (1, 1)), (("S", "W"), (-1, -1)), (("S", "E"), (-1, 1)), (("N", "W"), (1, -1))],
)
def test_gps_read_back(tmp_path: Path, refs: tuple[str, str], signs: tuple[int, int]) -> None:
    exif = _exif_with(gps={1: refs[0], 2: (48.0, 51.0, 29.6), 3: refs[1], 4: (2.0, 17.0, 40.2)})
    path = tmp_path / "gps.jpg"
    Image.new("RGB", (40, 30)).save(path, exif=exif)
    info = read_info(path)
    assert info.latitude == pytest.approx(signs[0] * (48 + 51 / 60 + 29.6 / 3600), abs=1e-6)
    assert info.longitude == pytest.approx(signs[1] * (2 + 17 / 60 + 40.2 / 3600), abs=1e-6)
    assert decode_photo(path).info == info


@pytest.mark.parametrize(
    "gps",
    [
        {1: "N", 2: (95.0, 0.0, 0.0), 3: "E", 4: (2.0, 0.0, 0.0)},  # latitude out of range
        {1: "N", 2: (45.0, 0.0, 0.0), 3: "E", 4: (200.0, 0.0, 0.0)},  # longitude out of range
        {1: "N", 2: (45.0, 0.0, 0.0)},  # no longitude
        {1: "N", 2: (45.0, 1.0, 2.0, 3.0), 3: "E", 4: (2.0, 0.0, 0.0)},  # four components
    ],
)
def test_invalid_gps_is_none(tmp_path: Path, gps: dict[int, Any]) -> None:
    path = tmp_path / "badgps.jpg"
    Image.new("RGB", (40, 30)).save(path, exif=_exif_with(gps=gps))
    info = read_info(path)
    assert (info.latitude, info.longitude) == (None, None)


def test_gps_zero_denominator_is_none() -> None:
    from PIL.TiffImagePlugin import IFDRational

    def latlon(gps: dict[int, Any]) -> tuple[float | None, float | None]:
        meta = imaging._meta_from_ifds({}, {}, gps)
        return meta.latitude, meta.longitude

    zero = IFDRational(1, 0)
    gps = {
        1: "N",
        2: (zero, IFDRational(0, 1), IFDRational(0, 1)),
        3: "E",
        4: (IFDRational(2, 1), IFDRational(0, 1), IFDRational(0, 1)),
    }
    assert latlon(gps) == (None, None)
    assert latlon({1: b"S\x00", 2: (10, 30, 0), 3: "W", 4: 20.5}) == (-10.5, -20.5)
    assert latlon({2: "garbage", 4: (1.0, 2.0)}) == (None, None)
    assert latlon({2: (float("nan"), 0, 0), 4: (1.0, 2.0)}) == (None, None)


def test_datetime_original_and_offsets(tmp_path: Path) -> None:
    path = tmp_path / "dt.jpg"
    exif = _exif_with(
        ifd0={0x010F: "NIKON CORPORATION", 0x0110: "NIKON D850", 0x0132: "2000:01:01 00:00:00"},
        exif_ifd={0x9003: "2021:07:04 12:30:00", 0x9011: "-04:00", 0x9291: "25"},
    )
    Image.new("RGB", (40, 30)).save(path, exif=exif)
    info = read_info(path)
    expected = datetime(2021, 7, 4, 16, 30, tzinfo=UTC).timestamp() + 0.25
    assert info.taken_at == pytest.approx(expected)
    assert info.camera == "NIKON D850"


@pytest.mark.parametrize(
    ("ifd0", "exif_ifd", "expected"),
    [
        ({}, {0x9003: "2019:12:31 23:59:59"}, datetime(2019, 12, 31, 23, 59, 59, tzinfo=UTC)),
        ({}, {0x9004: "2019:02:03 04:05:06"}, datetime(2019, 2, 3, 4, 5, 6, tzinfo=UTC)),
        ({0x0132: "2018:01:02 03:04:05"}, {}, datetime(2018, 1, 2, 3, 4, 5, tzinfo=UTC)),
        (
            {},
            {0x9003: "0000:00:00 00:00:00", 0x9004: "2017:06:07 08:09:10"},
            datetime(2017, 6, 7, 8, 9, 10, tzinfo=UTC),
        ),
        ({}, {0x9003: "    :  :     :  :  "}, None),
        ({}, {0x9003: "2016-05-04T03:02:01+01:00"}, datetime(2016, 5, 4, 2, 2, 1, tzinfo=UTC)),
        ({}, {0x9003: "2016:13:45 99:99:99"}, None),
    ],
)
def test_datetime_fallbacks(
    tmp_path: Path, ifd0: dict[int, Any], exif_ifd: dict[int, Any], expected: datetime | None
) -> None:
    path = tmp_path / "dt.jpg"
    Image.new("RGB", (40, 30)).save(path, exif=_exif_with(ifd0=ifd0, exif_ifd=exif_ifd))
    taken_at = read_info(path).taken_at
    assert taken_at == (None if expected is None else expected.timestamp())


@pytest.mark.parametrize(
    ("make", "model", "expected"),
    [
        ("Canon", "Canon EOS R5", "Canon EOS R5"),
        ("Apple", "iPhone 13 Pro", "Apple iPhone 13 Pro"),
        ("  FUJIFILM ", "X-T4\x00\x00junk", "FUJIFILM X-T4"),
        ("", "", None),
        (None, "Pixel 7", "Pixel 7"),
    ],
)
def test_camera_name(make: Any, model: Any, expected: str | None) -> None:
    assert imaging._camera(make, model) == expected


def test_no_metadata_defaults(tmp_path: Path) -> None:
    path = tmp_path / "plain.png"
    Image.new("RGB", (30, 20)).save(path)
    assert read_info(path) == PhotoInfo(
        width=30,
        height=20,
        taken_at=None,
        latitude=None,
        longitude=None,
        camera=None,
        orientation=1,
        format="PNG",
    )


def test_png_exif_chunk(tmp_path: Path) -> None:
    path = tmp_path / "exif.png"
    exif = _exif_with(ifd0={0x0112: 8, 0x010F: "Google", 0x0110: "Pixel 7"})
    _marked(60, 40).save(path, exif=exif)
    info = read_info(path)
    assert (info.width, info.height, info.orientation) == (40, 60, 8)
    assert info.camera == "Google Pixel 7"


@pytest.mark.parametrize("ext", [".jpg", ".png", ".tif", ".webp", ".gif"])
def test_read_info_does_not_decode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ext: str
) -> None:
    path = tmp_path / f"x{ext}"
    # DateTime lives in IFD0: Pillow's TIFF writer drops the Exif sub-IFD
    exif = _exif_with(ifd0={0x0112: 6, 0x0132: "2020:01:02 03:04:05"})
    kwargs = {} if ext == ".gif" else {"exif": exif}
    _marked(60, 40).save(path, **kwargs)

    def no_load(self: Any) -> Any:
        raise AssertionError("read_info decoded the pixels")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_load)
    monkeypatch.setattr(Image.Image, "load", no_load)
    info = read_info(path)
    if ext != ".gif":
        assert (info.width, info.height, info.orientation) == (40, 60, 6)
        assert info.taken_at == datetime(2020, 1, 2, 3, 4, 5, tzinfo=UTC).timestamp()


# ---------------------------------------------------------------------------------------------
# Viewer / thumbnail


@pytest.mark.parametrize("size", [(3000, 2000), (2000, 3000), (256, 100), (100, 50)])
def test_make_thumbnail(tmp_path: Path, size: tuple[int, int]) -> None:
    path = tmp_path / "t.jpg"
    _smooth_rgb(*size).save(path)
    thumb = make_thumbnail(path, 256)
    assert thumb.mode == "RGB"
    assert max(thumb.size) == min(256, max(size))
    assert abs(thumb.size[0] / thumb.size[1] - size[0] / size[1]) < 0.02


def test_load_rgb_full_and_boxed(tmp_path: Path) -> None:
    path = _orientation_file(tmp_path, 6)
    full = load_rgb(path)
    assert full.size == (200, 400) and full.mode == "RGB"
    boxed = load_rgb(path, max_side=100)
    assert boxed.size == (50, 100)
    assert _close(boxed.getpixel((47, 2)), RED, 40)


# ---------------------------------------------------------------------------------------------
# Camera RAW


def test_raw_uses_embedded_preview(tmp_path: Path) -> None:
    pytest.importorskip("rawpy")
    path = _write_dng(tmp_path / "IMG_0001.DNG", preview_size=(600, 400))
    photo = decode_photo(path, min_side=100)
    assert photo.info.format == "RAW"
    assert (photo.info.width, photo.info.height) == (400, 600)
    assert photo.info.orientation == 6
    assert photo.image.size == (100, 150)
    assert _close(photo.image.getpixel((50, 100)), GREEN, 30)  # the preview, not the raw data
    assert _close(photo.image.getpixel((97, 2)), BLUE, 40)  # rotated once, clockwise
    full = load_rgb(path)  # a full-size preview is good enough for the viewer
    assert full.size == (400, 600)
    assert _close(full.getpixel((200, 300)), GREEN, 30)


def test_raw_demosaics_when_preview_too_small(tmp_path: Path) -> None:
    pytest.importorskip("rawpy")
    path = _write_dng(tmp_path / "small_preview.dng", preview_size=(150, 100))
    photo = decode_photo(path, min_side=224)
    assert photo.image.size == (224, 336)
    r, g, b = photo.image.getpixel((100, 200))
    assert r > 150 and g < 80  # red raw data, not the green preview
    assert max(photo.image.getpixel((220, 3))[:2]) < 80  # blue corner, top-right after flip


def test_raw_without_preview_and_metadata(tmp_path: Path) -> None:
    pytest.importorskip("rawpy")
    path = _write_dng(tmp_path / "nopreview.dng", preview_size=None, orientation=1)
    info = read_info(path)
    assert (info.width, info.height, info.orientation) == (600, 400, 1)
    assert info.camera == "Canon EOS Test"
    assert info.taken_at == datetime(2021, 7, 4, 10, 30, tzinfo=UTC).timestamp()
    assert info.latitude == pytest.approx(-(33 + 51 / 60 + 54 / 3600))
    assert info.longitude == pytest.approx(151 + 12 / 60 + 36 / 3600)
    photo = decode_photo(path, min_side=100)
    assert photo.info == info
    assert photo.image.size == (150, 100)
    thumb = make_thumbnail(path, 120)
    assert thumb.size == (120, 80)
    r, g, b = thumb.getpixel((100, 60))
    assert r > 150 and g < 80


@pytest.mark.parametrize("ext", [".nef", ".dng", ".cr3", ".raf"])
def test_garbage_raw_is_decode_error(tmp_path: Path, ext: str) -> None:
    pytest.importorskip("rawpy")
    for i, payload in enumerate([b"hi", b"\x00" * 4096, b"II*\x00" + os.urandom(2000)]):
        path = tmp_path / f"bad{i}{ext}"
        path.write_bytes(payload)
        for fn in (decode_photo, read_info, make_thumbnail):
            with pytest.raises(DecodeError):
                fn(path)


def test_unsupported_raw_reason(tmp_path: Path) -> None:
    pytest.importorskip("rawpy")
    cr3 = tmp_path / "x.cr3"  # ISO-BMFF like a real CR3, but nothing LibRaw understands
    cr3.write_bytes(struct.pack(">I4s", 24, b"ftyp") + b"crx \x00\x00\x00\x01crx isom" * 100)
    assert _reason(cr3) == "unsupported camera RAW"
    tif = tmp_path / "x.nef"  # a plain TIFF is not silently shown as its first page
    Image.new("RGB", (50, 40)).save(tif, "TIFF")
    assert _reason(tif) == "unsupported camera RAW"


def test_truncated_raw(tmp_path: Path) -> None:
    pytest.importorskip("rawpy")
    path = _write_dng(tmp_path / "t.dng", preview_size=None)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    with pytest.raises(DecodeError):
        decode_photo(path)


def test_jpeg_with_raw_extension_decodes(tmp_path: Path) -> None:
    pytest.importorskip("rawpy")
    path = tmp_path / "wrong.nef"
    Image.new("RGB", (300, 200), GREEN).save(path, "JPEG")
    photo = decode_photo(path)
    assert photo.info.format == "JPEG"
    assert _close(photo.image.getpixel((10, 10)), GREEN, 6)
    png = tmp_path / "wrong.ARW"
    Image.new("RGB", (30, 20), GREEN).save(png, "PNG")
    assert load_rgb(png).getpixel((3, 3)) == GREEN


def test_cr3_metadata_boxes(tmp_path: Path) -> None:
    def box(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I4s", 8 + len(payload), kind) + payload

    def tiff(exif: Image.Exif) -> bytes:
        return exif.tobytes()[6:]  # strip "Exif\0\0"

    cmt1 = _exif_with(ifd0={0x010F: "Canon", 0x0110: "Canon EOS R6"})
    cmt2 = _exif_with(ifd0={0x9003: "2022:03:04 05:06:07", 0x9011: "+01:00"})
    cmt4 = _exif_with(ifd0={1: "N", 2: (10.0, 30.0, 0.0), 3: "W", 4: (20.0, 15.0, 0.0)})
    canon = imaging._CR3_CANON_UUID + box(b"CMT1", tiff(cmt1)) + box(b"CMT2", tiff(cmt2))
    canon += box(b"CMT4", tiff(cmt4))
    data = box(b"ftyp", b"crx \x00\x00\x00\x01crx isom") + box(b"moov", box(b"uuid", canon))
    path = tmp_path / "x.cr3"
    path.write_bytes(data)
    meta = imaging._raw_header_meta(str(path))
    assert meta.camera == "Canon EOS R6"
    assert meta.taken_at == datetime(2022, 3, 4, 4, 6, 7, tzinfo=UTC).timestamp()
    assert (meta.latitude, meta.longitude) == (10.5, -20.25)


# ---------------------------------------------------------------------------------------------
# Fuzzing: whatever the bytes, only DecodeError may come out


def _fuzz_sources(tmp_path: Path) -> list[Path]:
    exif = _exif_with(
        ifd0={0x0112: 6, 0x010F: "Make"},
        exif_ifd={0x9003: "2020:01:01 00:00:00"},
        gps={1: "N", 2: (1.0, 2.0, 3.0), 3: "E", 4: (4.0, 5.0, 6.0)},
    )
    image = _smooth_rgb(96, 64)
    sources = []
    for ext, kwargs in (
        (".jpg", {"exif": exif}),
        (".png", {"exif": exif}),
        (".webp", {"exif": exif}),
        (".tif", {"exif": exif}),
        (".gif", {}),
        (".bmp", {}),
    ):
        path = tmp_path / f"src{ext}"
        image.save(path, **kwargs)
        sources.append(path)
    try:
        import pillow_heif

        heic = tmp_path / "src.heic"
        pillow_heif.from_pillow(image).save(heic, exif=exif.tobytes())
        sources.append(heic)
    except Exception:
        pass
    sources.append(_write_dng(tmp_path / "src.dng", preview_size=(60, 40)))
    return sources


def test_fuzzed_files_only_raise_decode_error(tmp_path: Path) -> None:
    rng = random.Random(1234)
    for source in _fuzz_sources(tmp_path):
        data = source.read_bytes()
        variants = [data[:cut] for cut in (1, 8, 16, 40, len(data) // 2, len(data) - 2)]
        for _ in range(20):
            mutated = bytearray(data)
            for _ in range(rng.randint(1, 12)):
                mutated[rng.randrange(len(mutated))] = rng.randrange(256)
            variants.append(bytes(mutated))
        for i, variant in enumerate(variants):
            path = tmp_path / f"fuzz{i}{source.suffix}"
            path.write_bytes(variant)
            for fn in (decode_photo, read_info):
                try:
                    result = fn(path, max_pixels=4_000_000)
                except DecodeError as err:
                    assert err.reason
                    continue
                if isinstance(result, DecodedPhoto):
                    assert result.image.mode == "RGB"
            path.unlink()
