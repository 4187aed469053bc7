"""What happens to a photo, in one place: the pipeline as named stages.

    scan → embed → keyframes → info → pixels → metadata → stacks → faces → clusters → names →
    sidecars → text

``photoorg index``, ``photoorg watch`` and the window's indexing service all run this very
pipeline (through :class:`photoorg.core.app.library.Library`). Each stage keeps per-photo state
in the catalog, so a crash resumes where it stopped and a second run does only what is
missing (``index --no-faces`` then ``index``: the second run is just the face pass):

=========  ===========  =====================================================================
stage      needs CLIP   per-photo state
=========  ===========  =====================================================================
embed      yes          a vector of the target model (``photos.model_id``; skipped files
                        get ``status = 'skipped'`` with a reason)
keyframes  yes          videos: a few frames embedded for search (``video_frames``;
                        ``photo_stages`` 'keyframes', version = the model spec)
info       no           size, date, GPS, camera read without decoding pixels, for photos the
                        embed stage has not read (no model yet): ``photo_stages`` 'info'
pixels     no           the pixel signature that decides duplicates (``pixel_signatures``, per
                        content hash): made by the embed stage from its decode; this stage
                        decodes only photos embedded before (older catalogs), resumably
metadata   no           keywords, rating, captions, named regions other tools wrote, for
                        photos the embed stage has not read: ``photo_imports``
stacks     no           RAW+JPEG, Live Photo and burst stacks (``stacks``; the library's stamp
                        in meta ``stacks_stamp``: found again only when photos changed)
faces      no           ``photos.faces_done``; faces join people incrementally
clusters   pets only    per kind, a fingerprint of its input (:mod:`photoorg.core.groups.grouping`):
                        a kind is re-grouped only when its input changed
names      yes          per model: the prompt vectors of suggested names (``prompt_vectors``)
sidecars   no           (writing on) a digest of the tags and named faces written to the
                        photo's ``.xmp``, and where: ``photo_stages`` 'sidecar'
text       no           (OCR, setting on) ``photo_text``: the words read, or the failure,
                        with the content hash read (a changed photo is read again)
=========  ===========  =====================================================================

Stages that need no CLIP model run without one (first run offline, before the download
finishes): people and places are found anyway.

A stage that encodes with CLIP names the towers it uses (``towers``: "visual", "text"); before
any other stage a lean process (``photoorg index``) lets the model's weights go
(:meth:`photoorg.core.models.policy.Encoders.idle`), so faces and OCR do not run beside them. A
stage with a ``release()`` lets go of what only it uses (face models, place data) after it
runs in a lean process; the window keeps them.

Each stage that had work records what it had (``photos``, or its own ``unit``) and its
seconds in ``summary.stages``: ``photoorg index --json`` prints them.

Adding a stage (metadata import, OCR, ...): write a class with ``name``, ``needs_model``,
``pending(ctx)`` and ``run(ctx)`` — or subclass :class:`PhotoStage` and write
``run_batch(ctx, photos)`` — and insert it in :data:`STAGES`. :class:`PhotoStage` keeps its
state in ``photo_stages`` (one row per photo it handled, with a version and any error).
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, Protocol

from photoorg.core.ingest.indexer import IndexControl, IndexListener, IndexSummary, Progress
from photoorg.core.models.policy import ModelPolicy
from photoorg.core.models.towers import trim_heap
from photoorg.core.store import failures
from photoorg.core.store.catalog import Catalog

if TYPE_CHECKING:
    from photoorg.core.ingest.firstlook import TextDrafts

log = logging.getLogger(__name__)


@dataclass
class RunContext:
    """What a stage may use: the writer connection, the model policy, pause/cancel, where
    progress goes, and the user's choices."""

    cat: Catalog
    models: ModelPolicy
    control: IndexControl = field(default_factory=IndexControl)
    listener: IndexListener = field(default_factory=IndexListener)
    faces: bool = True
    write_sidecars: bool = False
    batch_size: int = 16
    decode_workers: int | None = None
    summary: IndexSummary = field(default_factory=IndexSummary)
    notes: list[str] = field(default_factory=list)  # what could not run, for the user
    text_drafts: TextDrafts | None = None  # the embed stage's drafts, for the text stage
    started: float = field(default_factory=time.time)  # failures since then are this run's

    def run_failures(self) -> list[failures.Cause]:
        """What failed in this run, one entry per stage and cause."""
        return failures.causes(self.cat, since=self.started)

    @property
    def stopped(self) -> bool:
        return self.control.cancelled


