"""The face pass at the machine's limit: decoding by DCT scaling, threads that give the same
faces as one, drawings kept out of People, the same people whatever order photos arrive
in, only new photos analysed, and clustering that never holds the write lock long."""

from __future__ import annotations

import importlib.util
import shutil
import sys
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from photoorg.core.ingest.indexer import IndexControl, IndexListener, Progress
from photoorg.core.ingest.scanner import scan_library
from photoorg.core.media.imaging import load_rgb
from photoorg.core.media.synthetic import write_sample_library
from photoorg.core.models.embedder import TEST_MODEL, weights_available
from photoorg.core.people.faces import (
    FaceAnalyzer,
    cluster_faces,
    people_pairwise_scores,
    photo_likeness,
    process_pending_faces,
    recluster_people,
    shared_analyzer,
    update_people,
)
from photoorg.core.store.catalog import Catalog
from tests.synthetic_faces import synthetic_descriptors

REPO = Path(__file__).resolve().parents[2]
FACES_DEV = REPO / "tests" / "data" / "faces-dev"  # MIT, see its LICENSE file


def _people_photos():
    """benchmarks/people_photos.py: the benchmark's own photo makers (cut-outs, drawings)."""
    spec = importlib.util.spec_from_file_location(
        "people_photos", REPO / "benchmarks" / "people_photos.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("people_photos", module)  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def analyzer() -> FaceAnalyzer:
    return FaceAnalyzer()


@pytest.fixture(scope="module")
def heads():
    return _people_photos().cut_heads(FACES_DEV)


def test_a_12_mp_jpeg_is_decoded_for_faces_by_dct_scaling(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    big = Image.fromarray(rng.integers(0, 255, (300, 400, 3), dtype=np.uint8)).resize((4000, 3000))
    exif = Image.Exif()
    exif[0x0112] = 6  # displayed rotated 90° clockwise
    big.save(tmp_path / "big.jpg", quality=90, exif=exif)
    image = FaceAnalyzer(max_side=2048).analysis_image(tmp_path / "big.jpg")
    assert image.size == (1500, 2000)  # the 1/2 DCT scale, oriented, not resampled to 2048
    assert load_rgb(tmp_path / "big.jpg", max_side=2048).size == (1536, 2048)  # exact as before


def test_threads_find_the_same_faces_as_one(tmp_path: Path, analyzer: FaceAnalyzer) -> None:
    photos = tmp_path / "photos"
    for person in ("biden", "obama"):
        shutil.copytree(FACES_DEV / person, photos / person)
    found = []
    for workers in (1, 3):
        with Catalog(tmp_path / f"c{workers}.sqlite") as cat:
            cat.add_root(photos)
            scan_library(cat)
            cat.execute("UPDATE photos SET status = 'indexed'")
            assert process_pending_faces(cat, analyzer, workers=workers) == 4
            found.append(cat.query(
                "SELECT p.rel_path, f.x, f.y, f.w, f.h, f.descriptor FROM faces f "
                "JOIN photos p ON p.id = f.photo_id ORDER BY p.rel_path, f.id"
            ))
    assert len(found[0]) >= 4 and found[0] == found[1]


def test_drawings_are_not_people_and_real_faces_stay(heads, analyzer: FaceAnalyzer) -> None:
    pp = _people_photos()
    rng = np.random.default_rng(3)
    lenient = FaceAnalyzer(reject_drawings=False)
    drawn = 0
    art = [pp._cartoon(420, rng), pp._sketch(heads[3]), pp._poster(heads[5]),
           pp._cartoon(520, rng), pp._sketch(heads[6]), pp._poster(heads[1])]
    for picture in art:
        canvas = Image.new("RGB", (1600, 1200), (90, 120, 90))
        picture = picture if picture.mode == "RGBA" else picture.convert("RGB")
        if picture.mode == "RGB":
            picture = picture.resize((500, round(picture.height * 500 / picture.width)))
        canvas.paste(picture, (400, 200), picture if picture.mode == "RGBA" else None)
        drawn += len(lenient.detect(canvas))  # the detector alone takes them for faces
        assert analyzer.detect(canvas) == []
    assert drawn >= 4
    for head in heads:  # every real face, in colour and in grey, passes the same checks
        canvas = Image.new("RGB", (1600, 1200), (90, 120, 90))
        pp.paste_head(canvas, head, 220, (0.5, 0.45))
        assert len(analyzer.detect(canvas)) == 1, head.person
        assert len(analyzer.detect(canvas.convert("L").convert("RGB"))) == 1, head.person


def test_photo_likeness_reasons() -> None:
    flat = np.zeros((150, 150, 3), np.uint8)
    assert photo_likeness(flat) == "blank"
    lines = np.full((150, 150, 3), 235, np.uint8)
    lines[::9] = 20  # thin dark lines on paper: no shading
    assert photo_likeness(lines) == "line drawing"


def _replay(tmp: Path, x: np.ndarray, photos: np.ndarray, chunks: list) -> np.ndarray:
    with Catalog(tmp / "c.sqlite") as cat:
        root = cat.add_root(tmp)
        index_of: dict[int, int] = {}
        for chunk in chunks:
            for photo in chunk:
                pid = cat.add_photo(root.id, f"{photo}.jpg", 1, 0.0, None)
                members = np.flatnonzero(photos == photo)
                ids = cat.store_faces(
                    pid, [(0.1, 0.1, 0.2, 0.2, 1.0, 100.0, x[i].tobytes()) for i in members]
                )
                index_of.update(zip(ids, members.tolist(), strict=True))
            update_people(cat)
        labels = np.full(len(x), -1)
        for face_id, cid in cat.query("SELECT id, cluster_id FROM faces"):
            labels[index_of[face_id]] = -1 if cid is None else cid
    for p in tmp.glob("c.sqlite*"):
        p.unlink()
    return labels


def test_the_same_people_whatever_order_photos_arrive_in(tmp_path: Path) -> None:
    # spread-out people (faces 0.4-0.65 apart): incremental assignment alone made 0.94
    x, _, photos = synthetic_descriptors(16, 6, seed=2)
    _, truth, _ = synthetic_descriptors(16, 6, seed=2)
    for person in np.unique(truth):
        mine = truth == person
        x[mine] = x[mine].mean(0) + 1.3 * (x[mine] - x[mine].mean(0))
    order = np.unique(photos)[np.random.default_rng(0).permutation(len(np.unique(photos)))]
    half = len(order) // 2
    at_once = _replay(tmp_path, x, photos, [order])
    halves = _replay(tmp_path, x, photos, [order[:half], order[half:]])
    one_by_one = _replay(tmp_path, x, photos, [[p] for p in order])
    alone = [v if v >= 0 else ("alone", i) for i, v in enumerate(at_once)]
    assert (at_once >= 0).sum() > len(x) // 2
    assert people_pairwise_scores(alone, halves.tolist())[2] == 1.0
    assert people_pairwise_scores(alone, one_by_one.tolist())[2] == 1.0


def test_clustering_plans_without_the_write_lock_and_sees_concurrent_decisions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from photoorg.core.people import faces

    x, _, photos = synthetic_descriptors(5, 6, seed=1, group_share=0)
    with Catalog(tmp_path / "c.sqlite") as cat:
        root = cat.add_root(tmp_path)
        for photo in np.unique(photos):
            pid = cat.add_photo(root.id, f"{photo}.jpg", 1, 0.0, None)
            cat.store_faces(pid, [(0.1, 0.1, 0.2, 0.2, 1.0, 100.0, x[photo].tobytes())])
        recluster_people(cat, full=True)
        face, cid = cat.query("SELECT id, cluster_id FROM faces WHERE cluster_id IS NOT NULL")[0]
        calls = []

        def planning(*args, **kwargs):
            if not calls:  # meanwhile the user says "not this person", from another process
                with Catalog(tmp_path / "c.sqlite") as other, other.transaction():
                    other.execute("UPDATE faces SET cluster_id = NULL WHERE id = ?", (face,))
                    other.execute("INSERT INTO face_rejections VALUES(?, ?)", (face, cid))
            calls.append(1)
            return cluster_faces(*args, **kwargs)

        monkeypatch.setattr(faces, "cluster_faces", planning)
        recluster_people(cat, full=True)
        assert len(calls) == 2  # planned again after the concurrent write
        assert cat.scalar("SELECT cluster_id FROM faces WHERE id = ?", (face,)) != cid


def face_pass(cat: Catalog, progress: Any = None) -> int:
    """Detect the faces of photos not yet seen, then place them among people."""
    done = process_pending_faces(cat, shared_analyzer(), progress=progress)
    update_people(cat)
    return done


def test_new_photos_alone_are_analysed(tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    shutil.copytree(FACES_DEV / "obama", photos / "obama")
    with Catalog(tmp_path / "c.sqlite") as cat:
        cat.add_root(photos)
        scan_library(cat)
        cat.execute("UPDATE photos SET status = 'indexed'")
        assert face_pass(cat) == 2
        shutil.copytree(FACES_DEV / "biden", photos / "biden")
        scan_library(cat)
        cat.execute("UPDATE photos SET status = 'indexed'")
        seen: list[tuple[int, int]] = []
        assert face_pass(cat, progress=lambda done, total: seen.append((done, total))) == 2
        assert seen == [(1, 2), (2, 2)]
        assert cat.scalar("SELECT COUNT(DISTINCT cluster_id) FROM faces") == 2


@pytest.mark.skipif(not weights_available(TEST_MODEL), reason="tiny model missing")
def test_a_face_pass_stopped_half_way_is_a_cancelled_run(tmp_path: Path) -> None:
    """The watcher stops a long run when file events wait; it must come back for the
    photos whose faces were not looked for (they were left pending until the next change)."""
    write_sample_library(tmp_path / "photos", per_class=1, seed=5, size=96)
    control = IndexControl()

    class StopInFaces(IndexListener):
        def on_progress(self, progress: Progress) -> None:
            if progress.phase == "faces" and progress.done >= 1:
                control.cancel()

    from photoorg.core.app.library import Library

    with Library(tmp_path / "data", model=TEST_MODEL) as lib:
        lib.add_folders([tmp_path / "photos"])
        lib.scan()
        ctx = lib.run_pipeline(listener=StopInFaces(), control=control)
        assert lib.writer.count_pending_faces() > 0
        assert ctx.summary.cancelled


def test_threads_do_not_share_the_descriptor_network() -> None:
    analyzer = FaceAnalyzer(torch_descriptors=False)  # dlib's network: not thread-safe
    nets = []
    thread = threading.Thread(target=lambda: nets.append(analyzer._models()[2]))
    thread.start()
    thread.join()
    assert nets[0] is not None
    assert nets[0] is not analyzer._models()[2]


def test_the_models_loaded_up_front_serve_the_first_thread_and_no_detector_is_shared(
        monkeypatch: pytest.MonkeyPatch) -> None:
    analyzer = FaceAnalyzer()
    loads = []
    real = analyzer._load_models
    monkeypatch.setattr(analyzer, "_load_models", lambda: loads.append(1) or real())
    detectors: list[object] = []
    threads = [threading.Thread(target=lambda: detectors.append(analyzer._models()[0]))
               for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # the HOG detector is not thread-safe: one per thread; the set the analyzer loaded (and
    # checked) when made went to one of them, so two threads cost one more load, not two
    assert len(detectors) == 2 and detectors[0] is not detectors[1]
    assert len(loads) == 1
    assert analyzer._models()[0] not in detectors  # this thread: a set of its own


def test_dlib_descriptor_network_is_loaded_only_without_the_torch_port() -> None:
    analyzer = FaceAnalyzer()
    assert analyzer.descriptor is not None
    assert analyzer._models()[2] is None  # ~22 MB per face thread saved
    assert FaceAnalyzer(num_jitters=1)._models()[2] is not None  # jitter has no port


def test_large_sets_bound_the_linkage_matrix_and_keep_quality(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """At 100k faces the k-means atoms left ~24k single faces, and their linkage matrix
    took 5 GB: single faces beyond the cap wait for the k-means steps instead."""
    from photoorg.core.people import faces
    from photoorg.core.people.faces import ClusterParams

    x, truth, photos = synthetic_descriptors(60, 25, seed=4)
    sizes: list[int] = []
    linkage = faces._average_linkage

    def spy(dist, counts, threshold):
        sizes.append(len(counts))
        return linkage(dist, counts, threshold)

    monkeypatch.setattr(faces, "_average_linkage", spy)
    monkeypatch.setattr(faces, "MAX_LINKAGE_ATOMS", 250)
    labels = cluster_faces(x, photos, ClusterParams(max_atoms=200))
    assert sizes and max(sizes) <= 250
    precision, recall, _ = people_pairwise_scores(truth.tolist(), labels.tolist())
    assert precision >= 0.99 and recall >= 0.9
    for photo in np.unique(photos):  # two faces of one photo never share a person
        mine = labels[(photos == photo) & (labels >= 0)]
        assert len(mine) == len(set(mine.tolist()))


def test_a_lean_index_lets_the_face_models_go_and_the_window_keeps_them(tmp_path: Path) -> None:
    """``photoorg index`` (lean) needs the face models' memory for the stages after the face
    pass; the window's service (not lean) keeps them for the next photos."""
    from photoorg.core.app.library import Library
    from photoorg.core.models.policy import Encoders
    from photoorg.core.people import faces

    shutil.copytree(FACES_DEV / "biden", tmp_path / "photos" / "biden")
    faces.release_shared_analyzer()
    for lean in (True, False):
        data = tmp_path / f"data-{lean}"
        with Library(data, model=TEST_MODEL, encoders=Encoders(lean=lean)) as lib:
            lib.add_folders([tmp_path / "photos"])
            outcome = lib.index()
            assert outcome.summary.faces_photos > 0
            assert lib.writer.scalar("SELECT COUNT(*) FROM faces") > 0
        assert (faces._default_analyzer is None) == lean
    faces.release_shared_analyzer()
