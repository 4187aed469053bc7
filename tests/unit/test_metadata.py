"""Reading what other tools wrote: every keyword / rating / label / title / caption / face
region dialect, embedded (written by exiftool) and in sidecars, merged without duplicates;
and tolerant reading of files that exiv2 rejects, which we write ourselves."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from metadata_files import (
    blank_jpeg,
    exiftool_batch,
    inject_xmp,
    mwg_args,
    mwg_region,
    needs_exiftool,
    xmp_packet,
)

from photoorg.core.metadata.read import PhotoMetadata, read_metadata
from photoorg.core.metadata.sidecar import stored_to_displayed

# name -> (exiftool arguments, what read_metadata must give, also as a sidecar?)
DIALECTS: dict[str, tuple[list[str], dict, bool]] = {
    "iptc_keywords": (["-IPTC:Keywords=alpha", "-IPTC:Keywords=beta gamma"],
                      {"keywords": ["alpha", "beta gamma"]}, False),
    "dc_subject": (["-XMP-dc:Subject=alpha", "-XMP-dc:Subject=beta"],
                   {"keywords": ["alpha", "beta"]}, True),
    "lr_hierarchical": (["-XMP-lr:HierarchicalSubject=Places|France|Paris"],
                        {"keywords": ["Places|France|Paris"]}, True),
    "digikam_tagslist": (["-XMP-digiKam:TagsList=People/Alice", "-XMP-digiKam:TagsList=Pets"],
                         {"keywords": ["People|Alice", "Pets"]}, True),
    "microsoft_lastkeyword": (["-XMP-microsoft:LastKeywordXMP=Events/Wedding"],
                              {"keywords": ["Events|Wedding"]}, True),
    "mediapro_catalogsets": (["-XMP-mediapro:CatalogSets=Trips|Rome"],
                             {"keywords": ["Trips|Rome"]}, True),
    "xmp_rating": (["-XMP-xmp:Rating=4"], {"rating": 4}, True),
    "xmp_rating_rejected": (["-XMP-xmp:Rating=-1"], {"rating": -1}, True),
    "microsoft_rating": (["-XMP-microsoft:RatingPercent=75"], {"rating": 4}, True),
    "xmp_label": (["-XMP-xmp:Label=Red"], {"label": "Red"}, True),
    "dc_title": (["-XMP-dc:Title=Harbour at dawn"], {"title": "Harbour at dawn"}, True),
    "iptc_object_name": (["-IPTC:ObjectName=Harbour"], {"title": "Harbour"}, False),
    "dc_description": (["-XMP-dc:Description=Boats leaving the harbour"],
                       {"caption": "Boats leaving the harbour"}, True),
    "iptc_caption": (["-IPTC:Caption-Abstract=Boats"], {"caption": "Boats"}, False),
    "exif_description": (["-EXIF:ImageDescription=Grandma's garden"],
                         {"caption": "Grandma's garden"}, False),
    "mwg_regions": (
        mwg_args([mwg_region("Alice", 0.25, 0.4, 0.2, 0.3),
                  "{Area={X=0.7,Y=0.5,W=0.1,H=0.1,Unit=normalized},Type=Face}",  # unnamed
                  "{Area={X=0.5,Y=0.5,W=0.2,H=0.2,Unit=normalized},Name=Rex,Type=Pet}"],
                 (120, 80)),
        {"regions": [("Alice", (0.15, 0.25, 0.2, 0.3))]}, True),
    "microsoft_regions": (
        ["-XMP-MP:RegionInfoMP={Regions=[{PersonDisplayName=Bob,"
         "Rectangle=0.6|, 0.1|, 0.2|, 0.3},{PersonDisplayName=NoBox}]}"],
        {"regions": [("Bob", (0.6, 0.1, 0.2, 0.3))]}, True),
}


def _check(meta: PhotoMetadata, want: dict) -> None:
    assert meta.problems == []
    assert meta.keywords == want.get("keywords", [])
    assert meta.rating == want.get("rating")
    assert meta.label == want.get("label")
    assert meta.title == want.get("title")
    assert meta.caption == want.get("caption")
    got = [(r.name, r.box) for r in meta.regions]
    expected = want.get("regions", [])
    assert [n for n, _ in got] == [n for n, _ in expected]
    for (_, box), (_, want_box) in zip(got, expected, strict=True):
        assert box == pytest.approx(want_box, abs=1e-6)


@pytest.fixture(scope="module")
def dialect_files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One JPEG per dialect with it embedded, and one blank JPEG + sidecar per XMP dialect
    (sidecars named both ways: digiKam's ``.jpg.xmp`` and Lightroom's ``.xmp``)."""
    from metadata_files import EXIFTOOL

    if EXIFTOOL is None:
        pytest.skip("exiftool not installed")
    base = tmp_path_factory.mktemp("dialects")
    jobs = []
    for number, (name, (args, _, sidecar)) in enumerate(DIALECTS.items()):
        jobs.append((blank_jpeg(base / "embedded" / f"{name}.jpg"), args))
        if sidecar:
            photo = blank_jpeg(base / "sidecar" / f"{name}.jpg")
            side = photo.with_name(photo.name + ".xmp") if number % 2 else photo.with_suffix(
                ".xmp")
            jobs.append((side, args))
    exiftool_batch(jobs)
    return base


