"""Stacks: several files that are one picture, shown as one tile with a chosen cover.

Three kinds, each needing more than a shared name (PhotoPrism's false stacks came from the
base name alone):

- ``raw_jpeg``: a camera RAW and a JPEG/HEIF in the same folder with the same base name AND
  capture times at most :data:`PAIR_SECONDS` apart or, when a time is missing or they
  disagree, the RAW's embedded preview showing the JPEG's picture by the pixel check
  (:func:`same_picture`). Cover: the JPEG.
- ``live``: a photo and a ``.mov`` in the same folder with the same base name AND capture
  times at most :data:`LIVE_SECONDS` apart (Apple's content identifier, when both files
  carry one, must also agree). Cover: the photo.
- ``burst``: photos of the same camera, each at most :data:`BURST_SECONDS` after the one
  before, that look nearly the same (mean absolute difference of 32×32 grey thumbnails at
  most :data:`BURST_PIXEL_DIFF`). Cover: the sharpest (highest variance of the Laplacian).

Stacks are found after the photos' dates are read (:func:`refresh`, the pipeline's
``stacks`` stage). Unstacking keeps the stack's row as ``unstacked`` so detection never
makes it again; unstack and restack are journal decisions (undo puts them back). Search
and similar show a stack once (its cover); duplicates never pair a stack's own members.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np

from photoorg.core.media import pixels
from photoorg.core.media.imaging import RAW_EXTENSIONS, DecodeError, load_rgb, raw_preview
from photoorg.core.media.video import VIDEO_EXTENSIONS
from photoorg.core.store import journal, pixel_signatures
from photoorg.core.store.catalog import STACKED_AWAY, Catalog, folder_of

PAIR_SECONDS = 1.0
LIVE_SECONDS = 3.0
BURST_SECONDS = 1.0
BURST_PIXEL_DIFF = 12.0
STAMP_META = "stacks_stamp"

_JPEG_LIKE = frozenset({".jpg", ".jpeg", ".jpe", ".heic", ".heif", ".hif"})


@dataclass(frozen=True)
class Stack:
    id: int
    kind: str
    cover_id: int
    state: str  # 'stacked' | 'unstacked'
    member_ids: tuple[int, ...]
    paths: tuple[Path, ...]  # in member_ids order


@dataclass(frozen=True)
class _Photo:
    id: int
    root_id: int
    rel_path: str
    ext: str
    taken_at: float | None
    camera: str | None
    path: Path

    @property
    def key(self) -> tuple[int, str, str]:
        name = PurePosixPath(self.rel_path).name
        return self.root_id, folder_of(self.rel_path), name.rsplit(".", 1)[0].casefold()


def _candidates(cat: Catalog) -> list[_Photo]:
    rows = cat.query(
        "SELECT p.id, p.root_id, p.rel_path, p.ext, p.taken_at, p.camera, r.path "
        "FROM photos p JOIN roots r ON r.id = p.root_id "
        "LEFT JOIN stack_members m ON m.photo_id = p.id "
        "WHERE p.status != 'skipped' AND p.missing_since IS NULL AND m.photo_id IS NULL "
        "ORDER BY p.id")
    return [_Photo(pid, rid, rel, "." + ext.lstrip(".").lower(), taken, cam,
                   Path(root) / PurePosixPath(rel))
            for pid, rid, rel, ext, taken, cam, root in rows]


def _close(a: _Photo, b: _Photo, seconds: float) -> bool:
    return a.taken_at is not None and b.taken_at is not None and abs(
        a.taken_at - b.taken_at) <= seconds


def same_picture(a: pixels.Signature | None, b: pixels.Signature | None) -> bool:
    """Whether two signatures show one picture: an exact copy, or the same framing with
    levels moved (a camera JPEG beside its RAW's preview, or a JPEG exported with other
    colours). A crop or a changed part (another frame of a burst) is not enough."""
    if a is None or b is None:
        return False
    match = pixels.compare(a, b)
    return match is not None and (match.kind == pixels.EXACT or (
        match.kind == pixels.EDITED and match.how.startswith("brightness")))


class PreviewCheck:
    """RAW+JPEG by picture: the JPEG's stored pixel signature (or a fresh one) against a
    signature of the RAW's embedded preview. Decodes only the pairs it is asked about."""

    def __init__(self, cat: Catalog) -> None:
        self.cat = cat
        self._sigs: dict[int, pixels.Signature | None] = {}

    def _jpeg(self, photo: _Photo) -> pixels.Signature | None:
        if photo.id not in self._sigs:
            sig = pixel_signatures.load(self.cat, [photo.id]).get(photo.id)
            if sig is None:
                try:
                    sig = pixels.signature(load_rgb(photo.path, max_side=4 * pixels.MIN_SIDE,
                                                    slack=2.0))
                except DecodeError:
                    sig = None
            self._sigs[photo.id] = sig
        return self._sigs[photo.id]

    def _raw(self, photo: _Photo) -> pixels.Signature | None:
        if photo.id not in self._sigs:
            try:
                preview = raw_preview(photo.path, min_side=pixels.MIN_SIDE)
            except DecodeError:
                preview = None
            self._sigs[photo.id] = None if preview is None else pixels.signature(preview)
        return self._sigs[photo.id]

    def __call__(self, jpeg: _Photo, raw: _Photo) -> bool:
        return same_picture(self._jpeg(jpeg), self._raw(raw))


