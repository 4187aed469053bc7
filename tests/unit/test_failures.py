"""Failures are seen, never swallowed, and nothing is marked done that wasn't (issue 24).

Each failure is injected into the real pipeline run by the real CLI (``photoorg index`` in
this process, so one model load serves the module); the tests assert what the user sees
(the summary on stderr, the exit status, ``status --json``), what the catalog records, and
that the next run retries and succeeds.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from photoorg.cli import EXIT_INCOMPLETE, EXIT_OK
from photoorg.core.groups import grouping
from photoorg.core.ingest import ocr
from photoorg.core.media.synthetic import write_sample_library
from photoorg.core.models.embedder import weights_available
from photoorg.core.store import failures
from photoorg.core.store.catalog import Catalog

TINY = "photoorg-tiny/bundled"
needs_tiny = pytest.mark.skipif(not weights_available(TINY), reason="tiny model missing")


def _cli(capsys: pytest.CaptureFixture[str], data: Path, *args: str) -> tuple[int, str, str]:
    from photoorg.cli import main

    capsys.readouterr()
    code = main(["--data-dir", str(data), *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _status(capsys: pytest.CaptureFixture[str], data: Path) -> dict:
    code, out, _ = _cli(capsys, data, "status", "--json")
    assert code == EXIT_OK
    return json.loads(out)


def _catalog(data: Path) -> Catalog:
    return Catalog(data / "catalog.sqlite")


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    folder = tmp_path / "photos"
    write_sample_library(folder, per_class=1, seed=5, size=128)
    return folder


def _photo(data: Path, name: str, column: str) -> object:
    with _catalog(data) as cat:
        return cat.scalar(f"SELECT {column} FROM photos WHERE rel_path = ?", (name,))


@needs_tiny
def test_a_face_pass_raising_on_a_photo_is_reported_and_retried(
    photos: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from photoorg.core.people.faces import FaceAnalyzer

    data = tmp_path / "data"
    real = FaceAnalyzer.analyze

    def flaky(self: FaceAnalyzer, path: str | Path) -> list:
        if Path(path).name == "red_circle_0.jpg":
            raise RuntimeError("dlib ran out of something")
        return real(self, path)

    monkeypatch.setattr(FaceAnalyzer, "analyze", flaky)
    code, _, err = _cli(capsys, data, "index", str(photos), "--model", TINY)
    assert code == EXIT_INCOMPLETE, err
    line = next(ln for ln in err.splitlines() if ln.strip().startswith("faces:"))
    assert "1 photo: face detection failed (RuntimeError: dlib ran out of something)" in line
    assert str(photos / "red_circle_0.jpg") in line
    assert _photo(data, "red_circle_0.jpg", "faces_done") == 0  # not "no faces"
    assert _photo(data, "blue_square_0.jpg", "faces_done") == 1
    assert _status(capsys, data)["failures"] == {"faces": 1}
    with _catalog(data) as cat:
        pid = cat.scalar("SELECT id FROM photos WHERE rel_path = 'red_circle_0.jpg'")
        assert failures.attempts(cat, "faces", pid) == 1

    monkeypatch.setattr(FaceAnalyzer, "analyze", real)  # the cause passed
    code, _, err = _cli(capsys, data, "index", str(photos))
    assert code == EXIT_OK, err
    assert "not done" not in err
    assert _photo(data, "red_circle_0.jpg", "faces_done") == 1
    assert _status(capsys, data)["failures"] == {}


@needs_tiny
def test_a_grouping_raising_is_reported_and_grouped_on_the_next_run(
    photos: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = tmp_path / "data"
    real = grouping.refresh_clusters

    def broken(cat: Catalog, kind: str, *args: object, **kw: object) -> object:
        if kind == "scenes":
            raise ValueError("the scene model is confused")
        return real(cat, kind, *args, **kw)

    monkeypatch.setattr(grouping, "refresh_clusters", broken)
    code, _, err = _cli(capsys, data, "index", str(photos), "--model", TINY, "--no-faces")
    assert code == EXIT_INCOMPLETE, err
    assert ("clusters: failed: grouping scenes failed (ValueError: the scene model is "
            "confused)") in err
    assert _status(capsys, data)["failures"] == {"clusters": 1}
    with _catalog(data) as cat:
        assert grouping.is_stale(cat, "scenes")  # not recorded as grouped

    monkeypatch.setattr(grouping, "refresh_clusters", real)
    code, _, err = _cli(capsys, data, "index", str(photos), "--no-faces")
    assert code == EXIT_OK, err
    with _catalog(data) as cat:
        assert not grouping.is_stale(cat, "scenes")
    assert _status(capsys, data)["failures"] == {}


@needs_tiny
def test_ocr_raising_is_reported_and_read_on_the_next_run(
    photos: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(ocr.ENV_READ_TEXT, "1")
    data = tmp_path / "data"
    real = ocr.TextReader.decide  # the stage's first look at each photo (in its pool)

    def broken(self: ocr.TextReader, image: object) -> str:
        raise MemoryError()

    monkeypatch.setattr(ocr.TextReader, "decide", broken)
    code, _, err = _cli(capsys, data, "index", str(photos), "--model", TINY, "--no-faces")
    assert code == EXIT_INCOMPLETE, err
    n = len(list(photos.iterdir()))
    assert f"text: {n} photos: reading text failed (out of memory)" in err
    assert err.count("text:") <= 2  # the log line and the summary line: not one per photo
    assert _status(capsys, data)["failures"] == {"text": n}

    monkeypatch.setattr(ocr.TextReader, "decide", real)
    code, _, err = _cli(capsys, data, "index", str(photos), "--no-faces")
    assert code == EXIT_OK, err
    with _catalog(data) as cat:
        assert cat.query("SELECT DISTINCT status FROM photo_text") == [("done",)]
    assert _status(capsys, data)["failures"] == {}


@needs_tiny
def test_a_file_that_vanishes_mid_run_is_not_skipped_for_good(
    photos: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from photoorg.core.app.library import Library

    data = tmp_path / "data"
    gone = photos / "green_star_0.jpg"
    kept = tmp_path / "kept.jpg"
    real_scan = Library.scan

    def scan_then_vanish(self: Library, *args: object, **kw: object) -> object:
        report = real_scan(self, *args, **kw)
        if gone.exists():
            shutil.move(gone, kept)  # moved away between the scan and the embedding
        return report

    monkeypatch.setattr(Library, "scan", scan_then_vanish)
    code, out, err = _cli(capsys, data, "index", str(photos), "--model", TINY, "--no-faces")
    assert code == EXIT_INCOMPLETE, err
    assert "embed: 1 photo: could not read the file (file vanished)" in err
    assert str(gone) in err
    assert _photo(data, gone.name, "status") == "pending"  # never "skipped" for it
    assert "skipped 0" in out

    monkeypatch.setattr(Library, "scan", real_scan)
    shutil.move(kept, gone)  # back (a copy finished, a drive woke up)
    code, _, err = _cli(capsys, data, "index", str(photos), "--no-faces")
    assert code == EXIT_OK, err
    assert _photo(data, gone.name, "status") == "indexed"
    assert _status(capsys, data)["failures"] == {}


def test_attempts_are_bounded_with_backoff(tmp_path: Path) -> None:
    folder = tmp_path / "p"
    write_sample_library(folder, per_class=1, seed=1, size=64)
    from photoorg.core.ingest.scanner import scan_library

    with Catalog(tmp_path / "c.sqlite") as cat:
        cat.add_root(folder)
        scan_library(cat)
        cat.execute("UPDATE photos SET status = 'indexed'")
        pid = cat.scalar("SELECT MIN(id) FROM photos")
        total = cat.count_pending_faces()
        now = 1_000_000.0
        failures.record(cat, "faces", {pid: "boom"}, now=now)
        # the first retry is the next run; after that the wait grows, then it stops
        assert [p for p, _ in cat.pending_faces()].count(pid) == 1
        failures.record(cat, "faces", {pid: "boom"})
        assert pid not in [p for p, _ in cat.pending_faces()]
        assert cat.count_pending_faces() == total - 1
        waits = [failures.next_try(n, now) - now for n in range(2, failures.MAX_ATTEMPTS)]
        assert waits == sorted(waits) and waits[0] > 0
        assert failures.next_try(1, now) == 0.0  # the first retry is due at once
        assert failures.next_try(failures.MAX_ATTEMPTS, now) == failures.GAVE_UP
        for _ in range(failures.MAX_ATTEMPTS):
            failures.record(cat, "faces", {pid: "boom"})
        (cause,) = failures.causes(cat)
        assert cause.gave_up == 1 and "will not be retried until changed" in cause.line()
        # a changed file starts over
        path = cat.paths_for_ids([pid])[pid]
        cat.mark_changed(pid, path.stat().st_size, path.stat().st_mtime, "new")
        assert failures.causes(cat) == []
        assert pid in [p for p, _ in cat.pending_faces()]
