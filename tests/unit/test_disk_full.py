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
