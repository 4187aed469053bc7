"""A safety net for the catalog: rotating backups (SQLite's online backup, so a copy is
consistent while the indexer writes), a check for a damaged catalog, and restore.

Backups live in ``<data>/backups/catalog-YYYYmmdd-HHMMSS.sqlite``; :func:`maybe_backup`
makes one when the newest is older than a day and keeps the newest seven.
"""

from __future__ import annotations

import datetime as _dt
import os
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import apsw

DAY_S = 86400.0
KEEP = 7
_PREFIX = "catalog-"
_STAMP = "%Y%m%d-%H%M%S"
_NAME = re.compile(r"catalog-(\d{4})(\d{2})(\d{2})-(\d{2})(\d{2})(\d{2})(?:-\d+)?\.sqlite$")


class BackupError(RuntimeError):
    """A backup could not be made, read or restored."""


@dataclass(frozen=True)
class Backup:
    path: Path
    at: float  # when it was made (from its name)
    size: int

    @property
    def label(self) -> str:
        return _dt.datetime.fromtimestamp(self.at).strftime("%Y-%m-%d %H:%M:%S")


def backup_dir(data: Path) -> Path:
    return Path(data) / "backups"


def list_backups(data: Path) -> list[Backup]:
    """Backups of the library in ``data``, newest first."""
    out = []
    folder = backup_dir(data)
    if not folder.is_dir():
        return []
    for path in folder.glob(f"{_PREFIX}*.sqlite"):
        found = _NAME.match(path.name)
        if found is None:
            continue
        try:  # (not strptime: it imports a module lazily, which a sandbox may refuse)
            at = _dt.datetime(*(int(g) for g in found.groups())).timestamp()
            out.append(Backup(path, at, path.stat().st_size))
        except (ValueError, OSError):
            continue
    return sorted(out, key=lambda b: (b.at, b.path.name), reverse=True)


def make_backup(catalog: Path, data: Path) -> Backup:
    """Copy the catalog with SQLite's online backup into a new, checked backup file."""
    folder = backup_dir(data)
    folder.mkdir(parents=True, exist_ok=True)
    now = float(int(time.time()))  # what its name records
    name = f"{_PREFIX}{_dt.datetime.fromtimestamp(now).strftime(_STAMP)}"
    dest = folder / f"{name}.sqlite"
    n = 1
    while dest.exists():
        dest = folder / f"{name}-{n}.sqlite"
        n += 1
    tmp = dest.with_suffix(".partial")
    try:
        source = apsw.Connection(str(catalog), flags=apsw.SQLITE_OPEN_READONLY)
        target = apsw.Connection(str(tmp))
        try:
            with target.backup("main", source, "main") as job:
                while not job.done:
                    job.step(1024)
            problem = _quick_check(target)
        finally:
            target.close()
            source.close()
        if problem:
            raise BackupError(f"the catalog did not copy cleanly: {problem}")
        os.replace(tmp, dest)
    except apsw.Error as exc:
        why = str(exc)
        # a full disk during the copy may come back as "not an error" (the target's
        # message, not the step's)
        if isinstance(exc, apsw.FullError) or why == "not an error":
            free = shutil.disk_usage(folder).free
            if isinstance(exc, apsw.FullError) or free < os.path.getsize(catalog):
                why = f"the disk is full ({free // 1024} kB free)"
        raise BackupError(f"cannot back up {catalog}: {why}") from exc
    finally:
        tmp.unlink(missing_ok=True)
    return Backup(dest, now, dest.stat().st_size)


def prune(data: Path, keep: int = KEEP) -> int:
    """Delete all but the newest ``keep`` backups; returns how many went."""
    old = list_backups(data)[keep:]
    for b in old:
        b.path.unlink(missing_ok=True)
    return len(old)


def maybe_backup(catalog: Path, data: Path, every_s: float = DAY_S,
                 keep: int = KEEP) -> Backup | None:
    """The daily backup: made when the newest is older than ``every_s`` (and the catalog
    is healthy: a damaged file must not push out the good backups)."""
    if not Path(catalog).is_file():
        return None
    newest = next(iter(list_backups(data)), None)
    if newest is not None and time.time() - newest.at < every_s:
        return None
    if check_catalog(catalog) is not None:
        return None
    made = make_backup(catalog, data)
    prune(data, keep)
    return made


def _quick_check(conn: apsw.Connection) -> str | None:
    rows = [r[0] for r in conn.execute("PRAGMA quick_check")]
    return None if rows == ["ok"] else "; ".join(str(r) for r in rows[:5])


def check_catalog(catalog: Path) -> str | None:
    """None when the catalog file opens and passes SQLite's quick check, else what is
    wrong (a missing file is fine: a new library)."""
    path = Path(catalog)
    if not path.exists() or path.stat().st_size == 0:
        return None
    try:
        conn = apsw.Connection(str(path), flags=apsw.SQLITE_OPEN_READONLY)
        try:
            return _quick_check(conn)
        finally:
            conn.close()
    except apsw.Error as exc:
        return str(exc)


def restore(catalog: Path, backup: Path) -> Path | None:
    """Put a backup in the catalog's place (nothing may have the catalog open). The
    current file is kept beside it as ``.replaced-<time>``; returns that path."""
    problem = check_catalog(backup)
    if problem is not None:
        raise BackupError(f"the backup {backup} is damaged too: {problem}")
    catalog = Path(catalog)
    kept = None
    stamp = _dt.datetime.now().strftime(_STAMP)
    if catalog.exists():
        kept = catalog.with_name(f"{catalog.name}.replaced-{stamp}")
        os.replace(catalog, kept)
    for suffix in ("-wal", "-shm"):
        side = catalog.with_name(catalog.name + suffix)
        if side.exists():
            os.replace(side, side.with_name(f"{side.name}.replaced-{stamp}"))
    tmp = catalog.with_name(catalog.name + ".restoring")
    shutil.copy2(backup, tmp)
    os.replace(tmp, catalog)
    return kept