def pairs(photos: Sequence[_Photo],
          content_id: Callable[[_Photo], str | None] | None = None,
          preview_match: Callable[[_Photo, _Photo], bool] | None = None,
          ) -> list[tuple[str, list[_Photo], _Photo]]:
    """RAW+JPEG and Live Photo pairs: ``(kind, members, cover)``. A RAW whose time is
    missing or disagrees with the JPEG's pairs only when ``preview_match`` says its
    embedded preview is the JPEG's picture (never by the base name alone)."""
    by_key: dict[tuple[int, str, str], list[_Photo]] = {}
    for p in photos:
        by_key.setdefault(p.key, []).append(p)
    out = []
    for group in by_key.values():
        if len(group) < 2:
            continue
        jpegs = [p for p in group if p.ext in _JPEG_LIKE]
        raws = [p for p in group if p.ext in RAW_EXTENSIONS]
        movs = [p for p in group if p.ext in VIDEO_EXTENSIONS]
        for jpeg in jpegs:
            members = [jpeg]
            raw = next((r for r in raws if _close(jpeg, r, PAIR_SECONDS)), None)
            if raw is None and preview_match is not None:
                raw = next((r for r in raws if preview_match(jpeg, r)), None)
            if raw is not None:
                raws.remove(raw)  # one JPEG per RAW
                members.append(raw)
            mov = next((m for m in movs if _close(jpeg, m, LIVE_SECONDS)), None)
            if mov is not None and content_id is not None:
                a, b = content_id(jpeg), content_id(mov)
                if a and b and a != b:
                    mov = None
            if mov is not None:
                members.append(mov)
            if len(members) > 1:
                out.append(("raw_jpeg" if raw is not None else "live", members, jpeg))
    return out


def _grey(photo: _Photo, side: int) -> np.ndarray | None:
    try:
        image = load_rgb(photo.path, max_side=side, slack=2.0)
    except DecodeError:
        return None
    return np.asarray(image.convert("L"), np.float32)


def sharpness(grey: np.ndarray) -> float:
    """Variance of the Laplacian (4-neighbour): higher is sharper."""
    if grey.shape[0] < 3 or grey.shape[1] < 3:
        return 0.0
    lap = (grey[1:-1, :-2] + grey[1:-1, 2:] + grey[:-2, 1:-1] + grey[2:, 1:-1]
           - 4 * grey[1:-1, 1:-1])
    return float(lap.var())


def _alike(a: np.ndarray | None, b: np.ndarray | None) -> bool:
    if a is None or b is None:
        return False
    from PIL import Image

    small = [np.asarray(Image.fromarray(x.astype(np.uint8)).resize((32, 32)), np.float32)
             for x in (a, b)]
    return float(np.abs(small[0] - small[1]).mean()) <= BURST_PIXEL_DIFF


def bursts(photos: Sequence[_Photo]) -> list[tuple[str, list[_Photo], _Photo]]:
    """Runs of near-identical shots of one camera, each at most a second after the last."""
    stills = sorted((p for p in photos if p.camera and p.taken_at is not None
                     and p.ext not in VIDEO_EXTENSIONS),
                    key=lambda p: (p.camera or "", p.taken_at or 0.0, p.id))
    out = []
    run: list[_Photo] = []
    greys: dict[int, np.ndarray | None] = {}

    def grey(p: _Photo) -> np.ndarray | None:
        if p.id not in greys:
            greys[p.id] = _grey(p, 256)
        return greys[p.id]

    def flush() -> None:
        if len(run) >= 2:
            cover = max(run, key=lambda p: (sharpness(g) if (g := grey(p)) is not None
                                            else -1.0, -p.id))
            out.append(("burst", list(run), cover))
        run.clear()

    for p in stills:
        prev = run[-1] if run else None
        if (prev is not None and prev.camera == p.camera
                and _close(prev, p, BURST_SECONDS) and _alike(grey(prev), grey(p))):
            run.append(p)
            continue
        flush()
        run.append(p)
    flush()
    return out


def _stamp(cat: Catalog) -> str:
    return json.dumps(cat.query(
        "SELECT COUNT(*), COALESCE(MAX(id), 0), COUNT(taken_at), "
        "COALESCE(SUM(status = 'skipped'), 0) FROM photos")[0])


def is_stale(cat: Catalog) -> bool:
    return cat.get_meta(STAMP_META) != _stamp(cat)


