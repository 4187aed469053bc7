"""The library core (issue 11): one pipeline, one model policy, one set of queries, for the
CLI, ``watch`` and the window's service. Each test is a scenario a user met on the old
code: saved-search albums, model switches with an unplugged drive, photos arriving during a
switch, ``--model`` of the window, sidecars after re-clustering, faces without a model,
``index`` run twice, broken settings, ``folders --relocate`` onto another folder."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from metadata_files import blank_jpeg, exiftool_batch, needs_exiftool

from photoorg import config
from photoorg.core.app.library import Library, LibraryError
from photoorg.core.groups import clusters as cl
from photoorg.core.ingest import pipeline
from photoorg.core.ingest.indexer import IndexControl, IndexListener, Progress
from photoorg.core.media.synthetic import write_sample_library
from photoorg.core.models.embedder import TEST_MODEL, weights_available
from photoorg.core.store.catalog import Catalog

OTHER_MODEL = "photoorg-tiny/random"  # same compute, other weights: a model switch offline
MISSING_MODEL = "ViT-B-32/laion2b_s34b_b79k"  # weights not on this machine
REPO = Path(__file__).resolve().parents[2]
FACES_DEV = REPO / "tests" / "data" / "faces-dev"  # MIT, see its LICENSE file

needs_tiny = pytest.mark.skipif(not weights_available(TEST_MODEL), reason="tiny model missing")


def run_cli(data: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "photoorg", "--data-dir", str(data), *args],
        capture_output=True, text=True, env=env, timeout=300,
    )
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


@pytest.fixture(scope="module")
def indexed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two folders of shapes indexed with the tiny model (no faces); copied per test."""
    if not weights_available(TEST_MODEL):
        pytest.skip("tiny model missing")
    base = tmp_path_factory.mktemp("lib")
    write_sample_library(base / "photos" / "a", per_class=1, seed=3, size=96)
    write_sample_library(base / "photos" / "b", per_class=1, seed=4, size=96)
    with Library(base / "data", model=TEST_MODEL) as lib:
        lib.add_folders([base / "photos" / "a", base / "photos" / "b"])
        lib.index(faces=False)
    return base


@pytest.fixture
def lib_copy(indexed: Path, tmp_path: Path) -> Path:
    shutil.copytree(indexed, tmp_path / "lib", symlinks=True)
    base = tmp_path / "lib"
    with Catalog(config.catalog_path(base / "data")) as cat:  # re-point the copied folders
        for root in cat.roots():
            cat.relocate_root(root.id, base / "photos" / root.path.name)
    return base


# -- albums --------------------------------------------------------------------------------


@needs_tiny
def test_saved_search_album_shows_its_photos_in_the_cli(lib_copy: Path) -> None:
    data = lib_copy / "data"
    run_cli(data, "album", "create", "Blue", "--query", "a photo of a blue circle")
    run_cli(data, "album", "create", "Shapes", "--tag", "nothing-yet")
    paths = json.loads(run_cli(data, "album", "show", "Blue", "--json").stdout)
    assert paths and "blue_circle" in Path(paths[0]).name
    assert json.loads(run_cli(data, "album", "show", "Shapes", "--json").stdout) == []


@needs_tiny
def test_saved_search_album_through_the_service(lib_copy: Path) -> None:
    """The window's sidebar asks the service (the only process with the model)."""
    import threading
    import time

    from photoorg.core.app.service import LibraryService

    with Library(lib_copy / "data") as lib:
        lib.create_album("Blue", query="a photo of a blue circle")
        expected = lib.album_photos("Blue")
    events: list[dict] = []
    svc = LibraryService(lib_copy / "data", events.append, faces=False)
    thread = threading.Thread(target=svc.run, daemon=True)
    thread.start()
    try:
        svc.command('{"cmd": "album", "gen": 7, "name": "Blue"}')
        deadline = time.monotonic() + 60
        while not any(e["event"] == "results" for e in events):
            assert time.monotonic() < deadline, events[-5:]
            time.sleep(0.05)
    finally:
        svc.command("quit")
        thread.join(30)
    result = next(e for e in events if e["event"] == "results")
    assert result["error"] is None and result["gen"] == 7
    assert result["ids"] == expected and expected


# -- the model policy ----------------------------------------------------------------------


class _CancelAfterFirstBatch(IndexListener):
    def __init__(self, control: IndexControl) -> None:
        self.control = control

    def on_progress(self, progress: Progress) -> None:
        if progress.phase == "embedding" and progress.done >= 1:
            self.control.cancel()


