"""The folder watcher with the real watchdog observers over real files in temp folders."""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from photoorg.core.groups import clusters
from photoorg.core.ingest.scanner import ScanReport, scan_library, scan_paths
from photoorg.core.ingest.watcher import (
    LibraryWatcher,
    WatchListener,
    WatchStatus,
    filesystem_type,
    simulate_overflow,
)
from photoorg.core.store.catalog import Catalog

REPO = Path(__file__).resolve().parents[2]
SETTLE = 0.3


def _jpeg(path: Path, seed: int, size: int = 24) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 255, (size, size, 3), dtype=np.uint8)).save(path, quality=90)
    return path


def _checksums(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _rows(cat: Catalog) -> dict[str, int]:
    """Rows the user sees (missing ones are kept apart, see core.missing)."""
    return {rel: pid for pid, rel in cat.query(
        "SELECT id, rel_path FROM photos WHERE missing_since IS NULL")}


def _wait(pred: Callable[[], bool], timeout: float = 15.0,
          state: Callable[[], object] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            seen = f": {state()!r}" if state is not None else ""
            raise AssertionError(f"condition not reached in time{seen}")
        time.sleep(0.05)


class Recorder(WatchListener):
    def __init__(self) -> None:
        self.statuses: list[WatchStatus] = []
        self.reports: list[ScanReport] = []

    def on_status(self, status: WatchStatus) -> None:
        self.statuses.append(status)

    def on_changes(self, report: ScanReport) -> None:
        self.reports.append(report)


@pytest.fixture
def library(tmp_path: Path) -> Iterator[tuple[Path, Catalog]]:
    lib = tmp_path / "lib"
    for i in range(6):
        _jpeg(lib / f"p{i}.jpg", i)
    _jpeg(lib / "album" / "x.jpg", 100)
    _jpeg(lib / "album" / "y.jpg", 101)
    cat = Catalog(tmp_path / "data" / "catalog.sqlite")
    cat.add_root(lib)
    scan_library(cat)
    yield lib, cat
    cat.close()


def _watcher(cat: Catalog, **kw: object) -> LibraryWatcher:
    options: dict[str, object] = {"settle_s": SETTLE, "offline_check_s": 0.3}
    options.update(kw)
    watcher = LibraryWatcher(cat.path, None, **options)  # type: ignore[arg-type]
    watcher.start()
    assert watcher.wait_until_idle(15)
    return watcher


def _settle(watcher: LibraryWatcher) -> None:
    """Wait until the watcher caught up. watchdog holds inotify events for 0.5 s behind a
    move whose other half it waits for, hence the quiet time."""
    time.sleep(0.1)
    assert watcher.wait_until_idle(20, quiet_s=1.0)


def test_create_modify_rename_move_delete(library: tuple[Path, Catalog]) -> None:
    lib, cat = library
    before = _rows(cat)
    clusters.add_tag(cat, [before["p1.jpg"], before["album/x.jpg"]], "keep")
    untouched = _checksums(lib)
    watcher = _watcher(cat)
    try:
        _jpeg(lib / "new.jpg", 50)  # create
        _jpeg(lib / "p0.jpg", 51, size=30)  # modify (new content)
        os.rename(lib / "p1.jpg", lib / "renamed.jpg")  # rename
        (lib / "deep" / "er").mkdir(parents=True)
        os.rename(lib / "p2.jpg", lib / "deep" / "er" / "p2.jpg")  # move into a folder
        os.rename(lib / "album", lib / "album 2024 ✓")  # folder rename
        (lib / "p3.jpg").unlink()  # delete
        (lib / "notes.txt").write_text("not a photo")
        expected = {
            "new.jpg", "p0.jpg", "renamed.jpg", "deep/er/p2.jpg", "album 2024 ✓/x.jpg",
            "album 2024 ✓/y.jpg", "p4.jpg", "p5.jpg",
        }
        _wait(lambda: set(_rows(cat)) == expected, state=lambda: sorted(_rows(cat)))
        _settle(watcher)
        after = _rows(cat)
        assert set(after) == expected
        assert after["renamed.jpg"] == before["p1.jpg"]
        assert after["deep/er/p2.jpg"] == before["p2.jpg"]
        assert after["album 2024 ✓/x.jpg"] == before["album/x.jpg"]
        assert after["p0.jpg"] == before["p0.jpg"]
        assert cat.scalar("SELECT status FROM photos WHERE rel_path = 'p0.jpg'") == "pending"
        assert cat.scalar("SELECT folder FROM photos WHERE id = ?", (before["album/x.jpg"],)) == (
            "album 2024 ✓"
        )
        assert clusters.photos_with_tag(cat, "keep") == {before["p1.jpg"], before["album/x.jpg"]}
        # the watcher only ever reads: files it did not write keep their bytes
        now = _checksums(lib)
        for rel, digest in untouched.items():
            moved = {"p1.jpg": "renamed.jpg", "p2.jpg": "deep/er/p2.jpg"}.get(rel, rel)
            moved = moved.replace("album/", "album 2024 ✓/")
            if rel not in ("p0.jpg", "p3.jpg"):
                assert now[moved] == digest
    finally:
        watcher.stop()
    assert not watcher.running


def test_file_still_being_written_is_taken_once_complete(library: tuple[Path, Catalog]) -> None:
    lib, cat = library
    recorder = Recorder()
    watcher = _watcher(cat, listener=recorder, settle_s=0.6)
    try:
        data = _jpeg(lib.parent / "big.jpg", 7, size=300).read_bytes()
        chunk = len(data) // 5 + 1
        with open(lib / "copying.jpg", "wb") as fh:
            for start in range(0, len(data), chunk):
                fh.write(data[start : start + chunk])
                fh.flush()
                time.sleep(0.25)  # slower than a write burst, quicker than the settle time
        _wait(lambda: "copying.jpg" in _rows(cat))
        _settle(watcher)
        size, pending = cat.query(
            "SELECT size, status FROM photos WHERE rel_path = 'copying.jpg'"
        )[0]
        assert size == len(data) and pending == "pending"
        assert sum(r.added for r in recorder.reports) == 1
        assert sum(r.changed for r in recorder.reports) == 0  # never seen half-written
    finally:
        watcher.stop()


def test_burst_with_moves_and_deletes(library: tuple[Path, Catalog]) -> None:
    lib, cat = library
    watcher = _watcher(cat)
    try:
        base = _jpeg(lib.parent / "t.jpg", 1).read_bytes()
        # bytes after a JPEG's end marker are ignored: unique files, cheaply
        payload = [
            (lib / "burst" / f"d{i % 10}" / f"b{i}.jpg", base + i.to_bytes(4, "big"))
            for i in range(600)
        ]
        for path, data in payload:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        for i in range(0, 600, 3):
            os.rename(payload[i][0], payload[i][0].with_name(f"m{i}.jpg"))
        for i in range(1, 600, 6):
            payload[i][0].unlink()
        os.rename(lib / "burst" / "d9", lib / "burst" / "nine")
        on_disk = {
            p.relative_to(lib).as_posix(): p.stat().st_size for p in lib.rglob("*.jpg")
        }
        present = "SELECT rel_path, size FROM photos WHERE missing_since IS NULL"
        _wait(lambda: dict(cat.query(present)) == on_disk, 30)
        _settle(watcher)
        assert dict(cat.query(present)) == on_disk
    finally:
        watcher.stop()


def test_overflow_means_rescan_not_lost_photos(library: tuple[Path, Catalog]) -> None:
    lib, cat = library
    watcher = _watcher(cat)
    try:
        real = watcher._on_event
        watcher._on_event = lambda *a: None  # type: ignore[method-assign]  # events "lost"
        _jpeg(lib / "lost1.jpg", 201)
        _jpeg(lib / "album" / "lost2.jpg", 202)
        (lib / "p4.jpg").unlink()
        time.sleep(0.3)
        watcher._on_event = real  # type: ignore[method-assign]
        assert "lost1.jpg" not in _rows(cat)
        simulate_overflow()  # what watchdog logs when the kernel queue overflows
        _wait(lambda: {"lost1.jpg", "album/lost2.jpg"} <= set(_rows(cat)))
        _wait(lambda: "p4.jpg" not in _rows(cat))
        assert watcher.totals.overflows >= 1 and watcher.totals.rescans >= 1
    finally:
        watcher.stop()


class _NoWatchesLeft:
    """A native observer that has run out of inotify watches."""

    def __new__(cls) -> object:
        from watchdog.observers import Observer

        class Exhausted(Observer):  # type: ignore[misc, valid-type]
            def schedule(self, *args: object, **kwargs: object) -> object:
                raise OSError(errno.ENOSPC, "inotify watch limit reached")

        return Exhausted()


def test_watch_limit_falls_back_to_polling(library: tuple[Path, Catalog]) -> None:
    lib, cat = library
    recorder = Recorder()
    watcher = _watcher(
        cat, native_observer_factory=_NoWatchesLeft, poll_interval_s=0.2, listener=recorder
    )
    try:
        assert cat.roots()[0].watch_mode == "polling"  # recorded
        folder = watcher.status.folders[0]
        assert folder.mode == "polling" and "ENOSPC" in folder.note
        pid = _rows(cat)["p5.jpg"]
        _jpeg(lib / "polled.jpg", 300)
        os.rename(lib / "p5.jpg", lib / "album" / "p5.jpg")
        _wait(lambda: {"polled.jpg", "album/p5.jpg"} <= set(_rows(cat)))
        assert _rows(cat)["album/p5.jpg"] == pid
    finally:
        watcher.stop()


def test_forced_polling_sees_folder_moves(library: tuple[Path, Catalog]) -> None:
    lib, cat = library
    ids = _rows(cat)
    watcher = _watcher(cat, force_polling=True, poll_interval_s=0.2)
    try:
        assert watcher.status.folders[0].mode == "polling"
        os.rename(lib / "album", lib / "trip")
        _wait(lambda: "trip/x.jpg" in _rows(cat))
        _settle(watcher)
        assert _rows(cat)["trip/x.jpg"] == ids["album/x.jpg"]
        assert "album/x.jpg" not in _rows(cat)
    finally:
        watcher.stop()


def _fake_index(cat: Catalog) -> None:
    """Give every photo a vector without a model (these tests are about the catalog)."""
    model = cat.set_target_model("fake/model", 4)
    with cat.transaction():
        for (pid,) in cat.query("SELECT id FROM photos"):
            cat.store_vector(pid, model.id, np.full(4, 0.5, dtype=np.float32))


def test_root_goes_offline_and_comes_back_without_reindexing(
    library: tuple[Path, Catalog], tmp_path: Path
) -> None:
    lib, cat = library
    _fake_index(cat)
    ids = _rows(cat)
    clusters.add_tag(cat, [ids["p4.jpg"]], "holiday")
    adds = cat.scalar("SELECT COUNT(*) FROM vec_log WHERE op = 'add'")
    watcher = _watcher(cat)
    try:
        os.rename(lib, tmp_path / "unplugged")  # the drive goes away
        _wait(lambda: not cat.roots()[0].online)
        assert _rows(cat) == ids
        assert cat.status_counts()["offline"] == len(ids)
        assert cat.count_pending_embedding(cat.target_model().id) == 0  # not queued
        _wait(lambda: watcher.status.folders and watcher.status.folders[0].mode is None)
        os.rename(tmp_path / "unplugged", lib)  # and comes back
        _wait(lambda: cat.roots()[0].online)
        _settle(watcher)
        assert _rows(cat) == ids
        assert cat.scalar("SELECT COUNT(*) FROM vec_log WHERE op = 'add'") == adds
        assert cat.scalar("SELECT COUNT(*) FROM photos WHERE status != 'indexed'") == 0
        assert clusters.photos_with_tag(cat, "holiday") == {ids["p4.jpg"]}
        # and it is watched again
        _jpeg(lib / "after.jpg", 400)
        _wait(lambda: "after.jpg" in _rows(cat))
    finally:
        watcher.stop()


def test_deleting_the_whole_root_deletes_no_rows(
    library: tuple[Path, Catalog], tmp_path: Path
) -> None:
    lib, cat = library
    ids = _rows(cat)
    watcher = _watcher(cat)
    try:
        shutil.rmtree(lib)  # every file's delete event arrives, then the root's
        _wait(lambda: not cat.roots()[0].online)
        time.sleep(4 * SETTLE)
        assert _rows(cat) == ids
        lib.mkdir()
        _jpeg(lib / "p0.jpg", 0)  # same bytes as before: same photo, same row
        _wait(lambda: cat.roots()[0].online)
        _settle(watcher)
        assert _rows(cat) == {"p0.jpg": ids["p0.jpg"]}  # the rest really are gone now
    finally:
        watcher.stop()


def test_move_between_library_folders_keeps_row_and_tags(tmp_path: Path) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    _jpeg(one / "a.jpg", 1)
    _jpeg(one / "trip" / "b.jpg", 2)
    two.mkdir()
    with Catalog(tmp_path / "c.sqlite") as cat:
        cat.add_root(one)
        cat.add_root(two)
        scan_library(cat)
        ids = _rows(cat)
        clusters.add_tag(cat, ids.values(), "moved")
        watcher = _watcher(cat)
        try:
            shutil.move(one / "a.jpg", two / "a.jpg")  # same device: a rename, seen by two watches
            shutil.copy2(one / "trip" / "b.jpg", two / "b-copy.jpg")  # copy, then delete
            time.sleep(3 * SETTLE)
            (one / "trip" / "b.jpg").unlink()
            expected = {
                str(two.resolve() / "a.jpg"): ids["a.jpg"],
                str(two.resolve() / "b-copy.jpg"): ids["trip/b.jpg"],
            }

            def rows() -> dict[str, int]:
                return dict(cat.query(
                    "SELECT r.path || '/' || p.rel_path, p.id FROM photos p "
                    "JOIN roots r ON r.id = p.root_id"
                ))

            _wait(lambda: rows() == expected)
            _settle(watcher)
            assert rows() == expected
            assert clusters.photos_with_tag(cat, "moved") == set(ids.values())
        finally:
            watcher.stop()


def test_catch_up_scan_on_start(library: tuple[Path, Catalog]) -> None:
    lib, cat = library
    ids = _rows(cat)
    os.rename(lib / "p0.jpg", lib / "album" / "p0.jpg")
    _jpeg(lib / "while-away.jpg", 77)
    (lib / "p1.jpg").unlink()
    watcher = _watcher(cat)
    try:
        rows = _rows(cat)
        assert rows["album/p0.jpg"] == ids["p0.jpg"]
        assert "while-away.jpg" in rows and "p1.jpg" not in rows
    finally:
        watcher.stop()


def test_scan_paths_targets_only_what_it_is_given(library: tuple[Path, Catalog]) -> None:
    lib, cat = library
    root = cat.roots()[0]
    _jpeg(lib / "album" / "z.jpg", 9)
    _jpeg(lib / "elsewhere.jpg", 10)
    (lib / "album" / "x.jpg").unlink()
    report = scan_paths(cat, {root.id: ["album"]}, defer_deletes=True)
    assert (report.added, report.removed) == (1, 0)
    assert [row.rel_path for row in report.gone] == ["album/x.jpg"]
    assert "elsewhere.jpg" not in _rows(cat) and "album/x.jpg" in _rows(cat)
    report = scan_paths(cat, {root.id: ["album/x.jpg", "elsewhere.jpg"]})
    assert (report.added, report.removed) == (1, 1)


def test_unreadable_folder_keeps_its_rows(library: tuple[Path, Catalog]) -> None:
    lib, cat = library
    if os.geteuid() == 0:
        pytest.skip("root reads everything: permissions cannot be denied")
    os.chmod(lib / "album", 0)
    try:
        report = scan_library(cat)
        assert report.removed == 0 and "album/x.jpg" in _rows(cat)
    finally:
        os.chmod(lib / "album", 0o755)


def test_filesystem_type_is_known_for_tmp(tmp_path: Path) -> None:
    if not sys.platform.startswith("linux"):
        pytest.skip("mountinfo is Linux only")
    assert filesystem_type(tmp_path)


def test_watch_command_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    lib = tmp_path / "lib"
    _jpeg(lib / "a.jpg", 1)
    data = tmp_path / "data"
    with Catalog(data / "catalog.sqlite") as cat:
        cat.add_root(lib)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "photoorg", "--data-dir", str(data), "watch", "--no-embed",
         "--settle", str(SETTLE)],
        stderr=subprocess.PIPE, text=True, env=env, cwd=REPO,
    )
    try:
        assert proc.stderr is not None
        for line in proc.stderr:
            if "watch: watching" in line:
                break
        _jpeg(lib / "b.jpg", 2)
        with Catalog(data / "catalog.sqlite", readonly=True) as cat:
            _wait(lambda: "b.jpg" in _rows(cat))
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    with Catalog(data / "catalog.sqlite") as cat:
        assert set(_rows(cat)) == {"a.jpg", "b.jpg"}
        assert cat.integrity_check() == "ok"


