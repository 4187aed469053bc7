"""First looks: a later stage's cheap decision (or its copy), made on the embed stage's decode.

The embed stage decodes every new photo anyway (a 12 MP JPEG's 1/8 draft, 500x375, is what
its 224-pixel copy is made from). The face pass used to decode each photo again at ~2000
pixels only to find, on most photos, nothing: no face proposal (its CenterFace look,
:mod:`photoorg.core.people.proposals`, on a 512-pixel copy). So the embed stage hands its
draft (the same pixels ``load_rgb(path, LOOK_SIDE, slack=LOOK_SLACK)`` gives:
:func:`decode_photo`'s ``look``) to the face pass's look, in its decode threads; a photo
with no proposal is recorded as having no faces, and the face pass decodes only the rest.

A look decides only what its stage would decide: the face pass keeps only faces HOG
confirms inside a proposal. A look that fails, or a photo it cannot see (RAW, video, a copy
smaller than the stage's own), leaves the photo to the stage. A photo whose stage is not
pending (a model switch re-embeds photos long done) is left as it is, and no draft is
kept for it.

The OCR stage's look decides nothing: it keeps the draft (:class:`TextDrafts`), so the text
stage's gate does not decode the photo a second time (12 ms of CPU per 12 MP JPEG, a third
of what the stage spends on a photo without words).

Measured and not adopted (``benchmarks/indexing.py``'s photos, ``photoorg index`` in
interleaved rounds): the OCR gate itself as a look. Beside CLIP's inference it cost the embed
stage more than the OCR stage saved (the full index 20.1 s against 17.6-18.8 s without it;
with the face look alone 16.9-17.1 s), and held the gate's detector beside the model
(peak RSS 820-890 MB against ~600 MB). The OCR stage gates on both cores by itself.
"""

from __future__ import annotations

import io
import logging
import os
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Protocol

from PIL import Image

from photoorg.core.ingest.scanner import FileStat
from photoorg.core.store.catalog import Catalog

log = logging.getLogger(__name__)

LOOK_SIDE = 512
"""The long side the looks want (CenterFace's and the OCR gate's own size)."""
LOOK_SLACK = 4 / 3
"""A JPEG draft from ``LOOK_SIDE / LOOK_SLACK`` to ``LOOK_SIDE`` is used as it is."""


class FirstLook(Protocol):
    """One stage's cheap decision on a decoded copy. ``needed`` runs in decode threads
    (several at once); ``settle`` in the writer's, inside the batch's transaction."""

    name: str

    def needed(self, image: Image.Image, path: Path) -> bool:
        """Whether the stage must look at this photo (``path``) itself (False: nothing
        here)."""
        ...

    def settle(self, cat: Catalog, photo_ids: Sequence[int]) -> None:
        """Record these photos done by the stage with nothing found, where still pending."""
        ...


def usable(image: Image.Image | None) -> bool:
    """Whether a decoded look copy is as large as the stage's own would be (a smaller
    embedded thumbnail, from a HEIF say, could hide what the stage would find)."""
    return image is not None and max(image.size) >= LOOK_SIDE / LOOK_SLACK


def decide(looks: Sequence[FirstLook], image: Image.Image | None, path: Path) -> list[str]:
    """The names of the looks that found nothing in ``image``: their stages can skip the
    photo. A look that fails says nothing (its stage decides)."""
    if not looks or not usable(image):
        return []
    assert image is not None
    nothing = []
    for look in looks:
        try:
            if not look.needed(image, path):
                nothing.append(look.name)
        except Exception:  # the stage will decide on its own decode
            log.debug("the %s look failed on %s", look.name, path, exc_info=True)
    return nothing


class FaceLook:
    """No face proposal in the draft: the face pass would scan nothing, so the photo has no
    faces (HOG runs only around proposals)."""

    name = "faces"

    def __init__(self) -> None:
        from photoorg.core.people.proposals import FaceProposer

        self.proposer = FaceProposer()  # the face pass's own settings (raises if missing)

    def needed(self, image: Image.Image, path: Path) -> bool:
        return bool(self.proposer.propose(image))

    def settle(self, cat: Catalog, photo_ids: Sequence[int]) -> None:
        for pid in cat.faces_pending_among(photo_ids):
            cat.store_faces(pid, [])


DRAFT_QUALITY = 95
"""JPEG quality of a kept draft, colour at full resolution (4:4:4: red letters on green
leaves keep their edges). On ``benchmarks/ocr.py --sets`` the gate decides the same on the
kept drafts as on the decoded ones, its large bold signs included."""
DRAFT_BYTES = 64 * 2**20
"""What the kept drafts may hold at once (about 900 drafts of 12 MP photos, 72 KB each):
past it the text stage decodes the rest itself."""


class TextDrafts:
    """The OCR gate's copy of each photo the text stage will read, kept from the embed
    stage's decode for the text stage of the same run
    (:func:`photoorg.core.ingest.ocr.text_stage` takes each once). Kept as JPEG in memory
    (encoding costs 0.9 ms, decoding 1 ms, against 12 ms to decode a 12 MP JPEG's draft
    again), only for the files in ``wanted`` (path: the size and modification time the scan
    recorded) and only while the file still has them: a file changed since is decoded
    afresh. Decides nothing: the stage still looks at every photo."""

    name = "text"

    def __init__(self, wanted: Mapping[str, tuple[int, float]],
                 max_bytes: int = DRAFT_BYTES) -> None:
        self.wanted = wanted
        self.max_bytes = max_bytes
        self._kept: dict[str, bytes] = {}
        self._bytes = 0
        self._lock = threading.Lock()

    def needed(self, image: Image.Image, path: Path) -> bool:
        """Keeps ``image`` for ``path`` when wanted and room is left; always True."""
        key = os.fspath(path)
        if self._bytes < self.max_bytes and self._unchanged(key):
            out = io.BytesIO()
            image.save(out, "JPEG", quality=DRAFT_QUALITY, subsampling=0)
            data = out.getvalue()
            with self._lock:
                if self._bytes + len(data) <= self.max_bytes and key not in self._kept:
                    self._kept[key] = data
                    self._bytes += len(data)
        return True

    def settle(self, cat: Catalog, photo_ids: Sequence[int]) -> None:
        """Nothing to record: the text stage reads every photo."""

    def take(self, path: Path) -> Image.Image | None:
        """The draft kept for ``path`` (RGB), once; None when none was, or the file has
        changed since the scan."""
        key = os.fspath(path)
        with self._lock:
            data = self._kept.pop(key, None)
            if data is not None:
                self._bytes -= len(data)
        if data is None or not self._unchanged(key):
            return None
        image = Image.open(io.BytesIO(data))
        image.load()  # from memory: nothing left open
        return image

    def clear(self) -> None:
        """Let every kept draft go."""
        with self._lock:
            self._kept.clear()
            self._bytes = 0

    def __len__(self) -> int:
        return len(self._kept)

    @property
    def held_bytes(self) -> int:
        return self._bytes

    def _unchanged(self, key: str) -> bool:
        recorded = self.wanted.get(key)
        if recorded is None:
            return False
        try:
            st = os.stat(key)
        except OSError:
            return False
        return FileStat(st.st_size, st.st_mtime).matches(*recorded)  # the scanner's test