class Stage(Protocol):
    name: str
    needs_model: bool

    def pending(self, ctx: RunContext) -> int: ...

    def run(self, ctx: RunContext) -> None: ...


# -- per-photo stages kept in photo_stages ------------------------------------------------


RETRY = "retry: "


class PhotoStage:
    """A stage that handles photos one batch at a time and records each in ``photo_stages``.

    Subclasses set ``name``, ``version`` and write :meth:`run_batch`, returning
    ``{photo id: error or None}`` for the photos they handled (the others stay pending). An
    error starting with :data:`RETRY` is a failure that may pass: the photo is not done, and
    is tried again on a later run (:mod:`photoorg.core.store.failures`)."""

    name = ""
    needs_model = False
    version = "1"
    batch = 64
    phase = ""  # the progress phase shown to the user ("" = none)

    def where(self) -> str:
        """Extra SQL condition on ``p`` (photos) and ``r`` (roots) for eligible photos."""
        return "1"

    def _pending_sql(self) -> str:
        return (
            "FROM photos p JOIN roots r ON r.id = p.root_id "
            "LEFT JOIN photo_stages s ON s.photo_id = p.id AND s.stage = ? "
            "WHERE r.online = 1 AND p.status != 'skipped' AND s.photo_id IS NULL "
            f"AND {failures.waiting_sql(self.name)} AND ({self.where()})"
        )

    def pending(self, ctx: RunContext) -> int:
        return int(ctx.cat.scalar(f"SELECT COUNT(*) {self._pending_sql()}", (self.name,)))

    def pending_photos(self, ctx: RunContext, limit: int, after: int) -> list[tuple[int, Path]]:
        rows = ctx.cat.query(
            f"SELECT p.id, r.path, p.rel_path {self._pending_sql()} AND p.id > ? "
            "ORDER BY p.id LIMIT ?",
            (self.name, after, limit),
        )
        return [(pid, Path(root) / PurePosixPath(rel)) for pid, root, rel in rows]

    def run(self, ctx: RunContext) -> None:
        progress = Progress(self.phase or self.name, total=self.pending(ctx))
        after = 0
        while not ctx.stopped:
            photos = self.pending_photos(ctx, self.batch, after)
            if not photos:
                break
            after = photos[-1][0]
            results = self.run_batch(ctx, photos)
            retry = {pid: err[len(RETRY):] for pid, err in results.items()
                     if err is not None and err.startswith(RETRY)}
            failures.record(ctx.cat, self.name, retry)
            record_stage(ctx.cat, self.name, self.version,
                         {pid: err for pid, err in results.items() if pid not in retry})
            progress.done += len(photos)
            if self.phase:
                ctx.listener.on_progress(progress)
                if ctx.control.stop_requested(progress, ctx.listener):
                    break

    def run_batch(self, ctx: RunContext, photos: Sequence[tuple[int, Path]]
                  ) -> dict[int, str | None]:
        raise NotImplementedError


def record_stage(cat: Catalog, stage: str, version: str,
                 results: dict[int, str | None], detail: dict[int, str] | None = None) -> None:
    """Record that ``stage`` ran on these photos (``{photo id: error or None}``)."""
    if not results:
        return
    now = time.time()
    detail = detail or {}
    with cat.transaction() as conn:
        conn.executemany(
            "INSERT INTO photo_stages(photo_id, stage, version, detail, done_at, error) "
            "VALUES(?, ?, ?, ?, ?, ?) ON CONFLICT(photo_id, stage) DO UPDATE SET "
            "version = excluded.version, detail = excluded.detail, done_at = excluded.done_at, "
            "error = excluded.error",
            [(pid, stage, version, detail.get(pid), now, err) for pid, err in results.items()],
        )


# -- the stages ------------------------------------------------------------------------------


