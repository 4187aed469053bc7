"""The background indexing pipeline: scan → decode pool → batched CLIP inference → catalog.

Decoding (Pillow/rawpy, GIL released in C) runs in a small thread pool while the model
encodes the previous batch, so both cores stay busy. Each batch commits in its own
transaction: a crash loses at most the batch in flight, and a restart resumes from the
photos still waiting (the catalog is the queue). Progress goes through one listener
interface that the CLI's progress bar and the GUI's status bar both implement.
"""

from __future__ import annotations

import collections
import functools
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import apsw
import numpy as np

from photoorg.core.ingest import firstlook
from photoorg.core.media import pixels
from photoorg.core.media.imaging import DecodedPhoto, DecodeError, PhotoInfo, decode_photo
from photoorg.core.media.video import is_video
from photoorg.core.store import failures, pixel_signatures
from photoorg.core.store.catalog import Catalog

if TYPE_CHECKING:
    from photoorg.core.ingest.firstlook import FirstLook, TextDrafts
    from photoorg.core.models.embedder import Embedder

log = logging.getLogger(__name__)


@dataclass
class Progress:
    """A snapshot of indexing progress (one phase at a time)."""

    phase: str  # "scanning" | "embedding" | "faces" | "text" | "done"
    done: int = 0
    total: int = 0
    skipped: int = 0
    rate: float = 0.0  # photos per second, recent window
    eta_s: float | None = None
    current: str | None = None
    paused: bool = False


class IndexListener:
    """Receives progress; override what you need. Called from the indexing thread."""

    def on_progress(self, progress: Progress) -> None:  # noqa: B027 - optional hook
        pass

    def on_skipped(self, path: Path, reason: str, detail: str) -> None:  # noqa: B027
        pass


class IndexControl:
    """Pause / resume / cancel, checked between photos. Thread-safe."""

    def __init__(self) -> None:
        self._running = threading.Event()
        self._running.set()
        self._cancelled = threading.Event()

    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    def cancel(self) -> None:
        self._cancelled.set()
        self._running.set()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    def wait_while_paused(self) -> None:
        self._running.wait()

    def stop_requested(self, progress: Progress, listener: IndexListener) -> bool:
        """A checkpoint for long passes that only know ``should_stop`` (the face pass):
        waits here while paused, saying so through the listener; True when cancelled."""
        if self.paused:
            progress.paused = True
            listener.on_progress(progress)
            self.wait_while_paused()
            progress.paused = False
            listener.on_progress(progress)
        return self.cancelled


@dataclass
class IndexSummary:
    embedded: int = 0
    skipped: int = 0
    failed: int = 0  # not read this time for a reason that may pass: tried again later
    faces_photos: int = 0
    text_photos: int = 0
    seconds: float = 0.0
    cancelled: bool = False
    skipped_reasons: dict[str, int] = field(default_factory=dict)
    new_ids: list[int] = field(default_factory=list, repr=False)
    # per stage that ran: {"photos" (or the stage's own unit): n, "seconds": s}
    stages: dict[str, dict[str, float]] = field(default_factory=dict)


class _Rate:
    """Photos/second over the last ~30 s, for a steady ETA."""

    def __init__(self, window_s: float = 30.0) -> None:
        self.window_s = window_s
        self.marks: collections.deque[tuple[float, int]] = collections.deque()

    def add(self, done: int) -> float:
        now = time.monotonic()
        self.marks.append((now, done))
        while len(self.marks) > 2 and now - self.marks[0][0] > self.window_s:
            self.marks.popleft()
        (t0, d0), (t1, d1) = self.marks[0], self.marks[-1]
        return (d1 - d0) / (t1 - t0) if t1 > t0 else 0.0


@dataclass
class _Decoded:
    photo_id: int
    path: Path
    tensor: Any = None
    active_tensor: Any = None  # for the active model during a switch, when it differs
    info: PhotoInfo | None = None
    error: DecodeError | None = None
    signature: Any = None  # pixels.Signature, from the same decode (None: the stage retries)
    nothing_for: list[str] = field(default_factory=list)  # first looks that found nothing


