"""One journal of the user's decisions, in the catalog, so every decision can be undone.

A decision (name, rename, merge, "Not this person", "Yes, this is ...", a tag added or
removed, hide, album changes) runs inside :func:`decision`: the rows it may touch are
described by *scopes* (table + WHERE), read before and after, and what changed is written
to the ``journal`` table **in the same transaction** as the change itself. A crash
(kill -9) therefore leaves either both or neither.

Undo (:func:`undo`) puts the recorded rows back: rows the decision added are deleted,
rows it changed or deleted get their old values. Entries of one *batch* (a merge of three
people at once, a tag removal that also took photos out of a person) are undone together.

Decisions that are not rows of these tables (a file moved to the OS trash) are recorded
with :func:`record` and undone by an inverse registered with :func:`register_inverse`.
"""

from __future__ import annotations

import base64
import contextlib
import json
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import apsw

from photoorg.core.store.catalog import Catalog


@dataclass(frozen=True)
class Table:
    """How the journal reads and restores one table: its key and the columns it keeps."""

    name: str
    key: tuple[str, ...]
    columns: tuple[str, ...]
    insertable: bool = True  # False: rows are only ever updated back (faces: descriptors)


# parents before children: restored in this order, added rows deleted in reverse
TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        Table("clusters", ("id",), ("id", "kind", "name", "auto_name", "hidden", "centroid",
                                    "latitude", "longitude", "created_at", "updated_at")),
        Table("tags", ("id",), ("id", "name")),
        Table("albums", ("id",), ("id", "name", "query", "created_at")),
        Table("faces", ("id",), ("id", "cluster_id", "source"), insertable=False),
        Table("cluster_photos", ("cluster_id", "photo_id"), ("cluster_id", "photo_id", "source")),
        Table("photo_tags", ("photo_id", "tag_id"), ("photo_id", "tag_id", "source")),
        Table("face_rejections", ("face_id", "cluster_id"), ("face_id", "cluster_id")),
        Table("photo_meta", ("photo_id", "field"), ("photo_id", "field", "value", "source")),
        Table("not_faces", ("face_id",), ("face_id", "decided_at")),
        Table("not_duplicates", ("hash_a", "hash_b"), ("hash_a", "hash_b", "decided_at")),
        Table("stacks", ("id",), ("id", "kind", "cover_id", "state", "created_at")),
    )
}

Scope = tuple[str, str, Sequence[Any]]
"""``(table, WHERE condition, parameters)``: rows a decision may add, change or delete."""

# ``column IN {IDS}`` with ``ids_param(ids)``: any number of ids in one parameter (a
# selection of 100k photos would pass SQLite's limit of 32766 parameters)
IDS = "(SELECT value FROM json_each(?))"


def ids_param(ids: Iterable[int]) -> str:
    return json.dumps([int(i) for i in ids])

Inverse = Callable[[Catalog, dict[str, Any]], None]
_INVERSES: dict[str, Inverse] = {}


class JournalError(RuntimeError):
    """Nothing to undo, or an entry that cannot be undone."""


@dataclass(frozen=True)
class Entry:
    """One undoable step as the user sees it (a batch of journal rows)."""

    batch: int
    at: float
    action: str
    summary: str
    undone: bool


def register_inverse(action: str, inverse: Inverse) -> None:
    """How to undo a :func:`record`-ed action (e.g. restore a file from the OS trash)."""
    _INVERSES[action] = inverse


# -- recording ---------------------------------------------------------------------------


def _enc(value: Any) -> Any:
    return {"$b": base64.b64encode(value).decode("ascii")} if isinstance(value, bytes) else value


def _dec(value: Any) -> Any:
    return base64.b64decode(value["$b"]) if isinstance(value, dict) else value


def _read(cat: Catalog, table: Table, where: str, params: Sequence[Any]) -> dict[tuple, tuple]:
    rows = cat.query(f"SELECT {', '.join(table.columns)} FROM {table.name} WHERE {where}",
                     list(params))
    idx = [table.columns.index(k) for k in table.key]
    return {tuple(r[i] for i in idx): tuple(r) for r in rows}


def _by_key(cat: Catalog, table: Table, key: tuple) -> tuple | None:
    where = " AND ".join(f"{k} = ?" for k in table.key)
    row = cat.execute(
        f"SELECT {', '.join(table.columns)} FROM {table.name} WHERE {where}", key
    ).fetchone()
    return None if row is None else tuple(row)


def _state(cat: Catalog) -> dict[str, Any]:
    """Per-connection journal state (the open batch), kept on the catalog object."""
    state = getattr(cat, "_journal_state", None)
    if state is None:
        state = {"batch": None}
        cat._journal_state = state  # type: ignore[attr-defined]
    return state


@contextlib.contextmanager
def batch(cat: Catalog) -> Iterator[int]:
    """Group the decisions made inside into one undo step (nests: the outermost wins)."""
    state = _state(cat)
    with cat.transaction():
        if state["batch"] is not None:
            yield state["batch"]
            return
        state["batch"] = cat.scalar("SELECT COALESCE(MAX(batch), 0) + 1 FROM journal")
        try:
            yield state["batch"]
        finally:
            state["batch"] = None


