"""The operating system's trash, both ways: move a file there, and (for Undo) put it back.

Freedesktop trash (Linux, BSD), written and read here: ``$XDG_DATA_HOME/Trash`` and
``<mount>/.Trash/<uid>`` / ``<mount>/.Trash-<uid>`` hold ``files/NAME`` and
``info/NAME.trashinfo`` (whose ``Path=`` is the original location, URL-encoded, relative to the
mount for a volume trash). The environment is read on each call, so ``XDG_DATA_HOME`` decides
where the home trash is, as the specification says. Windows' Recycle Bin and macOS's Trash go
through send2trash (the shell's own calls); their trashes have no index here: there the user
restores the file from the trash, and the photo's row (kept *missing*) takes it back with its
tags, names and faces.
"""

from __future__ import annotations

import logging
import os
import shutil
import stat
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from photoorg.core.store import journal, missing
from photoorg.core.store.catalog import Catalog

log = logging.getLogger(__name__)

TRASH_ACTION = "photos.trash"


def _mount_of(path: Path) -> Path:
    path = path.absolute()
    while not os.path.ismount(path) and path.parent != path:
        path = path.parent
    return path


def _home_trash() -> Path:
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "Trash"


def _device(path: Path) -> int:
    """The device of ``path``, or of its nearest folder that exists (a trash not made yet)."""
    while not path.exists() and path.parent != path:
        path = path.parent
    return path.stat().st_dev


def _volume_trash(mount: Path) -> Path:
    """``<mount>/.Trash/<uid>`` where the administrator made a sticky ``.Trash`` (and it is
    no link), else ``<mount>/.Trash-<uid>``."""
    uid = str(os.getuid())
    shared = mount / ".Trash"
    try:
        mode = shared.lstat().st_mode
        if stat.S_ISDIR(mode) and mode & stat.S_ISVTX:
            (shared / uid).mkdir(mode=0o700, exist_ok=True)
            return shared / uid
    except OSError:
        pass
    return mount / f".Trash-{uid}"


def _freedesktop_trash(path: Path) -> Path:
    """Move ``path`` into the freedesktop trash on its own disk; returns where it went."""
    path = path.absolute()
    if not os.access(path.parent, os.W_OK):
        raise PermissionError(f"{path}: no permission to move it out of its folder")
    home = _home_trash()
    trash, top = home, None
    if path.lstat().st_dev != _device(home):
        mount = _mount_of(path.parent)
        try:
            trash, top = _volume_trash(mount), mount
            (trash / "files").mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError:  # a volume without a trash of its own: copied to the home trash
            trash, top = home, None
    (trash / "files").mkdir(mode=0o700, parents=True, exist_ok=True)
    (trash / "info").mkdir(mode=0o700, parents=True, exist_ok=True)
    where = path.relative_to(top) if top is not None else path
    info_text = (f"[Trash Info]\nPath={quote(os.fsencode(where))}\n"
                 f"DeletionDate={time.strftime('%Y-%m-%dT%H:%M:%S')}\n")
    stem, suffix, n = path.stem, path.suffix, 0
    while True:  # the info file, made exclusively, reserves the name
        name = path.name if n == 0 else f"{stem} {n}{suffix}"
        info = trash / "info" / f"{name}.trashinfo"
        try:
            with open(info, "x", encoding="utf-8") as f:
                f.write(info_text)
        except FileExistsError:
            n += 1
            continue
        if (trash / "files" / name).exists():
            info.unlink()
            n += 1
            continue
        break
    try:
        if top is None and path.lstat().st_dev != _device(trash):
            shutil.move(path, trash / "files" / name)
        else:
            os.rename(path, trash / "files" / name)
    except BaseException:
        info.unlink(missing_ok=True)
        raise
    return trash / "files" / name


def send_to_trash(path: str | os.PathLike[str]) -> None:
    """Move one file to this system's trash (never a delete): the freedesktop trash on Linux
    and BSD, the Recycle Bin on Windows, the Trash on macOS. Raises OSError when it cannot."""
    path = Path(path)
    if not os.path.lexists(path):  # the same error on every system
        raise FileNotFoundError(f"{path} is not there")
    if sys.platform in ("win32", "darwin"):
        from send2trash import send2trash

        send2trash(str(path))
        return
    _freedesktop_trash(path)


def _trash_dirs(original: Path) -> list[tuple[Path, Path | None]]:
    """(trash folder, the folder its relative paths start from) that may hold the file."""
    out: list[tuple[Path, Path | None]] = [(_home_trash(), None)]
    if hasattr(os, "getuid"):
        mount = _mount_of(original.parent)
        uid = os.getuid()
        out += [(mount / f".Trash-{uid}", mount), (mount / ".Trash" / str(uid), mount)]
    return out


def restore_from_trash(original: str | os.PathLike[str]) -> bool:
    """Move the most recently trashed file that was at ``original`` back there; False when
    it is not found (or this system's trash cannot be read) or something is there now."""
    original = Path(original).absolute()
    if sys.platform in ("win32", "darwin") or original.exists():
        return False
    found: list[tuple[str, Path, Path]] = []  # (deletion date, info file, trashed file)
    for trash, top in _trash_dirs(original):
        info_dir = trash / "info"
        if not info_dir.is_dir():
            continue
        for info in info_dir.glob("*.trashinfo"):
            try:
                fields = dict(line.split("=", 1) for line in
                              info.read_text(encoding="utf-8").splitlines() if "=" in line)
            except (OSError, ValueError):
                continue
            where = Path(unquote(fields.get("Path", "")))
            if not where.is_absolute() and top is not None:
                where = top / where
            if where == original:
                found.append((fields.get("DeletionDate", ""), info,
                              trash / "files" / info.name[: -len(".trashinfo")]))
    for _date, info, trashed in sorted(found, reverse=True):
        if trashed.exists():
            original.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(trashed, original)  # (a trash on another drive: copied back)
            info.unlink(missing_ok=True)
            return True
    return False


def undo_trash(cat: Catalog, payload: dict[str, Any]) -> None:
    """The journal's inverse of moving photos to the trash (see core.duplicates): each file
    goes back where it was and its row, kept missing meanwhile, is there again."""
    for item in payload.get("files", []):
        path, photo_id = Path(item["path"]), int(item["photo_id"])
        if restore_from_trash(path):
            missing.mark_present(cat, [photo_id])
        else:  # the row stays missing: restoring the file by hand brings it all back
            log.warning("%s could not be taken out of the trash here; restore it from the "
                        "trash and photoorg takes it back", path)


journal.register_inverse(TRASH_ACTION, undo_trash)