class EmbedStage:
    """CLIP vectors of the target model (and, during a switch, of the active model for
    photos that have none, so they are searchable at once). Also reads each photo's
    metadata on the way (the pixels are decoded anyway)."""

    name = "embed"
    towers = ("visual",)
    needs_model = True

    def pending(self, ctx: RunContext) -> int:
        target = ctx.cat.target_model()
        spec = ctx.models.target_spec(ctx.cat)
        if target is None or target.spec != spec:
            target = ctx.cat.model_by_spec(spec)
        return int(ctx.cat.count_pending_embedding(target.id if target else -1))

    def run(self, ctx: RunContext) -> None:
        from photoorg.core.ingest.indexer import Indexer

        encoder = ctx.models.encoder_for(ctx.cat, "embed")
        if encoder is None:
            spec = ctx.models.target_spec(ctx.cat)
            why = ctx.models.encoders.failed.get(spec, "")
            ctx.notes.append(f"not embedded: model {spec} unavailable" + (f" ({why})" if why
                             and why not in ("missing", "unavailable") else ""))
            return
        active = ctx.cat.active_model()
        looks = first_looks(ctx)
        active_encoder = None
        if active is not None and active.spec != ctx.models.target_spec(ctx.cat):
            active_encoder = ctx.models.encoders.get(active.spec)
        summary = Indexer(
            ctx.cat, encoder, batch_size=ctx.batch_size, decode_workers=ctx.decode_workers,
            listener=_NoDone(ctx.listener), control=ctx.control,
            active_embedder=active_encoder, looks=looks,
        ).run()
        total = ctx.summary
        total.embedded += summary.embedded
        total.skipped += summary.skipped
        total.failed += summary.failed
        total.new_ids += summary.new_ids
        for reason, n in summary.skipped_reasons.items():
            total.skipped_reasons[reason] = total.skipped_reasons.get(reason, 0) + n
        ctx.models.release_unneeded(ctx.cat)


def first_looks(ctx: RunContext) -> list[Any]:
    """The first looks of the stages that will run after the embed stage
    (:mod:`photoorg.core.ingest.firstlook`); a look that cannot load is left out (its stage
    then decodes every photo, and says why it cannot run if it cannot)."""
    looks = []
    for st in STAGES:
        make = getattr(st, "first_look", None)
        if make is None:
            continue
        try:
            look = make(ctx)
        except Exception as exc:
            log.info("no first look for the %s stage: %s", st.name, exc)
            continue
        if look is not None:
            looks.append(look)
    return looks


class _NoDone(IndexListener):
    """The indexer's own "done" is not the pipeline's: only the pipeline says done."""

    def __init__(self, inner: IndexListener) -> None:
        self.inner = inner

    def on_progress(self, progress: Progress) -> None:
        if progress.phase != "done":
            self.inner.on_progress(progress)

    def on_skipped(self, path: Path, reason: str, detail: str) -> None:
        self.inner.on_skipped(path, reason, detail)


class InfoStage(PhotoStage):
    """Date, size, GPS and camera without decoding pixels, for photos the embed stage has
    not read (no model yet): places are found offline too."""

    name = "info"
    version = "1"
    batch = 256

    def where(self) -> str:
        return "p.width IS NULL"

    def run_batch(self, ctx: RunContext, photos: Sequence[tuple[int, Path]]
                  ) -> dict[int, str | None]:
        from photoorg.core.media.imaging import DecodeError, read_info

        results: dict[int, str | None] = {}
        infos = []
        for pid, path in photos:
            try:
                info = read_info(path)
            except DecodeError as exc:
                results[pid] = (  # the embed stage records why one is skipped
                    f"{RETRY}could not read the file ({exc.reason})"
                    if exc.reason in failures.TRANSIENT_READ_ERRORS else str(exc))
                continue
            except Exception as exc:  # a reader bug costs one photo's metadata, not the run
                log.debug("reading the metadata of %s failed", path, exc_info=True)
                results[pid] = f"{RETRY}reading size and date failed ({failures.describe(exc)})"
                continue
            infos.append((pid, info))
            results[pid] = None
        with ctx.cat.transaction():
            for pid, info in infos:
                ctx.cat.record_info(pid, width=info.width, height=info.height,
                                    taken_at=info.taken_at, latitude=info.latitude,
                                    longitude=info.longitude, camera=info.camera,
                                    tz_offset=info.tz_offset, duration=info.duration)
        return results