def _signature(image: Any, path: Path) -> Any:
    """The pixel signature of the decoded image (never fatal: the pixels stage retries)."""
    try:
        return pixels.signature(image)
    except Exception:
        log.exception("no pixel signature for %s", path)
        return None


def default_decode_workers() -> int:
    return max(1, min(4, (os.cpu_count() or 2)))


class Indexer:
    """Embeds every photo waiting for the library's target model."""

    def __init__(
        self,
        cat: Catalog,
        embedder: Embedder,
        *,
        batch_size: int = 16,
        decode_workers: int | None = None,
        listener: IndexListener | None = None,
        control: IndexControl | None = None,
        active_embedder: Embedder | None = None,
        looks: Sequence[FirstLook] = (),
    ) -> None:
        """``active_embedder``: during a model switch, the encoder of the model that answers
        searches; photos that have no vector of it yet (new ones) get one too, so they are
        searchable at once instead of after the switch. ``looks``: later stages' first looks
        (:mod:`photoorg.core.ingest.firstlook`), run on each photo's decode."""
        self.cat = cat
        self.embedder = embedder
        self.batch_size = batch_size
        self.decode_workers = decode_workers or default_decode_workers()
        self.listener = listener or IndexListener()
        self.control = control or IndexControl()
        self.looks = list(looks)
        self.model = cat.set_target_model(embedder.spec.name, embedder.dim)
        active = cat.active_model()
        self.active_embedder = None
        self.active_model = None
        if (active is not None and active.id != self.model.id and active_embedder is not None
                and active_embedder.spec.name == active.spec):
            self.active_embedder, self.active_model = active_embedder, active
        # prompts for pets must come from the model whose vectors they are scored against
        self.text_encoder = (
            embedder if active is not None and active.id == self.model.id
            else self.active_embedder
        )

    def run(self) -> IndexSummary:
        """Index until nothing waits (or cancelled). Safe to call again at any time."""
        started = time.monotonic()
        run_started = time.time()
        summary = IndexSummary()
        total = self.cat.count_pending_embedding(self.model.id)
        progress = Progress("embedding", total=total)
        rate = _Rate()
        self.listener.on_progress(progress)
        with ThreadPoolExecutor(self.decode_workers, thread_name_prefix="decode") as pool:
            while not self.control.cancelled:
                work = self.cat.pending_embedding(self.model.id, limit=2048,
                                                  tried_since=run_started)
                if not work:
                    break
                for batch in self._batches(pool, work):
                    self._commit_batch(batch, summary)
                    progress.done = summary.embedded + summary.skipped + summary.failed
                    progress.total = max(progress.total, progress.done)
                    progress.skipped = summary.skipped
                    progress.rate = rate.add(progress.done)
                    remaining = progress.total - progress.done
                    progress.eta_s = remaining / progress.rate if progress.rate > 0 else None
                    progress.current = str(batch[-1].path) if batch else None
                    self.listener.on_progress(progress)
                    if self.control.stop_requested(progress, self.listener):
                        break
        summary.cancelled = self.control.cancelled
        if not summary.cancelled:
            self.cat.maybe_switch_model()
        self.cat.compact_vec_log()
        self._after_embedding(summary.new_ids)
        summary.seconds = time.monotonic() - started
        progress.phase = "done"
        self.listener.on_progress(progress)
        return summary

    def _after_embedding(self, photo_ids: list[int]) -> None:
        """Slower passes that follow search indexing: what other tools wrote (embedded
        metadata and sidecars) of new and changed photos (and of photos never read, as after
        an upgrade), and new photos joining existing place / scene / pet clusters. Never
        fatal."""
        from photoorg.core.groups import grouping
        from photoorg.core.metadata import importer as metadata_import

        try:
            metadata_import.import_stage(self.cat, photo_ids, lambda: self.control.cancelled)
        except (apsw.FullError, apsw.IOError, apsw.ReadOnlyError):
            raise  # the catalog cannot be written: the run stops with that error
        except Exception as exc:
            log.exception("importing the metadata of new photos failed")
            failures.record_step(self.cat, "metadata", "import", "importing metadata failed "
                                 f"({failures.describe(exc)})")
        else:
            failures.clear_step(self.cat, "metadata", "import")
        if not photo_ids:
            return
        try:
            grouping.after_index(self.cat, photo_ids, self.text_encoder)
        except Exception as exc:
            log.exception("assigning new photos to clusters failed")
            failures.record_step(self.cat, "clusters", "new photos", "adding new photos to "
                                 f"places, scenes and pets failed ({failures.describe(exc)})")
        else:
            failures.clear_step(self.cat, "clusters", "new photos")

    def _batches(
        self, pool: ThreadPoolExecutor, work: list[tuple[int, Path]]
    ) -> Iterator[list[_Decoded]]:
        """Decode ahead in the pool (bounded) and yield batches in order."""
        ahead = self.batch_size * 2 + self.decode_workers
        queue: collections.deque[Future[_Decoded]] = collections.deque()
        items = iter(work)
        batch: list[_Decoded] = []

        def submit_next() -> bool:
            item = next(items, None)
            if item is None:
                return False
            queue.append(pool.submit(self._decode, *item))
            return True

        for _ in range(ahead):
            if not submit_next():
                break
        while queue:
            decoded = queue.popleft().result()
            submit_next()
            batch.append(decoded)
            if len(batch) >= self.batch_size:
                yield batch
                batch = []
                if self.control.cancelled or self.control.paused:
                    # drain what is decoded so nothing is half-done, then stop here
                    rest = [f.result() for f in queue]
                    queue.clear()
                    if rest:
                        yield rest
                    return
        if batch:
            yield batch

    def _decode(self, photo_id: int, path: Path) -> _Decoded:
        try:
            side = max(self.embedder.image_size, pixels.MIN_SIDE)  # the signature needs it
            if self.active_embedder is not None:
                side = max(side, self.active_embedder.image_size)
            looking = bool(self.looks) and not is_video(path)
            photo: DecodedPhoto = decode_photo(
                path, min_side=side, look_side=firstlook.LOOK_SIDE if looking else None,
                look_slack=firstlook.LOOK_SLACK)
            tensor = self.embedder.preprocess(photo.image)
            active = (
                self.active_embedder.preprocess(photo.image)
                if self.active_embedder is not None else None
            )
            nothing_for = firstlook.decide(self.looks, photo.look, path) if looking else []
            return _Decoded(photo_id, path, tensor=tensor, active_tensor=active, info=photo.info,
                            signature=_signature(photo.image, path), nothing_for=nothing_for)
        except DecodeError as exc:
            return _Decoded(photo_id, path, error=exc)
        except Exception as exc:  # a decoder bug must cost one photo, not the run
            log.exception("unexpected error decoding %s", path)
            return _Decoded(photo_id, path, error=DecodeError("could not decode", repr(exc)))

    def _commit_batch(self, batch: list[_Decoded], summary: IndexSummary) -> None:
        good = [d for d in batch if d.error is None]
        # a read error that may pass leaves the photo pending (tried again on a later run)
        retry = [d for d in batch if d.error is not None
                 and d.error.reason in failures.TRANSIENT_READ_ERRORS]
        skipped = [d for d in batch if d.error is not None
                   and d.error.reason not in failures.TRANSIENT_READ_ERRORS]
        vectors = (
            self.embedder.encode_image_tensors(stack_tensors([d.tensor for d in good]))
            if good
            else []
        )
        extra: list[tuple[int, Any]] = []
        if self.active_embedder is not None and self.active_model is not None and good:
            have = self.cat.photos_with_vector(self.active_model.id, [d.photo_id for d in good])
            lacking = [d for d in good if d.photo_id not in have]
            if lacking:
                vecs = self.active_embedder.encode_image_tensors(
                    stack_tensors([d.active_tensor for d in lacking]))
                extra = list(zip([d.photo_id for d in lacking], vecs, strict=True))
        with self.cat.transaction():
            for photo_id, vector in extra:
                assert self.active_model is not None
                self.cat.store_extra_vector(photo_id, self.active_model.id, vector)
            for decoded, vector in zip(good, vectors, strict=True):
                info = decoded.info
                assert info is not None
                self.cat.record_info(
                    decoded.photo_id,
                    width=info.width,
                    height=info.height,
                    taken_at=info.taken_at,
                    latitude=info.latitude,
                    longitude=info.longitude,
                    camera=info.camera,
                    tz_offset=info.tz_offset,
                    duration=info.duration,
                )
                self.cat.store_vector(decoded.photo_id, self.model.id, vector)
            pixel_signatures.store(self.cat, [(d.photo_id, d.signature) for d in good
                                    if d.signature is not None])
            for look in self.looks:
                look.settle(self.cat, [d.photo_id for d in good if look.name in d.nothing_for])
            for stage in ("embed", "info"):  # read now: what the info stage lacked too
                failures.clear(self.cat, stage, [d.photo_id for d in good])
            for decoded in retry:
                assert decoded.error is not None
                failures.record(self.cat, "embed", {
                    decoded.photo_id: f"could not read the file ({decoded.error.reason})"})
            for decoded in skipped:
                err = decoded.error
                assert err is not None
                self.cat.mark_skipped(decoded.photo_id, err.reason, err.detail)
                summary.skipped_reasons[err.reason] = (
                    summary.skipped_reasons.get(err.reason, 0) + 1
                )
        summary.embedded += len(good)
        summary.failed += len(retry)
        summary.new_ids.extend(d.photo_id for d in good)
        summary.skipped += len(skipped)
        for decoded in skipped:
            if decoded.error is not None:
                self.listener.on_skipped(decoded.path, decoded.error.reason, decoded.error.detail)


