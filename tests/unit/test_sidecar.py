"""XMP sidecars: digiKam/Lightroom keywords and MWG face regions; originals untouched."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pyexiv2
import pytest
from PIL import Image, ImageOps

from photoorg import config
from photoorg.core.groups import clusters as cl
from photoorg.core.metadata import sidecar as sc
from photoorg.core.store.catalog import Catalog


def _photo(path: Path, orientation: int = 1, size: tuple[int, int] = (120, 80),
           blob: tuple[float, float, float, float] | None = None) -> Path:
    """A JPEG (stored size ``size``) with an EXIF orientation and a white box on the stored
    pixel grid."""
    w, h = size
    arr = np.zeros((h, w, 3), np.uint8)
    if blob is not None:
        x, y, bw, bh = blob
        arr[int(y * h):int((y + bh) * h), int(x * w):int((x + bw) * w)] = 255
    exif = Image.Exif()
    exif[0x0112] = orientation
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).save(path, exif=exif, quality=95)
    return path


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _xmp(path: Path) -> dict:
    with pyexiv2.Image(str(path)) as img:
        return img.read_xmp()


def test_write_and_read_back_keywords_and_faces(tmp_path: Path) -> None:
    photo = _photo(tmp_path / "IMG_1.jpg")
    before = _sha(photo)
    out = sc.write_sidecar(
        photo, ["Alice", "holiday"], ["People|Alice", "holiday"],
        faces=[("Alice", (0.1, 0.2, 0.3, 0.4))], image_size=(120, 80), orientation=1,
    )
    assert out == tmp_path / "IMG_1.jpg.xmp"  # digiKam naming
    xmp = _xmp(out)  # what exiv2 (so digiKam, exiftool...) sees
    assert xmp["Xmp.dc.subject"] == ["Alice", "holiday"]
    assert xmp["Xmp.lr.hierarchicalSubject"] == ["People|Alice", "holiday"]
    region = "Xmp.mwg-rs.Regions/mwg-rs:RegionList[1]/"
    assert xmp[region + "mwg-rs:Name"] == "Alice" and xmp[region + "mwg-rs:Type"] == "Face"
    assert float(xmp[region + "mwg-rs:Area/stArea:x"]) == pytest.approx(0.25)  # centre
    assert float(xmp[region + "mwg-rs:Area/stArea:y"]) == pytest.approx(0.4)
    assert xmp[region + "mwg-rs:Area/stArea:unit"] == "normalized"
    assert xmp["Xmp.mwg-rs.Regions/mwg-rs:AppliedToDimensions/stDim:w"] == "120"
    assert "rdf:Bag" in out.read_text(encoding="utf-8")  # dc:subject is a bag, per spec
    data = sc.read_sidecar(photo)
    keywords, hierarchical, faces = data
    assert keywords == ["Alice", "holiday"] and hierarchical == ["People|Alice", "holiday"]
    assert faces[0].name == "Alice"
    assert faces[0].box == pytest.approx((0.1, 0.2, 0.3, 0.4))
    assert _sha(photo) == before


@pytest.mark.parametrize("orientation", range(1, 9))
def test_face_regions_follow_exif_orientation(tmp_path: Path, orientation: int) -> None:
    """MWG: regions are relative to the stored image. Compare with Pillow's rotation."""
    stored_box = (0.1, 0.2, 0.25, 0.3)
    photo = _photo(tmp_path / f"o{orientation}.jpg", orientation, blob=stored_box)
    with Image.open(photo) as im:
        shown = np.asarray(ImageOps.exif_transpose(im).convert("L")) > 128
    ys, xs = np.nonzero(shown)
    dh, dw = shown.shape
    displayed = (xs.min() / dw, ys.min() / dh, (xs.max() + 1 - xs.min()) / dw,
                 (ys.max() + 1 - ys.min()) / dh)
    assert sc.stored_to_displayed(stored_box, orientation) == pytest.approx(displayed, abs=0.01)
    before = _sha(photo)
    out = sc.write_sidecar(photo, None, ["People|Bob"], [sc.FaceRegion("Bob", *displayed)],
                           image_size=(dw, dh), orientation=orientation)
    xmp = _xmp(out)
    area = "Xmp.mwg-rs.Regions/mwg-rs:RegionList[1]/mwg-rs:Area/stArea:"
    x, y = float(xmp[area + "x"]), float(xmp[area + "y"])
    w, h = float(xmp[area + "w"]), float(xmp[area + "h"])
    assert (x - w / 2, y - h / 2, w, h) == pytest.approx(stored_box, abs=0.01)  # stored grid
    dims = "Xmp.mwg-rs.Regions/mwg-rs:AppliedToDimensions/stDim:"
    assert (xmp[dims + "w"], xmp[dims + "h"]) == ("120", "80")  # stored pixel size
    (face,) = sc.read_sidecar(photo).faces  # orientation read from the photo
    assert face.box == pytest.approx(displayed, abs=0.01)
    assert _sha(photo) == before


