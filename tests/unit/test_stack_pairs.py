"""A stack counts once in people, and RAW+JPEG pairs found by the RAW's embedded preview when
capture times are missing or disagree. Real files made here: rawpy-readable DNGs (linear
raw + JPEG preview) of faces-dev photos, JPEGs with and without EXIF, run through the
commands users run (``index``, ``stacks``, ``clusters people``, ``undo``)."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.unit.test_cli_e2e import TINY, run_cli
from tests.unit.test_imaging import ASCII, BYTE, LONG, RATIONAL, SHORT, SRATIONAL, _Ref, _tiff_bytes
from tests.unit.test_stacks import save_jpeg

rawpy = pytest.importorskip("rawpy")

REPO = Path(__file__).resolve().parents[2]
FACES_DEV = REPO / "tests" / "data" / "faces-dev"  # MIT, see its LICENSE file


def write_dng(path: Path, image: Image.Image, *, preview: Image.Image | None,
              when: str | None, camera: str = "Canon EOS Test") -> Path:
    """A linear DNG of ``image`` (sRGB undone, so the raw converter's gamma gives it back),
    with ``preview`` as its embedded JPEG and ``when`` (EXIF form) as its capture time."""
    rgb = np.asarray(image.convert("RGB"), np.float64) / 255.0
    raw = (np.clip(rgb, 0, 1) ** 2.2 * 60000).astype(np.uint16)
    height, width = raw.shape[:2]
    blobs = {"raw": raw.tobytes()}
    ifd0: dict[int, tuple[int, object]] = {
        254: (LONG, [0]), 256: (LONG, [width]), 257: (LONG, [height]),
        258: (SHORT, [16, 16, 16]), 259: (SHORT, [1]), 262: (SHORT, [34892]),  # LinearRaw
        271: (ASCII, "Canon"), 272: (ASCII, camera), 273: (LONG, [_Ref("blob", "raw")]),
        274: (SHORT, [1]), 277: (SHORT, [3]), 278: (LONG, [height]),
        279: (LONG, [_Ref("len", "raw")]), 284: (SHORT, [1]),
        50706: (BYTE, [1, 4, 0, 0]), 50708: (ASCII, camera),
        50721: (SRATIONAL, [(1, 1) if i % 4 == 0 else (0, 1) for i in range(9)]),
        50728: (RATIONAL, [(1, 1), (1, 1), (1, 1)]),
    }
    ifds = [ifd0]
    if when is not None:
        ifd0[34665] = (LONG, [_Ref("ifd", len(ifds))])
        ifds.append({0x9003: (ASCII, when), 0x9011: (ASCII, "+02:00")})
    if preview is not None:
        buf = io.BytesIO()
        preview.convert("RGB").save(buf, "JPEG", quality=92)
        blobs["jpg"] = buf.getvalue()
        pw, ph = preview.size
        ifd0[330] = (LONG, [_Ref("ifd", len(ifds))])  # SubIFDs: the preview
        ifds.append({254: (LONG, [1]), 256: (LONG, [pw]), 257: (LONG, [ph]),
                     258: (SHORT, [8, 8, 8]), 259: (SHORT, [7]), 262: (SHORT, [6]),
                     273: (LONG, [_Ref("blob", "jpg")]), 277: (SHORT, [3]),
                     278: (LONG, [ph]), 279: (LONG, [_Ref("len", "jpg")])})
    path.write_bytes(_tiff_bytes(ifds, blobs))
    return path


def _shrunk(image: Image.Image, side: int) -> Image.Image:
    image = image.convert("RGB")
    scale = side / max(image.size)
    return image.resize((round(image.width * scale), round(image.height * scale)),
                        Image.Resampling.LANCZOS)


def _face(rel: str, side: int = 800) -> Image.Image:
    return _shrunk(Image.open(FACES_DEV / rel), side)


def _stacks(data: Path) -> list[dict]:
    return json.loads(run_cli(data, "stacks", "--json").stdout)


def _people(data: Path) -> list[list[str]]:
    out = json.loads(run_cli(data, "clusters", "people", "--json").stdout)
    return [sorted(Path(p).name for p in c["photos"]) for c in out]


# -- 1. a stack counts once in people -----------------------------------------------------


@pytest.fixture(scope="module")
def people_library(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("stack_people")
    photos, data = root / "photos", root / "data"
    photos.mkdir()
    # Biden: a RAW+JPEG pair (same shot: the DNG's raw is the picture, its preview a
    # half-size rendering) and one more photo
    biden = _face("biden/biden2.jpg")
    save_jpeg(photos / "IMG_0100.JPG", biden, "2021:07:04 12:30:00")
    write_dng(photos / "IMG_0100.DNG", biden, preview=_shrunk(biden, 400),
              when="2021:07:04 12:30:00")
    save_jpeg(photos / "biden.jpg", _face("biden/biden.jpg"), "2021:07:05 10:00:00")
    # Rose Leslie only as a RAW+JPEG pair: one picture, so not a person by itself
    rose = _face("rose_leslie/img1.jpg")
    save_jpeg(photos / "IMG_0200.JPG", rose, "2021:07:06 09:00:00")
    write_dng(photos / "IMG_0200.DNG", rose, preview=_shrunk(rose, 400),
              when="2021:07:06 09:00:00")
    for rel in ("obama/obama.jpg", "obama/obama2.jpg"):
        shutil.copy(FACES_DEV / rel, photos / Path(rel).name)
    run_cli(data, "index", str(photos), "--model", TINY)
    return photos, data


def _faces_on(data: Path, name: str) -> list[int | None]:
    """The people of the faces found on one file (read from the catalog)."""
    from photoorg.core.store.catalog import Catalog

    with Catalog(data / "catalog.sqlite") as cat:
        return [c for (c,) in cat.query(
            "SELECT f.cluster_id FROM faces f JOIN photos p ON p.id = f.photo_id "
            "WHERE p.rel_path = ? ORDER BY f.id", (name,))]


def test_a_raw_jpeg_pair_is_one_photo_of_the_person(people_library: tuple[Path, Path]) -> None:
    _, data = people_library
    pairs = sorted(sorted(Path(p).name for p in s["photos"]) for s in _stacks(data)
                   if s["kind"] == "raw_jpeg")
    assert pairs == [["IMG_0100.DNG", "IMG_0100.JPG"], ["IMG_0200.DNG", "IMG_0200.JPG"]]
    # the face is found on the RAW too, and it follows its twin on the JPEG
    assert len(_faces_on(data, "IMG_0100.DNG")) == 1
    assert _faces_on(data, "IMG_0100.DNG") == _faces_on(data, "IMG_0100.JPG")
    people = _people(data)
    assert ["IMG_0100.JPG", "biden.jpg"] in people  # 2 photos, not 3
    assert ["obama.jpg", "obama2.jpg"] in people
    # a pair alone is one picture of Rose: no person made of it
    assert not any("IMG_0200.JPG" in p or "IMG_0200.DNG" in p for p in people)
    assert _faces_on(data, "IMG_0200.DNG") == [None]
    assert not any(name.endswith(".DNG") for p in people for name in p)
    # the faces no person holds: Rose once, on the JPEG
    unnamed = json.loads(run_cli(data, "faces", "--unnamed", "--json").stdout)
    shown = [Path(f["photo"]).name for g in unnamed for f in g["faces"]]
    assert "IMG_0200.JPG" in shown and "IMG_0200.DNG" not in shown


def test_unstacking_counts_both_files_again_and_undo(people_library: tuple[Path, Path]) -> None:
    _, data = people_library
    pair = next(s for s in _stacks(data) if any(p.endswith("IMG_0100.DNG") for p in s["photos"]))
    run_cli(data, "stacks", "unstack", str(pair["id"]))
    try:
        assert ["IMG_0100.DNG", "IMG_0100.JPG", "biden.jpg"] in _people(data)
    finally:
        run_cli(data, "undo")
    assert ["IMG_0100.JPG", "biden.jpg"] in _people(data)


def test_album_of_a_person_lists_the_pair_once(people_library: tuple[Path, Path]) -> None:
    _, data = people_library
    biden = next(c for c in json.loads(run_cli(data, "clusters", "people", "--json").stdout)
                 if any(p.endswith("biden.jpg") for p in c["photos"]))
    run_cli(data, "name", str(biden["id"]), "Joe")
    run_cli(data, "album", "create", "Joe's", "--tag", "People|Joe")
    shown = json.loads(run_cli(data, "album", "show", "Joe's", "--json").stdout)
    assert sorted(Path(p).name for p in shown) == ["IMG_0100.JPG", "biden.jpg"]


def test_not_this_person_takes_the_whole_pair_out(people_library: tuple[Path, Path]) -> None:
    photos, data = people_library
    biden = next(c for c in json.loads(run_cli(data, "clusters", "people", "--json").stdout)
                 if any(p.endswith("biden.jpg") for p in c["photos"]))
    run_cli(data, "reject", str(biden["id"]), str(photos / "IMG_0100.JPG"))
    try:
        after = next(c for c in json.loads(run_cli(data, "clusters", "people", "--json").stdout)
                     if c["id"] == biden["id"])
        assert [Path(p).name for p in after["photos"]] == ["biden.jpg"]  # the RAW left too
    finally:
        run_cli(data, "undo")
    assert ["IMG_0100.JPG", "biden.jpg"] in _people(data)


# -- 2. RAW+JPEG by the embedded preview ------------------------------------------------------


def _plain_jpeg(path: Path, image: Image.Image) -> Path:
    image.convert("RGB").save(path, "JPEG", quality=90)  # no EXIF: no capture time
    return path


@pytest.fixture(scope="module")
def preview_library(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("stack_previews")
    photos, data = root / "photos", root / "data"
    (photos / "other").mkdir(parents=True)
    obama, rose, kit = (_face(r, 600) for r in (
        "obama/obama.jpg", "rose_leslie/img2.jpg", "kit_harington/john1.jpeg"))
    # the JPEG lost its EXIF (exported by some tool), the RAW has no time either
    _plain_jpeg(photos / "IMG_0300.JPG", obama)
    write_dng(photos / "IMG_0300.DNG", obama, preview=_shrunk(obama, 300), when=None)
    # the clocks disagree (five minutes): the preview still shows the JPEG's picture
    save_jpeg(photos / "IMG_0301.JPG", rose, "2021:07:04 10:00:00")
    write_dng(photos / "IMG_0301.DNG", rose, preview=_shrunk(rose, 300),
              when="2021:07:04 10:05:00")
    # trap: same base name, no times, another picture
    _plain_jpeg(photos / "IMG_0302.JPG", kit)
    write_dng(photos / "IMG_0302.DNG", obama, preview=_shrunk(obama, 300), when=None)
    # trap: same base name, no times, a RAW without a preview: nothing to compare
    _plain_jpeg(photos / "IMG_0303.JPG", rose)
    write_dng(photos / "IMG_0303.DNG", rose, preview=None, when=None)
    # trap: the same picture and base name in another folder
    _plain_jpeg(photos / "other" / "IMG_0300.JPG", obama)
    run_cli(data, "index", str(photos), "--model", TINY, "--no-faces")
    return photos, data


def test_pairs_by_preview_when_times_are_missing_or_disagree(
        preview_library: tuple[Path, Path]) -> None:
    photos, data = preview_library
    found = sorted([str(Path(p).relative_to(photos)) for p in s["photos"]]
                   for s in _stacks(data))
    assert found == [["IMG_0300.JPG", "IMG_0300.DNG"], ["IMG_0301.JPG", "IMG_0301.DNG"]]
    assert all(s["kind"] == "raw_jpeg" and s["cover"].endswith(".JPG") for s in _stacks(data))


def test_the_preview_check_itself(tmp_path: Path) -> None:
    from photoorg.core.groups.stacks import same_picture
    from photoorg.core.media import pixels
    from photoorg.core.media.imaging import raw_preview

    obama, kit = _face("obama/obama.jpg", 600), _face("kit_harington/john1.jpeg", 600)
    dng = write_dng(tmp_path / "a.dng", obama, preview=_shrunk(obama, 300), when=None)
    preview = raw_preview(dng)
    assert preview is not None and min(preview.size) >= pixels.MIN_SIDE
    sig = pixels.signature(preview)
    assert same_picture(pixels.signature(obama), sig)
    brighter = Image.eval(obama, lambda v: min(255, int(v * 1.15) + 10))
    assert same_picture(pixels.signature(brighter), sig)  # an export with other levels
    assert not same_picture(pixels.signature(kit), sig)
    crop = obama.crop((60, 60, obama.width - 60, obama.height - 60))
    assert not same_picture(pixels.signature(crop), sig)  # a crop is another picture here
    assert raw_preview(write_dng(tmp_path / "b.dng", obama, preview=None, when=None)) is None
