"""The system trash (core.trash) both ways, as each OS really behaves: the freedesktop trash
written and read back on Linux/BSD (in the test's folder through XDG_DATA_HOME), the real
Recycle Bin / Trash on Windows and macOS (CI machines only: see ``system_trash``)."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path
from urllib.parse import unquote

import pytest

from photoorg.core.store import trash

freedesktop = pytest.mark.skipif(sys.platform in ("win32", "darwin"),
                                 reason="freedesktop trash: Linux/BSD only")


def _info(system_trash: Path, name: str) -> dict[str, str]:
    text = (system_trash / "info" / f"{name}.trashinfo").read_text(encoding="utf-8")
    assert text.startswith("[Trash Info]\n")
    return dict(line.split("=", 1) for line in text.splitlines()[1:])


def test_trash_and_restore_round_trip(tmp_path: Path, system_trash: Path | None) -> None:
    photo = tmp_path / "photos" / "été 2024 #1.jpg"
    photo.parent.mkdir()
    photo.write_bytes(b"jpeg")
    trash.send_to_trash(photo)
    assert not photo.exists()
    with pytest.raises(FileNotFoundError):
        trash.send_to_trash(photo)
    if system_trash is None:  # the Recycle Bin / Trash has no index photoorg reads
        assert not trash.restore_from_trash(photo)
        return
    assert (system_trash / "files" / photo.name).read_bytes() == b"jpeg"
    fields = _info(system_trash, photo.name)
    assert unquote(fields["Path"]) == str(photo)
    assert "%23" in fields["Path"] and "%20" in fields["Path"]  # URL-encoded, as the spec says
    assert len(fields["DeletionDate"]) == 19
    assert trash.restore_from_trash(photo)
    assert photo.read_bytes() == b"jpeg"
    assert not list((system_trash / "files").iterdir())
    assert not list((system_trash / "info").iterdir())


@freedesktop
def test_same_names_from_two_folders_each_go_back_home(tmp_path: Path,
                                                       system_trash: Path | None) -> None:
    assert system_trash is not None
    first, second = tmp_path / "a" / "IMG_1.jpg", tmp_path / "b" / "IMG_1.jpg"
    for n, path in enumerate((first, second)):
        path.parent.mkdir()
        path.write_bytes(bytes([n]))
        trash.send_to_trash(path)
    assert sorted(p.name for p in (system_trash / "files").iterdir()) == [
        "IMG_1 1.jpg", "IMG_1.jpg"]
    assert unquote(_info(system_trash, "IMG_1 1.jpg")["Path"]) == str(second)
    assert trash.restore_from_trash(second) and trash.restore_from_trash(first)
    assert first.read_bytes() == b"\0" and second.read_bytes() == b"\1"
    (tmp_path / "a" / "IMG_1.jpg").write_bytes(b"new")  # something there now: never replaced
    trash.send_to_trash(first)
    first.write_bytes(b"newer")
    assert not trash.restore_from_trash(first)
    assert first.read_bytes() == b"newer"


@freedesktop
def test_volume_trash_follows_the_spec(tmp_path: Path) -> None:
    """A disk other than home's: ``.Trash/<uid>`` where the administrator made a sticky
    ``.Trash``, else ``.Trash-<uid>`` (a mount point's folder stands in for the disk)."""
    uid = str(os.getuid())
    assert trash._volume_trash(tmp_path) == tmp_path / f".Trash-{uid}"
    (tmp_path / ".Trash").mkdir()  # not sticky: not to be used
    assert trash._volume_trash(tmp_path) == tmp_path / f".Trash-{uid}"
    (tmp_path / ".Trash").chmod(0o1777)
    assert trash._volume_trash(tmp_path) == tmp_path / ".Trash" / uid
    assert stat.S_IMODE((tmp_path / ".Trash" / uid).stat().st_mode) == 0o700


@freedesktop
@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0,
                    reason="root may write anywhere: permissions cannot be tested as root")
def test_a_file_that_cannot_be_moved_stays(tmp_path: Path, system_trash: Path | None) -> None:
    folder = tmp_path / "locked"
    folder.mkdir()
    (folder / "x.jpg").write_bytes(b"x")
    folder.chmod(0o500)
    try:
        with pytest.raises(PermissionError):
            trash.send_to_trash(folder / "x.jpg")
        assert (folder / "x.jpg").read_bytes() == b"x"
    finally:
        folder.chmod(0o700)
