"""Find where an offline library folder went: a USB drive that came back as ``E:`` instead
of ``D:`` holds the same photos at the same relative paths.

Only a suggestion: re-pointing stays the user's decision (``photoorg folders --relocate``),
because a second copy of the same folder on another drive looks exactly the same.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path, PurePosixPath

from photoorg.core.ingest.scanner import content_hash, root_reachable
from photoorg.core.media.platform_paths import relocation_candidates, windows_drives
from photoorg.core.store.catalog import Catalog, Root

SAMPLE = 5


def find_relocated_root(
    cat: Catalog, root: Root, candidates: Iterable[Path] | None = None, sample: int = SAMPLE
) -> Path | None:
    """The first candidate folder holding ``sample`` of the root's hashed photos at the
    same relative paths with the same content; None when none does.

    Candidates default to the root's path on every other drive letter present (Windows);
    elsewhere there is no such rule and None is returned unless candidates are given.
    """
    if candidates is None:
        candidates = [Path(str(p)) for p in relocation_candidates(root.path, windows_drives())]
    rows = [
        (rel, digest)
        for rel, digest in cat.query(
            "SELECT rel_path, content_hash FROM photos WHERE root_id = ? "
            "AND content_hash IS NOT NULL ORDER BY id LIMIT ?",
            (root.id, sample),
        )
    ]
    if not rows:
        return None
    for candidate in candidates:
        if candidate == root.path or not root_reachable(candidate):
            continue
        if all(_same_content(candidate / PurePosixPath(rel), digest) for rel, digest in rows):
            return candidate
    return None


def _same_content(path: Path, digest: str) -> bool:
    try:
        return content_hash(path) == digest
    except OSError:
        return False
