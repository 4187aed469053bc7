"""Photos whose files leave the library are remembered and taken back with everything the
user made, through the real scanner and the real watchdog watcher over real files."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from photoorg.core.groups import clusters
from photoorg.core.ingest.scanner import scan_library
from photoorg.core.ingest.watcher import LibraryWatcher
from photoorg.core.search import browse_queries as queries
from photoorg.core.store import missing
from photoorg.core.store.catalog import Catalog


def _jpeg(path: Path, seed: int, size: int = 24) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 255, (size, size, 3), dtype=np.uint8)).save(path, quality=90)
    return path


def _visible(cat: Catalog) -> dict[str, int]:
    return {rel: pid for pid, rel in cat.query(
        "SELECT id, rel_path FROM photos WHERE missing_since IS NULL")}


def _wait(pred: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.05)


@pytest.fixture
def library(tmp_path: Path) -> Iterator[tuple[Path, Catalog]]:
    """A library with a person's subfolder: her five photos tagged Favourites, her face
    named Alice on each, every photo with a vector (what the embedder would have made)."""
    lib = tmp_path / "lib"
    for i in range(3):
        _jpeg(lib / f"p{i}.jpg", i)
    for i in range(5):
        _jpeg(lib / "alice" / f"a{i}.jpg", 10 + i)
    cat = Catalog(tmp_path / "data" / "catalog.sqlite")
    cat.add_root(lib)
    scan_library(cat)
    model = cat.set_target_model("fake/model", 4)
    rows = _visible(cat)
    with cat.transaction():
        for pid in rows.values():
            cat.store_vector(pid, model.id, np.full(4, pid, dtype=np.float32))
    alice = [pid for rel, pid in rows.items() if rel.startswith("alice/")]
    clusters.add_tag(cat, alice, "Favourites")
    person = clusters.create_cluster(cat, "people", "Alice")
    for pid in alice:
        (face_id,) = cat.store_faces(pid, [(0.1, 0.1, 0.3, 0.3, 0.9, 1.0, b"\x00" * 16)])
        cat.execute("UPDATE faces SET cluster_id = ?, source = 'confirmed' WHERE id = ?",
                    (person, face_id))
    yield lib, cat
    cat.close()


def _made(cat: Catalog) -> dict[int, tuple]:
    """Everything the user made and the indexer computed, per photo id."""
    out: dict[int, tuple] = {}
    model = cat.target_model()
    for (pid,) in cat.query("SELECT id FROM photos"):
        vec = cat.vector(pid, model.id)
        out[pid] = (
            tuple(clusters.tags_for_photo(cat, pid)),
            tuple(cat.query("SELECT f.x, f.y, f.w, f.h, f.source, c.name FROM faces f "
                            "LEFT JOIN clusters c ON c.id = f.cluster_id WHERE f.photo_id = ?",
                            (pid,))),
            None if vec is None else vec.tobytes(),
        )
    return out


def _embeds(cat: Catalog) -> int:
    """Vectors ever written: a photo taken back must not add one (no re-embedding)."""
    return cat.scalar("SELECT COUNT(*) FROM vec_log WHERE op = 'add'")


def _favourites(cat: Catalog) -> int:
    return dict(clusters.all_tags(cat)).get("Favourites", 0)


def _assert_hidden_while_away(cat: Catalog, lib: Path) -> None:
    assert missing.count_missing(cat) == 5
    assert sorted(_visible(cat)) == ["p0.jpg", "p1.jpg", "p2.jpg"]
    assert _favourites(cat) == 0
    assert len(queries.all_photos(cat)) == 3
    assert cat.status_counts()["missing"] == 5 and cat.status_counts()["indexed"] == 3
    assert [c.size for c in clusters.list_clusters(cat, "people")] == [0]
    gone = missing.missing_folders(cat)
    assert [(f.folder, f.photos) for f in gone] == [("alice", 5)]
    assert gone[0].path == (lib / "alice").resolve()


def _assert_all_back(cat: Catalog, before: dict[int, tuple], embeds: int, folder: str) -> None:
    assert missing.count_missing(cat) == 0
    assert _made(cat) == before  # same rows: tags, names, faces, vectors
    assert _embeds(cat) == embeds
    assert cat.count_pending_embedding(cat.target_model().id) == 0
    assert _favourites(cat) == 5
    assert sorted(r for r in _visible(cat) if "/" in r) == [f"{folder}/a{i}.jpg" for i in range(5)]
    assert missing.missing_folders(cat) == []
    assert [c.size for c in clusters.list_clusters(cat, "people")] == [5]


def test_subfolder_away_and_back_not_watching(library: tuple[Path, Catalog],
                                              tmp_path: Path) -> None:
    lib, cat = library
    before, embeds = _made(cat), _embeds(cat)
    shutil.move(lib / "alice", tmp_path / "elsewhere")
    report = scan_library(cat)
    assert report.removed == 5
    _assert_hidden_while_away(cat, lib)
    shutil.move(tmp_path / "elsewhere", lib / "alice")
    report = scan_library(cat)
    assert report.returned == 5 and report.added == 0
    _assert_all_back(cat, before, embeds, "alice")


def test_subfolder_back_under_another_name_not_watching(library: tuple[Path, Catalog],
                                                        tmp_path: Path) -> None:
    lib, cat = library
    before, embeds = _made(cat), _embeds(cat)
    shutil.move(lib / "alice", tmp_path / "elsewhere")
    scan_library(cat)
    _assert_hidden_while_away(cat, lib)
    shutil.move(tmp_path / "elsewhere", lib / "Alice 2024")
    report = scan_library(cat)
    assert report.added == 0
    _assert_all_back(cat, before, embeds, "Alice 2024")


def test_one_file_back_in_another_folder(library: tuple[Path, Catalog], tmp_path: Path) -> None:
    lib, cat = library
    ids = _visible(cat)
    before, embeds = _made(cat), _embeds(cat)
    shutil.move(lib / "alice" / "a3.jpg", tmp_path / "a3.jpg")
    scan_library(cat)
    assert "alice/a3.jpg" not in _visible(cat) and missing.count_missing(cat) == 1
    assert missing.missing_folders(cat) == []  # the folder is still there
    # weeks later, the file comes back somewhere else, under another name
    (lib / "sorted").mkdir()
    shutil.move(tmp_path / "a3.jpg", lib / "sorted" / "best.jpg")
    report = scan_library(cat)
    assert report.added == 0
    assert _visible(cat)["sorted/best.jpg"] == ids["alice/a3.jpg"]
    assert _made(cat) == before and _embeds(cat) == embeds


def _watcher(cat: Catalog) -> LibraryWatcher:
    watcher = LibraryWatcher(cat.path, None, settle_s=0.3, offline_check_s=0.3)
    watcher.start()
    assert watcher.wait_until_idle(15)
    return watcher


def _settle(watcher: LibraryWatcher) -> None:
    time.sleep(0.1)
    assert watcher.wait_until_idle(20, quiet_s=1.0)


@pytest.mark.parametrize("back_as", ["alice", "Alice (restored)"])
def test_subfolder_away_and_back_while_watching(library: tuple[Path, Catalog], tmp_path: Path,
                                                back_as: str) -> None:
    lib, cat = library
    before, embeds = _made(cat), _embeds(cat)
    watcher = _watcher(cat)
    try:
        shutil.move(lib / "alice", tmp_path / "elsewhere")  # out of the library
        _wait(lambda: missing.count_missing(cat) == 5)
        _settle(watcher)
        _assert_hidden_while_away(cat, lib)
        shutil.move(tmp_path / "elsewhere", lib / back_as)  # and back in
        _wait(lambda: missing.count_missing(cat) == 0)
        _settle(watcher)
        _assert_all_back(cat, before, embeds, back_as)
    finally:
        watcher.stop()


def test_one_file_back_in_another_folder_while_watching(library: tuple[Path, Catalog],
                                                        tmp_path: Path) -> None:
    lib, cat = library
    ids = _visible(cat)
    before, embeds = _made(cat), _embeds(cat)
    watcher = _watcher(cat)
    try:
        shutil.move(lib / "alice" / "a1.jpg", tmp_path / "a1.jpg")
        _wait(lambda: missing.count_missing(cat) == 1)
        _settle(watcher)
        shutil.copy2(tmp_path / "a1.jpg", lib / "p-new.jpg")  # a copy, not a move
        _wait(lambda: "p-new.jpg" in _visible(cat))
        _settle(watcher)
        assert _visible(cat)["p-new.jpg"] == ids["alice/a1.jpg"]
        assert _made(cat) == before and _embeds(cat) == embeds
    finally:
        watcher.stop()


def test_only_forgetting_or_the_grace_period_removes_them(library: tuple[Path, Catalog],
                                                          tmp_path: Path) -> None:
    lib, cat = library
    shutil.move(lib / "alice", tmp_path / "elsewhere")
    scan_library(cat)
    for _ in range(3):  # scans do not forget them
        scan_library(cat)
    assert missing.count_missing(cat) == 5
    # the grace period counts from when they went missing
    cat.execute("UPDATE photos SET missing_since = ? WHERE rel_path = 'alice/a0.jpg'",
                (time.time() - 91 * 86400,))
    scan_library(cat, grace_days=90)
    assert missing.count_missing(cat) == 4
    assert cat.scalar("SELECT COUNT(*) FROM photos WHERE rel_path = 'alice/a0.jpg'") == 0
    assert missing.forget_missing(cat) == 4
    assert cat.scalar("SELECT COUNT(*) FROM photos") == 3
    assert cat.scalar("SELECT COUNT(*) FROM faces") == 0
    shutil.move(tmp_path / "elsewhere", lib / "alice")  # now they are new photos
    report = scan_library(cat)
    assert report.added == 5 and _favourites(cat) == 0
    assert os.path.isdir(lib / "alice")