@needs_tiny
def test_photo_added_during_a_switch_is_searchable_at_once(lib_copy: Path) -> None:
    new = lib_copy / "photos" / "a" / "new"
    written = write_sample_library(new, per_class=1, seed=9, size=96)[:1]
    for other in new.iterdir():
        if other != written[0][0]:
            other.unlink()
    with Library(lib_copy / "data", model=OTHER_MODEL) as lib:
        lib.require_target_model()  # the switch starts
        lib.scan()
        control = IndexControl()
        lib.run_pipeline(control=control, listener=_CancelAfterFirstBatch(control),
                         batch_size=1, faces=False)
        status = lib.status()
        assert status["model"] == OTHER_MODEL and status["searching_with"] == TEST_MODEL
        pid = lib.photo_ids([written[0][0]])[0]
        assert lib.similar_ids([pid], k=1, include_self=True)[0].photo_id == pid
        hits = lib.search("a photo of a " + " ".join(written[0][1:]), k=48).hits
        assert pid in [h.photo_id for h in hits]


@needs_tiny
def test_switch_completes_with_a_folder_offline_and_catches_up_when_back(
    lib_copy: Path,
) -> None:
    b = lib_copy / "photos" / "b"
    away = lib_copy / "unplugged"
    b.rename(away)
    with Library(lib_copy / "data", model=OTHER_MODEL) as lib:
        lib.require_target_model()
        lib.index(faces=False)
        status = lib.status()
        assert "searching_with" not in status  # the switch did not wait for the drive
        assert status["model"] == OTHER_MODEL
        assert status["offline"] == 24
        outcome = lib.search("a photo of a red circle", k=5)
        assert outcome.model == OTHER_MODEL and outcome.not_searchable == 24
    away.rename(b)
    with Library(lib_copy / "data") as lib:
        lib.index(faces=False)
        assert lib.status()["not_searchable"] == 0
        cat = lib.writer
        old = cat.model_by_spec(TEST_MODEL)
        assert old is not None and not cat.has_vector_table(old.id)  # retired at last


@needs_tiny
def test_window_model_option_is_a_search_model_not_a_switch(lib_copy: Path) -> None:
    """``photoorg --model X`` used to make X the library's target and re-embed everything."""
    from photoorg.core.app.service import LibraryService

    svc = LibraryService(lib_copy / "data", lambda e: None, model=OTHER_MODEL, faces=False)
    svc.command("quit")
    svc.run()
    with Catalog(config.catalog_path(lib_copy / "data"), readonly=True) as cat:
        assert cat.target_model().spec == TEST_MODEL
        assert cat.model_by_spec(OTHER_MODEL) is None  # nothing embedded with it


# -- the pipeline --------------------------------------------------------------------------


def _descriptors(n: int, seed: int) -> np.ndarray:
    from tests.synthetic_faces import synthetic_descriptors

    x, _labels, _photos = synthetic_descriptors(
        identities=1, per_identity=n, seed=seed, group_share=0, lookalike_share=0, bad_share=0)
    return x


def test_sidecars_follow_a_named_person_after_reclustering(tmp_path: Path) -> None:
    """4 of 6 photos of a named person carried her name on disk after 2 more arrived."""
    from photoorg.core.metadata import sidecar

    photos = tmp_path / "photos"
    written = write_sample_library(photos, per_class=1, seed=1, size=64)[:6]
    x = _descriptors(6, seed=5)
    settings = config.Settings(write_sidecars=True)
    with Library(tmp_path / "data", model=MISSING_MODEL, settings=settings) as lib:
        lib.add_folders([photos])
        lib.scan()
        cat = lib.writer
        ids = lib.photo_ids([p for p, _, _ in written])
        for i, pid in enumerate(ids[:4]):
            cat.store_faces(pid, [(0.3, 0.3, 0.2, 0.2, 1.0, 50.0, x[i].tobytes())])
        lib.run_pipeline(faces=False)
        (person,) = lib.clusters("people")
        lib.name_cluster(person.id, "Alice")
        for i, pid in enumerate(ids[4:], start=4):  # two more of her photos arrive
            cat.store_faces(pid, [(0.3, 0.3, 0.2, 0.2, 1.0, 50.0, x[i].tobytes())])
        lib.run_pipeline(faces=False)
        assert set(lib.clusters("people")[0].photo_ids) == set(ids)
    for path, _, _ in written:
        assert "People|Alice" in sidecar.read_sidecar(path).hierarchical, path


