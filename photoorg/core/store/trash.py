"""Undoing "move to the trash": put a file back from the operating system's trash.

Freedesktop trash (Linux, BSD): ``$XDG_DATA_HOME/Trash`` and ``<mount>/.Trash-<uid>`` /
``<mount>/.Trash/<uid>`` hold ``files/NAME`` and ``info/NAME.trashinfo`` (whose ``Path=``
is the original location, URL-encoded, relative to the mount for a volume trash). Other
systems' trashes have no such index here: there the user restores the file from the trash,
and the photo's row (kept *missing*) takes it back with its tags, names and faces.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from photoorg.core.store import journal, missing
from photoorg.core.store.catalog import Catalog

log = logging.getLogger(__name__)

TRASH_ACTION = "photos.trash"


def _mount_of(path: Path) -> Path:
    path = path.absolute()
    while not os.path.ismount(path) and path.parent != path:
        path = path.parent
    return path


def _trash_dirs(original: Path) -> list[tuple[Path, Path | None]]:
    """(trash folder, the folder its relative paths start from) that may hold the file."""
    home = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    out: list[tuple[Path, Path | None]] = [(home / "Trash", None)]
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
