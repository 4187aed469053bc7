"""Path rules that differ between Windows, macOS and Linux, in one place.

The pure functions take Windows paths as :class:`PureWindowsPath` (or strings) so that
Linux tests check the Windows rules; the few that touch the disk say so.

* Library roots may be drive paths (``D:\\Photos``) or UNC paths (``\\\\server\\share\\Photos``);
  Windows compares them case-insensitively (:func:`split_under_root`), and a drive that
  comes back under another letter is found by content (:func:`find_relocated_root`).
* Names are matched whatever their Unicode normalisation (macOS lists ``Café.jpg`` in NFD
  on HFS+ and in whatever form it was created on APFS; users type NFC) and, on file
  systems that ignore case, whatever their letter case (:func:`match_key`). The catalog
  keeps the name as the disk spells it, so that it opens on every file system.
* Paths of 260 characters or more need the ``\\\\?\\`` prefix on Windows (:func:`long_path`).
* Names that Windows forbids (``a:b?.jpg`` on a Linux share) are indexed as they are; where
  a Samba share shows them to Windows through private-use stand-ins, the window shows the
  name as meant (:func:`display_name`). photoorg names no file after a photo (sidecars take
  their photo's name on its own disk), so it needs no "Windows-safe" renaming.
"""

from __future__ import annotations

import contextlib
import ntpath
import os
import stat
import sys
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePath, PureWindowsPath

IS_WINDOWS = sys.platform.startswith("win")
IS_MAC = sys.platform == "darwin"

# Win32 MAX_PATH is 260 including the terminating NUL; CreateDirectory stops at 248
# (room for an 8.3 name), so the prefix goes on from there.
WINDOWS_PATH_LIMIT = 248
LONG_PREFIX = "\\\\?\\"
LONG_UNC_PREFIX = "\\\\?\\UNC\\"

# Samba's vfs_catia/fruit and Windows' Services for Macintosh show the forbidden ASCII
# characters of a Linux or Mac file name to Windows as these private-use characters.
SFM_PRIVATE_USE = {
    0xF001 + i: chr(1 + i) for i in range(31)
} | {
    0xF020: '"', 0xF021: "*", 0xF022: ":", 0xF023: "<", 0xF024: ">", 0xF025: "?",
    0xF026: "\\", 0xF027: "|", 0xF028: " ", 0xF029: ".",
}

# Windows file attributes that Explorer hides (desktop.ini and Thumbs.db carry both).
_HIDDEN_ATTRIBUTES = getattr(stat, "FILE_ATTRIBUTE_HIDDEN", 2) | getattr(
    stat, "FILE_ATTRIBUTE_SYSTEM", 4
)
_UF_HIDDEN = getattr(stat, "UF_HIDDEN", 0x8000)


# -- names -------------------------------------------------------------------------


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def match_key(rel: str, *, fold_case: bool = False) -> str:
    """What two spellings of one name share: NFC, and casefolded where case is ignored."""
    key = nfc(rel)
    return key.casefold() if fold_case else key


def spellings(rel: str) -> list[str]:
    """``rel`` as typed, in NFC and in NFD (the forms a stored name may have), unique."""
    out = [rel]
    for form in ("NFC", "NFD"):
        other = unicodedata.normalize(form, rel)
        if other not in out:
            out.append(other)
    return out


def display_name(name: str) -> str:
    """A name for people to read: Samba/SFM private-use stand-ins shown as the characters
    they stand for (``a\\uf022b.jpg`` is ``a:b.jpg`` on the Linux server)."""
    if not any(0xF001 <= ord(c) <= 0xF029 for c in name):
        return name
    return "".join(SFM_PRIVATE_USE.get(ord(c), c) for c in name)


def hidden_by_attributes(st: os.stat_result | object) -> bool:
    """Hidden by the OS rather than by a leading dot: Windows' hidden/system attributes
    (``st_file_attributes``), macOS's ``UF_HIDDEN`` flag (``st_flags``)."""
    attributes = getattr(st, "st_file_attributes", 0) or 0
    if attributes & _HIDDEN_ATTRIBUTES:
        return True
    return bool((getattr(st, "st_flags", 0) or 0) & _UF_HIDDEN)


# -- roots -------------------------------------------------------------------------


def is_windows_path(path: PurePath) -> bool:
    return isinstance(path, PureWindowsPath)


def native_fold_case() -> bool:
    """Whether this OS's usual file systems ignore letter case (NTFS, APFS, HFS+)."""
    return IS_WINDOWS or IS_MAC