def test_sidecar_moves_with_its_photo(tmp_path: Path) -> None:
    from photoorg.core.metadata import sidecar

    photos = tmp_path / "photos"
    (path, _, _), = write_sample_library(photos, per_class=1, seed=1, size=64)[:1]
    for extra in list(photos.iterdir()):
        if extra != path:
            extra.unlink()
    settings = config.Settings(write_sidecars=True)
    with Library(tmp_path / "data", model=MISSING_MODEL, settings=settings) as lib:
        lib.add_folders([photos])
        lib.scan()
        lib.add_tag(lib.photo_ids([path]), "Holiday")
        assert sidecar.find_sidecars(path)
        (photos / "sub").mkdir()
        moved = photos / "sub" / path.name
        path.rename(moved)
        lib.scan()
        lib.run_pipeline(faces=False)
    assert not sidecar.find_sidecars(path)
    assert "Holiday" in sidecar.read_sidecar(moved).hierarchical


def test_faces_are_found_without_the_clip_model(tmp_path: Path) -> None:
    """First run offline: the CLI indexes what it can (people, places) and says what waits."""
    photos = tmp_path / "photos"
    photos.mkdir()
    for person in ("biden", "obama"):
        for src in sorted((FACES_DEV / person).glob("*.jpg"))[:2]:
            shutil.copy(src, photos / f"{person}_{src.name}")
    proc = run_cli(tmp_path / "data", "index", str(photos), check=False)
    with Catalog(config.catalog_path(tmp_path / "data"), readonly=True) as cat:
        found = cat.scalar("SELECT COUNT(*) FROM faces")
        done = cat.scalar("SELECT COUNT(*) FROM photos WHERE faces_done = 1")
    assert done == 4 and found >= 4
    assert proc.returncode == 1 and "not available" in proc.stderr  # and says so
    clusters = json.loads(run_cli(tmp_path / "data", "clusters", "people", "--json").stdout)
    assert sum(c["size"] for c in clusters) >= 2


