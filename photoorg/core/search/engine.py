"""Search: text / image / combined queries over the library's CLIP vectors, with filters,
paging, scores, and near-duplicate groups. The one query API the CLI and the GUI both call.

Design (measured on the 2-core dev box, shared with other jobs: load average 4-7, so
absolute times are pessimistic; ratios come from one run; ``benchmarks/search.py``)
--------------------------------------------------------------------------------------
Options measured for one query over 100k x 512 (top 20):

=====================================================  ==========  =====================
option                                                 per query   memory at 1M x 512
=====================================================  ==========  =====================
sqlite-vec ``vec0`` KNN (float32)                      84-92 ms    (on disk)
sqlite-vec ``vec0`` KNN (int8) / (bit, k=200)          94 / 31 ms  (on disk), approximate
numpy float32 matvec + argpartition (*the floor*)      10-30 ms    2.05 GB (over budget)
numpy float16 matvec (no BLAS kernel)                  ~210 ms     1.0 GB
torch float16 ``mv`` (fp32 accumulate), **chosen**     6-18 ms     1.0 GB
fbgemm int8 dynamic linear (deprecated API)            ~16 ms      0.5 GB, approximate
reading every vector through ``vec0``                  3.5-5.9 s   (start-up only)
reading sqlite-vec's chunk tables directly             0.15-0.8 s  (start-up only)
=====================================================  ==========  =====================

End to end through :meth:`SearchIndex.search` (sync check, exclusions, rescoring, paths):
100k: p50 17.7 ms, p95 27.5 ms, floor 27.5 ms (ratio 0.65), start-up to first answer
175 ms with the cache file (2.4 s without: read SQLite + write the file), recall@20 1.0
(exact), folder-filtered p50 0.6 ms. 1M: p50 133 ms, p95 153 ms, floor 287 ms (ratio
0.46), start-up 2.9 s (25 s without the cache file), index memory 1.16 GB.

So the hot path is a **memory-resident float16 matrix** (rows L2-normalised, sorted by
photo id) scanned with ``torch.mv`` -- half the bytes of float32, so ~2x *faster* than the
float32 numpy floor as well as half its memory -- followed by **exact float32 rescoring**
of the few candidates, so results and scores equal float32 brute force:

* float16 storage + query rounding and the float16 output change a cosine by at most
  ``2u + u|s| + 512 * 2^-24 + subnormals < 2e-3`` (u = 2^-11; fp32 accumulation; measured
  max error ~1e-4). Every row of the true top ``offset + k`` therefore scores at least
  ``A_k - 2 * 2e-3`` approximately (``A_k`` = the k-th best approximate score); those
  rows (typically k + a few dozen) are rescored from float32 copies and re-ranked. At most
  ``MAX_RESCORE`` candidates are rescored (only a pathological pile of near-ties beyond
  that could make a result inexact).
* The float32 copies live in the **start-up cache file** ``<data dir>/search-cache-m<model
  id>.bin`` (header + sorted ids + normalised float32 rows, written atomically: temp file,
  fsync, ``os.replace``), memory-mapped read-only: rescoring touches a few pages, the OS
  keeps the rest on disk. The file also makes start-up cheap: open, validate (model id,
  spec, dim, seq, vector count), convert to float16 in 16 MB chunks, replay the ``vec_log``
  since its seq.
* Without torch, the scan falls back to numpy float32 (exact, no rescoring; 2x memory).

Staying in sync: the index remembers ``vec_log_seq``; before each query one cheap
``MAX(seq)`` (plus the active model) decides whether anything changed; changes since then
are applied (adds: fetch those vectors -- new photos sit in a few sqlite-vec chunks, read
whole; dels: clear the row's live bit; compaction when a quarter of rows are dead); a
model switch, a seq that went backwards, a compacted log (``Catalog.vec_log_floor``) or a
huge backlog mean a full reload. Each sync + query reads one SQLite snapshot through the
index's own connection, so the indexer may write from another thread or process.

Filters resolve with indexed SQL (folder subtree: ``photos(root_id, folder)`` range; dates:
``photos(taken_at)``; tags, people, places: their id-set subqueries; file type has no index
yet and scans ``photos``) to an id set, mapped onto the sorted id array with
``searchsorted``. A small set is scored alone (gather + mv); a large one masks the full scan.
Offline roots and skipped photos are excluded unless asked for (offline results are marked).

Memory for the index at 1M x 512: float16 matrix with 1/8 growth room 1.15 GB + ids/live
bits 10 MB + per-query scratch ~8 MB, plus float32 copies of vectors added since the cache
file was written (at most ~n/32 rows, 64 MB at 1M, then the file is rewritten); the float32
cache file (2.05 GB) is memory-mapped, not loaded. Start-up briefly also holds one 16 MB
read buffer. Small allowed sets (<= 2048 rows) are scored with single-threaded numpy:
no thread-pool wake-up, which a busy machine makes cost ~15 ms.

Queries combine like rclip: ``"beach + sunset - people"``, ``2:cat``, image file paths as
parts, text and images together; the query vector is the weighted sum of the parts'
normalised embeddings, then normalised, so a score is the cosine similarity between the
photo and that combined direction (for one part: the plain cosine).
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import math
import mmap
import os
import re
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path, PurePosixPath
from typing import Any, Protocol

import numpy as np

from photoorg.core.groups.clusters import tag_filter_sql
from photoorg.core.models.policy import search_model
from photoorg.core.search.textindex import has_text_sql
from photoorg.core.store.catalog import STACKED_AWAY, Catalog, CatalogError, Model
from photoorg.core.store.photo_meta import rating_filter_sql

log = logging.getLogger(__name__)

DEFAULT_K = 20
DEFAULT_DUPLICATE_THRESHOLD = 0.95
"""Cosine similarity of CLIP image embeddings at or above which two photos count as near
duplicates. Re-encodes / resizes / small crops of one picture score ~0.97-1.0 with
ViT-B/32-class models, burst shots of one scene ~0.92-0.97, different photos of the same
subject mostly below 0.9; 0.95 groups copies and near-identical bursts only."""

F16_SCORE_ERROR = 2e-3
"""Bound on |float16 scan score - float32 cosine| for unit vectors (see module docstring)."""
MAX_RESCORE = 4096
SAVE_MIN_CHANGES = 256
CACHE_VERSION = 1
_HEADER_BYTES = 4096
_MAGIC = b"photoorg-search-cache\n"
_CHUNK_ROWS = 8192
_SMALL_SCAN_ROWS = 2048
RELEVANCE = 0.6
"""The relevance cut-off for similarity-only results: a photo must score at least
``median + RELEVANCE * (best - median)``, where ``median`` is the query's typical score over
the library (a fixed sample of it) and ``best`` its best score among the photos searched.
Each model and each query has its own spread of cosines (CLIP text-image cosines sit near
0.15-0.35, image-image ones near 0.5-1, the tiny test model elsewhere), so the cut is
measured on the library for each query instead of fixed: what stands out from the bulk
stays, the bulk goes."""
_SAMPLE_ROWS = 4096


class QueryError(ValueError):
    """A query that cannot be run (empty, unknown photo, unreadable image, ...)."""


class Encoder(Protocol):
    """What search needs from :class:`photoorg.core.models.embedder.Embedder`."""

    dim: int

    def encode_texts(self, texts: list[str]) -> np.ndarray: ...

    def encode_images(self, images: list[Any]) -> np.ndarray: ...


# -- queries ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueryPart:
    """One term of a query. ``kind``: ``text`` (a phrase), ``image`` (an image file, library
    photo or not), ``photo`` (a library photo id: its stored vector) or ``vector``.
    A negative ``weight`` subtracts the term."""

    kind: str
    value: Any
    weight: float = 1.0

    def __post_init__(self) -> None:
        if self.kind not in ("text", "image", "photo", "vector"):
            raise QueryError(f"unknown query part kind {self.kind!r}")
        if not math.isfinite(self.weight):
            raise QueryError(f"bad weight {self.weight!r}")


@dataclass(frozen=True)
class Query:
    """A weighted sum of parts (rclip semantics). Build with :func:`parse_query`,
    :meth:`build`, or directly from parts."""

    parts: tuple[QueryPart, ...]

    @classmethod
    def build(
        cls,
        positives: Iterable[Any] = (),
        negatives: Iterable[Any] = (),
        *,
        files_are_images: bool = True,
    ) -> Query:
        """Structured construction. Each item is a :class:`QueryPart`, a phrase (``str``; an
        existing file path becomes an image part when ``files_are_images``), a ``Path``
        (image), an ``int`` (library photo id), a vector, or ``(weight, item)``."""
        parts: list[QueryPart] = []
        for sign, items in ((1.0, positives), (-1.0, negatives)):
            for item in items:
                parts.append(_as_part(item, sign, files_are_images))
        return cls(tuple(parts))

    def __add__(self, other: Query) -> Query:
        return Query(self.parts + other.parts)

    @property
    def texts(self) -> list[str]:
        return [p.value for p in self.parts if p.kind == "text"]


def _as_part(item: Any, sign: float, files_are_images: bool) -> QueryPart:
    if isinstance(item, QueryPart):
        return QueryPart(item.kind, item.value, item.weight * sign)
    if isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], int | float):
        inner = _as_part(item[1], 1.0, files_are_images)
        return QueryPart(inner.kind, inner.value, inner.weight * float(item[0]) * sign)
    if isinstance(item, np.ndarray):
        return QueryPart("vector", item, sign)
    if isinstance(item, bool):
        raise QueryError(f"not a query part: {item!r}")
    if isinstance(item, int | np.integer):
        return QueryPart("photo", int(item), sign)
    if isinstance(item, os.PathLike):
        return QueryPart("image", Path(item), sign)
    if isinstance(item, str):
        text = item.strip()
        if not text:
            raise QueryError("empty query part")
        if files_are_images and _is_file(text):
            return QueryPart("image", Path(text).expanduser(), sign)
        return QueryPart("text", text, sign)
    raise QueryError(f"not a query part: {item!r}")


def _is_file(text: str) -> bool:
    try:
        return Path(text).expanduser().is_file()
    except (OSError, ValueError):
        return False


_MULTIPLIER_RE = re.compile(r"^(?P<w>\d+(?:\.\d*)?|\.\d+):(?P<rest>.+)$", re.S)


def parse_query(text: str, *, files_are_images: bool = True) -> Query:
    """Parse an rclip-style query string.

    Parts are separated by ``+`` / ``-`` standing alone between spaces (``t-shirt`` stays a
    word); ``"..."`` / ``'...'`` quote a part; ``2:cat`` or ``0.5:"red car"`` weighs a part;
    a part naming an existing file is an image part. Example:
    ``parse_query('beach + 2:sunset - "people"')``.
    """
    parts: list[QueryPart] = []
    sign = 1.0
    for token, quoted in _tokens(text):
        if not quoted and token in ("+", "-"):
            if token == "-":
                sign = -sign
            continue
        weight = 1.0
        body = token
        if not quoted:
            if _WEIGHT_PREFIX.fullmatch(token):
                raise QueryError(f"a weight without a query part in {text!r}")
            match = _MULTIPLIER_RE.match(token)
            if match:
                weight = float(match.group("w"))
                body = _unquote(match.group("rest").strip())
        part = _as_part(body, sign * weight, files_are_images) if body.strip() else None
        if part is None:
            raise QueryError(f"empty query part in {text!r}")
        parts.append(part)
        sign = 1.0
    if not parts:
        raise QueryError("empty query")
    return Query(tuple(parts))


def _unquote(text: str) -> str:
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return text[1:-1]
    return text


_WEIGHT_PREFIX = re.compile(r"(?:\d+(?:\.\d*)?|\.\d+):")


def _tokens(text: str) -> Iterator[tuple[str, bool]]:
    """``(token, quoted)``: quoted phrases, lone ``+``/``-`` operators, and runs of plain
    words (joined by single spaces). A quote opens a phrase only at the start of a word or
    right after a weight (``2:"red car"``), so ``dog's toy`` stays plain text."""
    words: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        if ch in "\"'":
            end = text.find(ch, i + 1)
            end = n if end < 0 else end
            phrase = text[i + 1 : end]
            i = end + 1
            prefix = words.pop() if words and _WEIGHT_PREFIX.fullmatch(words[-1]) else ""
            if words:
                yield " ".join(words), False
                words = []
            yield (f"{prefix}{ch}{phrase}{ch}", False) if prefix else (phrase, True)
            continue
        j = i
        while j < n and not text[j].isspace():
            if text[j] in "\"'" and _WEIGHT_PREFIX.fullmatch(text[i:j]):
                break
            j += 1
        word, i = text[i:j], j
        if word in ("+", "-"):
            if words:
                yield " ".join(words), False
                words = []
            yield word, False
        else:
            words.append(word)
    if words:
        yield " ".join(words), False


