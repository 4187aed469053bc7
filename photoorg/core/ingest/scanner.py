"""Walk library folders and bring the catalog in line with what is on disk.

New files are queued; changed files (size or mtime) are re-queued; a file that vanished
from one place and appeared in another with the same content hash is a *move* and keeps
its row (vector, faces, names, tags). A file gone from a reachable root leaves its row
*missing* (photoorg.core.store.missing): a file with its content that turns up later, anywhere
in the library, takes the row back. A missing root makes its photos *offline*.
"""

from __future__ import annotations

import contextlib
import errno
import fnmatch
import hashlib
import json
import logging
import os
import stat
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from photoorg.core.media.imaging import is_supported
from photoorg.core.media.platform_paths import (
    IS_MAC,
    IS_WINDOWS,
    hidden_by_attributes,
    match_key,
    name_rules,
    on_disk_spelling,
    os_path,
)
from photoorg.core.store import missing
from photoorg.core.store.catalog import Catalog, PhotoRow, Root

log = logging.getLogger(__name__)

# Windows' hidden/system attributes come free with a directory listing there; macOS's
# hidden flag costs an lstat per entry, still cheap next to hashing.
CHECK_ATTRIBUTES = IS_WINDOWS or IS_MAC

HEAD_BYTES = 1 << 20
TAIL_BYTES = 1 << 10

# Never photos: OS metadata, thumbnail stores and recycle bins (matched against each path
# component, ignoring case: Windows spells it $Recycle.Bin, FAT upper-cases THUMBS.DB).
SYSTEM_NAMES = frozenset(
    name.casefold()
    for name in (
        "$RECYCLE.BIN",
        "RECYCLER",
        "System Volume Information",
        "@eaDir",  # Synology thumbnails
        "#recycle",
        "#snapshot",
        "lost+found",
        "Thumbs.db",
        "ehthumbs.db",
        "desktop.ini",
        "__MACOSX",  # AppleDouble files of a zip made on a Mac
        "Icon\r",  # a folder's custom icon on macOS
    )
)
# Library packages of other photo apps: their originals and previews are that app's, and
# indexing them would double every photo (a .photoslibrary is a folder in Finder's eyes).
PACKAGE_SUFFIXES = (
    ".photoslibrary",  # Apple Photos
    ".photolibrary",  # iPhoto
    ".migratedphotolibrary",
    ".aplibrary",  # Aperture
    ".lrdata",  # Lightroom previews
    ".cocatalogdb",  # Capture One
)


def content_hash(path: str | os.PathLike[str], size: int | None = None) -> str:
    """size + SHA-256 of the first 1 MB and last 1 KB (rclip's identity): cheap on
    huge files, and a re-encode or edit changes it while a move or rename does not."""
    # O_NONBLOCK: a file swapped for a FIFO after the walk must not block the scan
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    fd = os.open(os_path(path), flags)
    with open(fd, "rb") as fh:
        st = os.fstat(fh.fileno())
        if not stat.S_ISREG(st.st_mode):
            raise OSError(errno.EINVAL, "not a regular file", os.fspath(path))
        if size is None:
            size = st.st_size
        digest = hashlib.sha256()
        digest.update(fh.read(HEAD_BYTES))
        if size > HEAD_BYTES:
            fh.seek(max(HEAD_BYTES, size - TAIL_BYTES))
            digest.update(fh.read(TAIL_BYTES))
    return f"{size}:{digest.hexdigest()[:40]}"


def is_excluded_name(name: str) -> bool:
    """Hidden (dot, including AppleDouble ``._x.jpg``), system, or another app's package."""
    if name.startswith("."):
        return True
    folded = name.casefold()
    return folded in SYSTEM_NAMES or folded.endswith(PACKAGE_SUFFIXES)


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

    def matches(self, size: int, mtime: float) -> bool:
        """Whether a file recorded with this size and mtime is unchanged (mtime within a
        microsecond: file systems round it differently)."""
        return self.size == size and abs(self.mtime - mtime) <= 1e-6