@needs_tiny
def test_index_twice_runs_only_what_is_missing(tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    write_sample_library(photos, per_class=1, seed=2, size=64)
    run_cli(tmp_path / "data", "index", str(photos), "--model", TEST_MODEL, "--no-faces")
    with Library(tmp_path / "data") as lib:
        pending = pipeline.stage_counts(lib.context())
        assert pending["embed"] == 0 and pending["faces"] == 24
    proc = run_cli(tmp_path / "data", "index", str(photos))
    assert "indexed 0 photos" in proc.stdout  # no re-embedding: just the face pass
    with Library(tmp_path / "data") as lib:
        assert pipeline.stage_counts(lib.context())["faces"] == 0


# -- small things --------------------------------------------------------------------------


def test_broken_settings_warn_and_are_kept(tmp_path: Path,
                                           caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "settings.json").write_text('{"write_sidecars": true,', encoding="utf-8")
    settings = config.Settings.load(tmp_path)
    assert "not valid JSON" in caplog.text and "settings.json" in caplog.text
    settings.save(tmp_path)
    kept = list(tmp_path.glob("settings.json.broken-*"))
    assert len(kept) == 1 and kept[0].read_text(encoding="utf-8").startswith('{"write')
    (tmp_path / "settings.json").write_text('{"thumbnail_cache_mb": "big"}', encoding="utf-8")
    assert config.Settings.load(tmp_path).thumbnail_cache_mb == 512
    assert "thumbnail_cache_mb" in caplog.text


def test_relocate_onto_another_library_folder_is_a_clear_error(tmp_path: Path) -> None:
    for name in ("one", "two"):
        (tmp_path / name).mkdir()
    with Library(tmp_path / "data") as lib:
        lib.add_folders([tmp_path / "one", tmp_path / "two"])
    proc = run_cli(tmp_path / "data", "folders", "--relocate", str(tmp_path / "one"),
                   str(tmp_path / "two"), check=False)
    assert proc.returncode == 1
    assert "already a library folder" in proc.stderr and "Traceback" not in proc.stderr
    with pytest.raises(LibraryError):
        Library(tmp_path / "data").relocate_folder(tmp_path / "nowhere", tmp_path / "two")


# -- short write transactions --------------------------------------------------------------


def _faces_library(path: Path, identities: int = 6, per: int = 12) -> Catalog:
    from tests.synthetic_faces import synthetic_descriptors

    x, _labels, photo = synthetic_descriptors(identities=identities, per_identity=per, seed=3,
                                              group_share=0, lookalike_share=0, bad_share=0)
    cat = Catalog(path)
    root = cat.add_root(path.parent)
    ids = cat.add_photos(root.id, [(f"{i}.jpg", 1, 0.0, None) for i in range(len(x))])
    for i, pid in enumerate(ids):
        cat.store_faces(pid, [(0.1, 0.1, 0.2, 0.2, 1.0, 50.0, x[i].tobytes())])
    return cat


def test_staged_grouping_equals_direct_grouping(tmp_path: Path) -> None:
    from photoorg.core.people.faces import recluster_people
    from photoorg.core.store.staged import run_staged

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    direct = _faces_library(tmp_path / "a" / "c.sqlite")
    staged = _faces_library(tmp_path / "b" / "c.sqlite")
    recluster_people(direct)
    run_staged(staged, recluster_people)
    sql = "SELECT id, cluster_id FROM faces ORDER BY id"
    assert direct.query(sql) == staged.query(sql)
    assert len({c for _f, c in staged.query(sql)}) == 6
    direct.close()
    staged.close()


def test_grouping_never_holds_the_write_lock_while_it_computes(tmp_path: Path) -> None:
    """A rename from another connection lands at once while people are being grouped, and
    the grouping keeps the name (the plan is written after, in one short step)."""
    from photoorg.core.people import faces
    from photoorg.core.store.staged import run_staged

    cat = _faces_library(tmp_path / "c.sqlite")
    run_staged(cat, faces.recluster_people)
    named = cat.people_clusters()[0][0]
    cat.store_faces(cat.add_photo(cat.roots()[0].id, "new.jpg", 1, 0.0, None),
                    [(0.1, 0.1, 0.2, 0.2, 1.0, 50.0, np.ones(128, np.float32).tobytes())])
    other = Catalog(cat.path)
    other.conn.set_busy_timeout(0)  # the rename must not need to wait at all
    renamed: list[bool] = []

    def compute(snapshot: object) -> object:
        from photoorg.core.groups import clusters as cl

        cl.name_cluster(other, named, "Alice")  # busy timeout 0: fails if locked
        renamed.append(True)
        return faces.recluster_people(snapshot)  # type: ignore[arg-type]

    run_staged(cat, compute)
    assert renamed == [True]
    assert cat.scalar("SELECT name FROM clusters WHERE id = ?", (named,)) == "Alice"
    assert cat.scalar("SELECT COUNT(*) FROM faces WHERE cluster_id = ?", (named,)) >= 12
    other.close()
    cat.close()


@needs_tiny
def test_text_tasks_use_the_active_model_during_a_switch(lib_copy: Path) -> None:
    """Pets were scored against the prompts of whichever model was loaded last."""
    from photoorg.core.ingest.indexer import Indexer
    from photoorg.core.models.policy import spec_of

    with Library(lib_copy / "data", model=OTHER_MODEL) as lib:
        target = lib.require_target_model()
        cat = lib.writer
        assert cat.active_model().spec == TEST_MODEL
        for task in ("search", "pets", "scenes", "names"):
            assert spec_of(lib.models.encoder_for(cat, task)) == TEST_MODEL
        assert spec_of(lib.models.encoder_for(cat, "embed")) == OTHER_MODEL
        assert sorted(lib.encoders.specs()) == sorted([TEST_MODEL, OTHER_MODEL])  # both kept
        assert Indexer(cat, target).text_encoder is None  # never the target's prompts
        active = lib.encoders.loaded(TEST_MODEL)
        assert Indexer(cat, target, active_embedder=active).text_encoder is active


@needs_exiftool
def test_metadata_is_read_without_the_clip_model(tmp_path: Path) -> None:
    """First run offline: keywords other tools wrote are in the catalog although nothing
    could be embedded (the metadata stage does not wait for the model)."""
    photos = tmp_path / "photos"
    tagged = blank_jpeg(photos / "harbour.jpg")
    blank_jpeg(photos / "plain.jpg")
    exiftool_batch([(tagged, ["-IPTC:Keywords=Bergen"])])
    proc = run_cli(tmp_path / "data", "index", str(photos), check=False)
    assert proc.returncode == 1 and "not available" in proc.stderr  # no model: says so
    with Catalog(config.catalog_path(tmp_path / "data"), readonly=True) as cat:
        assert cat.scalar("SELECT COUNT(*) FROM photos WHERE status = 'indexed'") == 0
        (pid,) = cl.photos_with_tag(cat, "Bergen")
        assert cat.scalar("SELECT rel_path FROM photos WHERE id = ?", (pid,)) == "harbour.jpg"
    with Library(tmp_path / "data") as lib:
        assert pipeline.stage_counts(lib.context())["metadata"] == 0
