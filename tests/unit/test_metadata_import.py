"""Imported metadata in the catalog: provenance, the user's later word winning, named face
regions becoming people (real dlib faces), the CLI faces of it, and sidecars photoorg
writes read back by exiftool."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
from metadata_files import (
    EXIFTOOL,
    blank_jpeg,
    exiftool_batch,
    exiftool_json,
    mwg_args,
    mwg_region,
    needs_exiftool,
)

from photoorg.core.groups import clusters as cl
from photoorg.core.ingest.scanner import scan_library
from photoorg.core.metadata import importer as mi
from photoorg.core.metadata.sidecar import sync_sidecars
from photoorg.core.store.catalog import Catalog

REPO = Path(__file__).resolve().parents[2]
FACES_DEV = REPO / "tests" / "data" / "faces-dev"  # MIT, see its LICENSE file
TINY = "photoorg-tiny/bundled"


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _library(tmp_path: Path) -> tuple[Catalog, Path]:
    cat = Catalog(tmp_path / "catalog.sqlite")
    cat.add_root(tmp_path / "photos")
    scan_library(cat)
    return cat, tmp_path / "photos"


def _tag_sources(cat: Catalog, pid: int) -> dict[str, str]:
    return dict(cat.query(
        "SELECT t.name, pt.source FROM photo_tags pt JOIN tags t ON t.id = pt.tag_id "
        "WHERE pt.photo_id = ?", (pid,)))


@needs_exiftool
def test_imported_facts_keep_provenance_and_the_user_wins(tmp_path: Path) -> None:
    photo = blank_jpeg(tmp_path / "photos" / "IMG_1.jpg")
    exiftool_batch([(photo, [
        "-IPTC:Keywords=alpha", "-XMP-lr:HierarchicalSubject=Places|Paris",
        "-XMP-xmp:Rating=3", "-XMP-dc:Description=Seine at night", "-XMP-xmp:Label=Blue",
        *mwg_args([mwg_region("Zoe", 0.5, 0.5, 0.2, 0.3)], (120, 80)),
    ])])
    before = _sha(photo)
    cat, _ = _library(tmp_path)
    with cat:
        (pid,) = [r[0] for r in cat.query("SELECT id FROM photos")]
        report = mi.import_metadata(cat, [pid])
        assert report.photos == 1 and report.problems == {}
        # the region has no detected face (no face pass ran): the photo is tagged anyway
        assert _tag_sources(cat, pid) == {"alpha": "xmp", "Places|Paris": "xmp",
                                          "People|Zoe": "xmp"}
        meta = mi.photo_meta(cat, pid)
        assert (meta.rating, meta.label, meta.caption) == (3, "Blue", "Seine at night")
        assert set(meta.sources.values()) == {"imported"}

        # the user decides: one keyword off, another rating
        cl.remove_tag(cat, [pid], "alpha")
        mi.set_photo_meta(cat, [pid], "rating", 5)
        mi.import_metadata(cat, [pid])  # the watcher reads it again: nothing undone
        assert "alpha" not in cl.tags_for_photo(cat, pid)
        assert mi.photo_meta(cat, pid).rating == 5
        assert mi.photo_meta(cat, pid).sources["rating"] == "user"

        # another tool edits the file: what it changed follows, the user's word stays
        exiftool_batch([(photo, ["-XMP-lr:HierarchicalSubject=", "-IPTC:Keywords+=beta",
                                 "-XMP-xmp:Rating=1", "-XMP-dc:Description=Seine"])])
        mi.import_metadata(cat, [pid])
        assert cl.tags_for_photo(cat, pid) == ["beta", "People|Zoe"]
        meta = mi.photo_meta(cat, pid)
        assert (meta.rating, meta.caption) == (5, "Seine")
        assert mi.texts_for_photos(cat, [pid]) == {pid: (None, "Seine")}
    assert _sha(photo) != before  # (exiftool changed it, not photoorg:)
    assert not list(photo.parent.glob("*.xmp"))  # importing wrote no sidecar


@needs_exiftool
def test_rating_filter_in_search(tmp_path: Path) -> None:
    from photoorg.core.search.engine import Filters, SearchIndex

    photos = [blank_jpeg(tmp_path / "photos" / f"p{i}.jpg") for i in range(3)]
    exiftool_batch([(photos[0], ["-XMP-xmp:Rating=5"]), (photos[1], ["-XMP-xmp:Rating=3"])])
    cat, _ = _library(tmp_path)
    with cat:
        ids = {Path(p).name: i for i, p in cat.paths_for_ids(
            [r[0] for r in cat.query("SELECT id FROM photos")]).items()}
        mi.import_metadata(cat, ids.values())
        model = cat.set_target_model("test/fake", 4)
        import numpy as np

        for n, pid in enumerate(sorted(ids.values())):
            vec = np.zeros(4, np.float32)
            vec[n] = 1
            cat.store_vector(pid, model.id, vec)
        with SearchIndex(cat) as index:
            probe = np.ones(4, np.float32) / 2
            hits = index.search(probe, filters=Filters(min_rating=4), k=10)
            assert [h.path.name for h in hits] == ["p0.jpg"]
            hits = index.search(probe, filters=Filters(min_rating=3), k=10)
            assert sorted(h.path.name for h in hits) == ["p0.jpg", "p1.jpg"]


@needs_exiftool
def test_sidecars_photoorg_writes_read_back_by_exiftool(tmp_path: Path) -> None:
    photo = blank_jpeg(tmp_path / "photos" / "IMG_2.jpg")
    exiftool_batch([(photo, ["-IPTC:Keywords=harbour", "-XMP-xmp:Rating=2",
                             *mwg_args([mwg_region("Zoe", 0.5, 0.5, 0.2, 0.3)], (120, 80))])])
    before = _sha(photo)
    cat, _ = _library(tmp_path)
    with cat:
        (pid,) = [r[0] for r in cat.query("SELECT id FROM photos")]
        mi.import_metadata(cat, [pid])
        cl.add_tag(cat, [pid], "Trips|Norway|Bergen")
        mi.set_photo_meta(cat, [pid], "rating", 4)
        mi.set_photo_meta(cat, [pid], "caption", "Fish market, Bergen")
        assert sync_sidecars(cat, [pid]) == 1
    assert _sha(photo) == before  # the original untouched
    got = exiftool_json(photo.with_name("IMG_2.jpg.xmp"), "-XMP:all")
    assert sorted(got["Subject"]) == ["Bergen", "Zoe", "harbour"]
    assert sorted(got["HierarchicalSubject"]) == ["People|Zoe", "Trips|Norway|Bergen",
                                                  "harbour"]
    assert sorted(got["TagsList"]) == ["People/Zoe", "Trips/Norway/Bergen", "harbour"]
    assert got["Rating"] == 4
    assert got["Description"] == "Fish market, Bergen"
    regions = got["RegionInfo"]["RegionList"]
    assert [(r["Name"], r["Type"]) for r in regions] == [("Zoe", "Face")]
    assert (regions[0]["Area"]["X"], regions[0]["Area"]["Y"]) == pytest.approx((0.5, 0.5))
    assert (regions[0]["Area"]["W"], regions[0]["Area"]["H"]) == pytest.approx((0.2, 0.3))


# -- named regions -> people, with real face detection ---------------------------------------

needs_faces = pytest.mark.skipif(EXIFTOOL is None, reason="exiftool not installed")


@pytest.fixture(scope="module")
def people_library(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """obama.jpg named by a digiKam-style sidecar region, obama2.jpg unlabelled, biden.jpg
    with embedded keywords and 5 stars; indexed through the real CLI with faces."""
    if EXIFTOOL is None:
        pytest.skip("exiftool not installed")
    from test_cli_e2e import run_cli

    from photoorg.core.media.imaging import load_rgb
    from photoorg.core.people.faces import FaceAnalyzer

    base = tmp_path_factory.mktemp("people")
    photos = base / "photos"
    photos.mkdir()
    for person, name in (("obama", "obama.jpg"), ("obama", "obama2.jpg"), ("biden", "biden.jpg")):
        shutil.copy(FACES_DEV / person / name, photos / name)
    (face,) = FaceAnalyzer().detect(load_rgb(photos / "obama.jpg"))
    x, y, w, h = face.box
    width, height = load_rgb(photos / "obama.jpg").size
    exiftool_batch([
        (photos / "obama.jpg.xmp",
         ["-XMP-digiKam:TagsList=People/Barack Obama",
          *mwg_args([mwg_region("Barack Obama", x + w / 2, y + h / 2, w, h),
                     mwg_region("Nobody Here", 0.05, 0.05, 0.05, 0.05)], (width, height))]),
        (photos / "biden.jpg", ["-IPTC:Keywords=politics", "-XMP-xmp:Rating=5",
                                "-XMP-dc:Title=Vice president"]),
    ])
    data = base / "data"
    run_cli(data, "index", str(photos), "--model", TINY, "-q")
    return photos, data


@needs_faces
def test_named_region_names_the_person_and_attracts_the_same_face(
    people_library: tuple[Path, Path],
) -> None:
    from test_cli_e2e import run_cli

    photos, data = people_library
    people = json.loads(run_cli(data, "clusters", "people", "--json").stdout)
    named = [c for c in people if c["name"] == "Barack Obama"]
    assert len(named) == 1, people
    assert sorted(Path(p).name for p in named[0]["photos"]) == ["obama.jpg", "obama2.jpg"]
    # the unlabelled photo carries the name through the person
    tags = json.loads(run_cli(data, "tags", str(photos / "obama2.jpg"), "--json").stdout)
    assert tags == ["People|Barack Obama"]
    # a named region over no detected face still tags the photo, through a person card
    tags = json.loads(run_cli(data, "tags", str(photos / "obama.jpg"), "--json").stdout)
    assert tags == ["People|Barack Obama", "People|Nobody Here"]
    (nobody,) = [c for c in people if c["name"] == "Nobody Here"]
    assert [Path(p).name for p in nobody["photos"]] == ["obama.jpg"]
    with Catalog(data / "catalog.sqlite") as cat:
        sources = {r[0] for r in cat.query(
            "SELECT f.source FROM faces f JOIN photos p ON p.id = f.photo_id "
            "WHERE p.rel_path = 'obama.jpg'")}
        assert sources == {"sidecar"}  # confirmed, and marked imported


@needs_faces
def test_cli_tags_meta_and_rating_filter(people_library: tuple[Path, Path]) -> None:
    from test_cli_e2e import run_cli

    photos, data = people_library
    tags = json.loads(run_cli(data, "tags", str(photos / "biden.jpg"), "--json").stdout)
    assert "politics" in tags
    meta = json.loads(run_cli(data, "meta", str(photos / "biden.jpg"), "--json").stdout)
    assert meta["rating"] == 5 and meta["title"] == "Vice president"
    assert meta["caption"].startswith("President Barack Obama and Vice President")  # the
    # White House's own caption (XMP, IPTC and EXIF all carry it)
    assert meta["sources"] == {"rating": "imported", "title": "imported", "caption": "imported"}
    hits = json.loads(run_cli(data, "search", "a face", "--rating", "4", "--json").stdout)
    assert [Path(h["path"]).name for h in hits] == ["biden.jpg"]


@needs_faces
def test_user_decision_beats_a_later_import(tmp_path: Path,
                                            people_library: tuple[Path, Path]) -> None:
    photos, data = people_library
    shutil.copytree(data, tmp_path / "data")
    with Catalog(tmp_path / "data" / "catalog.sqlite") as cat:
        pid = cat.photo_id_for_path(photos / "obama.jpg")
        (cid,) = cl.clusters_named(cat, "people", "Barack Obama")
        cl.remove_photo_from_cluster(cat, cid, pid)  # "that is not him"
        cat.execute("UPDATE photo_regions SET applied = 0")  # as after a new import
        assert mi.apply_named_regions(cat) == 0
        assert pid not in cl.photos_with_tag(cat, "People|Barack Obama")


@needs_exiftool
def test_watcher_reads_a_sidecar_another_tool_edits(tmp_path: Path) -> None:
    import time

    from photoorg.core.ingest.watcher import LibraryWatcher

    photo = blank_jpeg(tmp_path / "photos" / "IMG_3.jpg")
    cat, _ = _library(tmp_path)
    with cat:
        pid = cat.photo_id_for_path(photo)
        watcher = LibraryWatcher(cat.path, None, settle_s=0.3, offline_check_s=0.3)
        watcher.start()
        try:
            assert watcher.wait_until_idle(15)
            # Lightroom-style sidecar written by another tool while we watch
            exiftool_batch([(photo.with_suffix(".xmp"),
                             ["-XMP-lr:HierarchicalSubject=Trips|Oslo", "-XMP-xmp:Rating=4"])])
            deadline = time.monotonic() + 20
            while cl.tags_for_photo(cat, pid) != ["Trips|Oslo"] and time.monotonic() < deadline:
                time.sleep(0.1)
            assert cl.tags_for_photo(cat, pid) == ["Trips|Oslo"]
            assert mi.photo_meta(cat, pid).rating == 4
            # edited in place (exiftool, like digiKam, writes a temporary file and renames)
            exiftool_batch([(photo.with_suffix(".xmp"), ["-XMP-xmp:Rating=2"])])
            while mi.photo_meta(cat, pid).rating != 2 and time.monotonic() < deadline:
                time.sleep(0.1)
            assert mi.photo_meta(cat, pid).rating == 2
            photo.with_suffix(".xmp").unlink()  # and removed again: its facts go with it
            while cl.tags_for_photo(cat, pid) and time.monotonic() < deadline:
                time.sleep(0.1)
            assert cl.tags_for_photo(cat, pid) == []
            assert mi.photo_meta(cat, pid).rating is None
        finally:
            watcher.stop()


def test_sidecar_paths_map_to_their_photos(tmp_path: Path) -> None:
    for name in ("IMG_1.jpg", "IMG_10.jpg", "IMGx1.jpg", "sub/IMG_1.jpg"):
        blank_jpeg(tmp_path / "photos" / name)
    (tmp_path / "photos" / "IMG_1.cr2").write_bytes(b"raw")  # the scanner goes by name
    cat, _ = _library(tmp_path)
    with cat:
        rows = dict(cat.query("SELECT rel_path, id FROM photos"))
        root = cat.roots()[0].id
        assert mi.photos_of_sidecar(cat, root, "IMG_1.jpg.xmp") == [rows["IMG_1.jpg"]]
        assert mi.photos_of_sidecar(cat, root, "IMG_1.XMP") == sorted(
            [rows["IMG_1.jpg"], rows["IMG_1.cr2"]])
        assert mi.photos_of_sidecar(cat, root, "sub/IMG_1.xmp") == [rows["sub/IMG_1.jpg"]]


def test_our_own_sidecar_read_back_brings_nothing_back(tmp_path: Path) -> None:
    photo = blank_jpeg(tmp_path / "photos" / "IMG_4.jpg")
    cat, _ = _library(tmp_path)
    with cat:
        pid = cat.photo_id_for_path(photo)
        alice = cl.create_cluster(cat, "people", "Alice")
        cat.execute(
            "INSERT INTO faces(photo_id, x, y, w, h, descriptor, cluster_id, source, created_at) "
            "VALUES(?, 0.3, 0.3, 0.2, 0.2, zeroblob(512), ?, 'confirmed', 0)", (pid, alice))
        cat.execute("UPDATE photos SET faces_done = 1 WHERE id = ?", (pid,))
        assert sync_sidecars(cat, [pid]) == 1  # writes People|Alice and her region
        mi.sidecars_changed(cat, [(cat.roots()[0].id, "IMG_4.jpg.xmp")])  # the watcher
        assert _tag_sources(cat, pid) == {}  # nothing imported from what we wrote
        cl.remove_photo_from_cluster(cat, alice, pid)  # "not Alice"
        assert cl.tags_for_photo(cat, pid) == []


def _face(cat: Catalog, pid: int, box: tuple, cluster: int | None, seed: int) -> int:
    import numpy as np

    vec = np.random.default_rng(seed).normal(0, 1, 128).astype(np.float32)
    return cat.execute(
        "INSERT INTO faces(photo_id, x, y, w, h, descriptor, cluster_id, source, created_at) "
        "VALUES(?, ?, ?, ?, ?, ?, ?, 'auto', 0) RETURNING id",
        (pid, *box, vec.tobytes(), cluster)).fetchone()[0]


@pytest.mark.parametrize("existing", [False, True])
def test_region_names_the_automatic_person_or_joins_the_named_one(
    tmp_path: Path, existing: bool,
) -> None:
    """An automatic person (two photos of one face) whose face a region names: it takes the
    name, or, when photoorg already has a person of that name, its faces join that one."""
    for name in ("a.jpg", "b.jpg", "c.jpg"):
        blank_jpeg(tmp_path / "photos" / name)
    cat, _ = _library(tmp_path)
    with cat:
        ids = {p.name: i for i, p in cat.paths_for_ids(
            [r[0] for r in cat.query("SELECT id FROM photos")]).items()}
        auto = cat.add_people_cluster()
        named = cl.create_cluster(cat, "people", "Zoe") if existing else None
        if named is not None:
            _face(cat, ids["c.jpg"], (0.1, 0.1, 0.2, 0.2), named, seed=3)
        fa = _face(cat, ids["a.jpg"], (0.4, 0.4, 0.2, 0.3), auto, seed=1)
        fb = _face(cat, ids["b.jpg"], (0.1, 0.1, 0.2, 0.2), auto, seed=1)
        cat.execute("UPDATE photos SET faces_done = 1")
        cat.execute("INSERT INTO photo_regions(photo_id, name, x, y, w, h) "
                    "VALUES(?, 'zoe', 0.41, 0.42, 0.2, 0.3)", (ids["a.jpg"],))
        assert mi.apply_named_regions(cat) == 1
        (zoe,) = cl.clusters_named(cat, "people", "Zoe")
        assert zoe == (named if existing else auto)
        rows = dict(cat.query("SELECT id, cluster_id FROM faces WHERE id IN (?, ?)", (fa, fb)))
        assert rows == {fa: zoe, fb: zoe}
        assert cat.scalar("SELECT source FROM faces WHERE id = ?", (fa,)) == "sidecar"
        assert cat.scalar("SELECT source FROM faces WHERE id = ?", (fb,)) == "auto"
        if existing:
            assert cat.scalar("SELECT COUNT(*) FROM clusters WHERE id = ?", (auto,)) == 0
        assert cl.photos_with_tag(cat, "People|Zoe") >= {ids["a.jpg"], ids["b.jpg"]}


@needs_exiftool
def test_stage_catches_up_on_a_library_indexed_before(tmp_path: Path) -> None:
    photos = [blank_jpeg(tmp_path / "photos" / f"old{i}.jpg") for i in range(3)]
    exiftool_batch([(p, [f"-XMP-dc:Subject=kw{i}"]) for i, p in enumerate(photos)])
    cat, _ = _library(tmp_path)
    with cat:
        cat.execute("UPDATE photos SET status = 'indexed'")  # indexed, never read
        cat.execute("UPDATE photos SET status = 'skipped' WHERE rel_path = 'old2.jpg'")
        report = mi.import_stage(cat, [], chunk=1)
        assert report.photos == 2
        assert cl.photos_with_tag(cat, "kw0") and cl.photos_with_tag(cat, "kw1")
        assert not cl.photos_with_tag(cat, "kw2")  # not indexed: not read
        assert mi.import_stage(cat, []).photos == 0  # recorded: not read twice


@needs_exiftool
def test_caption_words_reach_the_words_search(tmp_path: Path) -> None:
    """Issue 14's words search indexes titles and captions through its set_caption hook."""
    from photoorg.core.search import textindex

    photos = [blank_jpeg(tmp_path / "photos" / f"c{i}.jpg") for i in range(2)]
    exiftool_batch([(photos[0], ["-XMP-dc:Description=Fish market in Bergen"])])
    cat, _ = _library(tmp_path)
    with cat:
        ids = {p.name: i for i, p in cat.paths_for_ids(
            [r[0] for r in cat.query("SELECT id FROM photos")]).items()}
        mi.import_metadata(cat, ids.values())
        found = textindex.match_text(cat, "bergen")
        assert found.ids.tolist() == [ids["c0.jpg"]]
        mi.set_photo_meta(cat, [ids["c1.jpg"]], "title", "Bergen harbour")  # the user's
        assert sorted(textindex.match_text(cat, "bergen").ids.tolist()) == sorted(ids.values())