@dataclass
class ScanReport:
    added: int = 0
    changed: int = 0
    moved: int = 0
    removed: int = 0  # rows whose files went missing (kept, hidden; see core.missing)
    unchanged: int = 0
    returned: int = 0  # missing rows whose file is back (same place, or same content)
    offline_roots: list[Path] = field(default_factory=list)
    errors: list[tuple[Path, str]] = field(default_factory=list)
    # rows whose files are missing but were kept (``scan_paths(defer_deletes=True)``)
    gone: list[PhotoRow] = field(default_factory=list)
    # (root id, relative path) of the rows this scan added or matched as moved there
    found: list[tuple[int, str]] = field(default_factory=list)

    def merge(self, other: ScanReport) -> None:
        self.added += other.added
        self.changed += other.changed
        self.moved += other.moved
        self.removed += other.removed
        self.unchanged += other.unchanged
        self.returned += other.returned
        self.offline_roots += other.offline_roots
        self.errors += other.errors
        self.gone += other.gone
        self.found += other.found

    @property
    def changes(self) -> int:
        """How many catalog rows this scan added, re-queued, moved, took back or lost."""
        return self.added + self.changed + self.moved + self.removed + self.returned


NAME_NOT_UTF8 = "file name is not valid UTF-8"


def storable(rel_path: str) -> bool:
    """Whether a path can be stored in the catalog: names that are not valid UTF-8
    (decoded by Python with surrogate escapes) cannot, and are skipped and reported."""
    try:
        rel_path.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


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
    start: str = "",
) -> Iterator[tuple[str, FileStat]]:
    """Yield (posix path relative to root, stat) for supported photos under ``root``
    (only below the relative folder ``start`` when given).

    Follows directory symlinks but never enters the same directory twice (loops).
    Unreadable folders are reported in ``errors`` and skipped.
    """
    seen: set[tuple[int, int]] = set()
    stack: list[tuple[Path, str]] = [(root / PurePosixPath(start), start) if start else (root, "")]
    if start:  # a symlink back to an ancestor must not be walked again (as a full scan)
        for ancestor in [root, *(root / p for p in PurePosixPath(start).parents if str(p) != ".")]:
            with contextlib.suppress(OSError):
                ast = ancestor.stat()
                seen.add((ast.st_dev, ast.st_ino))
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
            with os.scandir(os_path(folder)) as entries:
                listing = list(entries)
        except OSError as exc:
            if errors is not None:
                errors.append((folder, _describe(exc)))
            continue
        for entry in listing:
            rel = f"{rel_folder}/{entry.name}" if rel_folder else entry.name
            if is_excluded(rel, patterns):
                continue
            if not storable(entry.name):  # the catalog keeps UTF-8 text
                if errors is not None:
                    errors.append((folder / entry.name, NAME_NOT_UTF8))
                continue
            try:
                if CHECK_ATTRIBUTES and hidden_by_attributes(entry.stat(follow_symlinks=False)):
                    continue  # hidden by Windows' attributes or macOS's flag
                if entry.is_dir(follow_symlinks=True):
                    stack.append((folder / entry.name, rel))
                    continue
                if not is_supported(entry.name):
                    continue
                est = entry.stat(follow_symlinks=True)
            except OSError as exc:  # broken symlink, vanished, permission
                if errors is not None:
                    errors.append((folder / entry.name, _describe(exc)))
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
    *,
    grace_days: float = missing.DEFAULT_GRACE_DAYS,
) -> ScanReport:
    """Reconcile the catalog with the disk for ``roots`` (default: all).

    Moves are matched across all scanned roots, so a photo moved from one library
    folder to another keeps everything. Photos missing for longer than ``grace_days``
    are forgotten.
    """
    report = ScanReport()
    patterns = cat.exclusions()
    was_missing = missing.missing_ids(cat)
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
        rules = name_rules(root.path)
        aliases: dict[str, str] | None = None
        first_error = len(report.errors)
        for rel, fst in walk_photos(root.path, patterns, report.errors, should_stop):
            row = known.pop(rel, None)
            if row is None and known:
                if aliases is None:
                    aliases = {match_key(r, fold_case=rules.fold_case): r for r in known}
                row = _respelled(cat, known, aliases, rel, fst, rules.fold_case)
            if row is None:
                new_files.append(_NewFile(root.id, rel, fst, None))
            else:
                _reconcile_known(cat, row, root, rel, fst, report, was_missing)
        if should_stop and should_stop():
            return report
        # a folder or file that could not be read is not a deleted one: keep its rows
        _record_unreadable(cat, root, report.errors[first_error:], known)
        unreadable = _unreadable(root.path, report.errors[first_error:])
        gone.update({row.id: row for row in known.values() if not _under(row.rel_path, unreadable)})
        _remember_unreadable_folders(cat, root, report.errors[first_error:])
        cat.mark_scanned(root.id)
    _apply_new_and_gone(cat, new_files, gone, report)
    missing.expire(cat, grace_days)
    return report