def refresh(cat: Catalog, content_id: Callable[[_Photo], str | None] | None = None) -> int:
    """Find new stacks among photos in none yet; returns how many were made."""
    photos = _candidates(cat)
    found = pairs(photos, content_id, PreviewCheck(cat))
    paired = {p.id for _, members, _ in found for p in members}
    found += bursts([p for p in photos if p.id not in paired])
    now = time.time()
    with cat.transaction():
        for kind, members, cover in found:
            stack_id = cat.execute(
                "INSERT INTO stacks(kind, cover_id, state, created_at) "
                "VALUES(?, ?, 'stacked', ?) RETURNING id", (kind, cover.id, now)).fetchone()[0]
            for p in members:
                cat.execute("INSERT INTO stack_members(photo_id, stack_id) VALUES(?, ?)",
                            (p.id, stack_id))
        cat.set_meta(STAMP_META, _stamp(cat))
    return len(found)


def stacks(cat: Catalog, include_unstacked: bool = True) -> list[Stack]:
    rows = cat.query(
        "SELECT s.id, s.kind, s.cover_id, s.state, m.photo_id, r.path, p.rel_path "
        "FROM stacks s JOIN stack_members m ON m.stack_id = s.id "
        "JOIN photos p ON p.id = m.photo_id JOIN roots r ON r.id = p.root_id "
        + ("" if include_unstacked else "WHERE s.state = 'stacked' ")
        + "ORDER BY s.id, m.photo_id = s.cover_id DESC, p.rel_path")
    out: dict[int, tuple[str, int, str, list[int], list[Path]]] = {}
    for sid, kind, cover, state, pid, root, rel in rows:
        entry = out.setdefault(sid, (kind, cover, state, [], []))
        entry[3].append(pid)
        entry[4].append(Path(root) / PurePosixPath(rel))
    return [Stack(sid, kind, cover, state, tuple(ids), tuple(paths))
            for sid, (kind, cover, state, ids, paths) in out.items()]


def hidden_members(cat: Catalog) -> list[int]:
    """Photos shown only inside their stack (every member of a stacked stack but its cover)."""
    return [pid for (pid,) in cat.query(STACKED_AWAY)]


def same_stack(cat: Catalog) -> dict[int, int]:
    """``{photo id: stack id}`` for every photo in a stack (stacked or not)."""
    return dict(cat.query("SELECT photo_id, stack_id FROM stack_members"))


def _set_state(cat: Catalog, stack_id: int, state: str, verb: str) -> bool:
    if cat.scalar("SELECT state FROM stacks WHERE id = ?", (stack_id,)) in (None, state):
        return False
    with journal.decision(cat, f"stacks.{verb}", f"{verb.capitalize()} stack {stack_id}",
                          [("stacks", "id = ?", (stack_id,))]):
        cat.execute("UPDATE stacks SET state = ? WHERE id = ?", (state, stack_id))
    return True


def unstack(cat: Catalog, stack_id: int) -> bool:
    """Show the stack's members one by one again (remembered: never stacked again
    automatically). False when there is no such stacked stack."""
    return _set_state(cat, stack_id, "unstacked", "unstack")


def restack(cat: Catalog, stack_id: int) -> bool:
    return _set_state(cat, stack_id, "stacked", "restack")


def set_cover(cat: Catalog, stack_id: int, photo_id: int) -> bool:
    """Make ``photo_id`` (a member) the stack's cover, the tile shown for it. False when it
    is the cover already or not a member."""
    row = cat.execute(
        "SELECT s.cover_id FROM stacks s JOIN stack_members m ON m.stack_id = s.id "
        "WHERE s.id = ? AND m.photo_id = ?", (stack_id, photo_id)).fetchone()
    if row is None or row[0] == photo_id:
        return False
    with journal.decision(cat, "stacks.cover", f"Change the cover of stack {stack_id}",
                          [("stacks", "id = ?", (stack_id,))]):
        cat.execute("UPDATE stacks SET cover_id = ? WHERE id = ?", (photo_id, stack_id))
    return True


@dataclass(frozen=True)
class Badge:
    """What a tile shows of the stack its photo belongs to."""

    stack_id: int
    count: int  # members
    stacked: bool  # False: unstacked by the user (members shown one by one)
    cover: bool  # this photo is the stack's cover


def badges(cat: Catalog) -> dict[int, Badge]:
    """``{photo id: Badge}`` for every photo in a stack."""
    rows = cat.query(
        "SELECT m.photo_id, s.id, s.state = 'stacked', m.photo_id = s.cover_id, c.n "
        "FROM stack_members m JOIN stacks s ON s.id = m.stack_id JOIN (SELECT stack_id, "
        "COUNT(*) AS n FROM stack_members GROUP BY stack_id) c ON c.stack_id = s.id")
    return {pid: Badge(sid, int(n), bool(stacked), bool(cover))
            for pid, sid, stacked, cover, n in rows}