@needs_faces
def test_named_region_where_no_face_is_found_makes_a_person_card(tmp_path: Path) -> None:
    """Lightroom writes MWG regions into the photo, digiKam into a sidecar: a named region
    where the detector finds no face ("America" on a picture of a flag) still makes a person
    card holding the photo; a second photo of that name joins the same card."""
    from PIL import Image
    from test_cli_e2e import run_cli

    photos = tmp_path / "photos"
    photos.mkdir()
    for name, colour in (("flag.jpg", (200, 30, 40)), ("crowd.jpg", (30, 40, 200))):
        Image.new("RGB", (480, 320), colour).save(photos / name, quality=90)
    region = mwg_args([mwg_region("America", 0.5, 0.5, 0.3, 0.4)], (480, 320))
    exiftool_batch([
        (photos / "flag.jpg", region),  # Lightroom: embedded in the JPEG
        (photos / "crowd.jpg.xmp", region),  # digiKam: a sidecar
    ])
    data = tmp_path / "data"
    run_cli(data, "index", str(photos), "--model", TINY, "-q")
    people = json.loads(run_cli(data, "clusters", "people", "--json").stdout)
    (america,) = [c for c in people if c["name"] == "America"]
    assert sorted(Path(p).name for p in america["photos"]) == ["crowd.jpg", "flag.jpg"]
    with Catalog(data / "catalog.sqlite") as cat:
        assert cat.scalar("SELECT COUNT(*) FROM faces") == 0  # no face was detected
    tags = json.loads(run_cli(data, "tags", str(photos / "flag.jpg"), "--json").stdout)
    assert tags == ["People|America"]  # the person's tag, once