def normalize_root(text: str, *, windows: bool = IS_WINDOWS) -> PurePath:
    """A library root as stored, from what the user typed (pure: no disk access).

    Windows: ``d:/photos\\`` -> ``D:\\photos``; ``\\\\server\\share\\Photos`` stays a UNC
    root; a drive-relative ``D:photos`` or a rootless ``\\photos`` is refused (they depend
    on the current directory of a drive, so they would point elsewhere tomorrow).
    """
    if windows:
        path = PureWindowsPath(text)
        if not path.drive or not path.root:
            raise ValueError(
                f"not an absolute Windows path: {text!r} (give a drive, D:\\Photos, "
                "or a share, \\\\server\\share\\Photos)"
            )
        drive = path.drive
        if len(drive) == 2 and drive[1] == ":":
            drive = drive.upper()
        return PureWindowsPath(drive + path.root, *path.parts[1:])
    return PurePath(text)


def _key_parts(path: PurePath, fold_case: bool) -> list[str]:
    parts = list(path.parts)
    if is_windows_path(path) and parts:
        parts[0] = parts[0].replace("/", "\\").rstrip("\\") + "\\"
    return [match_key(p, fold_case=fold_case) for p in parts]


def split_under_root(
    target: PurePath, roots: Sequence[PurePath], *, fold_case: bool | None = None
) -> tuple[int, str] | None:
    """(index of the root holding ``target``, its posix path relative to that root), the
    deepest root winning; None when no root holds it. Components are compared by
    :func:`match_key` (case ignored for Windows paths, or where ``fold_case``), so
    ``d:\\photos\\a.jpg`` is under ``D:\\Photos`` and ``\\\\SERVER\\share`` is
    ``\\\\server\\Share``. The relative path keeps the target's spelling."""
    best: tuple[int, int] | None = None
    for i, root in enumerate(roots):
        fold = fold_case if fold_case is not None else is_windows_path(root)
        rkey = _key_parts(root, fold)
        tkey = _key_parts(target, fold)
        if len(tkey) < len(rkey) or tkey[: len(rkey)] != rkey:
            continue
        if best is None or len(rkey) > best[1]:
            best = (i, len(rkey))
    if best is None:
        return None
    rel_parts = target.parts[best[1] :]
    return best[0], "/".join(rel_parts)


def with_drive(path: PureWindowsPath, drive: str) -> PureWindowsPath:
    """``D:\\Photos`` on drive ``E:`` -> ``E:\\Photos``."""
    drive = drive.rstrip(":\\/").upper() + ":"
    return PureWindowsPath(drive + "\\", *path.parts[1:])


def relocation_candidates(root: PurePath, drives: Iterable[str]) -> list[PurePath]:
    """Where a missing Windows drive root may be now: the same folders on each other
    drive letter. UNC and POSIX roots have no such rule (a share or mount point is
    re-pointed by the user)."""
    if not is_windows_path(root):
        return []
    drive = root.drive
    if len(drive) != 2 or drive[1] != ":":
        return []
    out: list[PurePath] = []
    for d in drives:
        letter = d.rstrip(":\\/").upper()
        if len(letter) == 1 and letter != drive[0].upper():
            out.append(with_drive(PureWindowsPath(root), letter))
    return out


def windows_drives() -> list[str]:
    """Drive letters present now (Windows; empty elsewhere)."""
    if not IS_WINDOWS:
        return []
    import ctypes

    mask = ctypes.windll.kernel32.GetLogicalDrives()  # type: ignore[attr-defined]
    return [chr(ord("A") + i) for i in range(26) if mask & (1 << i)]


# -- long paths --------------------------------------------------------------------


def long_path(path: str) -> str:
    """A Windows path usable past MAX_PATH: ``\\\\?\\C:\\...`` or ``\\\\?\\UNC\\server\\...``
    when it is that long (normalised first: the prefix turns off Windows' own handling of
    ``/``, ``.`` and ``..``). Shorter or already prefixed paths are returned as they are."""
    if path.startswith(LONG_PREFIX) or path.startswith("\\\\.\\"):
        return path
    full = ntpath.normpath(path)
    if len(full) < WINDOWS_PATH_LIMIT:
        return path
    if full.startswith("\\\\"):
        return LONG_UNC_PREFIX + full[2:]
    if len(full) >= 3 and full[1] == ":" and full[2] == "\\":
        return LONG_PREFIX + full
    return path  # relative: the prefix needs an absolute path