@needs_exiftool
@pytest.mark.parametrize("name", list(DIALECTS))
def test_embedded_dialect(dialect_files: Path, name: str) -> None:
    photo = dialect_files / "embedded" / f"{name}.jpg"
    before = hashlib.sha256(photo.read_bytes()).hexdigest()
    _check(read_metadata(photo), DIALECTS[name][1])
    assert hashlib.sha256(photo.read_bytes()).hexdigest() == before  # read-only


@needs_exiftool
@pytest.mark.parametrize("name", [n for n, d in DIALECTS.items() if d[2]])
def test_sidecar_dialect(dialect_files: Path, name: str) -> None:
    photo = dialect_files / "sidecar" / f"{name}.jpg"
    assert list(photo.parent.glob(f"{name}*.xmp"))  # the sidecar is really there
    _check(read_metadata(photo), DIALECTS[name][1])


@needs_exiftool
def test_embedded_and_sidecar_merge_without_duplicates(tmp_path: Path) -> None:
    photo = blank_jpeg(tmp_path / "IMG_1.jpg")
    exiftool_batch([
        (photo, ["-IPTC:Keywords=holiday", "-IPTC:Keywords=Alice",
                 "-XMP-dc:Subject=holiday", "-XMP-lr:HierarchicalSubject=People|Alice",
                 "-XMP-xmp:Rating=2", "-XMP-dc:Description=from the camera app",
                 *mwg_args([mwg_region("Alice", 0.25, 0.4, 0.2, 0.3)], (120, 80))]),
        (tmp_path / "IMG_1.jpg.xmp",
         ["-XMP-dc:Subject=Holiday", "-XMP-dc:Subject=beach",
          "-XMP-digiKam:TagsList=People/Alice", "-XMP-xmp:Rating=5",
          *mwg_args([mwg_region("alice", 0.25, 0.4, 0.2, 0.3),
                     mwg_region("Bob", 0.7, 0.5, 0.2, 0.3)], (120, 80))]),
    ])
    meta = read_metadata(photo)
    # flat "Alice" only repeats a level of People|Alice: dropped; case-insensitive merge
    assert meta.keywords == ["People|Alice", "Holiday", "beach"]
    assert meta.rating == 5  # the sidecar (later edits) wins over the file
    assert meta.caption == "from the camera app"
    assert [r.name for r in meta.regions] == ["alice", "Bob"]


@needs_exiftool
def test_regions_follow_exif_orientation(tmp_path: Path) -> None:
    photo = blank_jpeg(tmp_path / "rotated.jpg", size=(120, 80), orientation=6)
    exiftool_batch([(photo, mwg_args([mwg_region("Alice", 0.25, 0.4, 0.2, 0.3)], (120, 80))
                     + ["-XMP-MP:RegionInfoMP={Regions=[{PersonDisplayName=Bob,"
                        "Rectangle=0.6|, 0.1|, 0.2|, 0.3}]}"])])
    meta = read_metadata(photo)
    boxes = {r.name: r.box for r in meta.regions}
    # stored top-left (0.15, 0.25, 0.2, 0.3) rotated 90° clockwise for display
    assert boxes["Alice"] == pytest.approx((0.45, 0.15, 0.3, 0.2))
    assert boxes["Bob"] == pytest.approx(stored_to_displayed((0.6, 0.1, 0.2, 0.3), 6))


# -- tolerant reading: files we break ourselves ---------------------------------------------


@needs_exiftool
def test_legacy_iptc_latin1_and_utf8_charset(tmp_path: Path) -> None:
    latin = blank_jpeg(tmp_path / "latin1.jpg")
    utf8 = blank_jpeg(tmp_path / "utf8.jpg")
    exiftool_batch([
        (latin, ["-charset", "iptc=Latin", "-IPTC:Keywords=Café", "-IPTC:Keywords=Zürich",
                 "-IPTC:Caption-Abstract=Été à Zürich"]),
        (utf8, ["-IPTC:CodedCharacterSet=UTF8", "-IPTC:Keywords=Café"]),
    ])
    assert b"Caf\xe9" in latin.read_bytes()  # really Latin-1 bytes, no charset record
    meta = read_metadata(latin)
    assert meta.keywords == ["Café", "Zürich"] and meta.caption == "Été à Zürich"
    assert meta.problems == []
    assert read_metadata(utf8).keywords == ["Café"]


