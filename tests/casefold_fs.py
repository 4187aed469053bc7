"""A pass-through FUSE file system that matches names the way APFS and NTFS do: ignoring
letter case (and, like APFS, Unicode normalisation), keeping the spelling a file was
created with. Lets Linux tests run photoorg's scanner on such a file system.

    python tests/casefold_fs.py BACKING_DIR MOUNT_POINT     (foreground; unmount to stop)

Needs libfuse (Debian: libfuse2 or fuse3) and mfusepy.
"""

from __future__ import annotations

import contextlib
import errno
import os
import subprocess
import sys
import time
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any

try:
    import mfusepy as fuse
except (ImportError, OSError) as exc:  # OSError: libfuse itself is missing
    fuse = None
    WHY_NOT = f"mfusepy/libfuse unavailable: {exc}"
else:
    WHY_NOT = ""


def fold(name: str) -> str:
    return unicodedata.normalize("NFC", name).casefold()


class CaseFoldingFS(fuse.Operations if fuse else object):  # type: ignore[misc]
    use_ns = True

    def __init__(self, backing: str) -> None:
        self.backing = os.path.realpath(backing)

    # path resolution: each component as the backing store spells it
    def _real(self, path: str) -> str:
        current = self.backing
        for part in [p for p in path.split("/") if p]:
            candidate = os.path.join(current, part)
            if not os.path.lexists(candidate):
                try:
                    names = os.listdir(current)
                except OSError:
                    names = []
                match = next((n for n in names if fold(n) == fold(part)), None)
                if match is not None:
                    candidate = os.path.join(current, match)
            current = candidate
        return current

    def _new(self, path: str) -> str:
        """Where a new entry goes: its folder resolved, its own name as given."""
        folder, name = os.path.split(path)
        return os.path.join(self._real(folder), name)

    def getattr(self, path: str, fh: Any = None) -> dict[str, Any]:
        try:
            st = os.lstat(self._real(path))
        except OSError as exc:
            raise fuse.FuseOSError(exc.errno) from None
        keys = ("st_mode", "st_ino", "st_nlink", "st_uid", "st_gid", "st_size",
                "st_atime_ns", "st_mtime_ns", "st_ctime_ns")
        out = {k: getattr(st, k) for k in keys}
        out["st_atime"], out["st_mtime"], out["st_ctime"] = (
            st.st_atime_ns, st.st_mtime_ns, st.st_ctime_ns
        )
        return out

    def readdir(self, path: str, fh: Any) -> list[tuple[str, dict[str, int], int]]:
        # with use_ino, an entry without its inode number (0) is skipped by readdir(3)
        real = self._real(path)
        out = []
        for name in [".", "..", *os.listdir(real)]:
            try:
                st = os.lstat(os.path.join(real, name))
            except OSError:
                continue
            out.append((name, {"st_mode": st.st_mode, "st_ino": st.st_ino}, 0))
        return out

    def access(self, path: str, amode: int) -> int:
        if not os.access(self._real(path), amode):
            raise fuse.FuseOSError(errno.EACCES)
        return 0

    def open(self, path: str, flags: int) -> int:
        return os.open(self._real(path), flags)

    def create(self, path: str, mode: int, fi: Any = None) -> int:
        real = self._real(path)
        target = real if os.path.lexists(real) else self._new(path)
        return os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)

    def read(self, path: str, size: int, offset: int, fh: int) -> bytes:
        return os.pread(fh, size, offset)

    def write(self, path: str, data: bytes, offset: int, fh: int) -> int:
        return os.pwrite(fh, data, offset)

    def truncate(self, path: str, length: int, fh: Any = None) -> None:
        os.truncate(self._real(path), length)

    def flush(self, path: str, fh: int) -> None:
        return None

    def release(self, path: str, fh: int) -> None:
        os.close(fh)

    def fsync(self, path: str, datasync: bool, fh: int) -> None:
        os.fsync(fh)

    def unlink(self, path: str) -> None:
        os.unlink(self._real(path))

    def mkdir(self, path: str, mode: int) -> None:
        os.mkdir(self._new(path), mode)

    def rmdir(self, path: str) -> None:
        os.rmdir(self._real(path))

    def rename(self, old: str, new: str) -> None:
        src = self._real(old)
        dst = self._real(new)
        if os.path.lexists(dst) and os.path.samefile(src, dst):
            dst = self._new(new)  # a case-only rename: same entry, new spelling
        elif not os.path.lexists(dst):
            dst = self._new(new)
        os.rename(src, dst)

    def chmod(self, path: str, mode: int) -> None:
        os.chmod(self._real(path), mode)

    def utimens(self, path: str, times: Any = None) -> None:
        os.utime(self._real(path), ns=times)

    def statfs(self, path: str) -> dict[str, Any]:
        st = os.statvfs(self._real(path))
        keys = ("f_bavail", "f_bfree", "f_blocks", "f_bsize", "f_favail", "f_ffree",
                "f_files", "f_flag", "f_frsize", "f_namemax")
        return {k: getattr(st, k) for k in keys}


@contextlib.contextmanager
def mounted(backing: Path, mount: Path, timeout: float = 15.0) -> Iterator[Path | str]:
    """Yields the mount point, or a string saying why it could not be mounted."""
    if fuse is None:
        yield WHY_NOT
        return
    if not sys.platform.startswith("linux") or not os.path.exists("/dev/fuse"):
        yield "FUSE needs Linux with /dev/fuse"
        return
    backing.mkdir(parents=True, exist_ok=True)
    mount.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen([sys.executable, __file__, str(backing), str(mount)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + timeout
    while not os.path.ismount(mount) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    if not os.path.ismount(mount):
        proc.kill()
        out = proc.communicate()[0]
        yield f"could not mount a FUSE file system: {out.strip()[-300:]}"
        return
    try:
        yield mount
    finally:
        for cmd in (["fusermount", "-u", str(mount)], ["fusermount3", "-u", str(mount)],
                    ["umount", str(mount)]):
            with contextlib.suppress(OSError):
                if subprocess.run(cmd, capture_output=True).returncode == 0:
                    break
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def main(argv: list[str]) -> int:
    if fuse is None:
        print(WHY_NOT, file=sys.stderr)
        return 1
    backing, mount = argv
    fuse.FUSE(CaseFoldingFS(backing), mount, foreground=True, use_ino=True,
              entry_timeout=0, attr_timeout=0, negative_timeout=0)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
