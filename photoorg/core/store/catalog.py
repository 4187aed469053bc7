"""The one SQLite connection layer: schema, migrations, transactions, and every query.

One library is one SQLite file opened through apsw (the stdlib ``sqlite3`` cannot load
extensions on many Python builds) with sqlite-vec loaded. WAL mode; one writer
connection per process, readers open their own. Paths are stored relative to a library
root (digiKam's AlbumRoots idea) so a drive that comes back under another letter is
re-pointed, not re-indexed, and a missing root means *offline*, never *deleted*.

Vectors live in one sqlite-vec ``vec0`` table per model (``vec_m<model id>``), rowid =
photo id. Every vector insert/delete is appended to ``vec_log`` so in-memory search
indexes (possibly in other processes) can follow changes incrementally.

Schema version lives in ``PRAGMA user_version`` as ``(major << 16) | minor``: a newer
*minor* only adds things and is opened as is; a newer *major* is refused.
"""

from __future__ import annotations

import contextlib
import shutil
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import apsw
import numpy as np
import sqlite_vec

from photoorg.core.media.boxes import match_boxes
from photoorg.core.media.platform_paths import (
    canonical_root,
    match_key,
    native_fold_case,
    nfc,
    spellings,
    split_under_root,
)
from photoorg.core.store.failures import SUFFIX as FAILED_SUFFIX
from photoorg.core.store.failures import waiting_sql
from photoorg.core.store.schema import MIGRATIONS
from photoorg.core.store.vectors import VectorIO, vec_table, vector_blob  # noqa: F401 (API)

SCHEMA_MAJOR = 1
# a face nobody decided on (automatic, never rejected for anyone): re-detection replaces it
# A photo shown only inside its stack (a stacked stack's member other than its cover): the
# views that count pictures (events, places, search) count the stack once, by its cover.
STACKED_AWAY = (
    "SELECT m.photo_id FROM stack_members m JOIN stacks s ON s.id = m.stack_id "
    "WHERE s.state = 'stacked' AND m.photo_id != s.cover_id"
)


def shown_as(column: str) -> str:
    """SQL for the photo that stands for ``column`` (a photo id): the cover of its stack
    while it is stacked, else itself, so a RAW+JPEG pair or a burst counts once."""
    return ("COALESCE((SELECT s.cover_id FROM stack_members m JOIN stacks s ON "
            f"s.id = m.stack_id WHERE m.photo_id = {column} AND s.state = 'stacked'), "
            f"{column})")

_UNDECIDED_FACE = (
    "source = 'auto' AND NOT EXISTS (SELECT 1 FROM face_rejections r WHERE r.face_id = faces.id)"
)
# vec_log entries kept by compaction: an index that far behind reloads rather than replays
VEC_LOG_KEEP = 100_000

STATUS_PENDING = "pending"
STATUS_INDEXED = "indexed"
STATUS_SKIPPED = "skipped"
STATUS_OFFLINE = "offline"  # derived: a photo whose root is offline

IN_CHUNK = 900  # ids per ``IN (...)`` in :meth:`Catalog.query_in` (SQLite's limit is 32766)


class Rows(list):
    """A statement's rows, all read (what :meth:`Catalog.execute` returns): used like the
    cursor it replaces (``fetchone``, ``fetchall``, iteration)."""

    def fetchone(self) -> Any:
        return self[0] if self else None

    def fetchall(self) -> list[Any]:
        return list(self)


class CatalogError(RuntimeError):
    """The catalog file cannot be used (newer major version, corrupt file, ...)."""


@dataclass(frozen=True)
class Root:
    id: int
    path: Path
    online: bool
    watch_mode: str


@dataclass(frozen=True)
class PhotoRow:
    id: int
    root_id: int
    rel_path: str
    path: Path
    size: int
    mtime: float
    content_hash: str | None
    status: str
    model_id: int | None


@dataclass(frozen=True)
class Model:
    id: int
    spec: str
    dim: int


def encode_version(major: int, minor: int) -> int:
    return (major << 16) | minor


def decode_version(value: int) -> tuple[int, int]:
    return value >> 16, value & 0xFFFF


def folder_of(rel_path: str) -> str:
    parent = str(PurePosixPath(rel_path).parent)
    return "" if parent == "." else parent


