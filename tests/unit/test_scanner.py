from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from photoorg.core.ingest.scanner import content_hash, is_excluded, scan_library
from photoorg.core.store.catalog import Catalog


def _jpeg(path: Path, color: tuple[int, int, int] = (200, 10, 10), size: int = 64) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(sum(color) + size)
    noise = rng.integers(0, 40, (size, size, 3), dtype=np.uint8)
    Image.fromarray((np.array(color, dtype=np.uint8) + noise).astype(np.uint8)).save(path)
    return path


def _rows(cat: Catalog) -> dict[str, int]:
    """Rows the user sees (missing ones are kept apart, see core.missing)."""
    return {rel: pid for pid, rel in cat.query(
        "SELECT id, rel_path FROM photos WHERE missing_since IS NULL")}


def test_content_hash_ignores_name_and_sees_edits(tmp_path: Path) -> None:
    a = _jpeg(tmp_path / "a.jpg")
    b = tmp_path / "b.jpg"
    shutil.copy(a, b)
    assert content_hash(a) == content_hash(b)
    with open(b, "ab") as fh:
        fh.write(b"x")
    assert content_hash(a) != content_hash(b)


def test_exclusions() -> None:
    assert is_excluded(".hidden/a.jpg", [])
    assert is_excluded("a/.DS_Store", [])
    assert is_excluded("a/._a.jpg", [])
    assert is_excluded("$RECYCLE.BIN/a.jpg", [])
    assert is_excluded("System Volume Information/a.jpg", [])
    assert is_excluded("raw/export/a.jpg", ["export"])
    assert is_excluded("a/b_small.jpg", ["*_small.jpg"])
    assert not is_excluded("a/b.jpg", ["*_small.jpg"])


def test_scan_new_changed_moved_deleted(tmp_path: Path) -> None:
    lib = tmp_path / "lib"
    _jpeg(lib / "a.jpg")
    _jpeg(lib / "sub" / "b.jpg", (10, 200, 10))
    _jpeg(lib / ".hidden" / "c.jpg")
    (lib / "notes.txt").write_text("not a photo")
    with Catalog(tmp_path / "c.sqlite") as cat:
        cat.add_root(lib)
        report = scan_library(cat)
        assert report.added == 2
        before = _rows(cat)
        assert set(before) == {"a.jpg", "sub/b.jpg"}

        # rename + move into another folder: same rows, no re-queue
        (lib / "new").mkdir()
        os.rename(lib / "sub" / "b.jpg", lib / "new" / "renamed.jpg")
        # change content of a.jpg
        _jpeg(lib / "a.jpg", (10, 10, 200), size=80)
        # a new file
        _jpeg(lib / "d.jpg", (50, 50, 50))
        report = scan_library(cat)
        assert (report.added, report.changed, report.moved, report.removed) == (1, 1, 1, 0)
        after = _rows(cat)
        assert after["new/renamed.jpg"] == before["sub/b.jpg"]
        assert after["a.jpg"] == before["a.jpg"]
        assert cat.scalar("SELECT status FROM photos WHERE rel_path='a.jpg'") == "pending"

        (lib / "d.jpg").unlink()
        report = scan_library(cat)
        assert report.removed == 1  # kept as missing, out of sight (core.missing)
        assert "d.jpg" not in _rows(cat)
        assert cat.scalar("SELECT rel_path FROM photos WHERE missing_since IS NOT NULL") == "d.jpg"


def test_missing_root_marks_offline_never_deletes(tmp_path: Path) -> None:
    lib = tmp_path / "usb"
    _jpeg(lib / "a.jpg")
    with Catalog(tmp_path / "c.sqlite") as cat:
        cat.add_root(lib)
        scan_library(cat)
        os.rename(lib, tmp_path / "unplugged")
        report = scan_library(cat)
        assert report.offline_roots == [lib.resolve()]
        assert report.removed == 0
        assert cat.status_counts()["offline"] == 1
        os.rename(tmp_path / "unplugged", lib)
        report = scan_library(cat)
        assert report.unchanged == 1 and report.added == 0
        assert cat.status_counts()["offline"] == 0


def test_move_between_library_folders_keeps_row(tmp_path: Path) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    two.mkdir()
    _jpeg(one / "a.jpg")
    with Catalog(tmp_path / "c.sqlite") as cat:
        cat.add_root(one)
        cat.add_root(two)
        scan_library(cat)
        pid = _rows(cat)["a.jpg"]
        shutil.move(one / "a.jpg", two / "a.jpg")
        report = scan_library(cat)
        assert report.moved == 1
        assert cat.photo(pid).path == (two / "a.jpg").resolve()


def test_symlink_loop_does_not_hang(tmp_path: Path) -> None:
    lib = tmp_path / "lib"
    _jpeg(lib / "a.jpg")
    os.symlink(lib, lib / "loop")
    os.symlink(tmp_path / "nowhere", lib / "broken.jpg")
    with Catalog(tmp_path / "c.sqlite") as cat:
        cat.add_root(lib)
        report = scan_library(cat)
        assert report.added == 1
        assert any("broken.jpg" in str(p) for p, _ in report.errors)


def test_user_exclusion_pattern(tmp_path: Path) -> None:
    lib = tmp_path / "lib"
    _jpeg(lib / "keep.jpg")
    _jpeg(lib / "exports" / "skip.jpg")
    with Catalog(tmp_path / "c.sqlite") as cat:
        cat.add_root(lib)
        cat.add_exclusion("exports")
        scan_library(cat)
        assert set(_rows(cat)) == {"keep.jpg"}


def test_a_file_moved_on_while_scanned_keeps_its_row_and_tags(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A -> B is scanned, but B moves on to C between listing and hashing. No hashless row
    may appear at B: the photo's row (and its tag) must follow it to C."""
    from photoorg.core.groups import clusters
    from photoorg.core.ingest import scanner

    lib = tmp_path / "lib"
    _jpeg(lib / "a.jpg")
    cat = Catalog(tmp_path / "c.sqlite")
    cat.add_root(lib)
    scan_library(cat)
    (pid,) = [r.id for r in cat.photos_in_root(cat.roots()[0].id).values()]
    clusters.add_tag(cat, [pid], "keep")
    os.rename(lib / "a.jpg", lib / "b.jpg")
    real_hash = scanner.content_hash

    def moved_on(path: str | os.PathLike[str], size: int | None = None) -> str:
        if Path(path).name == "b.jpg" and Path(path).exists():
            os.rename(path, lib / "c.jpg")  # the user is faster than the scan
        return real_hash(path, size)

    monkeypatch.setattr(scanner, "content_hash", moved_on)
    scan_library(cat)
    assert list(_rows(cat)) == ["a.jpg"]  # no hashless row at b.jpg; a.jpg's row kept
    monkeypatch.setattr(scanner, "content_hash", real_hash)
    report = scan_library(cat)  # the next look finds c.jpg: the same photo
    assert _rows(cat) == {"c.jpg": pid} and report.moved == 1
    assert clusters.tags_for_photo(cat, pid) == ["keep"]
    cat.close()