# -- filters ---------------------------------------------------------------------------------

DateLike = float | int | date | datetime | str


@dataclass(frozen=True)
class Filters:
    """Restrict a search. All given conditions must hold.

    ``folder``: an absolute folder (its whole subtree; a folder holding library roots
    counts them all). ``after`` / ``before``: capture time ``taken_at`` in
    ``[after, before)``; a ``YYYY-MM-DD`` / ``date`` means that UTC calendar day's start
    (naive EXIF times are stored as UTC, so this matches the camera's wall-clock date);
    photos without a capture time fail date filters. ``exts``: file types (``"jpg"`` or
    ``".JPG"``). ``tags``: tag names, all required. ``person``: a people cluster id (via
    ``faces.cluster_id``); ``place``: a cluster id via ``cluster_photos`` (places, pets,
    scenes). ``include_offline``: also photos on offline roots (results are marked).
    ``has_text``: only photos with text read in them (the OCR stage).
    ``min_rating``: rated at least this many stars (imported or set in photoorg).
    """

    folder: str | os.PathLike[str] | None = None
    after: DateLike | None = None
    before: DateLike | None = None
    exts: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    person: int | None = None
    place: int | None = None
    include_offline: bool = False
    has_text: bool = False
    min_rating: int | None = None

    @property
    def restricts(self) -> bool:
        return bool(
            self.folder is not None
            or self.after is not None
            or self.before is not None
            or self.exts
            or self.tags
            or self.person is not None
            or self.place is not None
            or self.has_text
            or self.min_rating is not None
        )


def to_timestamp(value: DateLike) -> float:
    """POSIX time of a date filter bound (``YYYY-MM-DD`` / ``date``: UTC midnight)."""
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC).timestamp()
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError as exc:
            raise QueryError(f"not a date (YYYY-MM-DD): {value!r}") from exc
        return to_timestamp(parsed)
    raise QueryError(f"not a date: {value!r}")


def _norm_ext(ext: str) -> str:
    ext = ext.strip().lower()
    return ext if ext.startswith(".") else "." + ext


@dataclass(frozen=True)
class SearchResult:
    """One hit: the photo, its absolute path, its cosine similarity to the query."""

    photo_id: int
    path: Path
    score: float
    offline: bool = False


# -- scan backends ---------------------------------------------------------------------------


class _NumpyScan:
    """float32 rows, BLAS matvec: exact, twice the memory of float16."""

    dtype = np.dtype(np.float32)
    exact = True
    name = "numpy-f32"

    def score(self, mat: np.ndarray, query: np.ndarray) -> np.ndarray:
        return mat @ query

    def convert(self, src: np.ndarray, dst: np.ndarray) -> None:
        dst[...] = src


class _TorchF16Scan:
    """float16 rows, ``torch.mv`` (fp32 accumulation): half the bytes, ~2x the speed."""

    dtype = np.dtype(np.float16)
    exact = False
    name = "torch-f16"

    def __init__(self) -> None:
        import torch

        self.torch = torch

    def score(self, mat: np.ndarray, query: np.ndarray) -> np.ndarray:
        torch = self.torch
        if len(mat) <= _SMALL_SCAN_ROWS:  # single-threaded numpy: no thread-pool wake-ups
            return np.einsum("ij,j->i", mat.astype(np.float32), query.astype(np.float32))
        q16 = torch.from_numpy(np.ascontiguousarray(query, dtype=np.float16))
        with torch.inference_mode():
            out = torch.mv(torch.from_numpy(mat), q16)
        return out.numpy().astype(np.float32)

    def convert(self, src: np.ndarray, dst: np.ndarray) -> None:
        torch = self.torch
        with torch.inference_mode():
            torch.from_numpy(dst).copy_(torch.from_numpy(np.ascontiguousarray(src)))