class PixelsStage(PhotoStage):
    """Pixel signatures (photoorg.core.media.pixels) for photos embedded before signatures existed
    (an older catalog): the embed stage makes them from its own decode for every new photo,
    so this decodes only the backlog, a batch at a time, resuming where it stopped."""

    name = "pixels"
    version = "1"
    batch = 64
    phase = "checking pixels"

    def where(self) -> str:
        from photoorg.core.store.pixel_signatures import MISSING_SQL

        return MISSING_SQL

    def run_batch(self, ctx: RunContext, photos: Sequence[tuple[int, Path]]
                  ) -> dict[int, str | None]:
        from photoorg.core.media import pixels
        from photoorg.core.media.imaging import DecodeError, decode_photo
        from photoorg.core.store import pixel_signatures

        results: dict[int, str | None] = {}
        made = []
        for pid, path in photos:
            try:
                made.append((pid, pixels.signature(
                    decode_photo(path, min_side=max(224, pixels.MIN_SIDE)).image)))
                results[pid] = None
            except DecodeError as exc:
                results[pid] = str(exc)
            except Exception as exc:  # costs this photo's signature, recorded with why
                log.exception("no pixel signature for %s", path)
                results[pid] = repr(exc)
        pixel_signatures.store(ctx.cat, made)
        return results


class MetadataStage:
    """What other tools wrote (keywords, ratings, captions, named faces; embedded and in
    sidecars). The embed stage reads it for the photos it embeds; this stage reads the rest,
    so a library with no CLIP model yet still gets its tags and names."""

    name = "metadata"
    needs_model = False

    def pending(self, ctx: RunContext) -> int:
        from photoorg.core.metadata.importer import never_read

        return never_read(ctx.cat)

    def run(self, ctx: RunContext) -> None:
        from photoorg.core.metadata.importer import import_stage

        import_stage(ctx.cat, (), lambda: ctx.stopped)


class FacesStage:
    """Faces found on every readable photo; new faces join people incrementally."""

    name = "faces"
    needs_model = False

    def pending(self, ctx: RunContext) -> int:
        return int(ctx.cat.count_pending_faces()) if ctx.faces else 0

    def run(self, ctx: RunContext) -> None:
        from photoorg.core.ingest.indexer import run_face_pass

        try:
            from photoorg.core.people import faces  # noqa: F401 - is dlib here?
        except ImportError as exc:  # dlib missing: search still works
            ctx.notes.append(f"face detection unavailable: {exc}")
            return
        # detection only: new faces join people in the clusters stage (computed on a
        # snapshot, written in one short step)
        ctx.summary.faces_photos += run_face_pass(ctx.cat, _detect_faces, ctx.control,
                                                  ctx.listener)

    def first_look(self, ctx: RunContext) -> Any:
        """Face proposals on the embed stage's decode: photos with none are done."""
        if not ctx.faces:
            return None
        from photoorg.core.ingest.firstlook import FaceLook
        from photoorg.core.people import faces

        if not faces.shared_analyzer_uses_proposals():
            return None
        return FaceLook()

    def release(self) -> None:
        try:
            from photoorg.core.people import faces
        except ImportError:  # no dlib: nothing was loaded
            return
        faces.release_shared_analyzer()


def _detect_faces(cat: Catalog, progress: Any = None, should_stop: Any = None) -> int:
    from photoorg.core.people import faces

    return faces.process_pending_faces(cat, faces.shared_analyzer(), progress=progress,
                                       should_stop=should_stop)


class ClustersStage:
    """People, pets, places and scenes follow the photos: each kind whose input changed is
    re-grouped (names, ids and the user's corrections kept)."""

    name = "clusters"
    unit = "kinds"  # what pending() counts
    towers = ("text",)  # pets
    needs_model = False  # pets need the active model's text encoder; the others nothing

    def stale_kinds(self, ctx: RunContext) -> list[str]:
        from photoorg.core.groups import grouping

        if not ctx.cat.roots():
            return []
        return [k for k in grouping.KINDS if grouping.is_stale(ctx.cat, k)
                and failures.step_may_run(ctx.cat, "clusters", k)]

    def pending(self, ctx: RunContext) -> int:
        return len(self.stale_kinds(ctx))

    def release(self) -> None:
        from photoorg.core.groups import places

        places.release_geocoder()

    def run(self, ctx: RunContext) -> None:
        from photoorg.core.groups import grouping

        kinds = self.stale_kinds(ctx)
        if not kinds:
            return
        ctx.listener.on_progress(Progress("clusters", total=len(kinds)))
        for done, kind in enumerate(kinds, 1):
            if ctx.stopped:
                return
            encoder = None
            if kind == "pets":
                encoder = ctx.models.encoder_for(ctx.cat, "pets")
                if encoder is None:
                    continue  # stays stale: grouped once the model is there
            try:
                grouping.refresh_clusters(ctx.cat, kind, encoder)
            except ImportError as exc:
                log.info("no %s clusters here: %s", kind, exc)
            except Exception as exc:  # the kind stays stale: grouped again on a later run
                log.exception("grouping %s failed", kind)
                failures.record_step(ctx.cat, "clusters", kind,
                                     f"grouping {kind} failed ({failures.describe(exc)})")
            else:
                failures.clear_step(ctx.cat, "clusters", kind)
            ctx.listener.on_progress(Progress("clusters", done=done, total=len(kinds)))


