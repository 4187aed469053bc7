"""First looks: a later stage's cheap decision, made on the embed stage's own decode.

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
pending (a model switch re-embeds photos long done) is left as it is.

Measured and not adopted (``benchmarks/indexing.py``'s photos, ``photoorg index`` in
interleaved rounds): the OCR gate as a look. Beside CLIP's inference it cost the embed
stage more than the OCR stage saved (the full index 20.1 s against 17.6-18.8 s without it;
with the face look alone 16.9-17.1 s), and held the gate's detector beside the model
(peak RSS 820-890 MB against ~600 MB). The OCR stage gates on both cores by itself.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Protocol

from PIL import Image

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

    def needed(self, image: Image.Image) -> bool:
        """Whether the stage must look at this photo itself (False: nothing here)."""
        ...

    def settle(self, cat: Catalog, photo_ids: Sequence[int]) -> None:
        """Record these photos done by the stage with nothing found, where still pending."""
        ...


def usable(image: Image.Image | None) -> bool:
    """Whether a decoded look copy is as large as the stage's own would be (a smaller
    embedded thumbnail, from a HEIF say, could hide what the stage would find)."""
    return image is not None and max(image.size) >= LOOK_SIDE / LOOK_SLACK


def decide(looks: Sequence[FirstLook], image: Image.Image | None, where: object) -> list[str]:
    """The names of the looks that found nothing in ``image``: their stages can skip the
    photo. A look that fails says nothing (its stage decides)."""
    if not looks or not usable(image):
        return []
    assert image is not None
    nothing = []
    for look in looks:
        try:
            if not look.needed(image):
                nothing.append(look.name)
        except Exception:  # the stage will decide on its own decode
            log.debug("the %s look failed on %s", look.name, where, exc_info=True)
    return nothing


class FaceLook:
    """No face proposal in the draft: the face pass would scan nothing, so the photo has no
    faces (HOG runs only around proposals)."""

    name = "faces"

    def __init__(self) -> None:
        from photoorg.core.people.proposals import FaceProposer

        self.proposer = FaceProposer()  # the face pass's own settings (raises if missing)

    def needed(self, image: Image.Image) -> bool:
        return bool(self.proposer.propose(image))

    def settle(self, cat: Catalog, photo_ids: Sequence[int]) -> None:
        for pid in cat.faces_pending_among(photo_ids):
            cat.store_faces(pid, [])