def test_regions_written_against_the_displayed_size_are_read_as_displayed(
    tmp_path: Path,
) -> None:
    photo = _photo(tmp_path / "old.jpg", orientation=6)  # stored 120x80, shown 80x120
    box = (0.5, 0.1, 0.3, 0.25)
    sc.write_sidecar(photo, None, [], [("Eve", box)], image_size=(80, 120), orientation=1)
    (face,) = sc.read_sidecar(photo).faces
    assert face.box == pytest.approx(box)


def test_update_keeps_foreign_content_and_drops_removed_keywords(tmp_path: Path) -> None:
    photo = _photo(tmp_path / "IMG_2.jpg")
    side = tmp_path / "IMG_2.jpg.xmp"
    side.write_text(
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
        'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" xmp:Rating="4">'
        "<dc:subject><rdf:Bag><rdf:li>old</rdf:li><rdf:li>keep me?</rdf:li></rdf:Bag>"
        "</dc:subject></rdf:Description></rdf:RDF></x:xmpmeta>",
        encoding="utf-8",
    )
    sc.write_sidecar(photo, None, ["People|Ann"], [("Ann", (0.1, 0.1, 0.2, 0.2))], (120, 80))
    sc.write_sidecar(photo, None, ["holiday"], [("Ann", (0.1, 0.1, 0.2, 0.2)),
                                                 ("Ben", (0.6, 0.1, 0.2, 0.2))], (120, 80))
    xmp = _xmp(side)
    assert xmp["Xmp.xmp.Rating"] == "4"
    assert xmp["Xmp.dc.subject"] == ["holiday"]  # "old" and "Ann" are gone for good
    assert xmp["Xmp.lr.hierarchicalSubject"] == ["holiday"]
    assert [f.name for f in sc.read_sidecar(photo).faces] == ["Ann", "Ben"]
    sc.write_sidecar(photo, [], [], [], (120, 80))
    assert sc.read_sidecar(photo) == ([], [], [])
    assert _xmp(side)["Xmp.xmp.Rating"] == "4"


def test_regions_that_are_not_faces_are_kept(tmp_path: Path) -> None:
    photo = _photo(tmp_path / "IMG_9.jpg")
    sc.write_sidecar(photo, None, [], [("Ann", (0.1, 0.1, 0.2, 0.2))], (120, 80))
    text = (tmp_path / "IMG_9.jpg.xmp").read_text(encoding="utf-8")
    (tmp_path / "IMG_9.jpg.xmp").write_text(
        text.replace("<mwg-rs:Type>Face</mwg-rs:Type>", "<mwg-rs:Type>Pet</mwg-rs:Type>"),
        encoding="utf-8")
    sc.write_sidecar(photo, None, ["x"], [("Bob", (0.5, 0.5, 0.2, 0.2))], (120, 80))
    xmp = _xmp(tmp_path / "IMG_9.jpg.xmp")
    regions = "Xmp.mwg-rs.Regions/mwg-rs:RegionList"
    assert (xmp[regions + "[1]/mwg-rs:Name"], xmp[regions + "[1]/mwg-rs:Type"]) == ("Bob", "Face")
    assert (xmp[regions + "[2]/mwg-rs:Name"], xmp[regions + "[2]/mwg-rs:Type"]) == ("Ann", "Pet")