def _reconcile_known(cat: Catalog, row: PhotoRow, root: Root, rel: str, fst: FileStat,
                     report: ScanReport, was_missing: Collection[int]) -> None:
    """A file the catalog already has: unchanged, touched only (same content: keep its
    vector and everything derived from it) or changed (indexed again)."""
    if not fst.matches(row.size, row.mtime):
        digest = _safe_hash(root.path / rel, fst.size, report)
        if digest is not None and digest == row.content_hash:
            cat.move_photo(row.id, root.id, rel, fst.mtime)
            report.unchanged += 1
        else:
            cat.mark_changed(row.id, fst.size, fst.mtime, digest)
            report.changed += 1
    else:
        report.unchanged += 1
    if row.id in was_missing:
        report.returned += missing.mark_present(cat, [row.id])


def _respelled(
    cat: Catalog,
    known: dict[str, PhotoRow],
    aliases: dict[str, str],
    rel: str,
    fst: FileStat,
    fold_case: bool,
) -> PhotoRow | None:
    """The row stored under another spelling of ``rel`` (NFC vs NFD, or letter case on a
    file system that ignores it), now stored as listed. Only when size and mtime agree:
    otherwise the content-hash matching decides, as for any other move."""
    stored = aliases.get(match_key(rel, fold_case=fold_case))
    row = known.get(stored) if stored is not None else None
    if row is None or not fst.matches(row.size, row.mtime):
        return None
    del known[row.rel_path]
    cat.move_photo(row.id, row.root_id, rel, row.mtime)
    return row


UNREADABLE_META = "unreadable_folders"


def _remember_unreadable_folders(cat: Catalog, root: Root, errors: list[tuple[Path, str]]) -> None:
    """Folders a full scan of ``root`` could not list, kept in the catalog's meta for
    ``status`` (a folder is no photo, so it has no skipped row)."""
    folders = [
        [str(path), why]
        for path, why in errors
        if why not in ("vanished", NAME_NOT_UTF8)
        and (not is_supported(path.name) or os.path.isdir(path))
    ][:200]
    try:
        known = json.loads(cat.get_meta(UNREADABLE_META) or "{}")
    except ValueError:
        known = {}
    if folders:
        known[str(root.id)] = folders
    elif str(root.id) not in known:
        return
    else:
        del known[str(root.id)]
    cat.set_meta(UNREADABLE_META, json.dumps(known))


def unreadable_folders(cat: Catalog) -> list[tuple[str, str]]:
    """(path, reason) of library subfolders the last full scan could not read."""
    try:
        known = json.loads(cat.get_meta(UNREADABLE_META) or "{}")
    except ValueError:
        return []
    live = {str(r.id) for r in cat.roots()}
    return [(path, why) for rid, items in known.items() if rid in live for path, why in items]