class Catalog(VectorIO):
    """A library's SQLite file. Use as a context manager or call :meth:`close`."""

    def __init__(self, path: str | Path, *, readonly: bool = False) -> None:
        self.path = Path(path)
        self.readonly = readonly
        self._lock = threading.RLock()
        flags = apsw.SQLITE_OPEN_READONLY if readonly else (
            apsw.SQLITE_OPEN_READWRITE | apsw.SQLITE_OPEN_CREATE
        )
        existed = self.path.exists() and self.path.stat().st_size > 0
        if not readonly:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.conn = apsw.Connection(str(self.path), flags=flags)
        except apsw.Error as exc:
            raise CatalogError(f"cannot open catalog {self.path}: {exc}") from exc
        self.conn.enable_load_extension(True)
        self.conn.load_extension(sqlite_vec.loadable_path())
        self.conn.enable_load_extension(False)
        self.conn.set_busy_timeout(10_000)
        self.conn.execute("PRAGMA foreign_keys = ON")
        if not readonly:
            self.conn.execute("PRAGMA journal_mode = WAL")
            self.conn.execute("PRAGMA synchronous = NORMAL")
        self._migrate(existed)

    # -- lifecycle -------------------------------------------------------------------

    def close(self) -> None:
        with self._lock:
            self.conn.close()

    def __enter__(self) -> Catalog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _migrate(self, existed: bool) -> None:
        current = self.conn.execute("PRAGMA user_version").get or 0
        major, minor = decode_version(current)
        if current and major > SCHEMA_MAJOR:
            raise CatalogError(
                f"{self.path} was written by a newer photoorg (schema {major}.{minor}); "
                f"this version reads schema {SCHEMA_MAJOR}.x. Update photoorg."
            )
        if current and major < SCHEMA_MAJOR:
            raise CatalogError(f"{self.path} has an unknown old schema {major}.{minor}")
        if minor >= len(MIGRATIONS):
            return  # same or newer minor: additive changes only, safe to use
        if self.readonly:
            raise CatalogError(f"{self.path} needs a schema upgrade; open it read-write once")
        if existed and current:
            backup = self.path.with_name(f"{self.path.name}.bak-{major}.{minor}")
            self.conn.wal_checkpoint(mode=apsw.SQLITE_CHECKPOINT_TRUNCATE)
            shutil.copy2(self.path, backup)
        for number in range(minor, len(MIGRATIONS)):
            with self.conn:
                self.conn.execute(MIGRATIONS[number])
                self.conn.execute(
                    f"PRAGMA user_version = {encode_version(SCHEMA_MAJOR, number + 1)}"
                )

    @property
    def schema_version(self) -> tuple[int, int]:
        return decode_version(self.conn.execute("PRAGMA user_version").get)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[apsw.Connection]:
        """One atomic unit of work (nests as a savepoint).

        The outermost one begins IMMEDIATE: it takes the write lock up front (waiting up to
        the busy timeout). A deferred transaction that reads and then writes fails at once
        with "database is locked" when another process (the indexer service, a CLI) committed
        in between, because SQLite cannot upgrade a stale read snapshot.
        """
        with self._lock:
            if self.readonly or not self.conn.getautocommit():
                with self.conn:
                    yield self.conn
                return
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            self.conn.execute("COMMIT")

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[apsw.Connection]:
        """One consistent read view (a deferred transaction; nests). Unlike
        :meth:`transaction` it takes no write lock: WAL readers never hold up the writer."""
        with self._lock:
            if not self.conn.getautocommit():
                yield self.conn
                return
            self.conn.execute("BEGIN")
            try:
                yield self.conn
            finally:
                if not self.conn.getautocommit():
                    self.conn.execute("ROLLBACK")

    def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> Rows:
        """Run one statement; its rows are read while the lock is held (a cursor stepped
        later would interleave with another thread's statements on this connection)."""
        with self._lock:
            return Rows(self.conn.execute(sql, params))

    def query(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[tuple]:
        with self._lock:
            return list(self.conn.execute(sql, params))

    def query_in(self, sql: str, ids: Iterable[int], params: Sequence[Any] = ()) -> list[tuple]:
        """Rows of ``sql`` for any number of ids: ``{ids}`` in ``sql`` stands for the
        ``(?, ?, ...)`` of one chunk of at most :data:`IN_CHUNK` ids, run once per chunk;
        ``params`` are the parameters before it. Order across chunks is the ids' order."""
        id_list = [int(i) for i in ids]
        rows: list[tuple] = []
        for start in range(0, len(id_list), IN_CHUNK):
            part = id_list[start : start + IN_CHUNK]
            rows += self.query(sql.replace("{ids}", "(" + ",".join("?" * len(part)) + ")"),
                               [*params, *part])
        return rows

    def scalar(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> Any:
        with self._lock:
            row = self.conn.execute(sql, params).fetchone()
        return None if row is None else row[0]

    def integrity_check(self) -> str:
        return self.scalar("PRAGMA integrity_check")

    # -- meta ------------------------------------------------------------------------

    def get_meta(self, key: str, default: str | None = None) -> str | None:
        value = self.scalar("SELECT value FROM meta WHERE key = ?", (key,))
        return default if value is None else value

    def set_meta(self, key: str, value: str) -> None:
        self.execute(
            "INSERT INTO meta(key, value) VALUES(?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    # -- roots and exclusions --------------------------------------------------------

    def add_root(self, path: str | Path) -> Root:
        resolved = canonical_root(path)
        with self.transaction():
            self.execute(
                "INSERT INTO roots(path, added_at) VALUES(?, ?) ON CONFLICT(path) DO NOTHING",
                (resolved, time.time()),
            )
        root = self.root_by_path(resolved)
        assert root is not None
        return root

    def roots(self) -> list[Root]:
        rows = self.query("SELECT id, path, online, watch_mode FROM roots ORDER BY path")
        return [Root(r[0], Path(r[1]), bool(r[2]), r[3]) for r in rows]

    def root(self, root_id: int) -> Root | None:
        return next((r for r in self.roots() if r.id == root_id), None)

    def root_by_path(self, path: str | Path) -> Root | None:
        resolved = Path(canonical_root(path))  # as add_root stored it
        return next((r for r in self.roots() if r.path == resolved), None)

    def root_for_file(self, path: str | Path) -> tuple[Root, str] | None:
        """The root holding ``path`` (deepest wins) and the path relative to it."""
        target = Path(path).expanduser().absolute()
        roots = self.roots()
        # case-insensitive where the OS's file systems are; any Unicode normalisation
        found = split_under_root(target, [r.path for r in roots], fold_case=native_fold_case())
        return None if found is None else (roots[found[0]], found[1] or ".")

    def set_root_online(self, root_id: int, online: bool) -> None:
        self.execute("UPDATE roots SET online = ? WHERE id = ?", (int(online), root_id))

    def set_root_watch_mode(self, root_id: int, mode: str) -> None:
        self.execute("UPDATE roots SET watch_mode = ? WHERE id = ?", (mode, root_id))

    def relocate_root(self, root_id: int, new_path: str | Path) -> None:
        """Re-point a root (drive letter changed, share mounted elsewhere): nothing re-indexed."""
        self.execute(
            "UPDATE roots SET path = ? WHERE id = ?",
            (canonical_root(new_path), root_id),
        )

    def mark_scanned(self, root_id: int) -> None:
        self.execute("UPDATE roots SET last_scan_at = ? WHERE id = ?", (time.time(), root_id))

    def remove_root(self, root_id: int) -> None:
        """Forget a folder: its photos leave the catalog; files on disk are untouched."""
        with self.transaction():
            self.execute("DELETE FROM roots WHERE id = ?", (root_id,))

    def exclusions(self) -> list[str]:
        return [r[0] for r in self.query("SELECT pattern FROM exclusions ORDER BY pattern")]

    def add_exclusion(self, pattern: str) -> None:
        self.execute("INSERT OR IGNORE INTO exclusions(pattern) VALUES(?)", (pattern,))

    def remove_exclusion(self, pattern: str) -> None:
        self.execute("DELETE FROM exclusions WHERE pattern = ?", (pattern,))

    # -- models ----------------------------------------------------------------------

    def ensure_model(self, spec: str, dim: int) -> Model:
        """Register a model and its vec0 table (idempotent)."""
        with self.transaction():
            self.execute(
                "INSERT INTO models(spec, dim, created_at) VALUES(?, ?, ?) "
                "ON CONFLICT(spec) DO NOTHING",
                (spec, dim, time.time()),
            )
            model = self.model_by_spec(spec)
            assert model is not None
            if model.dim != dim:
                raise CatalogError(f"model {spec} was registered with dim {model.dim}, not {dim}")
            table = vec_table(model.id)
            self.execute(
                f"CREATE VIRTUAL TABLE IF NOT EXISTS {table} USING vec0(embedding float[{dim}])"
            )
            self.execute(
                f"CREATE TRIGGER IF NOT EXISTS {table}_photo_gone AFTER DELETE ON photos "
                f"WHEN OLD.status != 'skipped' BEGIN "
                f"DELETE FROM {table} WHERE rowid = OLD.id; "
                f"INSERT INTO vec_log(model_id, photo_id, op) VALUES({model.id}, OLD.id, 'del'); "
                "END"
            )
        return model

    def model_by_spec(self, spec: str) -> Model | None:
        row = self.execute("SELECT id, spec, dim FROM models WHERE spec = ?", (spec,)).fetchone()
        return Model(*row) if row else None

    def model(self, model_id: int) -> Model | None:
        row = self.execute(
            "SELECT id, spec, dim FROM models WHERE id = ?", (model_id,)
        ).fetchone()
        return Model(*row) if row else None

    def active_model(self) -> Model | None:
        """The model whose vectors answer searches now."""
        value = self.get_meta("active_model")
        return self.model(int(value)) if value else None

    def target_model(self) -> Model | None:
        """The model the indexer embeds with (differs from active while switching)."""
        value = self.get_meta("target_model")
        return self.model(int(value)) if value else self.active_model()

    def set_target_model(self, spec: str, dim: int) -> Model:
        """Choose the library's model. The first one becomes active at once; a later one
        becomes active when every photo has its vector (see :meth:`maybe_switch_model`)."""
        model = self.ensure_model(spec, dim)
        with self.transaction():
            self.set_meta("target_model", str(model.id))
            if self.active_model() is None:
                self.set_meta("active_model", str(model.id))
        return model

    def maybe_switch_model(self) -> bool:
        """Make the target model active once every photo that can be read has its vector.

        Photos on offline folders do not hold the switch back (an unplugged drive may stay
        away for months): they keep their old vectors and are re-embedded when they come
        back. The old model's table goes only when no photo needs it any more
        (:meth:`retire_old_models`)."""
        active, target = self.active_model(), self.target_model()
        if target is None or active is None or active.id == target.id:
            self.retire_old_models()
            return False
        if self.count_pending_embedding(target.id):
            return False
        with self.transaction():
            self.set_meta("active_model", str(target.id))
            self.retire_old_models()
        return True

    def retire_old_models(self) -> list[int]:
        """Drop the vectors of models that neither answer searches nor are being embedded,
        once no photo still waits for the active model (offline photos keep their old
        vectors until they have the new one). Returns the model ids dropped."""
        active = self.active_model()
        if active is None:
            return []
        waiting = self.scalar(
            "SELECT COUNT(*) FROM photos WHERE status != 'skipped' "
            "AND (model_id IS NOT ? OR status = 'pending')",
            (active.id,),
        )
        if waiting:
            return []
        target = self.target_model()
        keep = {active.id, target.id if target else active.id}
        dropped = []
        with self.transaction():
            for (model_id,) in self.query("SELECT id FROM models"):
                if model_id in keep or not self._table_exists(vec_table(model_id)):
                    continue
                self.execute(f"DROP TABLE IF EXISTS {vec_table(model_id)}")
                self.execute(f"DROP TRIGGER IF EXISTS {vec_table(model_id)}_photo_gone")
                self.execute("DELETE FROM vec_log WHERE model_id = ?", (model_id,))
                dropped.append(model_id)
        return dropped

    def has_vector_table(self, model_id: int) -> bool:
        return self._table_exists(vec_table(model_id))

    def count_searchable(self, model_id: int) -> tuple[int, int]:
        """``(photos with a vector of model_id, photos that could have one)``: what a
        search with that model covers, and what it would cover with every vector there."""
        total = self.scalar("SELECT COUNT(*) FROM photos WHERE status != 'skipped'")
        if not self._table_exists(vec_table(model_id)):
            return 0, int(total)
        return int(self.vector_count(model_id)), int(total)

    def photos_with_vector(self, model_id: int, ids: Iterable[int]) -> set[int]:
        """Which of ``ids`` have a vector of ``model_id``."""
        if not self._table_exists(vec_table(model_id)):
            return set()
        wanted = [int(i) for i in ids]
        table = vec_table(model_id)
        source = f"{table}_rowids" if self.vec0_chunk_index_usable(model_id) else table
        return {r for (r,) in self.query_in(f"SELECT rowid FROM {source} WHERE rowid IN {{ids}}",
                                            wanted)}

    def store_extra_vector(self, photo_id: int, model_id: int, vector: np.ndarray) -> None:
        """Store a vector of a model that is not the photo's target (the active model during
        a switch, so a new photo is searchable at once); the photo's state is untouched.
        Call inside a transaction."""
        table = vec_table(model_id)
        self.execute(f"DELETE FROM {table} WHERE rowid = ?", (photo_id,))
        self.execute(
            f"INSERT INTO {table}(rowid, embedding) VALUES(?, ?)", (photo_id, vector_blob(vector))
        )
        self.execute(
            "INSERT INTO vec_log(model_id, photo_id, op) VALUES(?, ?, 'add')", (model_id, photo_id)
        )

    # -- photos ----------------------------------------------------------------------

    def photo_path(self, root_id: int, rel_path: str) -> Path:
        root = self.root(root_id)
        assert root is not None
        return root.path / PurePosixPath(rel_path)

    def photos_in_root(self, root_id: int) -> dict[str, PhotoRow]:
        root = self.root(root_id)
        assert root is not None
        rows = self.query(
            "SELECT id, root_id, rel_path, size, mtime, content_hash, status, model_id "
            "FROM photos WHERE root_id = ?",
            (root_id,),
        )
        return {
            r[2]: PhotoRow(r[0], r[1], r[2], root.path / PurePosixPath(r[2]), *r[3:])
            for r in rows
        }

    def photo(self, photo_id: int) -> PhotoRow | None:
        row = self.execute(
            "SELECT p.id, p.root_id, p.rel_path, r.path, p.size, p.mtime, p.content_hash, "
            "p.status, p.model_id FROM photos p JOIN roots r ON r.id = p.root_id "
            "WHERE p.id = ?",
            (photo_id,),
        ).fetchone()
        if row is None:
            return None
        return PhotoRow(row[0], row[1], row[2], Path(row[3]) / PurePosixPath(row[2]), *row[4:])

    def photo_id_for_path(self, path: str | Path) -> int | None:
        found = self.root_for_file(path)
        if found is None:
            return None
        root, rel = found
        # the name as typed, in NFC or in NFD (macOS lists NFD names; people type NFC)
        forms = spellings(rel)
        marks = ",".join("?" * len(forms))
        photo_id = self.scalar(
            f"SELECT id FROM photos WHERE root_id = ? AND rel_path IN ({marks})",
            (root.id, *forms),
        )
        if photo_id is None and native_fold_case():
            key = match_key(rel, fold_case=True)
            photo_id = next(
                (
                    pid
                    for pid, stored in self.query(
                        "SELECT id, rel_path FROM photos WHERE root_id = ? "
                        "AND rel_path = ? COLLATE NOCASE",
                        (root.id, nfc(rel)),
                    )
                    if match_key(stored, fold_case=True) == key
                ),
                None,
            )
        return photo_id

    def paths_for_ids(self, ids: Iterable[int]) -> dict[int, Path]:
        """Absolute paths for photo ids (missing ids are left out)."""
        id_list = [int(i) for i in ids]
        if not id_list:
            return {}
        roots = {r.id: r.path for r in self.roots()}
        out: dict[int, Path] = {}
        for chunk_start in range(0, len(id_list), 900):
            chunk = id_list[chunk_start : chunk_start + 900]
            marks = ",".join("?" * len(chunk))
            for pid, root_id, rel in self.query(
                f"SELECT id, root_id, rel_path FROM photos WHERE id IN ({marks})", chunk
            ):
                out[pid] = roots[root_id] / PurePosixPath(rel)
        return out

    def add_photo(
        self, root_id: int, rel_path: str, size: int, mtime: float, content_hash: str | None
    ) -> int:
        """Queue a new file (status pending)."""
        ext = PurePosixPath(rel_path).suffix.lower()
        cur = self.execute(
            "INSERT INTO photos(root_id, rel_path, folder, ext, size, mtime, content_hash, "
            "added_at) VALUES(?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (root_id, rel_path, folder_of(rel_path), ext, size, mtime, content_hash, time.time()),
        )
        return cur.fetchone()[0]

    def move_photo(self, photo_id: int, root_id: int, rel_path: str, mtime: float) -> None:
        """A file moved or renamed: same row, so vector, faces, names and tags stay."""
        self.execute(
            "UPDATE photos SET root_id = ?, rel_path = ?, folder = ?, ext = ?, mtime = ?, "
            "missing_since = NULL WHERE id = ?",
            (
                root_id,
                rel_path,
                folder_of(rel_path),
                PurePosixPath(rel_path).suffix.lower(),
                mtime,
                photo_id,
            ),
        )

    def mark_changed(
        self, photo_id: int, size: int, mtime: float, content_hash: str | None
    ) -> None:
        """Content changed: re-queue, drop its stale vector and automatic faces.

        Faces that carry a user decision (confirmed, from a sidecar, or rejected for someone)
        stay until the face pass runs again; :meth:`store_faces` then gives them the new
        detections that overlap them. An editor that rewrites metadata inside the file (the
        pixels unchanged) must not cost the user their corrections.
        """
        with self.transaction():
            self._delete_vectors([photo_id])
            self.execute(f"DELETE FROM faces WHERE photo_id = ? AND {_UNDECIDED_FACE}", (photo_id,))
            self.execute(
                "UPDATE photos SET size = ?, mtime = ?, content_hash = ?, status = 'pending', "
                "reason = NULL, detail = NULL, model_id = NULL, faces_done = 0, "
                "missing_since = NULL WHERE id = ?",
                (size, mtime, content_hash, photo_id),
            )
            self.execute("DELETE FROM photo_stages WHERE photo_id = ?", (photo_id,))
            self.execute("DELETE FROM video_frames WHERE photo_id = ?", (photo_id,))

    def delete_photos(self, ids: Iterable[int]) -> None:
        with self.transaction():
            for pid in ids:
                self.execute("DELETE FROM photos WHERE id = ?", (pid,))

    # -- targeted reconciliation (the folder watcher) -------------------------------

    def photos_under(self, root_id: int, rel: str) -> dict[str, PhotoRow]:
        """Rows at ``rel`` and below it (``""``: the whole root), by relative path.

        Uses the (root_id, rel_path) index: ``rel/`` .. ``rel0`` is exactly the subtree.
        """
        if not rel:
            return self.photos_in_root(root_id)
        root = self.root(root_id)
        assert root is not None
        rows = self.query(
            "SELECT id, root_id, rel_path, size, mtime, content_hash, status, model_id "
            "FROM photos WHERE root_id = ? AND (rel_path = ? OR (rel_path > ? AND rel_path < ?))",
            (root_id, rel, rel + "/", rel + "0"),
        )
        return {
            r[2]: PhotoRow(r[0], r[1], r[2], root.path / PurePosixPath(r[2]), *r[3:])
            for r in rows
        }

    def move_folder(self, root_id: int, old: str, new_root_id: int, new: str) -> int:
        """A folder moved or was renamed: re-point every row below it in one UPDATE (same
        rows, so vectors, faces, names and tags stay). Returns how many rows moved.

        Rows already recorded at a destination path describe files the move replaced,
        so they are dropped first.
        """
        old, new = old.strip("/"), new.strip("/")
        if not old or not new or (root_id == new_root_id and old == new):
            return 0
        cut = len(old) + 1
        under = "root_id = ? AND rel_path > ? AND rel_path < ?"
        args = (root_id, old + "/", old + "0")
        with self.transaction():
            self.execute(
                "DELETE FROM photos WHERE root_id = ? AND rel_path IN "
                f"(SELECT ? || substr(rel_path, ?) FROM photos WHERE {under}) "
                "AND NOT (" + under + ")",
                (new_root_id, new, cut, *args, *args),
            )
            return self.changes_of(
                "UPDATE photos SET root_id = ?, rel_path = ? || substr(rel_path, ?), "
                "folder = CASE WHEN folder = ? THEN ? ELSE ? || substr(folder, ?) END "
                f"WHERE {under}",
                (new_root_id, new, cut, old, new, new, cut, *args),
            )

    def replace_photo_path(self, photo_id: int, root_id: int, rel_path: str, mtime: float) -> None:
        """Like :meth:`move_photo`, dropping a different row already at the destination
        (a file moved over another one)."""
        with self.transaction():
            self.execute(
                "DELETE FROM photos WHERE root_id = ? AND rel_path = ? AND id != ?",
                (root_id, rel_path, photo_id),
            )
            self.move_photo(photo_id, root_id, rel_path, mtime)

    def adoptable_copies(self, size: int, content_hash: str, since: float) -> list[PhotoRow]:
        """Rows added since ``since`` (wall clock) with this content and no user data of
        their own (tags, confirmed faces/clusters), newest first: the far end of a move
        that was seen as a delete plus a create, which the deleted row may take over."""
        rows = self.query(
            "SELECT p.id, p.root_id, p.rel_path, r.path, p.size, p.mtime, p.content_hash, "
            "p.status, p.model_id FROM photos p JOIN roots r ON r.id = p.root_id "
            "WHERE p.content_hash = ? AND p.size = ? AND p.added_at >= ? AND r.online = 1 "
            "AND NOT EXISTS (SELECT 1 FROM photo_tags t WHERE t.photo_id = p.id) "
            "AND NOT EXISTS (SELECT 1 FROM cluster_photos c "
            "                WHERE c.photo_id = p.id AND c.source != 'auto') "
            "AND NOT EXISTS (SELECT 1 FROM faces f WHERE f.photo_id = p.id AND f.source != 'auto') "
            "ORDER BY p.added_at DESC LIMIT 20",
            (content_hash, size, since),
        )
        return [
            PhotoRow(r[0], r[1], r[2], Path(r[3]) / PurePosixPath(r[2]), *r[4:]) for r in rows
        ]

    def mark_skipped(self, photo_id: int, reason: str, detail: str = "") -> None:
        self.execute(
            "UPDATE photos SET status = 'skipped', reason = ?, detail = ? WHERE id = ?",
            (reason, detail, photo_id),
        )

    def record_info(
        self,
        photo_id: int,
        *,
        width: int | None,
        height: int | None,
        taken_at: float | None,
        latitude: float | None,
        longitude: float | None,
        camera: str | None,
        tz_offset: int | None = None,
        duration: float | None = None,
    ) -> None:
        """``tz_offset``: minutes east of UTC the capture time was recorded with (None: the
        file gave none, and ``taken_at`` is the camera's wall clock read as UTC).
        ``duration``: seconds, for a video (None for a photo)."""
        self.execute(
            "UPDATE photos SET width = ?, height = ?, taken_at = ?, latitude = ?, "
            "longitude = ?, camera = ?, tz_offset = ?, duration = ? WHERE id = ?",
            (width, height, taken_at, latitude, longitude, camera, tz_offset, duration,
             photo_id),
        )

    def store_vector(self, photo_id: int, model_id: int, vector: np.ndarray) -> None:
        """Store a photo's vector for a model and mark it indexed (call inside a transaction)."""
        # Vectors of other models stay: during a model switch they keep answering searches.
        table = vec_table(model_id)
        self.execute(f"DELETE FROM {table} WHERE rowid = ?", (photo_id,))
        self.execute(
            f"INSERT INTO {table}(rowid, embedding) VALUES(?, ?)", (photo_id, vector_blob(vector))
        )
        self.execute(
            "INSERT INTO vec_log(model_id, photo_id, op) VALUES(?, ?, 'add')", (model_id, photo_id)
        )
        self.execute(
            "UPDATE photos SET status = 'indexed', reason = NULL, detail = NULL, model_id = ? "
            "WHERE id = ?",
            (model_id, photo_id),
        )

    def _delete_vectors(self, ids: Iterable[int]) -> None:
        """Remove a photo's vectors from every model's table (its content changed)."""
        model_ids = [m for (m,) in self.query("SELECT id FROM models")]
        tables = [(m, vec_table(m)) for m in model_ids if self._table_exists(vec_table(m))]
        for pid in ids:
            for model_id, table in tables:
                if self.changes_of(f"DELETE FROM {table} WHERE rowid = ?", (pid,)):
                    self.execute(
                        "INSERT INTO vec_log(model_id, photo_id, op) VALUES(?, ?, 'del')",
                        (model_id, pid),
                    )

    def changes_of(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run a write and return how many rows it changed."""
        with self._lock:
            self.conn.execute(sql, params)
            return self.conn.changes()

    def _table_exists(self, name: str) -> bool:
        return bool(
            self.scalar("SELECT 1 FROM sqlite_master WHERE name = ?", (name,))
        )

    def vector(self, photo_id: int, model_id: int) -> np.ndarray | None:
        blob = self.scalar(
            f"SELECT embedding FROM {vec_table(model_id)} WHERE rowid = ?", (photo_id,)
        )
        return None if blob is None else np.frombuffer(blob, dtype=np.float32).copy()

    def vector_by_hash(self, content_hash: str, model_id: int) -> np.ndarray | None:
        """A vector already computed for identical content (a copy of a photo)."""
        row = self.execute(
            "SELECT id FROM photos WHERE content_hash = ? AND model_id = ? AND "
            "status = 'indexed' LIMIT 1",
            (content_hash, model_id),
        ).fetchone()
        return None if row is None else self.vector(row[0], model_id)

    def load_vectors(self, model_id: int) -> tuple[np.ndarray, np.ndarray]:
        """All (ids int64, vectors float32 [n, dim]) of a model, ordered by id."""
        model = self.model(model_id)
        assert model is not None
        rows = self.query(f"SELECT rowid, embedding FROM {vec_table(model_id)} ORDER BY rowid")
        ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        mat = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32)
        return ids, mat.reshape(len(rows), model.dim).copy()

    def vec_log_seq(self) -> int:
        return self.scalar("SELECT COALESCE(MAX(seq), 0) FROM vec_log")

    def vec_changes_since(self, model_id: int, seq: int) -> list[tuple[int, int, str]]:
        """(seq, photo_id, op) for a model after ``seq``, oldest first."""
        return self.query(
            "SELECT seq, photo_id, op FROM vec_log WHERE model_id = ? AND seq > ? ORDER BY seq",
            (model_id, seq),
        )

    def vector_count(self, model_id: int) -> int:
        """How many vectors ``model_id`` has (cheap: sqlite-vec's rowid table when readable)."""
        table = vec_table(model_id)
        if self.vec0_chunk_index_usable(model_id):
            return self.scalar(f"SELECT COUNT(*) FROM {table}_rowids")
        return self.scalar(f"SELECT COUNT(*) FROM {table}")

    def vec_log_floor(self) -> int:
        """``vec_log`` rows up to this seq may be gone: whoever compacts the log records the
        highest deleted seq in meta ``vec_log_floor``; an index synced below it reloads."""
        return int(self.get_meta("vec_log_floor") or 0)

    def compact_vec_log(self, keep: int = VEC_LOG_KEEP) -> int:
        """Forget all but the newest ``keep`` entries of ``vec_log`` (it would otherwise grow
        with every vector ever written); returns how many went. A search index synced
        further back than that reloads from its cache file or SQLite instead of replaying."""
        with self.transaction():
            cut = self.vec_log_seq() - keep
            if cut <= self.vec_log_floor():
                return 0
            gone = self.scalar("SELECT COUNT(*) FROM vec_log WHERE seq <= ?", (cut,))
            self.execute("DELETE FROM vec_log WHERE seq <= ?", (cut,))
            self.set_meta("vec_log_floor", str(cut))
        return int(gone)

    def add_photos(
        self, root_id: int, items: Iterable[tuple[str, int, float, str | None]]
    ) -> list[int]:
        """Many :meth:`add_photo` at once: ``(rel_path, size, mtime, content_hash)`` rows in
        one transaction (executemany). Returns the new ids in order."""
        now = time.time()
        rows = [
            (root_id, rel, folder_of(rel), PurePosixPath(rel).suffix.lower(), size, mtime, h, now)
            for rel, size, mtime, h in items
        ]
        if not rows:
            return []
        with self.transaction() as conn:
            cur = conn.executemany(
                "INSERT INTO photos(root_id, rel_path, folder, ext, size, mtime, content_hash, "
                "added_at) VALUES(?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                rows,
            )
            return [r[0] for r in cur]

    # -- work queues -----------------------------------------------------------------

    def pending_embedding(self, model_id: int, limit: int = 10_000,
                          tried_since: float | None = None) -> list[tuple[int, Path]]:
        """Photos that need a vector from ``model_id`` (new, changed, or older model),
        on online roots: first those with no vector at all (new or changed: nothing finds
        them yet, even during a model switch), then by id. Photos whose last read failed
        wait their turn (:mod:`photoorg.core.store.failures`; none failed since ``tried_since``)."""
        rows = self.query(
            "SELECT p.id, r.path, p.rel_path FROM photos p JOIN roots r ON r.id = p.root_id "
            "WHERE r.online = 1 AND p.status != 'skipped' AND p.missing_since IS NULL "
            f"AND {waiting_sql('embed', tried_since=tried_since)} "
            "AND (p.status = 'pending' OR p.model_id IS NOT ?) "
            "ORDER BY p.model_id IS NOT NULL, p.id LIMIT ?",
            (model_id, limit),
        )
        return [(pid, Path(root) / PurePosixPath(rel)) for pid, root, rel in rows]

    def count_pending_embedding(self, model_id: int | None) -> int:
        return self.scalar(
            "SELECT COUNT(*) FROM photos p JOIN roots r ON r.id = p.root_id "
            "WHERE r.online = 1 AND p.status != 'skipped' AND p.missing_since IS NULL "
            f"AND {waiting_sql('embed')} "
            "AND (p.status = 'pending' OR p.model_id IS NOT ?)",
            (model_id,),
        )

    # -- faces (people) --------------------------------------------------------------
    # Face SQL for photoorg.core.people.faces; a face row is (x, y, w, h, score, sharpness,
    # descriptor bytes) with the box normalised to the EXIF-oriented image.

    def pending_faces(self, limit: int = 1000, after_id: int = 0) -> list[tuple[int, Path]]:
        """Readable photos on online roots whose face pass has not run, by id (the face pass
        needs no CLIP vector: it runs offline, before the model is there)."""
        rows = self.query(
            "SELECT p.id, r.path, p.rel_path FROM photos p JOIN roots r ON r.id = p.root_id "
            "WHERE r.online = 1 AND p.status != 'skipped' AND p.faces_done = 0 AND p.id > ? "
            f"AND p.missing_since IS NULL AND {waiting_sql('faces')} "
            "ORDER BY p.id LIMIT ?",
            (after_id, limit),
        )
        return [(pid, Path(root) / PurePosixPath(rel)) for pid, root, rel in rows]

    def faces_pending_among(self, photo_ids: Iterable[int]) -> list[int]:
        """Which of these photos the face pass has not run on."""
        return [int(pid) for (pid,) in self.query_in(
            "SELECT id FROM photos WHERE faces_done = 0 AND status != 'skipped' AND id IN {ids}",
            photo_ids)]

    def count_pending_faces(self) -> int:
        return self.scalar(
            "SELECT COUNT(*) FROM photos p JOIN roots r ON r.id = p.root_id "
            "WHERE r.online = 1 AND p.status != 'skipped' AND p.faces_done = 0 "
            f"AND p.missing_since IS NULL AND {waiting_sql('faces')}"
        )

    def store_faces(self, photo_id: int, faces: Sequence[tuple[Any, ...]],
                    times: Sequence[float | None] | None = None) -> list[int]:
        """Store a photo's detected faces ``(x, y, w, h, score, sharpness, descriptor)`` and
        set ``faces_done``, atomically; returns their ids in order. ``times``: for a video,
        the second of the keyframe each face was seen in.

        Automatic faces are replaced. A face the user decided on (see :meth:`mark_changed`)
        keeps its row, cluster and rejections when a new detection overlaps it (IoU >= 0.5):
        the row takes the new box and descriptor. One that nothing overlaps stays as it was.
        """
        now = time.time()
        with self.transaction():
            self.execute(f"DELETE FROM faces WHERE photo_id = ? AND {_UNDECIDED_FACE}", (photo_id,))
            decided = self.query("SELECT id, x, y, w, h FROM faces WHERE photo_id = ?", (photo_id,))
            carried = match_boxes([face[:4] for face in faces], [row[1:] for row in decided],
                                  min_iou=0.5)
            ids = []
            for i, face in enumerate(faces):
                if i in carried:
                    face_id = decided[carried[i]][0]
                    self.execute(
                        "UPDATE faces SET x = ?, y = ?, w = ?, h = ?, score = ?, sharpness = ?, "
                        "descriptor = ? WHERE id = ?",
                        (*face, face_id),
                    )
                else:
                    face_id = self.execute(
                        "INSERT INTO faces(photo_id, x, y, w, h, score, sharpness, descriptor, "
                        "created_at) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                        (photo_id, *face, now),
                    ).fetchone()[0]
                ids.append(face_id)
                if times is not None:
                    self.execute("UPDATE faces SET t = ? WHERE id = ?", (times[i], face_id))
            self.execute("UPDATE photos SET faces_done = 1 WHERE id = ?", (photo_id,))
            self.execute("DELETE FROM photo_stages WHERE photo_id = ? AND stage = ?",
                         (photo_id, "faces" + FAILED_SUFFIX))
        return ids

    def count_faces(self) -> int:
        return int(self.scalar("SELECT COUNT(*) FROM faces"))

    def people_stamp(self) -> tuple[Any, ...]:
        """A fingerprint of what people clustering reads (faces, their clusters and
        sources, rejections, people clusters): a changed stamp means someone wrote."""
        return tuple(self.query(
            "SELECT (SELECT COUNT(*) FROM faces), (SELECT MAX(id) FROM faces), "
            "(SELECT TOTAL(id * IFNULL(cluster_id, -1)) FROM faces), "
            "(SELECT TOTAL(id * (source = 'auto')) FROM faces), "
            "(SELECT COUNT(*) FROM face_rejections), "
            "(SELECT TOTAL(face_id * cluster_id) FROM face_rejections), "
            "(SELECT TOTAL(face_id) FROM not_faces), "
            "(SELECT COUNT(*) FROM clusters WHERE kind = 'people'), "
            "(SELECT TOTAL(id * (1 + hidden + 2 * (name IS NOT NULL))) FROM clusters "
            "WHERE kind = 'people')"
        )[0])

    def face_records(self) -> list[tuple[int, int, int | None, str, bytes]]:
        """Every face as (id, photo_id, cluster_id, source, descriptor), by id; faces the
        user said are not faces are left out (never clustered)."""
        return self.query(
            "SELECT id, photo_id, cluster_id, source, descriptor FROM faces "
            "WHERE id NOT IN (SELECT face_id FROM not_faces) ORDER BY id"
        )

    def stack_covers(self) -> dict[int, int]:
        """``{photo id: its stack's cover}`` for the photos shown only inside a stacked
        stack (a RAW beside its JPEG, a burst's other frames)."""
        return dict(self.query(
            "SELECT m.photo_id, s.cover_id FROM stack_members m JOIN stacks s "
            "ON s.id = m.stack_id WHERE s.state = 'stacked' AND m.photo_id != s.cover_id"))

    def people_clusters(self) -> list[tuple[int, str | None, bool]]:
        """(id, name, hidden) of every people cluster."""
        rows = self.query("SELECT id, name, hidden FROM clusters WHERE kind = 'people'")
        return [(cid, name, bool(hidden)) for cid, name, hidden in rows]

    def face_rejection_pairs(self) -> list[tuple[int, int]]:
        """(face_id, cluster_id): faces the user said are not that person."""
        return self.query("SELECT face_id, cluster_id FROM face_rejections")

    def set_face_clusters(self, assignments: Iterable[tuple[int, int | None]]) -> None:
        """Set ``cluster_id`` of automatic faces; confirmed and sidecar faces never change,
        and a face never joins a person the user said it is not (even if the user said so
        while the assignment was being computed on a snapshot, see core/staged.py)."""
        rows = [(cluster_id, face_id) for face_id, cluster_id in assignments]
        if not rows:
            return
        with self.transaction() as conn:
            conn.executemany(
                "UPDATE faces SET cluster_id = ?1 WHERE id = ?2 AND source = 'auto' AND NOT "
                "EXISTS (SELECT 1 FROM face_rejections r WHERE r.face_id = faces.id "
                "AND r.cluster_id = ?1)", rows
            )

    def add_people_cluster(self, centroid: np.ndarray | None = None) -> int:
        now = time.time()
        blob = None if centroid is None else vector_blob(centroid)
        return self.execute(
            "INSERT INTO clusters(kind, centroid, created_at, updated_at) "
            "VALUES('people', ?, ?, ?) RETURNING id",
            (blob, now, now),
        ).fetchone()[0]

    def set_cluster_centroid(self, cluster_id: int, centroid: np.ndarray | None) -> None:
        blob = None if centroid is None else vector_blob(centroid)
        self.execute(
            "UPDATE clusters SET centroid = ?, updated_at = ? WHERE id = ?",
            (blob, time.time(), cluster_id),
        )

    def drop_untouched_people_clusters(self, ids: Iterable[int]) -> None:
        """Delete these people clusters unless the user has touched them (named, hidden,
        with confirmed faces or rejections): re-grouping computed on an older snapshot
        must not drop a person the user named meanwhile."""
        with self.transaction():
            for cid in ids:
                self.execute(
                    "DELETE FROM clusters WHERE id = ? AND kind = 'people' AND name IS NULL "
                    "AND hidden = 0 AND NOT EXISTS (SELECT 1 FROM faces f WHERE "
                    "f.cluster_id = clusters.id AND f.source != 'auto') AND NOT EXISTS "
                    "(SELECT 1 FROM face_rejections r WHERE r.cluster_id = clusters.id)",
                    (cid,),
                )

    def delete_clusters(self, ids: Iterable[int]) -> None:
        with self.transaction():
            for cid in ids:
                self.execute("DELETE FROM clusters WHERE id = ?", (cid,))

    # -- reports ---------------------------------------------------------------------

    def status_counts(self) -> dict[str, Any]:
        """Counts for ``photoorg status``; photos on offline roots count only as offline."""
        counts = {"indexed": 0, "pending": 0, "skipped": 0, "offline": 0, "missing": 0}
        target = self.target_model()
        target_id = target.id if target else None
        rows = self.query(
            "SELECT r.online, p.status, p.model_id IS ? AS current, "
            "p.missing_since IS NOT NULL, COUNT(*) "
            "FROM photos p JOIN roots r ON r.id = p.root_id GROUP BY 1, 2, 3, 4",
            (target_id,),
        )
        for online, status, current, missing, n in rows:
            if missing:
                counts["missing"] += n  # file gone, row kept for its return
            elif not online:
                counts["offline"] += n
            elif status == STATUS_INDEXED and not current:
                counts["pending"] += n  # indexed with an older model: waiting to re-embed
            else:
                counts[status] += n
        reasons = dict(
            self.query(
                "SELECT p.reason, COUNT(*) FROM photos p JOIN roots r ON r.id = p.root_id "
                "WHERE r.online = 1 AND p.status = 'skipped' AND p.missing_since IS NULL "
                "GROUP BY p.reason ORDER BY 2 DESC"
            )
        )
        counts["videos"] = int(self.scalar(
            "SELECT COUNT(*) FROM photos p JOIN roots r ON r.id = p.root_id "
            "WHERE p.duration IS NOT NULL AND p.status != 'skipped' AND r.online = 1 "
            "AND p.missing_since IS NULL"))
        return {**counts, "skipped_reasons": reasons}

    def skipped(self, limit: int = 1000) -> list[tuple[Path, str, str]]:
        rows = self.query(
            "SELECT r.path, p.rel_path, p.reason, p.detail FROM photos p "
            "JOIN roots r ON r.id = p.root_id WHERE p.status = 'skipped' "
            "AND p.missing_since IS NULL ORDER BY p.rel_path LIMIT ?",
            (limit,),
        )
        return [(Path(root) / PurePosixPath(rel), reason, detail or "") for root, rel, reason,
                detail in rows]