class SidecarStage:
    """With sidecar writing on, every photo's ``.xmp`` says what the catalog says: its tags
    and named faces, whoever changed them (the user, or re-clustering that added a photo to
    a named person); a sidecar moves with its photo."""

    name = "sidecars"
    needs_model = False

    def pending(self, ctx: RunContext) -> int:
        return len(stale_sidecars(ctx.cat)) if ctx.write_sidecars else 0

    def run(self, ctx: RunContext) -> None:
        if ctx.write_sidecars:
            sync_sidecars(ctx.cat, stale_sidecars(ctx.cat))


SIDECAR_STAGE = "sidecar"


def _sidecar_candidates(cat: Catalog) -> list[int]:
    """Photos that have something to write or had a sidecar written."""
    return [pid for (pid,) in cat.query(
        "SELECT photo_id FROM photo_tags UNION "
        "SELECT photo_id FROM cluster_photos WHERE source != 'rejected' UNION "
        "SELECT photo_id FROM faces WHERE cluster_id IS NOT NULL UNION "
        "SELECT photo_id FROM photo_meta UNION "
        "SELECT photo_id FROM photo_stages WHERE stage = ?", (SIDECAR_STAGE,))]


def sidecar_digests(cat: Catalog, photo_ids: Iterable[int]) -> dict[int, str]:
    """A digest of what a photo's sidecar says (tags, named faces, rating, label, title,
    caption)."""
    from photoorg.core.groups.clusters import tags_for_photos
    from photoorg.core.store.photo_meta import photo_metas

    ids = sorted({int(p) for p in photo_ids})
    tags = tags_for_photos(cat, ids)
    metas = photo_metas(cat, ids)
    faces: dict[int, list[Any]] = {pid: [] for pid in ids}
    for pid, x, y, w, h, name in cat.query_in(
        "SELECT f.photo_id, f.x, f.y, f.w, f.h, c.name FROM faces f JOIN clusters c "
        "ON c.id = f.cluster_id WHERE c.name IS NOT NULL AND f.photo_id IN {ids} ORDER BY f.id",
        ids,
    ):
        faces[pid].append([name, round(x, 4), round(y, 4), round(w, 4), round(h, 4)])
    return {
        pid: hashlib.sha1(json.dumps(
            [tags[pid], faces[pid], sorted((k, str(v)) for k, v in vars(metas[pid]).items())],
            default=str).encode()).hexdigest()[:16]
        for pid in ids
    }


def stale_sidecars(cat: Catalog) -> list[int]:
    """Photos whose sidecar does not say what the catalog says, or sits by an old path."""
    ids = _sidecar_candidates(cat)
    digests = sidecar_digests(cat, ids)
    written = {pid: (version, detail) for pid, version, detail in cat.query(
        "SELECT photo_id, version, detail FROM photo_stages WHERE stage = ?", (SIDECAR_STAGE,))}
    paths = cat.paths_for_ids(ids)
    return [pid for pid in ids if pid in paths
            and written.get(pid) != (digests[pid], str(paths[pid]))]