def _safe_hash(path: Path, size: int, report: ScanReport) -> str | None:
    """The content hash, or None when the file cannot be read (recorded in the report,
    unless it is simply gone: the caller looks at that)."""
    try:
        return content_hash(path, size)
    except FileNotFoundError:
        return None
    except OSError as exc:
        report.errors.append((path, _describe(exc)))
        return None


def _apply_new_and_gone(
    cat: Catalog,
    new_files: list[_NewFile],
    gone: dict[int, PhotoRow],
    report: ScanReport,
    delete: bool = True,
) -> None:
    by_hash: dict[tuple[int, str], list[PhotoRow]] = {}
    for row in gone.values():
        if row.content_hash:
            by_hash.setdefault((row.size, row.content_hash), []).append(row)
    roots = {r.id: r.path for r in cat.roots()}
    moved_on = False
    with cat.transaction():
        for nf in new_files:
            path = roots[nf.root_id] / nf.rel
            nf.hash = _safe_hash(path, nf.stat.size, report)
            if nf.hash is None and not os.path.lexists(path):
                # gone between listing and reading: moved on, or deleted. A row here,
                # without a hash, could never be matched to the photo's old row.
                moved_on = True
                continue
            candidates = by_hash.get((nf.stat.size, nf.hash or ""), [])
            if nf.hash and candidates:
                moved = candidates.pop(0)
                cat.move_photo(moved.id, nf.root_id, nf.rel, nf.stat.mtime)
                gone.pop(moved.id, None)
                report.moved += 1
            elif missing.take_back(
                cat, nf.stat.size, nf.hash, nf.root_id, nf.rel, nf.stat.mtime
            ) is not None:
                report.returned += 1
            else:
                cat.add_photo(nf.root_id, nf.rel, nf.stat.size, nf.stat.mtime, nf.hash)
                report.added += 1
            report.found.append((nf.root_id, nf.rel))
        # the root may have gone away while we walked (unplugged, unmounted, deleted):
        # then its files are offline, not deleted
        reachable = {rid: root_reachable(path) for rid, path in roots.items()}
        kept = [row for row in gone.values() if not reachable.get(row.root_id, False)]
        for row in kept:
            gone.pop(row.id)
        if moved_on and delete:
            # files moved while we looked: a gone row may be one of them, now somewhere
            # this walk has passed. Keep the rows; the next scan matches them by content.
            log.info("files moved during the scan: %d missing photos kept for now", len(gone))
            delete = False
        if not delete:
            report.gone.extend(gone.values())
    if delete and gone:
        # a row whose content turned up in a newer row (a move seen in two halves, e.g.
        # by a watcher killed in between) takes that row's place instead of vanishing
        forgotten = forget_gone(cat, gone.values(), adopt_since=0.0)
        report.removed += forgotten.removed
        report.moved += forgotten.moved


def _unreadable(root: Path, errors: list[tuple[Path, str]]) -> list[str]:
    """Relative paths that could not be read (not merely vanished): rows there are kept."""
    out = []
    for path, why in errors:
        if why == "vanished":
            continue
        try:
            rel = path.relative_to(root).as_posix()
        except ValueError:
            continue
        out.append("" if rel == "." else rel)
    return out


def _record_unreadable(
    cat: Catalog, root: Root, errors: list[tuple[Path, str]], known: dict[str, PhotoRow]
) -> None:
    """Photo files that cannot even be examined (broken or looping symbolic links,
    permission denied, name too long) are recorded as skipped with the reason, so that
    ``status`` lists them. A row already there is kept as it is (taken out of ``known``).
    """
    for path, why in errors:
        if not is_supported(path.name):
            continue
        try:
            rel = path.relative_to(root.path).as_posix()
        except ValueError:
            continue
        link = os.path.islink(path)
        if rel == "." or (why == "vanished" and not link) or not storable(rel):
            continue
        if os.path.isdir(path):
            continue
        if known.pop(rel, None) is not None:
            continue
        if why == "vanished":
            reason, detail = "broken symbolic link", _readlink(path)
        elif why == "permission denied":
            reason, detail = "permission denied", ""
        elif "symbolic link" in why.lower():
            reason, detail = "symbolic link loop", _readlink(path)
        else:
            reason, detail = "read error", why
        with cat.transaction():
            photo_id = cat.add_photo(root.id, rel, 0, 0.0, None)
            cat.mark_skipped(photo_id, reason, detail)