def test_reads_lightroom_sidecars_and_foreign_regions(tmp_path: Path) -> None:
    photo = _photo(tmp_path / "IMG_3.jpg")
    lightroom = tmp_path / "IMG_3.xmp"
    lightroom.write_text(
        '<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?>'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
        'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns:lr="http://ns.adobe.com/lightroom/1.0/" '
        'xmlns:mwg-rs="http://www.metadataworkinggroup.com/schemas/regions/" '
        'xmlns:stArea="http://ns.adobe.com/xmp/sType/Area#">'
        "<dc:subject><rdf:Bag><rdf:li>Zoe</rdf:li><rdf:li>sunset</rdf:li></rdf:Bag>"
        "</dc:subject><lr:hierarchicalSubject><rdf:Bag><rdf:li>People|Family|Zoe</rdf:li>"
        "</rdf:Bag></lr:hierarchicalSubject>"
        '<mwg-rs:Regions rdf:parseType="Resource"><mwg-rs:RegionList><rdf:Bag>'
        '<rdf:li><rdf:Description mwg-rs:Name="Zoe" mwg-rs:Type="Face"><mwg-rs:Area '
        'stArea:x="0.5" stArea:y="0.5" stArea:w="0.2" stArea:h="0.4" stArea:unit="normalized"/>'
        "</rdf:Description></rdf:li>"
        '<rdf:li><rdf:Description mwg-rs:Name="Rex" mwg-rs:Type="Pet"><mwg-rs:Area '
        'stArea:x="0.2" stArea:y="0.8" stArea:w="0.2" stArea:h="0.2" stArea:unit="normalized"/>'
        "</rdf:Description></rdf:li></rdf:Bag></mwg-rs:RegionList></mwg-rs:Regions>"
        "</rdf:Description></rdf:RDF></x:xmpmeta>",
        encoding="utf-8",
    )
    data = sc.read_sidecar(photo)
    assert data.keywords == ["Zoe", "sunset"]
    assert data.hierarchical == ["People|Family|Zoe"]
    assert [(f.name, f.box) for f in data.faces] == [("Zoe", pytest.approx((0.4, 0.3, 0.2, 0.4)))]
    # writing goes to our own sidecar; Lightroom's stays as it is
    text = lightroom.read_text(encoding="utf-8")
    sc.write_sidecar(photo, None, ["holiday"])
    assert lightroom.read_text(encoding="utf-8") == text
    assert sc.read_sidecar(photo).keywords == ["holiday", "Zoe", "sunset"]
    hints = sc.face_hints(photo)
    assert sc.match_face_hints([(0.0, 0.0, 0.1, 0.1), (0.41, 0.32, 0.2, 0.38)], hints) == {
        1: "Zoe"}


def test_move_sidecar_follows_the_photo(tmp_path: Path) -> None:
    photo = _photo(tmp_path / "a" / "IMG_4.jpg")
    sc.write_sidecar(photo, None, ["holiday"])
    raw = tmp_path / "a" / "IMG_4.cr2"
    raw.write_bytes(b"raw")
    (tmp_path / "a" / "IMG_4.xmp").write_text("<x/>", encoding="utf-8")  # Lightroom's, shared
    new = tmp_path / "b" / "renamed.jpg"
    new.parent.mkdir()
    photo.rename(new)
    moved = sc.move_sidecar(photo, new)
    assert sorted(moved) == sorted([tmp_path / "b" / "renamed.jpg.xmp",
                                    tmp_path / "b" / "renamed.xmp"])
    assert not (tmp_path / "a" / "IMG_4.jpg.xmp").exists()
    assert (tmp_path / "a" / "IMG_4.xmp").exists()  # still the raw's: copied, not moved
    assert sc.read_sidecar(new).keywords == ["holiday"]
    assert sc.move_sidecar(photo, new) == []  # nothing left to move, nothing overwritten


