"""Compute on a snapshot, write in one short step: long groupings never hold the write lock.

Re-clustering 20,000 faces takes seconds of numpy. Run inside a write transaction (as the
people clustering was written), it makes every user action in any process — renaming a
person, tagging a photo — wait for it, or fail with "database is locked". :func:`run_staged`
runs such a computation against a :class:`StagedCatalog`: reads come from a read-only
connection inside one read transaction (a consistent WAL snapshot that never blocks the
writer), writes are recorded instead of executed. The recorded writes are then applied on
the real writer in one short transaction — after checking that nothing the computation read
was changed by someone else meanwhile in a way the writes cannot absorb (faces added or
removed, a person merged away; see :func:`inputs_fingerprint`). If it was, the computation
runs again on a fresh snapshot; after a few tries it runs directly on the writer (correct,
only slower for the others).

Only the writes a grouping makes are recorded (see ``_RECORDED``); any other write attempted
through the snapshot fails on the read-only connection, and the computation then falls back
to the writer, so a new write method can never be silently lost.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import apsw

from photoorg.core.store.catalog import Catalog

log = logging.getLogger(__name__)

T = TypeVar("T")

_RECORDED = ("set_meta", "set_face_clusters", "add_people_cluster", "set_cluster_centroid",
             "delete_clusters")
ATTEMPTS = 3


_PLACEHOLDER_BASE = 1 << 50  # ids handed out for clusters created in the snapshot


class StagedCatalog:
    """A catalog whose reads come from a snapshot and whose writes are recorded."""

    def __init__(self, reader: Catalog) -> None:
        self._reader = reader
        self.writes: list[tuple[str, tuple[Any, ...]]] = []
        self._next = _PLACEHOLDER_BASE

    def __getattr__(self, name: str) -> Any:
        if name in _RECORDED:
            return self._recorder(name)
        return getattr(self._reader, name)

    def _recorder(self, name: str) -> Callable[..., Any]:
        def record(*args: Any) -> Any:
            if name == "add_people_cluster":
                # positive: the caller treats negative cluster ids as "none"
                placeholder = self._next
                self._next += 1
                self.writes.append((name, (placeholder, *args)))
                return placeholder
            if name in ("set_face_clusters", "delete_clusters"):
                args = (list(args[0]),)  # a generator over arrays the caller keeps changing
            self.writes.append((name, args))
            return None

        return record

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Any]:
        yield self  # the snapshot is already one read transaction

    def apply(self, writer: Catalog) -> None:
        """Execute the recorded writes on ``writer`` (inside its transaction)."""
        ids: dict[int, int] = {}

        def real(value: Any) -> Any:
            if value is not None and int(value) >= _PLACEHOLDER_BASE:
                return ids[int(value)]
            return value

        for name, args in self.writes:
            if name == "add_people_cluster":
                placeholder, *rest = args
                ids[int(placeholder)] = writer.add_people_cluster(*rest)
            elif name == "set_face_clusters":
                writer.set_face_clusters(
                    (face, None if cid is None else real(cid)) for face, cid in args[0])
            elif name == "set_cluster_centroid":
                writer.set_cluster_centroid(real(args[0]), *args[1:])
            elif name == "delete_clusters":  # the user may have named one meanwhile
                writer.drop_untouched_people_clusters([real(c) for c in args[0]])
            else:
                getattr(writer, name)(*args)


def inputs_fingerprint(cat: Catalog) -> str:
    """What a people grouping's plan depends on beyond what the writes re-check: the faces
    themselves and which people clusters exist (a merge deletes one). Renames, hiding,
    rejections and confirmations made meanwhile are honoured when the plan is written
    (:meth:`Catalog.set_face_clusters` never moves a confirmed face nor one onto a person
    who rejected it; :meth:`Catalog.drop_untouched_people_clusters` keeps a named one), so
    a user busy renaming never makes the grouping start over."""
    parts = [
        cat.scalar("SELECT COUNT(*) || ':' || COALESCE(MAX(id), 0) || ':' || "
                   "COALESCE(SUM(id), 0) FROM faces"),
        cat.scalar("SELECT COUNT(*) || ':' || COALESCE(SUM(id), 0) FROM clusters "
                   "WHERE kind = 'people'"),
    ]
    return hashlib.sha1("|".join(str(p) for p in parts).encode()).hexdigest()


def run_staged(writer: Catalog, compute: Callable[[Any], T]) -> T:
    """``compute(cat)`` on a snapshot, its writes applied in one short transaction."""
    for attempt in range(ATTEMPTS):
        try:
            reader = Catalog(writer.path, readonly=True)
        except Exception:  # an in-memory or unusual catalog: no snapshot to read
            break
        try:
            staged = StagedCatalog(reader)
            with reader.transaction():
                before = inputs_fingerprint(reader)
                result = compute(staged)
            with writer.transaction():
                if inputs_fingerprint(writer) != before:
                    log.info("the library changed during grouping; again (%d)", attempt + 1)
                    continue
                staged.apply(writer)
            return result
        except apsw.ReadOnlyError:
            log.info("grouping writes something not staged; running it on the writer")
            break
        finally:
            reader.close()
    return compute(writer)
