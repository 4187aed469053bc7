"""What failed, for whom, and when to try again: one record the CLI, ``status`` and the
window all read.

A stage that cannot handle a photo records it here instead of marking it done: the photo
stays pending for that stage and is tried again on a later run, at most
:data:`MAX_ATTEMPTS` times, waiting longer after each failure (:data:`BACKOFF_S`); after
the last attempt it waits for its file to change (a content change clears the record).

Per-photo failures live in ``photo_stages`` as rows of the stage ``"<stage>!failed"``
(``version``: attempts so far, ``detail``: when to try again, ``error``: the reason, a
sentence for a person). A failure of a whole step that is not about one photo (grouping a
kind, a face pass that could not start) lives in ``meta`` under ``failed:<stage>:<item>``.
Either is cleared when the work succeeds.
"""

from __future__ import annotations

import errno
import json
import logging
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Protocol


class Catalog(Protocol):
    """What this module needs of :class:`photoorg.core.store.catalog.Catalog` (which
    imports this module for :func:`waiting_sql`: no import back)."""

    def query(self, sql: str, params: Any = ()) -> list[tuple]: ...

    def scalar(self, sql: str, params: Any = ()) -> Any: ...

    def transaction(self) -> Any: ...

    def get_meta(self, key: str, default: str | None = None) -> str | None: ...

    def set_meta(self, key: str, value: str) -> None: ...

MAX_ATTEMPTS = 4
# seconds to wait after the 1st, 2nd, 3rd failure before trying again (the first retry is
# the next run: most failures are a file being written, memory pressure, a drive asleep)
BACKOFF_S = (0.0, 300.0, 3600.0)
GAVE_UP = 1e18  # "next try" of a photo that used its attempts: when its file changes

SUFFIX = "!failed"
# the stages that record per-photo failures (queried by name: photo_stages' index)
PHOTO_STAGES = ("embed", "info", "metadata", "faces", "text")
# read errors that may pass (a file being moved, a drive asleep, memory pressure): the photo
# is tried again, never marked skipped or done for them. ("permission denied" is the file's
# state until someone changes it: skipped, with that reason, like an unreadable format.)
TRANSIENT_READ_ERRORS = frozenset({"file vanished", "read error", "out of memory"})
_META_PREFIX = "failed:"


def next_try(attempts: int, now: float) -> float:
    if attempts >= MAX_ATTEMPTS:
        return GAVE_UP
    wait = BACKOFF_S[min(attempts, len(BACKOFF_S)) - 1]
    return now + wait if wait else 0.0  # no wait: due at once (SQLite's clock is in ms)


def waiting_sql(stage: str, column: str = "p.id", tried_since: float | None = None) -> str:
    """An SQL condition true for photos that may run ``stage`` now (no failure record, or
    one whose wait is over; with ``tried_since``, not failed since then either: a run does
    not retry what failed in it). ``stage`` is a fixed identifier of the code, never input."""
    assert stage.isidentifier(), stage
    again = "" if tried_since is None else f" OR done_at >= {float(tried_since)!r}"
    return (
        f"{column} NOT IN (SELECT photo_id FROM photo_stages WHERE stage = '{stage}{SUFFIX}' "
        f"AND (CAST(detail AS REAL) > unixepoch('subsec'){again}))"
    )


def record(cat: Catalog, stage: str, failed: Mapping[int, str], now: float | None = None
           ) -> None:
    """Record that ``stage`` failed on these photos (``{photo id: reason}``)."""
    if not failed:
        return
    assert stage in PHOTO_STAGES, stage
    now = time.time() if now is None else now
    key = stage + SUFFIX
    with cat.transaction() as conn:
        ids = list(failed)
        before = dict(_attempts(cat, key, ids))
        conn.executemany(
            "INSERT INTO photo_stages(photo_id, stage, version, detail, done_at, error) "
            "SELECT ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM photos WHERE id = ?) "
            "ON CONFLICT(photo_id, stage) DO UPDATE SET version = excluded.version, "
            "detail = excluded.detail, done_at = excluded.done_at, error = excluded.error",
            [
                (pid, key, str(before.get(pid, 0) + 1),
                 repr(next_try(before.get(pid, 0) + 1, now)), now, reason[:500], pid)
                for pid, reason in failed.items()
            ],
        )