MODEL = "photoorg-tiny/bundled"


def test_watcher_indexes_new_photos_and_moves_keep_their_vectors(
    library: tuple[Path, Catalog],
) -> None:
    from photoorg.core.models.embedder import load_embedder

    lib, cat = library
    embedder = load_embedder(MODEL)
    watcher = LibraryWatcher(cat.path, embedder, settle_s=SETTLE, offline_check_s=0.3)
    watcher.start()
    try:
        assert watcher.wait_until_idle(60)
        assert cat.scalar("SELECT COUNT(*) FROM photos WHERE status != 'indexed'") == 0
        model = cat.target_model()
        assert model is not None and model.spec == embedder.spec.name
        adds = cat.scalar("SELECT COUNT(*) FROM vec_log WHERE op = 'add'")
        ids = _rows(cat)
        before = {pid: cat.vector(pid, model.id) for pid in ids.values()}
        originals = _checksums(lib)

        _jpeg(lib / "fresh.jpg", 500)
        os.rename(lib / "p4.jpg", lib / "album" / "p4-moved.jpg")
        os.rename(lib / "album", lib / "album-renamed")
        _wait(lambda: cat.scalar(
            "SELECT COUNT(*) FROM photos WHERE rel_path = 'fresh.jpg' AND status = 'indexed'"
        ) == 1)
        _settle(watcher)
        rows = _rows(cat)
        assert rows["album-renamed/p4-moved.jpg"] == ids["p4.jpg"]
        assert rows["album-renamed/x.jpg"] == ids["album/x.jpg"]
        # one new embedding (fresh.jpg); the moved photos kept theirs
        assert cat.scalar("SELECT COUNT(*) FROM vec_log WHERE op = 'add'") == adds + 1
        for pid, vector in before.items():
            assert np.array_equal(cat.vector(pid, model.id), vector)
        now = _checksums(lib)
        assert sorted(now.values()) == sorted([*originals.values(), now["fresh.jpg"]])
    finally:
        watcher.stop()


def test_photos_added_in_a_symlinked_folder_are_seen_at_once(
    library: tuple[Path, Catalog], tmp_path: Path
) -> None:
    """inotify does not follow symlinks: the link's target is watched too, and its events
    land under the link's path (not only at the periodic rescan)."""
    lib, cat = library
    outside = tmp_path / "elsewhere" / "trip"
    _jpeg(outside / "one.jpg", 70)
    (lib / "trip-link").symlink_to(outside, target_is_directory=True)
    scan_library(cat)
    assert "trip-link/one.jpg" in _rows(cat)
    watcher = _watcher(cat, rescan_interval_s=0)
    try:
        _jpeg(outside / "two.jpg", 71)
        (outside / "deeper").mkdir()
        _jpeg(outside / "deeper" / "three.jpg", 72)
        (outside / "one.jpg").unlink()
        _wait(lambda: {"trip-link/two.jpg", "trip-link/deeper/three.jpg"} <= set(_rows(cat))
              and "trip-link/one.jpg" not in _rows(cat), state=lambda: sorted(_rows(cat)))
    finally:
        watcher.stop()