def sync_sidecars(cat: Catalog, photo_ids: Iterable[int]) -> int:
    """Rewrite these photos' sidecars from the catalog (moving one left by an old path
    first) and record what was written. Returns how many were written."""
    from photoorg.core.metadata import sidecar

    ids = sorted({int(p) for p in photo_ids})
    if not ids:
        return 0
    paths = cat.paths_for_ids(ids)
    previous = dict(cat.query_in(
        "SELECT photo_id, detail FROM photo_stages WHERE stage = ? AND photo_id IN {ids}",
        ids, (SIDECAR_STAGE,)))
    ready = []
    for pid in ids:
        path = paths.get(pid)
        if path is None or not path.is_file():
            continue  # offline: written when it is back
        old = previous.get(pid)
        if old and old != str(path) and Path(old).parent.is_dir():
            try:
                sidecar.move_sidecar(Path(old), path)
            except OSError as exc:
                log.warning("cannot move the sidecar of %s: %s", path, exc)
        ready.append(pid)
    written = sidecar.sync_sidecars(cat, ready)
    digests = sidecar_digests(cat, ready)
    record_stage(cat, SIDECAR_STAGE, "", {pid: None for pid in ready},
                 detail={pid: str(paths[pid]) for pid in ready})
    with cat.transaction() as conn:
        conn.executemany(
            "UPDATE photo_stages SET version = ? WHERE photo_id = ? AND stage = ?",
            [(digests[pid], pid, SIDECAR_STAGE) for pid in ready],
        )
    return written


class NamesStage:
    """The prompt vectors suggested names need (:mod:`photoorg.core.groups.suggest`), made
    once per model's weights (kept in the app's cache folder for every library; the text
    tower is loaded only when they are not there), so the window suggests names with no
    model loaded."""

    name = "names"
    unit = "models"
    towers = ("text",)
    needs_model = False  # without the model there is simply nothing to suggest yet

    def pending(self, ctx: RunContext) -> int:
        from photoorg.core.groups import suggest

        return int(ctx.cat.active_model() is not None and not suggest.is_prepared(ctx.cat))

    def run(self, ctx: RunContext) -> None:
        from photoorg.core.groups import suggest

        if suggest.prepare(ctx.cat, None):
            return  # from the vectors another library made with these weights
        encoder = ctx.models.encoder_for(ctx.cat, "names")
        if encoder is not None:
            suggest.prepare(ctx.cat, encoder)


class TextStage:
    """The words written in photos, read by OCR (:mod:`photoorg.core.ingest.ocr`) for search: the
    lowest priority, after everything else; its own per-photo state (``photo_text``: what
    was read, or why it failed). The library setting ``read_text`` turns it off."""

    name = "text"
    needs_model = False

    def pending(self, ctx: RunContext) -> int:
        from photoorg.core.ingest import ocr
        from photoorg.core.search import textindex

        return textindex.count_pending_text(ctx.cat) if ocr.enabled(ctx.cat) else 0

    def run(self, ctx: RunContext) -> None:
        from photoorg.core.ingest.indexer import run_text_stage

        ctx.summary.text_photos += run_text_stage(ctx.cat, ctx.control, ctx.listener,
                                                  ctx.text_drafts)

    def first_look(self, ctx: RunContext) -> TextDrafts | None:
        """The embed stage's draft of each photo this stage will read, kept for its gate."""
        import importlib.util

        from photoorg.core.ingest import ocr
        from photoorg.core.search import textindex

        if not ocr.enabled(ctx.cat) or importlib.util.find_spec("rapidocr_onnxruntime") is None:
            return None
        # photos the stage will read (not those a model switch re-embeds, read long ago)
        wanted = textindex.pending_text_files(ctx.cat, limit=DRAFTS_WANTED)
        if not wanted:
            return None
        from photoorg.core.ingest.firstlook import TextDrafts

        ctx.text_drafts = TextDrafts(wanted)
        return ctx.text_drafts


DRAFTS_WANTED = 20_000
"""Pending photos the embed stage may keep drafts for (the first, as both stages go by id):
more than its drafts' memory holds; their paths cost about 4 MB."""


KEYFRAME_STAGE = "keyframes"