def _make_scan(backend: str) -> _NumpyScan | _TorchF16Scan:
    # ``auto`` in a process that has not imported torch (the light model runtime: a CLI
    # search) stays with numpy: importing torch costs ~3 s and 490 MB, more than the
    # float32 matrix's extra half up to ~1M photos (0.5 KB a photo more).
    if backend == "numpy" or (backend == "auto" and "torch" not in sys.modules):
        return _NumpyScan()
    try:
        scan = _TorchF16Scan()
        probe = np.eye(4, 8, dtype=np.float16)
        if not np.allclose(scan.score(probe, np.ones(8, np.float32)), 1.0):
            raise RuntimeError("torch float16 mv gave wrong results")
        return scan
    except Exception as exc:  # torch missing or broken: exact numpy path
        if backend == "torch":
            raise
        log.info("search falls back to numpy float32 (%s)", exc)
        return _NumpyScan()


def normalize_rows(mat: np.ndarray) -> np.ndarray:
    """L2-normalised float32 copy (zero rows stay zero)."""
    out = np.array(mat, dtype=np.float32, copy=True, ndmin=2)
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    np.divide(out, norms, out=out, where=norms > 0)
    return out


# -- the cache file ---------------------------------------------------------------------------


def _reserve(f: Any, size: int) -> None:
    """Allocate ``size`` bytes of ``f`` on disk (raises OSError when there is no room)."""
    fallocate = getattr(os, "posix_fallocate", None)
    if fallocate is not None:
        try:
            fallocate(f.fileno(), 0, size)
            return
        except OSError as exc:
            if exc.errno not in (errno.EOPNOTSUPP, errno.EINVAL, errno.ENOSYS):
                raise
    at = f.seek(0, os.SEEK_END)  # no fallocate here: write the zeros out
    chunk = b"\0" * (1 << 20)
    while at < size:
        at += f.write(chunk[: min(len(chunk), size - at)])
    f.flush()


def stale_temp(path: Path, max_age_s: float = 3600.0) -> bool:
    """A ``<name>.<pid>-<tag>.tmp`` file left by a writer that is gone (crashed, killed,
    out of space): its process no longer runs, or it is older than ``max_age_s``."""
    try:
        pid = int(path.suffixes[-2].lstrip(".").split("-")[0]) if len(path.suffixes) > 1 else 0
    except ValueError:
        pid = 0
    try:
        old = time.time() - path.stat().st_mtime > max_age_s
    except OSError:
        return False
    if old or pid <= 0 or os.name != "posix":
        return old
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # another user's live process
        return False
    return False


class _CacheFile:
    """``[4 KiB header][ids int64 x n][pad to 4 KiB][rows float32 x n x dim]``, ids sorted,
    rows normalised; memory-mapped read-only."""

    def __init__(self, path: Path, meta: dict[str, Any], mm: mmap.mmap | None) -> None:
        self.path = path
        self.meta = meta
        self._mm = mm
        n, dim = int(meta["n"]), int(meta["dim"])
        if mm is None:
            self.ids = np.empty(0, np.int64)
            self.rows = np.empty((0, dim), np.float32)
        else:
            self.ids = np.frombuffer(mm, np.int64, n, int(meta["ids_at"]))
            self.rows = np.frombuffer(mm, np.float32, n * dim, int(meta["rows_at"])).reshape(
                n, dim
            )

    @staticmethod
    def layout(n: int, dim: int) -> tuple[int, int, int]:
        ids_at = _HEADER_BYTES
        rows_at = ids_at + -(-n * 8 // _HEADER_BYTES) * _HEADER_BYTES
        return ids_at, rows_at, rows_at + n * dim * 4

    @classmethod
    def open(cls, path: Path) -> _CacheFile | None:
        try:
            with open(path, "rb") as f:
                head = f.read(_HEADER_BYTES)
                if not head.startswith(_MAGIC):
                    return None
                meta = json.loads(head[len(_MAGIC) :].rstrip(b"\0 \n").decode("utf-8"))
                if meta.get("version") != CACHE_VERSION:
                    return None
                n, dim = int(meta["n"]), int(meta["dim"])
                ids_at, rows_at, size = cls.layout(n, dim)
                if (meta["ids_at"], meta["rows_at"]) != (ids_at, rows_at):
                    return None
                if os.fstat(f.fileno()).st_size != size:
                    return None
                mm = mmap.mmap(f.fileno(), size, access=mmap.ACCESS_READ) if n else None
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return cls(path, meta, mm)

    @classmethod
    def create(cls, path: Path, meta: dict[str, Any], n: int, dim: int) -> tuple[Path, Any]:
        """A temp file of the right size beside ``path`` and a writable memmap of its rows
        (or None when n == 0); finish with :meth:`commit`."""
        ids_at, rows_at, size = cls.layout(n, dim)
        meta = {**meta, "version": CACHE_VERSION, "n": n, "dim": dim, "ids_at": ids_at,
                "rows_at": rows_at}
        head = _MAGIC + json.dumps(meta).encode("utf-8")
        if len(head) > _HEADER_BYTES:
            raise ValueError("cache header too long")
        tmp = path.with_name(f"{path.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp")
        try:
            with open(tmp, "wb") as f:
                f.write(head.ljust(_HEADER_BYTES, b"\0"))
                # the space is reserved before the file is mapped: a disk that is full
                # fails here with ENOSPC, not later with SIGBUS on a write to the mapping
                _reserve(f, size)
            if not n:
                return tmp, None
            mem = np.memmap(tmp, mode="r+", dtype=np.uint8, shape=(size,))
        except BaseException:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise
        return tmp, mem

    @staticmethod
    def views(mem: Any, n: int, dim: int) -> tuple[np.ndarray, np.ndarray]:
        ids_at, rows_at, _ = _CacheFile.layout(n, dim)
        ids = mem[ids_at : ids_at + n * 8].view(np.int64)
        rows = mem[rows_at : rows_at + n * dim * 4].view(np.float32).reshape(n, dim)
        return ids, rows

    @staticmethod
    def commit(tmp: Path, mem: Any, path: Path) -> None:
        if mem is not None:
            mem.flush()
            mm = getattr(mem, "_mmap", None)
            del mem
            if mm is not None:
                with contextlib.suppress(BufferError, ValueError):
                    mm.close()
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)

    def close(self) -> None:
        self.ids = np.empty(0, np.int64)
        self.rows = np.empty((0, int(self.meta["dim"])), np.float32)
        if self._mm is not None:
            with contextlib.suppress(BufferError, ValueError):
                self._mm.close()
            self._mm = None


# -- the index -------------------------------------------------------------------------------


@dataclass
class IndexStats:
    model_id: int | None
    rows: int
    live: int
    backend: str
    memory_bytes: int
    seq: int
    cache_file: str | None
    loaded_from: str = ""
    load_ms: float = 0.0