def test_import_and_sync_with_the_catalog(tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    photo = _photo(folder / "IMG_5.jpg", orientation=8)
    other = _photo(folder / "IMG_6.jpg")
    sc.write_sidecar(photo, ["Alice", "holiday", "Family"], ["People|Family|Alice", "holiday"],
                     [("Alice", (0.2, 0.2, 0.2, 0.2))], (80, 120), orientation=8)
    hashes = {p: _sha(p) for p in (photo, other)}
    with Catalog(tmp_path / "catalog.sqlite") as cat:
        root = cat.add_root(folder)
        ids = {}
        for p in (photo, other):
            ids[p] = cat.add_photo(root.id, p.name, p.stat().st_size, 0.0, None)
            w, h = (80, 120) if p == photo else (120, 80)
            cat.record_info(ids[p], width=w, height=h, taken_at=None, latitude=None,
                            longitude=None, camera=None)
        data = sc.import_sidecar(cat, ids[photo])
        assert [f.name for f in data.faces] == ["Alice"]
        assert data.faces[0].box == pytest.approx((0.2, 0.2, 0.2, 0.2))
        # "Family" only repeats a level of People|Family|Alice; "Alice" likewise
        assert cl.tags_for_photo(cat, ids[photo]) == ["holiday", "People|Family|Alice"]
        assert set(cat.query("SELECT DISTINCT source FROM photo_tags")) == {("xmp",)}
        sc.import_sidecar(cat, ids[photo])  # again: nothing doubles
        assert cat.scalar("SELECT COUNT(*) FROM photo_tags") == 2

        # a named person with a face, and a user tag, go to the sidecar
        bob = cl.create_cluster(cat, "people", "Bob")
        cat.execute(
            "INSERT INTO faces(photo_id, x, y, w, h, descriptor, cluster_id, created_at) "
            "VALUES(?, 0.6, 0.5, 0.2, 0.2, ?, ?, 0)",
            (ids[photo], np.zeros(128, np.float32).tobytes(), bob),
        )
        cl.add_tag(cat, [ids[other]], "Trip|Rome")
        assert sc.sync_sidecars(cat, ids.values()) == 2
        data = sc.read_sidecar(photo)
        assert data.hierarchical == ["holiday", "People|Bob", "People|Family|Alice"]
        assert data.keywords == ["holiday", "Bob", "Alice"]
        by_name = {f.name: f.box for f in data.faces}
        assert by_name["Bob"] == pytest.approx((0.6, 0.5, 0.2, 0.2))
        assert by_name["Alice"] == pytest.approx((0.2, 0.2, 0.2, 0.2))  # kept from before
        assert sc.read_sidecar(other).hierarchical == ["Trip|Rome"]
        assert sc.read_sidecar(other).keywords == ["Rome"]
        # a detected face there now, that nobody named: the old region goes
        cat.execute(
            "INSERT INTO faces(photo_id, x, y, w, h, descriptor, created_at) "
            "VALUES(?, 0.21, 0.2, 0.2, 0.21, ?, 0)",
            (ids[photo], np.zeros(128, np.float32).tobytes()),
        )
        sc.sync_sidecars(cat, [ids[photo]])
        assert [f.name for f in sc.read_sidecar(photo).faces] == ["Bob"]
        # forgetting the folder forgets the photos; files and sidecars stay
        cat.remove_root(root.id)
        assert cat.scalar("SELECT COUNT(*) FROM photos") == 0
    assert (folder / "IMG_5.jpg.xmp").exists() and (folder / "IMG_6.jpg.xmp").exists()
    assert {p: _sha(p) for p in (photo, other)} == hashes


def test_refuses_to_write_over_a_photo_or_a_broken_sidecar(tmp_path: Path) -> None:
    with pytest.raises(sc.SidecarError):
        sc.write_sidecar(tmp_path / "x.xmp", None, ["a"])
    photo = _photo(tmp_path / "IMG_7.jpg")
    broken = tmp_path / "IMG_7.jpg.xmp"
    broken.write_text("<not xml", encoding="utf-8")
    with pytest.raises(sc.SidecarError):
        sc.write_sidecar(photo, None, ["a"])
    assert broken.read_text(encoding="utf-8") == "<not xml"


def test_cli_writes_sidecars_only_when_enabled(
    tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from photoorg.cli import main

    folder = tmp_path / "photos"
    photo = _photo(folder / "IMG_8.jpg")
    before = _sha(photo)
    with Catalog(data_dir / "catalog.sqlite") as cat:
        root = cat.add_root(folder)
        cat.add_photo(root.id, photo.name, photo.stat().st_size, 0.0, None)
    d = ["--data-dir", str(data_dir)]
    assert main([*d, "tag", str(photo), "--add", "holiday"]) == 0
    assert sc.find_sidecars(photo) == []  # off by default
    config.Settings(write_sidecars=True).save(data_dir)
    assert main([*d, "tag", str(photo), "--add", "Trip|Rome"]) == 0
    assert sc.read_sidecar(photo).hierarchical == ["holiday", "Trip|Rome"]
    capsys.readouterr()
    assert main([*d, "tags", str(photo), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == ["holiday", "Trip|Rome"]
    assert _sha(photo) == before


def test_a_new_sidecar_gets_the_users_mode_and_a_rewrite_keeps_it(tmp_path) -> None:  # noqa: ANN001
    """mkstemp makes private 0600 files: a sidecar must be readable like the user's other
    files (0666 less the umask), and a rewrite keeps the mode the user gave it."""
    import os

    from photoorg.core.metadata import sidecar

    photo = tmp_path / "a.jpg"
    photo.write_bytes(b"x")
    old = os.umask(0o022)
    try:
        written = sidecar.write_sidecar(photo, None, ["Trips|Rome"], [], (10, 10), 1, {})
        assert written.stat().st_mode & 0o777 == 0o644
        written.chmod(0o640)
        sidecar.write_sidecar(photo, None, ["Trips|Paris"], [], (10, 10), 1, {})
        assert written.stat().st_mode & 0o777 == 0o640
    finally:
        os.umask(old)
