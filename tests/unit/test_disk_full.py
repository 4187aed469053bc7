"""A full disk is a clear message, never a signal, and leaves no temp file behind (issue 24).

Where the test may mount a small tmpfs (root, Linux), the disk is really full; elsewhere
``ENOSPC`` is injected at the same call."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from photoorg.core.search import engine as search
from photoorg.core.store.catalog import Catalog


def _mount_small(where: Path, size: str) -> bool:
    where.mkdir(parents=True, exist_ok=True)
    if sys.platform != "linux" or os.geteuid() != 0:
        return False
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
                          capture_output=True)
    return proc.returncode == 0


@pytest.fixture
def small_fs(tmp_path: Path) -> Iterator[Path | None]:
    """A 1 MB file system (None where this test may not mount one)."""
    where = tmp_path / "small"
    mounted = _mount_small(where, "1m")
    yield where if mounted else None
    if mounted:
        subprocess.run(["umount", str(where)], check=False)


def _library(tmp_path: Path, n: int = 2000, dim: int = 512) -> Path:
    with Catalog(tmp_path / "data" / "catalog.sqlite") as cat:
        root = cat.add_root(tmp_path / "photos")
        model = cat.set_target_model("test/fake", dim)
        ids = cat.add_photos(root.id, [(f"p{i:05d}.jpg", 1, 0.0, None) for i in range(n)])
        vectors = np.random.default_rng(0).standard_normal((n, dim)).astype(np.float32)
        cat.store_vectors(model.id, ids, vectors)
        cat.maybe_switch_model()
        return cat.path


def test_search_cache_on_a_full_disk_is_an_error_not_sigbus(
    tmp_path: Path, small_fs: Path | None
) -> None:
    """2,000 x 512 floats (4 MB) into 1 MB: the memory-mapped cache used to die of SIGBUS
    (exit 135, no message) and leave its temp file."""
    catalog = _library(tmp_path)
    if small_fs is None:
        pytest.skip("cannot mount a small file system here (see the injected test below)")
    (small_fs / "filler").write_bytes(b"x" * 1000)
    script = textwrap.dedent(f"""
        import sys
        from photoorg.core.search.engine import SearchIndex
        try:
            index = SearchIndex({str(catalog)!r}, cache_dir={str(small_fs)!r},
                                backend="numpy")
            index.save_cache()
        except OSError as exc:
            print("error:", exc)
            sys.exit(1)
        """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=300, env={**os.environ, "PYTHONPATH": os.getcwd()})
    assert proc.returncode == 1, (proc.returncode, proc.stderr)  # not -7 (SIGBUS)
    assert "No space left on device" in proc.stdout
    assert [p.name for p in small_fs.iterdir()] == ["filler"]  # no temp file left


def test_search_cache_enospc_injected(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    catalog = _library(tmp_path, n=300, dim=64)
    cache = tmp_path / "cache"
    cache.mkdir()

    def full(fd: int, offset: int, length: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    index = search.SearchIndex(catalog, cache_dir=cache, backend="numpy")
    monkeypatch.setattr(os, "posix_fallocate", full, raising=False)
    before = {p.name: p.read_bytes() for p in cache.iterdir()}
    assert [Path(n).suffix for n in before] == [".bin"]  # written at start
    with pytest.raises(OSError, match="No space left"):
        index.save_cache()
    assert {p.name: p.read_bytes() for p in cache.iterdir()} == before  # no temp file
    assert len(index.search(np.ones(64, np.float32), k=5)) == 5  # still answers
    monkeypatch.undo()
    assert index.save_cache() is not None  # room again: written
    assert [p.suffix for p in cache.iterdir()] == [".bin"]
    index.close()


def test_temp_files_of_dead_writers_are_swept_at_start(tmp_path: Path) -> None:
    catalog = _library(tmp_path, n=50, dim=64)
    cache = tmp_path / "cache"
    cache.mkdir()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    left = cache / f"search-cache-m1.bin.{dead}-0badc0de.tmp"
    left.write_bytes(b"half")
    mine = cache / f"search-cache-m1.bin.{os.getpid()}-0badc0de.tmp"  # a live writer's
    mine.write_bytes(b"busy")
    search.SearchIndex(catalog, cache_dir=cache, backend="numpy").close()
    assert not left.exists() and mine.exists()


def _enospc(*_args: object, **_kwargs: object) -> None:
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_a_thumbnail_on_a_full_disk_is_shown_and_leaves_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from PIL import Image

    from photoorg.ui.thumbnails import ThumbnailCache
    from photoorg.ui.workers import ThumbRequest

    photo = tmp_path / "p.jpg"
    Image.new("RGB", (400, 300), "red").save(photo)
    thumbs = tmp_path / "thumbs"
    real_save = Image.Image.save

    def half_then_full(self: Image.Image, fp: object, *args: object, **kw: object) -> None:
        Path(str(fp)).write_bytes(b"\xff\xd8 half")  # some bytes made it
        _enospc()

    monkeypatch.setattr(Image.Image, "save", half_then_full)
    image = ThumbnailCache(thumbs).load(ThumbRequest("1-abc", str(photo), 128))
    assert image is not None and not image.isNull()  # the picture still shows
    assert [p for p in thumbs.rglob("*") if p.is_file()] == []  # nothing half-written
    monkeypatch.setattr(Image.Image, "save", real_save)
    assert ThumbnailCache(thumbs).load(ThumbRequest("1-abc", str(photo), 128)) is not None
    assert [p.suffix for p in thumbs.rglob("*") if p.is_file()] == [".jpg"]  # room again


def test_a_sidecar_on_a_full_disk_is_an_error_and_leaves_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from PIL import Image

    from photoorg.core.metadata import sidecar

    photo = tmp_path / "p.jpg"
    Image.new("RGB", (40, 30)).save(photo)
    before = sorted(p.name for p in tmp_path.iterdir())
    real_fdopen = os.fdopen

    class Full:
        def __init__(self, fd: int, mode: str) -> None:
            self.f = real_fdopen(fd, mode)

        def __enter__(self) -> Full:
            return self

        def __exit__(self, *exc: object) -> None:
            self.f.close()

        def write(self, data: bytes) -> int:
            self.f.write(data[:10])
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(sidecar.os, "fdopen", Full)
    with pytest.raises(OSError, match="No space left"):
        sidecar.write_sidecar(photo, ["Keep"], [])
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no temp file
    monkeypatch.undo()
    written = sidecar.write_sidecar(photo, ["Keep"], [])
    assert written.exists() and b"Keep" in written.read_bytes()


def test_a_backup_on_a_full_disk_is_a_warning_and_leaves_no_file(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The daily backup on a full disk: indexing goes on, one clear warning, no partial
    file (the data folder on a small file system with room for half a copy)."""
    import logging

    from photoorg.core.app.library import Library

    catalog = _library(tmp_path, n=200, dim=64)
    fs = tmp_path / "fs"
    if not _mount_small(fs, "16m"):
        pytest.skip("cannot mount a small file system here")
    try:
        data = fs / "data"
        data.mkdir()
        (data / "catalog.sqlite").write_bytes(catalog.read_bytes())
        with Library(data) as lib:
            lib.writer  # noqa: B018 - opened (WAL files made) before the disk fills up
            st = os.statvfs(fs)
            (fs / "filler").write_bytes(
                b"x" * (st.f_bavail * st.f_frsize - os.path.getsize(catalog) // 2))
            with caplog.at_level(logging.WARNING):
                lib.backup_daily()
        warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
        assert any("could not back up the catalog" in w for w in warnings), warnings
        backups = data / "backups"
        assert not backups.exists() or [p.name for p in backups.iterdir()] == []
        (fs / "filler").unlink()  # room again: the next run backs up
        with Library(data) as lib:
            lib.backup_daily()
        assert [p.suffix for p in (data / "backups").iterdir()] == [".sqlite"]
    finally:
        subprocess.run(["umount", str(fs)], check=False)


@pytest.mark.slow
def test_photoorg_index_on_a_full_disk_then_with_room(tmp_path: Path) -> None:
    """The real command, its data folder on a 2 MB file system: a clear error, no traceback,
    no temp file; with room again the next run completes."""
    from photoorg.core.media.synthetic import write_sample_library
    from photoorg.core.models.embedder import TEST_MODEL, weights_available

    if not weights_available(TEST_MODEL):
        pytest.skip("tiny model missing")
    photos, fs = tmp_path / "photos", tmp_path / "fs"
    write_sample_library(photos, per_class=2, seed=1, size=128)
    if not _mount_small(fs, "2m"):
        pytest.skip("cannot mount a small file system here")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": os.getcwd(),
           "PHOTOORG_READ_TEXT": "0"}
    cmd = [sys.executable, "-m", "photoorg", "--data-dir", str(fs / "data"), "index",
           str(photos), "--model", TEST_MODEL, "--no-faces", "-q"]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
        assert proc.returncode == 1, proc.stderr[-2000:]
        assert "Traceback" not in proc.stderr, proc.stderr[-2000:]
        assert proc.stderr.strip().splitlines()[-1] == (
            "photoorg: catalog error: database or disk is full")
        assert not [p for p in fs.rglob("*") if ".tmp" in p.name or ".partial" in p.name]
        subprocess.run(["mount", "-o", "remount,size=64m", str(fs)], check=True)
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
        assert proc.returncode == 0, proc.stderr[-2000:]
        assert "library: 48 indexed, 0 pending" in proc.stdout
    finally:
        subprocess.run(["umount", str(fs)], check=False)