def run_face_pass(
    cat: Catalog, face_pass: Callable[..., int], control: IndexControl, listener: IndexListener,
    phase: str = "faces",
) -> int:
    """Run a face pass (the pipeline's face detection; or another stage of that shape, named
    by ``phase``) with progress, pause and cancel; returns the photos it processed. Never
    raises: a failing pass must not take indexing down, so its failure is recorded
    (:mod:`photoorg.core.store.failures`: shown by the CLI, ``status`` and the window) and the
    photos it did not do stay pending for the next run."""
    progress = Progress(phase, total=cat.count_pending_faces() if phase == "faces" else 0)

    def report(done: int, total: int) -> None:
        progress.done, progress.total = done, total
        listener.on_progress(progress)

    try:
        done = face_pass(
            cat, progress=report, should_stop=lambda: control.stop_requested(progress, listener)
        )
    except Exception as exc:
        log.exception("%s pass failed", phase)
        failures.record_step(cat, phase, "pass", f"the {phase} pass failed "
                             f"({failures.describe(exc)})")
        return 0
    failures.clear_step(cat, phase, "pass")
    if phase != "faces":
        return done
    try:  # named face regions other tools wrote meet the faces just detected
        from photoorg.core.metadata.importer import apply_named_regions

        apply_named_regions(cat)
    except Exception as exc:
        log.exception("matching named face regions failed")
        failures.record_step(cat, phase, "regions", "matching named face regions failed "
                             f"({failures.describe(exc)})")
    else:
        failures.clear_step(cat, phase, "regions")
    return done


def run_text_stage(cat: Catalog, control: IndexControl, listener: IndexListener,
                   drafts: TextDrafts | None = None) -> int:
    """The OCR stage (:func:`photoorg.core.ingest.ocr.text_stage`) with progress, pause and cancel;
    returns the photos it read. ``drafts``: the embed stage's, kept for it. Never raises."""
    try:
        from photoorg.core.ingest import ocr
    except ImportError as exc:
        log.info("no OCR stage: %s", exc)
        return 0
    return run_face_pass(cat, functools.partial(ocr.text_stage, drafts=drafts), control,
                         listener, phase="text")


def stack_tensors(tensors: list[Any]) -> Any:
    """One batch from preprocessed pictures: numpy arrays (the light runtime) stay numpy,
    torch tensors (the torch runtime) stay torch."""
    if tensors and isinstance(tensors[0], np.ndarray):
        return np.stack(tensors)
    import torch

    return torch.stack(tensors)