def _attempts(cat: Catalog, key: str, ids: list[int]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for start in range(0, len(ids), 900):
        part = ids[start : start + 900]
        out += [(pid, int(n)) for pid, n in cat.query(
            f"SELECT photo_id, version FROM photo_stages WHERE stage = ? AND photo_id IN "
            f"({','.join('?' * len(part))})", (key, *part))]
    return out


def clear(cat: Catalog, stage: str, photo_ids: Iterable[int]) -> None:
    """These photos passed ``stage``: forget their failures."""
    ids = [(int(pid),) for pid in photo_ids]
    if ids:
        with cat.transaction() as conn:
            conn.executemany(
                f"DELETE FROM photo_stages WHERE stage = '{stage}{SUFFIX}' AND photo_id = ?",
                ids)


def attempts(cat: Catalog, stage: str, photo_id: int) -> int:
    return int(cat.scalar("SELECT version FROM photo_stages WHERE photo_id = ? AND stage = ?",
                          (int(photo_id), stage + SUFFIX)) or 0)


# -- failures of a whole step (not one photo) ----------------------------------------------


def record_step(cat: Catalog, stage: str, item: str, reason: str,
                now: float | None = None) -> None:
    """Record that a step of ``stage`` (``item``: a kind, "pass") failed."""
    now = time.time() if now is None else now
    key = f"{_META_PREFIX}{stage}:{item}"
    old = json.loads(cat.get_meta(key) or "{}")
    n = int(old.get("attempts", 0)) + 1
    cat.set_meta(key, json.dumps({"reason": reason[:500], "at": now, "attempts": n,
                                  "next": next_try(n, now)}))


def clear_step(cat: Catalog, stage: str, item: str) -> None:
    key = f"{_META_PREFIX}{stage}:{item}"
    if cat.get_meta(key) is not None:
        with cat.transaction() as conn:
            conn.execute("DELETE FROM meta WHERE key = ?", (key,))


def step_may_run(cat: Catalog, stage: str, item: str, now: float | None = None) -> bool:
    """False while a failed step waits (backoff) or used its attempts."""
    old = cat.get_meta(f"{_META_PREFIX}{stage}:{item}")
    if old is None:
        return True
    return float(json.loads(old).get("next", 0)) <= (time.time() if now is None else now)


# -- what the user sees ----------------------------------------------------------------------


@dataclass
class Cause:
    """One reason a stage failed, with how many photos (or steps) and a few examples."""

    stage: str
    reason: str
    count: int = 0
    examples: list[str] = field(default_factory=list)
    gave_up: int = 0  # of them, used every attempt
    photos: bool = True  # per photo (else a whole step)

    def line(self) -> str:
        what = f"{self.count} photo{'s' * (self.count != 1)}" if self.photos else "failed"
        eg = f" (e.g. {', '.join(self.examples)})" if self.examples else ""
        tail = f"; {self.gave_up} will not be retried until changed" if self.gave_up else ""
        return f"{self.stage}: {what}: {self.reason}{eg}{tail}"


def causes(cat: Catalog, since: float = 0.0, examples: int = 3) -> list[Cause]:
    """Failures recorded at or after ``since`` (0: all standing ones), one per stage and
    reason, most photos first."""
    out: dict[tuple[str, str], Cause] = {}
    keys = [stage + SUFFIX for stage in PHOTO_STAGES]
    rows = cat.query(
        "SELECT s.stage, s.error, s.version, r.path, p.rel_path FROM photo_stages s "
        "JOIN photos p ON p.id = s.photo_id JOIN roots r ON r.id = p.root_id "
        f"WHERE s.stage IN ({','.join('?' * len(keys))}) AND s.done_at >= ? "
        "AND p.missing_since IS NULL ORDER BY s.photo_id",
        (*keys, since))
    for stage, reason, tries, root, rel in rows:
        cause = out.setdefault((stage[: -len(SUFFIX)], reason or ""),
                               Cause(stage[: -len(SUFFIX)], reason or ""))
        cause.count += 1
        cause.gave_up += int(tries) >= MAX_ATTEMPTS
        if len(cause.examples) < examples:
            cause.examples.append(str(Path(root) / PurePosixPath(rel)))
    for key, value in cat.query("SELECT key, value FROM meta WHERE key LIKE ?",
                                (_META_PREFIX + "%",)):
        info = json.loads(value)
        if float(info.get("at", 0)) < since:
            continue
        stage = key[len(_META_PREFIX):].split(":", 1)[0]
        cause = out.setdefault((stage, info["reason"]),
                               Cause(stage, info["reason"], photos=False))
        cause.count += 1
        cause.gave_up += int(info.get("attempts", 0)) >= MAX_ATTEMPTS
    return sorted(out.values(), key=lambda c: (-c.count, c.stage, c.reason))


def counts(cat: Catalog) -> dict[str, int]:
    """Standing failures per stage (photos, or steps for whole-step failures)."""
    keys = [stage + SUFFIX for stage in PHOTO_STAGES]
    result: dict[str, int] = {}
    for key, n in cat.query(
        "SELECT s.stage, COUNT(*) FROM photo_stages s JOIN photos p ON p.id = s.photo_id "
        f"WHERE s.stage IN ({','.join('?' * len(keys))}) AND p.missing_since IS NULL "
        "GROUP BY s.stage", keys):
        result[key[: -len(SUFFIX)]] = int(n)
    for (key,) in cat.query("SELECT key FROM meta WHERE key LIKE ?", (_META_PREFIX + "%",)):
        stage = key[len(_META_PREFIX):].split(":", 1)[0]
        result[stage] = result.get(stage, 0) + 1
    return result


def describe(exc: BaseException) -> str:
    """A reason a person reads (no Python object reprs, no paths: the summary names the
    photo)."""
    if isinstance(exc, FileNotFoundError):
        return "the file vanished"
    if isinstance(exc, PermissionError):
        return "permission denied"
    if isinstance(exc, MemoryError):
        return "out of memory"
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        return "the disk is full"
    if isinstance(exc, OSError) and exc.errno is not None:
        return exc.strerror or f"OS error {exc.errno}"
    reason = getattr(exc, "reason", None)
    if isinstance(reason, str) and reason:
        return reason
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text[:200]}" if text else type(exc).__name__


def log_summary(logger: logging.Logger, stage: str, reasons: Mapping[str, int]) -> None:
    """One warning per cause with its count, instead of one per photo."""
    for reason, n in sorted(reasons.items(), key=lambda kv: -kv[1]):
        logger.warning("%s: %d photo%s not done: %s (tried again later)", stage, n,
                       "s" * (n != 1), reason)