def _readlink(path: Path) -> str:
    try:
        return f"-> {os.readlink(path)}"
    except OSError:
        return ""


def _under(rel: str, prefixes: list[str]) -> bool:
    return any(p == "" or rel == p or rel.startswith(p + "/") for p in prefixes)


def _outermost(rels: Iterable[str]) -> list[str]:
    """The given relative paths less those inside another one of them."""
    chosen: set[str] = set()
    for rel in sorted({r.strip("/") for r in rels}, key=len):
        if "" in chosen:
            break
        if not any(str(p) in chosen for p in PurePosixPath(rel).parents if str(p) != "."):
            chosen.add(rel)
    return sorted(chosen)


def _photos_at(
    root: Path, rel: str, patterns: list[str], errors: list[tuple[Path, str]]
) -> Iterator[tuple[str, FileStat]]:
    """Supported photos at ``rel``: the file itself, or everything below the folder."""
    if not rel:
        yield from walk_photos(root, patterns, errors)
        return
    if is_excluded(rel, patterns):
        return
    path = root / PurePosixPath(rel)
    try:
        st = path.stat()
    except (FileNotFoundError, NotADirectoryError):
        return
    except OSError as exc:
        if exc.errno not in (errno.ENOENT, errno.ENOTDIR):
            errors.append((path, _describe(exc)))
        return
    if stat.S_ISDIR(st.st_mode):
        yield from walk_photos(root, patterns, errors, start=rel)
    elif stat.S_ISREG(st.st_mode) and is_supported(path.name):
        yield rel, FileStat(st.st_size, st.st_mtime)


def scan_paths(
    cat: Catalog,
    targets: Mapping[int, Iterable[str]],
    *,
    defer_deletes: bool = False,
    should_stop: Callable[[], bool] | None = None,
) -> ScanReport:
    """Reconcile only some paths: ``{root id: [relative path, ...]}``, each a file or a
    folder (walked), ``""`` for the whole root. The folder watcher's targeted
    :func:`scan_library`.

    New files are queued, changed ones re-queued; a path that no longer exists makes the
    rows at it and below it *gone*. Gone rows are matched by content hash with the new
    files of the same call (a move keeps its row); the others are deleted, or with
    ``defer_deletes`` kept and listed in ``report.gone`` for the caller to confirm with
    :func:`forget_gone`. Unreachable roots are marked offline and left alone; rows under
    unreadable folders are kept.
    """
    report = ScanReport()
    patterns = cat.exclusions()
    was_missing = missing.missing_ids(cat)
    roots = {r.id: r for r in cat.roots()}
    gone: dict[int, PhotoRow] = {}
    new_files: list[_NewFile] = []
    queued: set[tuple[int, str]] = set()
    for root_id, rels in targets.items():
        root = roots.get(root_id)
        if root is None:
            continue
        if not root_reachable(root.path):
            if root.online:
                log.warning("library folder %s is missing: its photos are offline", root.path)
                cat.set_root_online(root.id, False)
            report.offline_roots.append(root.path)
            continue
        # Where the file system ignores case (or Unicode normalisation), ``IMG.JPG`` may
        # name the file listed as ``img.jpg``: look at what the disk lists, and at the
        # rows stored under the spelling the event gave.
        rules = name_rules(root.path)
        typed: dict[str, set[str]] = {}
        for rel in rels:
            listed = on_disk_spelling(root.path, rel, rules) if rules.folds else rel
            typed.setdefault(listed, set()).add(rel)
        for rel in _outermost(typed):
            if should_stop and should_stop():
                return report
            if not storable(rel):
                report.errors.append((root.path / rel, NAME_NOT_UTF8))
                continue
            first_error = len(report.errors)
            known = cat.photos_under(root.id, rel)
            for other in typed.get(rel, ()):
                if other != rel and storable(other):
                    known.update(cat.photos_under(root.id, other))
            for path_rel, fst in _photos_at(root.path, rel, patterns, report.errors):
                row = known.pop(path_rel, None)
                if row is None:
                    if (root.id, path_rel) in queued:
                        continue
                    queued.add((root.id, path_rel))
                    new_files.append(_NewFile(root.id, path_rel, fst, None))
                else:
                    _reconcile_known(cat, row, root, path_rel, fst, report, was_missing)
            _record_unreadable(cat, root, report.errors[first_error:], known)
            unreadable = _unreadable(root.path, report.errors[first_error:])
            gone.update(
                {row.id: row for row in known.values() if not _under(row.rel_path, unreadable)}
            )
    _apply_new_and_gone(cat, new_files, gone, report, delete=not defer_deletes)
    return report