def os_path(path: str | os.PathLike[str]) -> str:
    """``path`` as this OS's file APIs need it (the long-path prefix on Windows)."""
    text = os.fspath(path)
    return long_path(text) if IS_WINDOWS else text


# -- names as the disk spells them -------------------------------------------------


@dataclass(frozen=True)
class NameRules:
    """How a file system matches names: ``fold_case`` (NTFS, APFS, FAT, SMB shares),
    ``fold_unicode`` (APFS and HFS+: NFC and NFD are one name)."""

    fold_case: bool = False
    fold_unicode: bool = False

    @property
    def folds(self) -> bool:
        return self.fold_case or self.fold_unicode

    def key(self, name: str) -> str:
        if self.fold_unicode or self.fold_case:
            name = nfc(name)
        return name.casefold() if self.fold_case else name


_rules_cache: dict[str, NameRules] = {}


def name_rules(root: Path) -> NameRules:
    """Probe how the file system under ``root`` matches names (cached per root path).

    Case: the root's own last component (or its first entry with letters), asked for in
    swapped case, is the same file. Unicode: assumed on macOS (both of its file systems
    fold normalisation), probed likewise with a name that has an accent.
    """
    key = os.fspath(root)
    cached = _rules_cache.get(key)
    if cached is not None:
        return cached
    rules = NameRules(
        fold_case=_probe(root, lambda n: n.swapcase() if n.swapcase() != n else None),
        fold_unicode=IS_MAC or _probe(root, _other_normalisation),
    )
    _rules_cache[key] = rules
    return rules


def forget_name_rules() -> None:
    _rules_cache.clear()


def _other_normalisation(name: str) -> str | None:
    for form in ("NFD", "NFC"):
        other = unicodedata.normalize(form, name)
        if other != name:
            return other
    return None


def _probe(root: Path, variant_of: object) -> bool:
    assert callable(variant_of)
    # entries first: a mount point's own name belongs to the file system above it
    try:
        candidates = [root / n for n in sorted(os.listdir(root))[:200]] + [root]
    except OSError:
        candidates = [root]
    for path in candidates:
        other = variant_of(path.name)
        if not other:
            continue
        try:
            return os.path.samefile(path, path.with_name(other))
        except OSError:
            return False  # the other spelling is not there: names are matched exactly
    return False


def on_disk_spelling(root: Path, rel: str, rules: NameRules | None = None) -> str:
    """``rel`` (posix, under ``root``) as the directory listings spell it.

    On a file system that folds case or normalisation, ``IMG.JPG`` may name the file that
    is listed as ``img.jpg``: the catalog must keep the listed name, or a rename that only
    changes case would leave the old row and add a second one. Returns ``rel`` unchanged
    when it does not exist, or when the file system matches names exactly.
    """
    rules = rules if rules is not None else name_rules(root)
    if not rel or not rules.folds:
        return rel
    try:
        os.stat(os_path(root / rel))
    except OSError:
        return rel
    folder = root
    out: list[str] = []
    for part in rel.split("/"):
        try:
            names = os.listdir(os_path(folder))
        except OSError:
            return rel
        if part not in names:
            key = rules.key(part)
            matches = [n for n in names if rules.key(n) == key]
            if len(matches) == 1:
                part = matches[0]
        out.append(part)
        folder = folder / part
    return "/".join(out)


def canonical_root(path: str | os.PathLike[str]) -> str:
    """How a library root is stored: absolute, symlinks resolved, each component as the
    disk spells it, and on Windows the drive letter upper-cased (``d:\\photos`` and
    ``D:\\Photos`` are one root even while the drive is away)."""
    resolved = true_case_path(Path(path).expanduser().resolve())
    if IS_WINDOWS:
        with contextlib.suppress(ValueError):
            return str(normalize_root(str(resolved), windows=True))
    return str(resolved)


def true_case_path(path: Path) -> Path:
    """An existing absolute path with each component as the disk spells it (a root
    typed as ``~/pictures`` is stored as ``~/Pictures``, so the paths a watcher reports
    fall under it). Unchanged where it does not exist or names match exactly."""
    anchor = Path(path.anchor)
    rel = path.relative_to(anchor).as_posix() if path.is_absolute() else ""
    if not rel or rel == ".":
        return path
    fixed = on_disk_spelling(anchor, rel, name_rules(path))
    return anchor / fixed