class SearchIndex:
    """An in-memory vector index over a catalog's active model, kept in sync with it.

    ``catalog``: a :class:`Catalog` (its path is reopened: the index keeps its own read
    connection) or a catalog path. ``cache``: keep the start-up cache file in ``cache_dir``
    (default: the catalog's folder); when False, a private temp file holds the float32
    copies. ``backend``: ``auto`` (torch float16 if importable, else numpy float32),
    ``torch`` or ``numpy``. Thread-safe (one lock); call from any one worker thread.
    """

    def __init__(
        self,
        catalog: Catalog | str | os.PathLike[str],
        *,
        cache: bool = True,
        cache_dir: str | os.PathLike[str] | None = None,
        backend: str = "auto",
        prefer: str | None = None,
    ) -> None:
        # A read-only connection of its own: searching never takes the write lock, and in
        # WAL mode it never waits for a writer either.
        path = catalog.path if isinstance(catalog, Catalog) else Path(catalog)
        try:
            self._cat = Catalog(path, readonly=True)
        except CatalogError:  # a new or old file: the first writer creates/upgrades it
            Catalog(path).close()
            self._cat = Catalog(path, readonly=True)
        self._prefer = prefer
        self._lock = threading.RLock()
        self._scan = _make_scan(backend)
        self._cache = cache
        self._cache_dir = Path(cache_dir) if cache_dir else self._cat.path.parent
        self._tmpdir: tempfile.TemporaryDirectory[str] | None = None
        self._model: Model | None = None
        self._seq = 0
        self._file: _CacheFile | None = None
        self._file_seq = 0
        self._overlay: dict[int, np.ndarray] = {}
        self._changes_since_file = 0
        self._n = 0
        self._ids = np.empty(0, np.int64)
        self._alive = np.empty(0, bool)
        self._mat = np.empty((0, 0), self._scan.dtype)
        self._dead = 0
        self.loaded_from = ""
        self.load_ms = 0.0
        self._sample: tuple[tuple[int, ...], np.ndarray] | None = None
        self._closed = False
        self.sync()

    # -- lifecycle -------------------------------------------------------------------------

    def close(self, *, save: bool = True) -> None:
        """Write the cache file if it is well behind, release everything."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            if save and self._model is not None and self._cache and self._should_save():
                with contextlib.suppress(OSError):
                    self.save_cache()
            if self._file is not None:
                self._file.close()
                self._file = None
            self._overlay.clear()
            self._cat.close()
            if self._tmpdir is not None:
                self._tmpdir.cleanup()
                self._tmpdir = None

    def __enter__(self) -> SearchIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def backend(self) -> str:
        return self._scan.name

    @property
    def model(self) -> Model | None:
        return self._model

    def __len__(self) -> int:
        return self._n - self._dead

    def stats(self) -> IndexStats:
        with self._lock:
            mem = self._mat.nbytes + self._ids.nbytes + self._alive.nbytes
            mem += sum(v.nbytes + 100 for v in self._overlay.values())
            return IndexStats(
                model_id=self._model.id if self._model else None,
                rows=self._n,
                live=len(self),
                backend=self.backend,
                memory_bytes=int(mem),
                seq=self._seq,
                cache_file=str(self._file.path) if self._file else None,
                loaded_from=self.loaded_from,
                load_ms=self.load_ms,
            )

    def cache_path(self, model_id: int) -> Path:
        return self._cache_dir / f"search-cache-m{int(model_id)}.bin"

    # -- syncing ---------------------------------------------------------------------------

    def sync(self) -> bool:
        """Catch up with the catalog; True if anything changed. Cheap when nothing did."""
        with self._lock, self._cat.snapshot():
            model = search_model(self._cat, self._prefer)
            seq = self._cat.vec_log_seq()
            if model is None:
                changed = self._model is not None
                self._reset(None)
                return changed
            if self._model is None or model.id != self._model.id or model.dim != self._model.dim:
                self._load(model, seq)
                return True
            if seq == self._seq:
                return False
            if seq < self._seq or self._cat.vec_log_floor() > self._seq or (
                seq - self._seq > max(50_000, len(self))
            ):
                self._full_load(model, seq)
                return True
            self._apply_changes(model, seq)
            return True

    refresh = sync

    def _reset(self, model: Model | None) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        self._model = model
        self._seq = 0
        self._file_seq = 0
        self._overlay = {}
        self._changes_since_file = 0
        dim = model.dim if model else 0
        self._n = 0
        self._dead = 0
        self._ids = np.empty(0, np.int64)
        self._alive = np.empty(0, bool)
        self._mat = np.empty((0, dim), self._scan.dtype)

    def _load(self, model: Model, seq: int) -> None:
        start = time.perf_counter()
        if self._cache:
            self._remove_stale_files(model)
        if self._cache and self._load_cache(model, seq):
            self._apply_changes(model, seq)
            if len(self) == self._cat.vector_count(model.id):
                self.loaded_from = "cache"
                self.load_ms = (time.perf_counter() - start) * 1e3
                return
            log.info("search cache for model %s disagrees with the catalog; reloading", model.id)
        self._full_load(model, seq)
        self.load_ms = (time.perf_counter() - start) * 1e3

    def _remove_stale_files(self, model: Model) -> None:
        """Cache files of other models (switched away from) and temp files of crashed
        writers (older than an hour)."""
        with contextlib.suppress(OSError):
            for path in self._cache_dir.glob("search-cache-m*.bin*"):
                stale_tmp = path.suffix == ".tmp" and stale_temp(path)
                other = path.suffix == ".bin" and path != self.cache_path(model.id)
                if stale_tmp or other:
                    with contextlib.suppress(OSError):
                        path.unlink()

    def _load_cache(self, model: Model, seq: int) -> bool:
        path = self.cache_path(model.id)
        cached = _CacheFile.open(path) if path.exists() else None
        if cached is None:
            return False
        meta = cached.meta
        ok = (
            meta.get("model_id") == model.id
            and meta.get("spec") == model.spec
            and int(meta["dim"]) == model.dim
            and int(meta["seq"]) <= seq
            and int(meta["seq"]) >= self._cat.vec_log_floor()
            and seq - int(meta["seq"]) <= max(50_000, int(meta["n"]))
        )
        if not ok:
            cached.close()
            return False
        self._reset(model)
        self._file = cached
        self._file_seq = self._seq = int(meta["seq"])
        n = len(cached.ids)
        self._alloc(n)
        with open(path, "rb") as f:  # plain reads: no mapped pages left behind
            f.seek(int(meta["rows_at"]))
            buf = np.empty((_CHUNK_ROWS, model.dim), np.float32)
            for at in range(0, n, _CHUNK_ROWS):
                rows = buf[: min(_CHUNK_ROWS, n - at)]
                f.readinto(memoryview(rows).cast("B"))
                self._scan.convert(rows, self._mat[at : at + len(rows)])
        self._ids[:n] = cached.ids
        self._alive[:n] = True
        self._n = n
        return True

    def _full_load(self, model: Model, seq: int) -> None:
        """Everything from SQLite (one snapshot), written to a fresh cache file on the way."""
        self._reset(model)
        cat = self._cat
        with cat.snapshot():
            chunks = cat.vec0_chunk_index(model.id)
            if chunks is None:
                ids, mat = cat.load_vectors(model.id)
                pieces: list[tuple[np.ndarray, np.ndarray]] = [(ids, mat)]
                sources: Iterable[tuple[np.ndarray, np.ndarray]] = pieces
                all_ids = ids
            else:
                all_ids = (
                    np.concatenate([c[2] for c in chunks]) if chunks else np.empty(0, np.int64)
                )
                sources = self._chunk_rows(model, chunks)
            order = np.argsort(all_ids, kind="stable")
            dest = np.empty_like(order)
            dest[order] = np.arange(len(order))
            sorted_ids = all_ids[order]
            n = len(sorted_ids)
            path = self._file_path(model)
            meta = {"model_id": model.id, "spec": model.spec, "seq": seq,
                    "catalog": str(cat.path)}
            tmp, mem = _CacheFile.create(path, meta, n, model.dim)
            try:
                self._alloc(n)
                if mem is not None:
                    file_ids, file_rows = _CacheFile.views(mem, n, model.dim)
                    file_ids[:] = sorted_ids
                at = 0
                for _, block in sources:
                    rows = normalize_rows(block)
                    where = dest[at : at + len(rows)]
                    at += len(rows)
                    if mem is not None:
                        file_rows[where] = rows
                    converted = np.empty((len(rows), model.dim), self._scan.dtype)
                    self._scan.convert(rows, converted)
                    self._mat[where] = converted
                if mem is not None:
                    del file_ids, file_rows
                _CacheFile.commit(tmp, mem, path)
            except BaseException:
                with contextlib.suppress(OSError):
                    tmp.unlink()
                raise
        self._ids[:n] = sorted_ids
        self._alive[:n] = True
        self._n = n
        self._seq = self._file_seq = seq
        self._file = _CacheFile.open(path)
        if self._file is None:
            raise OSError(f"cannot reopen search cache {path}")
        self.loaded_from = "sqlite"

    def _chunk_rows(
        self, model: Model, chunks: list[tuple[int, np.ndarray, np.ndarray]]
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        wanted = {c[0]: (c[1], c[2]) for c in chunks}
        seen = 0
        for chunk_id, block in self._cat.vec0_chunk_blocks(model.id):
            if chunk_id in wanted:
                slots, ids = wanted[chunk_id]
                seen += 1
                yield ids, block[slots]
        if seen != len(wanted):
            raise RuntimeError("sqlite-vec chunk tables changed while reading")

    def _file_path(self, model: Model) -> Path:
        if self._cache:
            try:
                self._cache_dir.mkdir(parents=True, exist_ok=True)
                probe = self._cache_dir / f".search-probe-{os.getpid()}"
                probe.touch()
                probe.unlink()
                return self.cache_path(model.id)
            except OSError as exc:
                log.warning("search cache folder %s not writable (%s)", self._cache_dir, exc)
        if self._tmpdir is None:
            self._tmpdir = tempfile.TemporaryDirectory(prefix="photoorg-search-")
        return Path(self._tmpdir.name) / f"search-m{model.id}.bin"

    def _alloc(self, n: int) -> None:
        assert self._model is not None
        cap = n + max(1024, n // 8)
        self._ids = np.zeros(cap, np.int64)
        self._alive = np.zeros(cap, bool)
        self._mat = np.zeros((cap, self._model.dim), self._scan.dtype)

    def _apply_changes(self, model: Model, seq: int) -> None:
        last: dict[int, str] = {}
        for _, pid, op in self._cat.vec_changes_since(model.id, self._seq):
            last[int(pid)] = op
        adds = [pid for pid, op in last.items() if op == "add"]
        dels = [pid for pid, op in last.items() if op == "del"]
        found, vecs = (
            self._cat.vectors_for_ids(model.id, adds)
            if adds
            else (np.empty(0, np.int64), np.empty((0, model.dim), np.float32))
        )
        if len(found) != len(adds):  # gone again within this snapshot: treat as deleted
            dels.extend(sorted(set(adds) - set(found.tolist())))
        self._delete_rows(np.array(sorted(dels), np.int64))
        self._upsert_rows(found, normalize_rows(vecs) if len(found) else vecs)
        self._changes_since_file += len(last)
        self._seq = seq
        if self._dead > max(1024, self._n // 4):
            self._rebuild(np.empty(0, np.int64), np.empty((0, model.dim), np.float32))
        if self._cache and len(self._overlay) > max(16_384, self._n // 32):
            with contextlib.suppress(OSError):
                self.save_cache()

    def _positions(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(rows, present mask) of ``ids`` in the sorted id array."""
        keys = self._ids[: self._n]
        pos = np.searchsorted(keys, ids)
        pos_clipped = np.minimum(pos, max(self._n - 1, 0))
        present = (pos < self._n) & (keys[pos_clipped] == ids) if self._n else np.zeros(
            len(ids), bool
        )
        return pos_clipped, present

    def _delete_rows(self, ids: np.ndarray) -> None:
        if not len(ids):
            return
        rows, present = self._positions(ids)
        rows = rows[present]
        newly_dead = self._alive[rows]
        self._dead += int(newly_dead.sum())
        self._alive[rows] = False
        for pid in ids.tolist():
            self._overlay.pop(pid, None)

    def _upsert_rows(self, ids: np.ndarray, rows32: np.ndarray) -> None:
        if not len(ids):
            return
        for pid, row in zip(ids.tolist(), rows32, strict=True):
            self._overlay[pid] = row.copy()
        converted = np.empty((len(ids), rows32.shape[1]), self._scan.dtype)
        self._scan.convert(rows32, converted)
        pos, present = self._positions(ids)
        if present.any():  # replaced vectors, or re-added after a delete
            rows = pos[present]
            self._dead -= int((~self._alive[rows]).sum())
            self._alive[rows] = True
            self._mat[rows] = converted[present]
        new = ~present
        if not new.any():
            return
        new_ids, new_rows = ids[new], converted[new]
        if self._n and new_ids[0] <= self._ids[self._n - 1]:
            self._rebuild(new_ids, new_rows)  # an id below the largest: keep ids sorted
            return
        need = self._n + len(new_ids)
        if need > len(self._ids):
            self._grow(need)
        self._ids[self._n : need] = new_ids
        self._alive[self._n : need] = True
        self._mat[self._n : need] = new_rows
        self._n = need

    def _grow(self, need: int) -> None:
        cap = max(need, int(len(self._ids) * 1.25) + 1024)
        ids = np.zeros(cap, np.int64)
        alive = np.zeros(cap, bool)
        mat = np.zeros((cap, self._mat.shape[1]), self._scan.dtype)
        ids[: self._n] = self._ids[: self._n]
        alive[: self._n] = self._alive[: self._n]
        mat[: self._n] = self._mat[: self._n]
        self._ids, self._alive, self._mat = ids, alive, mat

    def _rebuild(self, new_ids: np.ndarray, new_rows: np.ndarray) -> None:
        """Drop dead rows and merge ``new_ids`` (scan dtype rows) in id order."""
        keep = np.flatnonzero(self._alive[: self._n])
        ids = np.concatenate([self._ids[keep], new_ids])
        order = np.argsort(ids, kind="stable")
        n = len(ids)
        cap = n + max(1024, n // 8)
        mat = np.zeros((cap, self._mat.shape[1]), self._scan.dtype)
        n_old = len(keep)
        old_dest = np.empty(n, np.int64)
        old_dest[order] = np.arange(n)
        for at in range(0, n_old, _CHUNK_ROWS):
            part = keep[at : at + _CHUNK_ROWS]
            mat[old_dest[at : at + len(part)]] = self._mat[part]
        if len(new_ids):
            mat[old_dest[n_old:]] = new_rows
        self._ids = np.zeros(cap, np.int64)
        self._ids[:n] = ids[order]
        self._alive = np.zeros(cap, bool)
        self._alive[:n] = True
        self._mat = mat
        self._n = n
        self._dead = 0

    # -- the float32 copies ------------------------------------------------------------------

    def exact_vectors(self, ids: np.ndarray) -> np.ndarray:
        """Normalised float32 vectors of live photo ids (overlay first, then the file)."""
        assert self._model is not None
        out = np.empty((len(ids), self._model.dim), np.float32)
        if self._scan.exact:
            rows, present = self._positions(ids)
            if not present.all():
                raise KeyError("photo not in the index")
            out[:] = self._mat[rows]
            return out
        missing = np.ones(len(ids), bool)
        if self._overlay:
            for i, pid in enumerate(ids.tolist()):
                row = self._overlay.get(pid)
                if row is not None:
                    out[i] = row
                    missing[i] = False
        if missing.any():
            if self._file is None:
                raise KeyError("photo not in the index")
            want = ids[missing]
            file_ids = self._file.ids
            pos = np.searchsorted(file_ids, want)
            pos_c = np.minimum(pos, len(file_ids) - 1)
            if not len(file_ids) or not np.all(file_ids[pos_c] == want):
                raise KeyError("photo not in the index")
            out[missing] = self._file.rows[pos_c]
        return out

    def _should_save(self) -> bool:
        return self._seq != self._file_seq and self._changes_since_file >= max(
            SAVE_MIN_CHANGES, self._n // 50
        )

    def save_cache(self) -> Path | None:
        """Rewrite the cache file from the index's current state (atomic replace)."""
        with self._lock:
            model = self._model
            if model is None:
                return None
            live = np.flatnonzero(self._alive[: self._n])
            ids = self._ids[live]
            path = self._file_path(model)
            meta = {"model_id": model.id, "spec": model.spec, "seq": self._seq,
                    "catalog": str(self._cat.path)}
            tmp, mem = _CacheFile.create(path, meta, len(ids), model.dim)
            try:
                if mem is not None:
                    file_ids, file_rows = _CacheFile.views(mem, len(ids), model.dim)
                    file_ids[:] = ids
                    for at in range(0, len(ids), _CHUNK_ROWS):
                        part = ids[at : at + _CHUNK_ROWS]
                        file_rows[at : at + len(part)] = self.exact_vectors(part)
                    del file_ids, file_rows
                if os.name == "nt" and self._file is not None:  # cannot replace a mapped file
                    self._file.close()
                    self._file = None
                _CacheFile.commit(tmp, mem, path)
            except BaseException:
                with contextlib.suppress(OSError):
                    tmp.unlink()
                if self._file is None:  # the float32 copies are gone: reload on next sync
                    self._model = None
                raise
            old, self._file = self._file, _CacheFile.open(path)
            if old is not None:
                old.close()
            if self._file is None:
                self._model = None
                raise OSError(f"cannot reopen search cache {path}")
            self._file_seq = self._seq
            self._overlay = {}
            self._changes_since_file = 0
            return path

    # -- queries ----------------------------------------------------------------------------

    def query_vector(self, query: Query | str | np.ndarray, encoder: Encoder | None = None
                     ) -> np.ndarray:
        """The normalised float32 direction of a query."""
        if isinstance(query, str):
            query = parse_query(query)
        if isinstance(query, np.ndarray):
            query = Query((QueryPart("vector", query),))
        with self._lock:
            model = self._model
            if model is None:
                raise QueryError("the library has no searchable photos yet")
            total = np.zeros(model.dim, np.float64)
            texts = [p for p in query.parts if p.kind == "text"]
            images = [p for p in query.parts if p.kind == "image"]
            if texts:
                if encoder is None:
                    raise QueryError("this query needs the model to encode its text")
                emb = _check_dim(encoder.encode_texts([p.value for p in texts]), model.dim)
                for part, vec in zip(texts, normalize_rows(emb), strict=True):
                    total += part.weight * vec
            for part in images:
                vec = self._image_vector(Path(part.value), encoder, model)
                total += part.weight * vec
            for part in query.parts:
                if part.kind == "photo":
                    total += part.weight * self._photo_vector(int(part.value), model)
                elif part.kind == "vector":
                    vec = _check_dim(np.asarray(part.value, np.float32).reshape(1, -1),
                                     model.dim)
                    total += part.weight * normalize_rows(vec)[0]
            norm = float(np.linalg.norm(total))
            if not np.isfinite(norm) or norm < 1e-6:
                raise QueryError("the query's parts cancel out")
            return (total / norm).astype(np.float32)

    def _photo_vector(self, photo_id: int, model: Model) -> np.ndarray:
        vec = self._cat.vector(photo_id, model.id)
        if vec is None:
            raise QueryError(f"photo {photo_id} has no vector yet")
        return normalize_rows(vec)[0]

    def _image_vector(self, path: Path, encoder: Encoder | None, model: Model) -> np.ndarray:
        pid = self._cat.photo_id_for_path(path)
        if pid is not None:
            vec = self._cat.vector(pid, model.id)
            if vec is not None:
                return normalize_rows(vec)[0]
        if encoder is None:
            raise QueryError(f"{path} is not in the library; encoding it needs the model")
        from photoorg.core.media.imaging import DecodeError, decode_photo

        try:
            image = decode_photo(path, min_side=int(getattr(encoder, "image_size", 224))).image
        except (DecodeError, OSError) as exc:
            raise QueryError(f"cannot read {path}: {exc}") from exc
        emb = _check_dim(encoder.encode_images([image]), model.dim)
        return normalize_rows(emb)[0]

    def search(
        self,
        query: Query | str | np.ndarray,
        encoder: Encoder | None = None,
        *,
        filters: Filters | None = None,
        k: int = DEFAULT_K,
        offset: int = 0,
        min_score: float | None = None,
        exclude: Iterable[int] = (),
    ) -> list[SearchResult]:
        """Best matches first. ``query``: a :class:`Query`, an rclip-style string (see
        :func:`parse_query`) or a vector. Text and non-library image parts need ``encoder``.
        ``k``/``offset`` page through results; ``min_score`` drops weaker ones; ``exclude``
        leaves photo ids out."""
        return self.search_page(query, encoder, filters=filters, k=k, offset=offset,
                                min_score=min_score, exclude=exclude)[0]

    def search_page(
        self,
        query: Query | str | np.ndarray,
        encoder: Encoder | None = None,
        *,
        filters: Filters | None = None,
        k: int = DEFAULT_K,
        offset: int = 0,
        min_score: float | None = None,
        exclude: Iterable[int] = (),
        relevance: float | None = None,
    ) -> tuple[list[SearchResult], int, float | None]:
        """:meth:`search`, plus how many photos pass the score floor in all (the page's
        rows when there is none) and that floor: ``min_score``, raised to the query's
        relevance cut-off (see :data:`RELEVANCE`) when ``relevance`` is given."""
        if k < 0 or offset < 0:
            raise QueryError("k and offset must not be negative")
        with self._lock:
            self.sync()
            if self._model is None or k == 0:
                return [], 0, min_score
            qvec = self.query_vector(query, encoder)
            with self._cat.snapshot():  # filters, scores and paths from one snapshot
                self.sync()
                if self._model is None or self._model.dim != len(qvec):
                    return [], 0, min_score
                return self._search_vector(qvec, filters or Filters(), k, offset, min_score,
                                           exclude, relevance)

    @property
    def catalog(self) -> Catalog:
        """The index's own connection (reads in its snapshot while the lock is held)."""
        return self._cat

    def _typical_score(self, qvec: np.ndarray, full: np.ndarray | None = None) -> float:
        """The median score of the query over a fixed sample of the library's rows: taken
        from ``full`` (a scan of every row) when there is one, else scored on a cached copy
        of the sample rows (float32, single-threaded: ~1 ms)."""
        if full is not None and len(full) >= _SAMPLE_ROWS:
            sample = full[:: max(1, len(full) // _SAMPLE_ROWS)]
            sample = sample[np.isfinite(sample)]
            if len(sample):
                return float(np.median(sample))
        key = (self._n, self._dead, self._seq, id(self._mat))
        if self._sample is None or self._sample[0] != key:
            live = np.flatnonzero(self._alive[: self._n])
            if len(live) > _SAMPLE_ROWS:
                live = live[np.linspace(0, len(live) - 1, _SAMPLE_ROWS).astype(np.int64)]
            self._sample = (key, self._mat[live].astype(np.float32))
        rows = self._sample[1]
        if not len(rows):
            return 0.0
        return float(np.median(np.einsum("ij,j->i", rows, qvec.astype(np.float32))))

    def scores_for(self, ids: np.ndarray, qvec: np.ndarray) -> np.ndarray:
        """Exact cosines of photos ``ids`` to ``qvec``; NaN for photos without a vector."""
        with self._lock:
            out = np.full(len(ids), np.nan, np.float32)
            if self._model is None or not len(ids) or self._model.dim != len(qvec):
                return out
            rows, present = self._positions(np.asarray(ids, np.int64))
            present &= self._alive[rows] if len(rows) else present
            if present.any():
                out[present] = self.exact_vectors(np.asarray(ids, np.int64)[present]) @ qvec
            return out

    def video_moments(self, qvec: np.ndarray) -> dict[int, tuple[float, float]]:
        """``{video id: (best keyframe score, its second)}`` for the answering model
        (:mod:`photoorg.core.search.video_frames`)."""
        from photoorg.core.search.video_frames import best_moments

        with self._lock:
            if self._model is None or self._model.dim != len(qvec):
                return {}
            return best_moments(self._cat, self._model.id, qvec)

    def restrict(self, ids: np.ndarray, filters: Filters | None = None,
                 exclude: Iterable[int] = ()) -> np.ndarray:
        """The photos of ``ids`` that ``filters`` allow (skipped ones and offline drives
        left out as in search), sorted."""
        filters = filters or Filters()
        with self._lock:
            ids = np.unique(np.asarray(ids, np.int64))
            allowed = self._filter_ids(filters)
            if allowed is not None:
                ids = np.intersect1d(ids, allowed)
            banned = self._excluded_ids(filters)
            extra = np.fromiter((int(i) for i in exclude), np.int64)
            return np.setdiff1d(ids, np.union1d(banned, extra))

    def results_for(self, ids: Sequence[int], scores: Sequence[float]) -> list[SearchResult]:
        """Results (paths, offline marks) for photo ids in the given order."""
        with self._lock:
            return self._results(np.asarray(ids, np.int64), np.asarray(scores, np.float64))

    def search_text(self, encoder: Encoder, text: str, *, k: int = DEFAULT_K,
                    **kwargs: Any) -> list[SearchResult]:
        return self.search(parse_query(text), encoder, k=k, **kwargs)

    def similar_to_photo(self, photo_id: int, *, k: int = DEFAULT_K, include_self: bool = False,
                         **kwargs: Any) -> list[SearchResult]:
        """Right-click "Find similar" on a library photo."""
        return self.similar_to_photos([photo_id], k=k, include_self=include_self, **kwargs)

    def similar_to_photos(self, photo_ids: Sequence[int], *, k: int = DEFAULT_K,
                          include_self: bool = False, **kwargs: Any) -> list[SearchResult]:
        exclude = set(kwargs.pop("exclude", ()))
        if not include_self:
            exclude.update(int(p) for p in photo_ids)
        query = Query(tuple(QueryPart("photo", int(p)) for p in photo_ids))
        return self.search(query, k=k, exclude=exclude, **kwargs)

    def _search_vector(
        self,
        qvec: np.ndarray,
        filters: Filters,
        k: int,
        offset: int,
        min_score: float | None,
        exclude: Iterable[int],
        relevance: float | None = None,
    ) -> tuple[list[SearchResult], int, float | None]:
        want = offset + k
        n = self._n
        rows, banned = self._candidate_rows(filters, exclude)
        full = None
        if rows is None or len(rows) > n // 4:  # one pass over the whole matrix
            scores = full = self._scan.score(self._mat[:n], qvec)
            if self._dead:
                scores[~self._alive[:n]] = -np.inf
            if banned is not None:
                scores[banned] = -np.inf
            if rows is not None:
                scores = scores[rows]
        else:  # a small allowed set: score only its rows
            scores = self._scan.score(self._mat[rows], qvec)
        if not len(scores):
            return [], 0, min_score
        floor = -np.inf if min_score is None else float(min_score)
        if relevance is not None:
            best = float(scores.max())
            if math.isfinite(best):
                typical = self._typical_score(qvec, full)
                floor = max(floor, typical + relevance * max(best - typical, 0.0))
                min_score = floor
        margin = 0.0 if self._scan.exact else 2 * F16_SCORE_ERROR
        kth = -np.inf
        if want < len(scores):
            top = np.argpartition(scores, len(scores) - want)[len(scores) - want :]
            kth = float(scores[top].min())
        threshold = max(kth, floor) - margin
        cand = (
            np.flatnonzero(np.isfinite(scores))
            if threshold == -np.inf
            else np.flatnonzero(scores >= threshold)
        )
        limit = max(MAX_RESCORE, want)
        if len(cand) > limit:
            keep = np.argpartition(scores[cand], len(cand) - limit)[len(cand) - limit :]
            cand = cand[keep]
        cand_ids = self._ids[cand if rows is None else rows[cand]]
        exact = scores[cand] if self._scan.exact else self.exact_vectors(cand_ids) @ qvec
        keep_mask = exact >= floor
        cand_ids, exact = cand_ids[keep_mask], exact[keep_mask]
        order = np.lexsort((cand_ids, -exact))
        page = order[offset:want]
        # how many pass min_score in all: the scan's scores (float16: exact up to ties at
        # the floor within F16_SCORE_ERROR)
        total = int(np.count_nonzero(scores >= floor)) if min_score is not None else len(page)
        return self._results(cand_ids[page], exact[page]), total, min_score

    def _candidate_rows(
        self, filters: Filters, exclude: Iterable[int]
    ) -> tuple[np.ndarray | None, np.ndarray | None]:
        """``(allowed live rows or None for all, banned rows or None)``."""
        allowed = self._filter_ids(filters)
        banned = self._excluded_ids(filters)
        extra = np.fromiter((int(i) for i in exclude), np.int64)
        if len(extra):
            banned = np.union1d(banned, extra)
        if allowed is not None:
            if len(banned):
                allowed = np.setdiff1d(allowed, banned)
            rows, present = self._positions(np.unique(allowed))
            rows = rows[present]
            return rows[self._alive[rows]], None
        if not len(banned):
            return None, None
        rows, present = self._positions(np.unique(banned))
        return None, rows[present]

    def filter_ids(self, filters: Filters) -> list[int]:
        """Every searchable photo passing ``filters`` (a saved-search album without text)."""
        with self._lock, self._cat.snapshot():
            ids = self._filter_ids(filters)
            banned = self._excluded_ids(filters)
            if ids is None:
                ids = np.array([r[0] for r in self._cat.query("SELECT id FROM photos")],
                               np.int64)
            return [int(i) for i in np.setdiff1d(ids, banned)]

    def _filter_ids(self, filters: Filters) -> np.ndarray | None:
        if not filters.restricts:
            return None
        conds: list[str] = []
        params: list[Any] = []
        if filters.folder is not None:
            cond, args = self._folder_condition(Path(filters.folder))
            conds.append(cond)
            params += args
        if filters.after is not None:
            conds.append("p.taken_at >= ?")
            params.append(to_timestamp(filters.after))
        if filters.before is not None:
            conds.append("p.taken_at < ?")
            params.append(to_timestamp(filters.before))
        if filters.exts:
            exts = sorted({_norm_ext(e) for e in filters.exts})
            conds.append(f"p.ext IN ({','.join('?' * len(exts))})")
            params += exts
        for tag in filters.tags:
            # user, sidecar and cluster-derived tags, hierarchical ("People" ⊇ "People|Alice")
            cond, args = tag_filter_sql(self._cat, tag)
            conds.append(cond)
            params += args
        if filters.person is not None:
            conds.append("p.id IN (SELECT photo_id FROM faces WHERE cluster_id = ?)")
            params.append(int(filters.person))
        if filters.place is not None:
            conds.append(
                "p.id IN (SELECT photo_id FROM cluster_photos WHERE cluster_id = ? "
                "AND source != 'rejected')"
            )
            params.append(int(filters.place))
        if filters.has_text:
            conds.append(has_text_sql("p.id"))
        if filters.min_rating is not None:
            cond, args = rating_filter_sql(filters.min_rating)
            conds.append(cond)
            params += args
        rows = self._cat.query(f"SELECT p.id FROM photos p WHERE {' AND '.join(conds)}", params)
        return np.fromiter((r[0] for r in rows), np.int64, count=len(rows))

    def _folder_condition(self, folder: Path) -> tuple[str, list[Any]]:
        target = folder.expanduser().absolute()
        ors: list[str] = []
        args: list[Any] = []
        for root in self._cat.roots():
            if root.path == target or root.path.is_relative_to(target):
                ors.append("p.root_id = ?")
                args.append(root.id)
            elif target.is_relative_to(root.path):
                rel = PurePosixPath(target.relative_to(root.path).as_posix()).as_posix()
                # two index ranges (an OR of them makes SQLite scan the whole root)
                ors.append(
                    "p.id IN (SELECT id FROM photos WHERE root_id = ? AND folder = ? UNION ALL "
                    "SELECT id FROM photos WHERE root_id = ? AND folder > ? AND folder < ?)"
                )
                args += [root.id, rel, root.id, rel + "/", rel + "0"]
        return ("(" + " OR ".join(ors) + ")" if ors else "0"), args

    def _excluded_ids(self, filters: Filters) -> np.ndarray:
        parts = [r[0] for r in self._cat.query(  # unreadable, or file gone (kept missing)
            "SELECT id FROM photos WHERE status = 'skipped' UNION ALL "  # two index lookups
            "SELECT id FROM photos WHERE missing_since IS NOT NULL UNION ALL "
            + STACKED_AWAY)]  # a stack is found once, by its cover (core.groups.stacks)
        if not filters.include_offline:
            offline = [r.id for r in self._cat.roots() if not r.online]
            for root_id in offline:
                parts += [r[0] for r in self._cat.query(
                    "SELECT id FROM photos WHERE root_id = ?", (root_id,))]
        return np.array(parts, np.int64)

    def _results(self, ids: np.ndarray, scores: np.ndarray) -> list[SearchResult]:
        if not len(ids):
            return []
        roots = {r.id: r for r in self._cat.roots()}
        where: dict[int, tuple[int, str]] = {}
        id_list = ids.tolist()
        for pid, root_id, rel in self._cat.query_in(
            "SELECT id, root_id, rel_path FROM photos WHERE id IN {ids}", id_list
        ):
            where[pid] = (root_id, rel)
        out = []
        for pid, score in zip(id_list, scores.tolist(), strict=True):
            if pid not in where:
                continue  # removed since this snapshot
            root_id, rel = where[pid]
            root = roots[root_id]
            out.append(SearchResult(pid, root.path / PurePosixPath(rel), float(score),
                                    offline=not root.online))
        return out

    # -- duplicates ---------------------------------------------------------------------------

    def find_duplicates(
        self,
        threshold: float = DEFAULT_DUPLICATE_THRESHOLD,
        *,
        filters: Filters | None = None,
        block: int = 2048,
        progress: Callable[[int, int], None] | None = None,
        rank: Callable[[int], Any] | None = None,
    ) -> list[list[SearchResult]]:
        """Groups of near-identical photos (see :func:`find_duplicates`)."""
        with self._lock:
            pairs = self.duplicate_pairs(threshold, filters=filters, block=block,
                                         progress=progress)
            groups: list[list[SearchResult]] = []
            for group in keeper_groups(pairs, rank):
                ids, scores = zip(*group, strict=True)
                groups.append(self._results(np.array(ids, np.int64),
                                            np.array(scores, np.float64)))
            return [g for g in groups if len(g) > 1]

    def duplicate_pairs(
        self,
        threshold: float = DEFAULT_DUPLICATE_THRESHOLD,
        *,
        filters: Filters | None = None,
        block: int = 2048,
        progress: Callable[[int, int], None] | None = None,
    ) -> list[tuple[int, int, float]]:
        """Every pair of photos at least ``threshold`` alike: ``(photo id, photo id, cosine)``,
        the smaller id first, the cosine exact (float32)."""
        with self._lock:
            self.sync()
            if self._model is None:
                return []
            rows, banned = self._candidate_rows(filters or Filters(), ())
            if rows is None:
                mask = self._alive[: self._n].copy()
                if banned is not None:
                    mask[banned] = False
                rows = np.flatnonzero(mask)
            ids = self._ids[rows].tolist()
            return [(ids[i], ids[j], score) for i, j, score
                    in self._similar_pairs(rows, threshold, block, progress)]

    def _similar_pairs(
        self,
        rows: np.ndarray,
        threshold: float,
        block: int,
        progress: Callable[[int, int], None] | None,
    ) -> list[tuple[int, int, float]]:
        """Index pairs (into ``rows``) with cosine >= threshold and that cosine, blockwise
        (never m x m)."""
        m = len(rows)
        dim = self._mat.shape[1]
        margin = 0.0 if self._scan.exact else 2 * F16_SCORE_ERROR
        full = None
        if m * dim * 4 <= 512 << 20:
            full = self._rows32(rows)

        def part(a: int, b: int) -> np.ndarray:
            return full[a:b] if full is not None else self._rows32(rows[a:b])

        found: list[tuple[int, int, float]] = []
        col_block = max(block, 8192)
        for a in range(0, m, block):
            left = part(a, min(a + block, m))
            for c in range(a, m, col_block):
                right = part(c, min(c + col_block, m))
                sims = left @ right.T
                hit_i, hit_j = np.nonzero(sims >= threshold - margin)
                upper = hit_j + c > hit_i + a
                hit_i, hit_j = hit_i[upper], hit_j[upper]
                found.extend(zip((hit_i + a).tolist(), (hit_j + c).tolist(),
                                 sims[hit_i, hit_j].tolist(), strict=True))
            if progress is not None:
                progress(min(a + block, m), m)
        if margin and found:  # confirm (and score) with the float32 copies
            pair_arr = np.array([(i, j) for i, j, _ in found], np.int64)
            ids = self._ids[rows]
            exact = np.empty(len(pair_arr), np.float32)
            for s in range(0, len(pair_arr), 65536):
                chunk = pair_arr[s : s + 65536]
                va = self.exact_vectors(ids[chunk[:, 0]])
                vb = self.exact_vectors(ids[chunk[:, 1]])
                exact[s : s + len(chunk)] = np.einsum("ij,ij->i", va, vb)
            keep = exact >= threshold
            found = list(zip(*pair_arr[keep].T.tolist(), exact[keep].tolist(), strict=True))
        return found

    def _rows32(self, rows: np.ndarray) -> np.ndarray:
        out = np.empty((len(rows), self._mat.shape[1]), np.float32)
        for at in range(0, len(rows), _CHUNK_ROWS):
            part = rows[at : at + _CHUNK_ROWS]
            out[at : at + len(part)] = self._mat[part]
        return out


def keeper_groups(
    pairs: Iterable[tuple[int, int, float]],
    rank: Callable[[int], Any] | None = None,
) -> list[list[tuple[int, float]]]:
    """Near-duplicate groups from the pairs at least the threshold alike, each group a keeper
    and photos alike *to it* -- never a chain (A~B, B~C) that would put C, unlike A, with A.

    Greedy star clustering in keeper order: the best photo by ``rank`` (sort key of a photo
    id; default the id) that is in no group yet keeps all its look-alikes that are in no
    group yet; then the next. Every member reaches the threshold against its keeper, each
    keeper is the best-ranked photo of its group, and the result depends only on the pairs
    and the ranking, not on the order photos were added or pairs listed. Each group:
    ``[(keeper, 1.0), (photo, cosine to the keeper), ...]`` best match first (ties by rank);
    groups with the most photos first, then by their keeper's rank. Photos with no
    look-alike left form no group."""
    key = rank or (lambda pid: pid)
    near: dict[int, dict[int, float]] = {}
    for a, b, score in pairs:
        if a != b:
            near.setdefault(a, {})[b] = score
            near.setdefault(b, {})[a] = score
    taken: set[int] = set()
    groups: list[list[tuple[int, float]]] = []
    for keeper in sorted(near, key=lambda pid: (key(pid), pid)):
        if keeper in taken:
            continue
        taken.add(keeper)
        alike = [(pid, s) for pid, s in near[keeper].items() if pid not in taken]
        if not alike:
            continue
        taken.update(pid for pid, _ in alike)
        alike.sort(key=lambda m: (-m[1], key(m[0]), m[0]))
        groups.append([(keeper, 1.0), *alike])
    groups.sort(key=len, reverse=True)  # stable: keeper order within a size
    return groups


def _check_dim(mat: np.ndarray, dim: int) -> np.ndarray:
    mat = np.asarray(mat, dtype=np.float32)
    if mat.ndim != 2 or mat.shape[1] != dim:
        raise QueryError(f"query vectors have shape {mat.shape}; the library's model has {dim}")
    return mat


def find_duplicates(
    index: SearchIndex | Catalog | str | os.PathLike[str],
    threshold: float = DEFAULT_DUPLICATE_THRESHOLD,
    **kwargs: Any,
) -> list[list[SearchResult]]:
    """Groups of near-identical photos: every photo of a group is at least ``threshold``
    (default :data:`DEFAULT_DUPLICATE_THRESHOLD`) alike to the group's first photo, its keeper
    (see :func:`keeper_groups`; ``rank``: the keeper preference, else the lowest photo id).
    Blockwise matmul: memory stays O(block x 8192) whatever the library size; time is
    O(n^2 d): 20k photos take 2 s and 100k 47 s on the 2-core dev box (13 s for 20k when
    busy). Each group starts with its keeper (score 1.0); the others follow with their
    cosine to it. Largest groups first."""
    if isinstance(index, SearchIndex):
        return index.find_duplicates(threshold, **kwargs)
    with SearchIndex(index) as owned:
        return owned.find_duplicates(threshold, **kwargs)
