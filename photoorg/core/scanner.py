"""Walk library folders and bring the catalog in line with what is on disk.

New files are queued; changed files (size or mtime) are re-queued; a file that vanished
from one place and appeared in another with the same content hash is a *move* and keeps
its row (vector, faces, names, tags). A file is forgotten only when its library root is
reachable; a missing root makes its photos *offline*.
"""

from __future__ import annotations

import fnmatch
import hashlib
import logging
import os
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from photoorg.core.catalog import Catalog, PhotoRow, Root
from photoorg.core.imaging import is_supported

log = logging.getLogger(__name__)

HEAD_BYTES = 1 << 20
TAIL_BYTES = 1 << 10

# Never photos: OS metadata and recycle bins (matched against each path component).
SYSTEM_NAMES = frozenset(
    {
        "$RECYCLE.BIN",
        "System Volume Information",
        "@eaDir",
        "#recycle",
        "lost+found",
        "Thumbs.db",
        "desktop.ini",
        "__MACOSX",
    }
)


def content_hash(path: str | os.PathLike[str], size: int | None = None) -> str:
    """size + SHA-256 of the first 1 MB and last 1 KB (rclip's identity): cheap on
    huge files, and a re-encode or edit changes it while a move or rename does not."""
    with open(path, "rb") as fh:
        if size is None:
            size = os.fstat(fh.fileno()).st_size
        digest = hashlib.sha256()
        digest.update(fh.read(HEAD_BYTES))
        if size > HEAD_BYTES:
            fh.seek(max(HEAD_BYTES, size - TAIL_BYTES))
            digest.update(fh.read(TAIL_BYTES))
    return f"{size}:{digest.hexdigest()[:40]}"


def is_excluded_name(name: str) -> bool:
    return name.startswith(".") or name in SYSTEM_NAMES


def is_excluded(rel_path: str, patterns: list[str]) -> bool:
    """Hidden/system components, or a user pattern matching the path or its name."""
    parts = PurePosixPath(rel_path).parts
    if any(is_excluded_name(p) for p in parts):
        return True
    name = parts[-1] if parts else rel_path
    return any(
        fnmatch.fnmatch(rel_path, pat) or fnmatch.fnmatch(name, pat)
        or any(fnmatch.fnmatch(p, pat) for p in parts[:-1])
        for pat in patterns
    )


@dataclass
class FileStat:
    size: int
    mtime: float


@dataclass
class ScanReport:
    added: int = 0
    changed: int = 0
    moved: int = 0
    removed: int = 0
    unchanged: int = 0
    offline_roots: list[Path] = field(default_factory=list)
    errors: list[tuple[Path, str]] = field(default_factory=list)

    def merge(self, other: ScanReport) -> None:
        self.added += other.added
        self.changed += other.changed
        self.moved += other.moved
        self.removed += other.removed
        self.unchanged += other.unchanged
        self.offline_roots += other.offline_roots
        self.errors += other.errors


def root_reachable(root: Path) -> bool:
    try:
        return root.is_dir() and os.access(root, os.R_OK | os.X_OK)
    except OSError:
        return False