DUPLICATE = xmp_packet(
    "<dc:subject><rdf:Bag><rdf:li>one</rdf:li></rdf:Bag></dc:subject>\n"
    "<dc:subject><rdf:Bag><rdf:li>two</rdf:li></rdf:Bag></dc:subject>\n"
    "<xmp:Rating>3</xmp:Rating>"
)


@needs_exiftool
def test_xmp_the_toolkit_rejects_still_yields_keywords_and_iptc(tmp_path: Path) -> None:
    import pyexiv2

    base = blank_jpeg(tmp_path / "base.jpg")
    exiftool_batch([(base, ["-IPTC:Keywords=from-iptc", "-EXIF:ImageDescription=caption"])])
    photo = inject_xmp(base, tmp_path / "dup.jpg", DUPLICATE)
    with pytest.raises(RuntimeError, match="Duplicate property"):
        pyexiv2.Image(str(photo))  # the XMP toolkit refuses the whole file
    meta = read_metadata(photo)
    assert meta.keywords == ["one", "two", "from-iptc"]
    assert meta.rating == 3 and meta.caption == "caption"
    assert any("read leniently" in p for p in meta.problems)


@needs_exiftool
def test_truncated_xmp_is_skipped_with_a_reason_and_iptc_still_read(tmp_path: Path) -> None:
    base = blank_jpeg(tmp_path / "base.jpg")
    exiftool_batch([(base, ["-IPTC:Keywords=kept"])])
    photo = inject_xmp(base, tmp_path / "cut.jpg", DUPLICATE[:180])
    meta = read_metadata(photo)
    assert meta.keywords == ["kept"]
    assert len(meta.problems) == 1 and "XMP" in meta.problems[0]


def test_regions_outside_the_image_and_absurd_ratings_are_skipped(tmp_path: Path) -> None:
    photo = blank_jpeg(tmp_path / "odd.jpg")
    sidecar = photo.with_name(photo.name + ".xmp")
    sidecar.write_bytes(xmp_packet(
        "<xmp:Rating>9</xmp:Rating>\n<dc:subject><rdf:Bag><rdf:li>ok</rdf:li></rdf:Bag>"
        "</dc:subject>\n<mwg-rs:Regions rdf:parseType='Resource'><mwg-rs:RegionList><rdf:Bag>"
        "<rdf:li rdf:parseType='Resource'><mwg-rs:Name>Far</mwg-rs:Name>"
        "<mwg-rs:Type>Face</mwg-rs:Type><mwg-rs:Area stArea:x='1.6' stArea:y='0.5' "
        "stArea:w='0.2' stArea:h='0.2' stArea:unit='normalized'/></rdf:li>"
        "<rdf:li rdf:parseType='Resource'><mwg-rs:Name>Near</mwg-rs:Name>"
        "<mwg-rs:Type>Face</mwg-rs:Type><mwg-rs:Area stArea:x='0.5' stArea:y='0.5' "
        "stArea:w='0.2' stArea:h='0.2' stArea:unit='normalized'/></rdf:li>"
        "</rdf:Bag></mwg-rs:RegionList></mwg-rs:Regions>"
    ))
    meta = read_metadata(photo)
    assert meta.keywords == ["ok"]
    assert meta.rating is None
    assert [r.name for r in meta.regions] == ["Near"]  # shorthand struct attributes read
    assert meta.regions[0].box == pytest.approx((0.4, 0.4, 0.2, 0.2))
    assert any("outside -1..5" in p for p in meta.problems)
    assert any("'Far' lies outside the image" in p for p in meta.problems)


def test_unreadable_file_and_sidecar_give_reasons_not_errors(tmp_path: Path) -> None:
    photo = tmp_path / "junk.jpg"
    photo.write_bytes(b"not a photo at all")
    (tmp_path / "junk.xmp").write_bytes(b"<x:xmpmeta><rdf:RDF")
    meta = read_metadata(photo)
    assert meta.empty
    assert any("sidecar junk.xmp" in p for p in meta.problems)


@needs_exiftool
@pytest.mark.parametrize("ext", [".tif", ".png", ".heic"])
def test_other_file_types(tmp_path: Path, ext: str) -> None:
    from PIL import Image

    if ext == ".heic":
        pillow_heif = pytest.importorskip("pillow_heif")
        pillow_heif.register_heif_opener()
    photo = tmp_path / f"photo{ext}"
    Image.new("RGB", (64, 48), (10, 200, 30)).save(photo)
    exiftool_batch([(photo, ["-XMP-dc:Subject=kw", "-XMP-xmp:Rating=2",
                             "-XMP-dc:Description=cap"])])
    meta = read_metadata(photo)
    assert (meta.keywords, meta.rating, meta.caption, meta.problems) == (["kw"], 2, "cap", [])