def _still_there(root: Path, rel: str, patterns: list[str]) -> bool:
    if is_excluded(rel, patterns) or not is_supported(PurePosixPath(rel).name):
        return False
    try:
        if not stat.S_ISREG((root / PurePosixPath(rel)).stat().st_mode):
            return False
    except OSError:
        return False
    # on a file system that ignores case, IMG.JPG "exists" after a rename to img.jpg
    rules = name_rules(root)
    return not rules.folds or on_disk_spelling(root, rel, rules) == rel


def forget_gone(
    cat: Catalog, rows: Iterable[PhotoRow], *, adopt_since: float | None = None
) -> ScanReport:
    """Mark the rows of files that are really gone *missing* (after checking again): they
    keep everything and leave the views until their content comes back or the user
    forgets them (:mod:`photoorg.core.store.missing`).

    A row is kept (and listed in ``report.gone``) when its root is unreachable (offline,
    never deleted) or its file is back. With ``adopt_since`` (wall-clock time), a gone
    row whose content turned up in a row added since then (a move seen as a delete plus a
    create: between library folders, or copy-then-delete) takes that row's place, so its
    vector, faces, names and tags survive (counted as moved).
    """
    report = ScanReport()
    rows = list(rows)
    patterns = cat.exclusions()
    roots = {r.id: r for r in cat.roots()}
    reachable: dict[int, bool] = {}
    ids = {row.id for row in rows}
    doomed: list[int] = []
    for row in rows:
        root = roots.get(row.root_id)
        if root is None:
            continue
        if not reachable.setdefault(root.id, root_reachable(root.path)):
            report.gone.append(row)
            continue
        current = cat.photo(row.id)
        if current is None:
            continue  # deleted meanwhile
        if current.root_id != row.root_id:  # moved to another library folder meanwhile
            root = roots.get(current.root_id)
            if root is None or not reachable.setdefault(root.id, root_reachable(root.path)):
                continue
        # (a folder move may have carried the row along: judge it where it is now)
        if _still_there(root.path, current.rel_path, patterns):
            report.gone.append(current)
            continue
        if adopt_since is not None and current.content_hash:
            copy = next(
                (
                    c
                    for c in cat.adoptable_copies(current.size, current.content_hash, adopt_since)
                    if c.id not in ids
                    and c.root_id in roots
                    and _still_there(roots[c.root_id].path, c.rel_path, patterns)
                ),
                None,
            )
            if copy is not None:
                with cat.transaction():
                    cat.delete_photos([copy.id])
                    cat.move_photo(row.id, copy.root_id, copy.rel_path, copy.mtime)
                ids.add(copy.id)
                report.moved += 1
                continue
        doomed.append(row.id)
    report.removed += missing.mark_missing(cat, doomed)
    return report