def walk_photos(
    root: Path,
    patterns: list[str],
    errors: list[tuple[Path, str]] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> Iterator[tuple[str, FileStat]]:
    """Yield (posix path relative to root, stat) for supported photos under ``root``.

    Follows directory symlinks but never enters the same directory twice (loops).
    Unreadable folders are reported in ``errors`` and skipped.
    """
    seen: set[tuple[int, int]] = set()
    stack: list[tuple[Path, str]] = [(root, "")]
    while stack:
        if should_stop and should_stop():
            return
        folder, rel_folder = stack.pop()
        try:
            st = folder.stat()
        except OSError as exc:
            if errors is not None:
                errors.append((folder, _describe(exc)))
            continue
        key = (st.st_dev, st.st_ino)
        if key in seen:
            continue
        seen.add(key)
        try:
            with os.scandir(folder) as entries:
                listing = list(entries)
        except OSError as exc:
            if errors is not None:
                errors.append((folder, _describe(exc)))
            continue
        for entry in listing:
            rel = f"{rel_folder}/{entry.name}" if rel_folder else entry.name
            if is_excluded(rel, patterns):
                continue
            try:
                if entry.is_dir(follow_symlinks=True):
                    stack.append((Path(entry.path), rel))
                    continue
                if not is_supported(entry.name):
                    continue
                est = entry.stat(follow_symlinks=True)
            except OSError as exc:  # broken symlink, vanished, permission
                if errors is not None:
                    errors.append((Path(entry.path), _describe(exc)))
                continue
            if stat.S_ISREG(est.st_mode):
                yield rel, FileStat(est.st_size, est.st_mtime)


def _describe(exc: OSError) -> str:
    if isinstance(exc, PermissionError):
        return "permission denied"
    if isinstance(exc, FileNotFoundError):
        return "vanished"
    return exc.strerror or str(exc)


@dataclass
class _NewFile:
    root_id: int
    rel: str
    stat: FileStat
    hash: str | None


def scan_library(
    cat: Catalog,
    roots: list[Root] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> ScanReport:
    """Reconcile the catalog with the disk for ``roots`` (default: all).

    Moves are matched across all scanned roots, so a photo moved from one library
    folder to another keeps everything.
    """
    report = ScanReport()
    patterns = cat.exclusions()
    gone: dict[int, PhotoRow] = {}
    new_files: list[_NewFile] = []
    for root in roots if roots is not None else cat.roots():
        if not root_reachable(root.path):
            if root.online:
                log.warning("library folder %s is missing: its photos are offline", root.path)
            cat.set_root_online(root.id, False)
            report.offline_roots.append(root.path)
            continue
        if not root.online:
            cat.set_root_online(root.id, True)
        known = cat.photos_in_root(root.id)
        for rel, fst in walk_photos(root.path, patterns, report.errors, should_stop):
            row = known.pop(rel, None)
            if row is None:
                new_files.append(_NewFile(root.id, rel, fst, None))
            elif row.size != fst.size or abs(row.mtime - fst.mtime) > 1e-6:
                digest = _safe_hash(root.path / rel, fst.size, report)
                if digest is not None and digest == row.content_hash:
                    # touched, not changed (e.g. a copy that kept content): keep the vector
                    cat.move_photo(row.id, root.id, rel, fst.mtime)
                    report.unchanged += 1
                else:
                    cat.mark_changed(row.id, fst.size, fst.mtime, digest)
                    report.changed += 1
            else:
                report.unchanged += 1
        if should_stop and should_stop():
            return report
        gone.update({row.id: row for row in known.values()})
        cat.mark_scanned(root.id)
    _apply_new_and_gone(cat, new_files, gone, report)
    return report


def _safe_hash(path: Path, size: int, report: ScanReport) -> str | None:
    try:
        return content_hash(path, size)
    except OSError as exc:
        report.errors.append((path, _describe(exc)))
        return None


def _apply_new_and_gone(
    cat: Catalog, new_files: list[_NewFile], gone: dict[int, PhotoRow], report: ScanReport
) -> None:
    by_hash: dict[tuple[int, str], list[PhotoRow]] = {}
    for row in gone.values():
        if row.content_hash:
            by_hash.setdefault((row.size, row.content_hash), []).append(row)
    roots = {r.id: r.path for r in cat.roots()}
    with cat.transaction():
        for nf in new_files:
            nf.hash = _safe_hash(roots[nf.root_id] / nf.rel, nf.stat.size, report)
            candidates = by_hash.get((nf.stat.size, nf.hash or ""), [])
            if nf.hash and candidates:
                moved = candidates.pop(0)
                cat.move_photo(moved.id, nf.root_id, nf.rel, nf.stat.mtime)
                gone.pop(moved.id, None)
                report.moved += 1
            else:
                cat.add_photo(nf.root_id, nf.rel, nf.stat.size, nf.stat.mtime, nf.hash)
                report.added += 1
        cat.delete_photos(gone.keys())
        report.removed += len(gone)