class KeyframeStage:
    """A few frames of each video embedded with the target model, so search finds a moment
    inside a clip (:mod:`photoorg.core.ingest.keyframes`)."""

    name = KEYFRAME_STAGE
    towers = ("visual",)
    needs_model = True

    def pending(self, ctx: RunContext) -> int:
        from photoorg.core.ingest.keyframes import count_pending

        target = ctx.cat.target_model()
        return count_pending(ctx.cat, target.spec) if target is not None else 0

    def run(self, ctx: RunContext) -> None:
        from photoorg.core.ingest.keyframes import embed_video, pending_videos
        from photoorg.core.media.imaging import DecodeError
        from photoorg.core.search.video_frames import store_frames

        target = ctx.cat.target_model()
        encoder = ctx.models.encoder_for(ctx.cat, "embed")
        if target is None or encoder is None or getattr(encoder.spec, "name", None) != target.spec:
            return
        progress = Progress("keyframes", total=self.pending(ctx))
        after = 0
        while not ctx.stopped:
            videos = pending_videos(ctx.cat, target.spec, limit=8, after=after)
            if not videos:
                break
            after = videos[-1][0]
            for pid, path in videos:
                error = None
                try:
                    frames = embed_video(path, encoder)
                except DecodeError as exc:
                    frames, error = [], str(exc)
                except Exception as exc:  # one video's frames, not the run
                    log.exception("keyframes of %s failed", path)
                    frames, error = [], repr(exc)
                with ctx.cat.transaction():
                    store_frames(ctx.cat, pid, target.id, frames)
                    record_stage(ctx.cat, KEYFRAME_STAGE, target.spec, {pid: error})
                progress.done += 1
                progress.current = str(path)
                ctx.listener.on_progress(progress)
                if ctx.control.stop_requested(progress, ctx.listener):
                    return


class StacksStage:
    """RAW+JPEG pairs, Live Photos and bursts become stacks once their dates are read
    (:mod:`photoorg.core.groups.stacks`); runs again only when the photos changed."""

    name = "stacks"
    needs_model = False

    def pending(self, ctx: RunContext) -> int:
        from photoorg.core.groups import stacks

        return int(stacks.is_stale(ctx.cat))

    def run(self, ctx: RunContext) -> None:
        from photoorg.core.groups import stacks

        stacks.refresh(ctx.cat)


STAGES: list[Any] = [EmbedStage(), KeyframeStage(), InfoStage(), PixelsStage(), MetadataStage(),
                     StacksStage(), FacesStage(), ClustersStage(), NamesStage(), SidecarStage(),
                     TextStage()]
"""The pipeline, in order (after the scan)."""


def stage(name: str) -> Any:
    return next(s for s in STAGES if s.name == name)


def run_pipeline(ctx: RunContext, stages: Sequence[Any] | None = None) -> IndexSummary:
    """Run every stage that has work, in order, until done or cancelled. A stage that needs
    the model is skipped (with a note) when it cannot be loaded; the others still run."""
    started = time.monotonic()
    try:
        _run_stages(ctx, STAGES if stages is None else stages)
    finally:
        if ctx.text_drafts is not None:  # what the text stage did not take, or never ran for
            ctx.text_drafts.clear()
            ctx.text_drafts = None
    ctx.models.encoders.idle()  # between runs (``photoorg watch``) a lean process holds none
    ctx.summary.cancelled = ctx.control.cancelled
    ctx.summary.seconds = time.monotonic() - started
    ctx.listener.on_progress(Progress("done", done=ctx.summary.embedded,
                                      total=ctx.summary.embedded))
    return ctx.summary


def _run_stages(ctx: RunContext, stages: Sequence[Any]) -> None:
    for st in stages:
        if ctx.stopped:
            break
        if st.name == "faces" and not ctx.faces:
            continue
        try:
            stage_start = time.monotonic()
            pending = st.pending(ctx)
            if not pending:
                continue
            if not getattr(st, "towers", ()):
                ctx.models.encoders.idle()  # a lean process lets CLIP weights go meanwhile
            try:
                st.run(ctx)
            finally:
                if ctx.models.encoders.lean and hasattr(st, "release"):
                    st.release()  # what only this stage uses (face models, place data)
                ctx.summary.stages[st.name] = {
                    getattr(st, "unit", "photos"): int(pending),
                    "seconds": round(time.monotonic() - stage_start, 3)}
            trim_heap()  # what the stage freed, for the next (glibc keeps it otherwise)
            failures.clear_step(ctx.cat, st.name, "stage")
        except Exception as exc:
            if st.needs_model:
                raise  # the model failed mid-run: the caller retries later
            log.exception("pipeline stage %s failed", st.name)
            failures.record_step(ctx.cat, st.name, "stage",
                                 f"the {st.name} stage failed ({failures.describe(exc)})")


def stage_counts(ctx: RunContext) -> dict[str, int]:
    """Photos (clusters: kinds) each stage still has to do."""
    return {st.name: int(st.pending(ctx)) for st in STAGES}