@contextlib.contextmanager
def decision(cat: Catalog, action: str, summary: str, scopes: Sequence[Scope]) -> Iterator[None]:
    """Run a user decision so it can be undone: the rows in ``scopes`` are read before and
    after, and what changed is journaled atomically with the change."""
    with batch(cat) as batch_id:
        before: list[tuple[Table, dict[tuple, tuple]]] = []
        for name, where, params in scopes:
            table = TABLES[name]
            before.append((table, _read(cat, table, where, params)))
        yield
        changes: dict[str, dict[str, list]] = {}
        for (table, old), (_, where, params) in zip(before, scopes, strict=True):
            now = _read(cat, table, where, params)
            restore = [list(map(_enc, row)) for key, row in old.items()
                       if (now[key] if key in now else _by_key(cat, table, key)) != row]
            added = [list(key) for key in now if key not in old]
            if restore or added:
                entry = changes.setdefault(table.name, {"restore": [], "added": []})
                entry["restore"] += restore
                entry["added"] += added
        # a decision made of others (their entries are in this batch) names the undo step
        # even when it changed nothing itself
        if changes or cat.scalar("SELECT 1 FROM journal WHERE batch = ?", (batch_id,)):
            _insert(cat, batch_id, action, summary, {"tables": changes})


def record(cat: Catalog, action: str, summary: str, payload: dict[str, Any]) -> None:
    """Journal a decision undone by the inverse registered for ``action``."""
    with batch(cat) as batch_id:
        _insert(cat, batch_id, action, summary, {"custom": payload})


def _insert(cat: Catalog, batch_id: int, action: str, summary: str, data: dict) -> None:
    cat.execute(
        "INSERT INTO journal(batch, at, action, summary, data) VALUES(?, ?, ?, ?, ?)",
        (batch_id, time.time(), action, summary, json.dumps(data, separators=(",", ":"))),
    )


# -- reading and undoing -----------------------------------------------------------------


def history(cat: Catalog, limit: int = 20, include_undone: bool = False) -> list[Entry]:
    """The newest undo steps first. A batch is described by its last (outermost) entry."""
    cond = "" if include_undone else "WHERE undone_at IS NULL"
    rows = cat.query(
        "SELECT j.batch, j.at, j.action, j.summary, j.undone_at IS NOT NULL FROM journal j "
        f"JOIN (SELECT batch, MAX(id) AS last FROM journal {cond} GROUP BY batch) b "
        "ON j.id = b.last ORDER BY j.batch DESC LIMIT ?",
        (limit,),
    )
    return [Entry(b, at, action, summary, bool(undone)) for b, at, action, summary, undone in rows]


def can_undo(cat: Catalog) -> bool:
    return bool(cat.scalar("SELECT 1 FROM journal WHERE undone_at IS NULL LIMIT 1"))


def undo(cat: Catalog, steps: int = 1) -> list[Entry]:
    """Undo the last ``steps`` decisions (newest first); returns what was undone.

    All or nothing: when a decision cannot be put back whole (a row it restores refers to
    a photo or person gone since), nothing is changed and :class:`JournalError` says
    which decision and why."""
    done: list[Entry] = []
    current: Entry | None = None
    try:
        with cat.transaction():
            for entry in history(cat, limit=steps):
                current = entry
                rows = cat.query(
                    "SELECT id, action, data FROM journal WHERE batch = ? AND undone_at IS NULL "
                    "ORDER BY id DESC",
                    (entry.batch,),
                )
                for entry_id, action, data in rows:
                    _undo_one(cat, action, json.loads(data))
                    cat.execute("UPDATE journal SET undone_at = ? WHERE id = ?",
                                (time.time(), entry_id))
                done.append(entry)
    except apsw.ConstraintError as exc:
        what = f"“{current.summary}”" if current is not None else "the last decision"
        raise JournalError(
            f"cannot undo {what}: part of it refers to photos or people that are no longer "
            f"in the library, so nothing was undone ({exc})") from exc
    return done


def _undo_one(cat: Catalog, action: str, data: dict[str, Any]) -> None:
    if "custom" in data:
        # the module that records such an action registers its inverse when imported
        # (the journal knows no feature: trash imports journal, never the other way)
        inverse = _INVERSES.get(action)
        if inverse is None:
            raise JournalError(f"no way to undo {action!r} is known here")
        inverse(cat, data["custom"])
        return
    changes = data["tables"]
    order = [t for t in TABLES.values() if t.name in changes]
    for table in reversed(order):  # children first
        if not table.insertable:
            continue
        where = " AND ".join(f"{k} = ?" for k in table.key)
        for key in changes[table.name]["added"]:
            cat.execute(f"DELETE FROM {table.name} WHERE {where}", key)
    for table in order:  # parents first
        for raw in changes[table.name]["restore"]:
            _put_back(cat, table, tuple(_dec(v) for v in raw))


def _put_back(cat: Catalog, table: Table, row: tuple) -> None:
    key = tuple(row[table.columns.index(k)] for k in table.key)
    rest = [c for c in table.columns if c not in table.key]
    if _by_key(cat, table, key) is not None:
        sets = ", ".join(f"{c} = ?" for c in rest)
        where = " AND ".join(f"{k} = ?" for k in table.key)
        values = [row[table.columns.index(c)] for c in rest]
        cat.execute(f"UPDATE {table.name} SET {sets} WHERE {where}", (*values, *key))
    elif table.insertable:
        marks = ", ".join("?" * len(row))
        # a row that refers to something gone since (a photo forgotten) cannot come back:
        # the ConstraintError rolls the whole undo back (see undo)
        cat.execute(f"INSERT INTO {table.name}({', '.join(table.columns)}) VALUES({marks})",
                    row)
