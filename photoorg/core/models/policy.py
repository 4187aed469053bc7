"""The model policy, once: which CLIP model answers, which one is being embedded, and which
encoder each task uses.

A library has an *active* model (its vectors answer searches) and a *target* model (the
pipeline embeds with it). They differ only during a switch, which ends when every photo
that can be read has a target vector (:meth:`Catalog.maybe_switch_model`); photos on an
offline drive keep their old vectors and are re-embedded when it comes back.

Every task that compares text with stored vectors (search, pets, scenes, suggested names)
must use the *active* model's encoder: a prompt encoded by one model means nothing against
another model's image vectors. During a switch both encoders stay loaded (the target one
embeds, the active one answers searches and embeds newly arrived photos so they are
searchable at once); :class:`Encoders` keeps exactly the models still needed, so a search
never evicts the model being embedded and nothing thrashes.

``photoorg --model SPEC`` (the window) chooses the *search* model among those the library
has vectors for; only ``photoorg index --model SPEC`` changes the library's target.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from photoorg.core.store.catalog import Catalog, Model

if TYPE_CHECKING:
    from photoorg.core.models.embedder import Embedder

log = logging.getLogger(__name__)

# Tasks that encode text against the library's image vectors: all use the active model.
TEXT_TASKS = ("search", "pets", "scenes", "names")

ProgressFn = Callable[[int, int | None], None]
StateFn = Callable[[str, str, str], None]  # (state, spec, message)


def default_spec() -> str:
    from photoorg.core.models import embedder

    return embedder.DEFAULT_MODEL


def target_spec(cat: Catalog, requested: str | None = None) -> str:
    """The model the pipeline embeds with: the one asked for on ``index --model``, else the
    library's target, else the default."""
    if requested:
        return requested
    target = cat.target_model()
    return target.spec if target is not None else default_spec()


def search_model(cat: Catalog, preferred: str | None = None) -> Model | None:
    """The model whose vectors answer searches: ``preferred`` when the library has its
    vectors (``photoorg --model``), else the active model."""
    if preferred:
        model = cat.model_by_spec(preferred)
        if model is not None and cat.has_vector_table(model.id) and cat.vector_count(model.id):
            return model
    return cat.active_model()


def switching(cat: Catalog) -> bool:
    active, target = cat.active_model(), cat.target_model()
    return active is not None and target is not None and active.id != target.id


def coverage(cat: Catalog, model: Model | None = None) -> dict[str, int]:
    """What a search with ``model`` (default: the active one) covers: ``{"searchable",
    "not_searchable"}`` photos (offline photos without its vector, photos still waiting)."""
    model = model or cat.active_model()
    if model is None:
        total = int(cat.scalar("SELECT COUNT(*) FROM photos WHERE status != 'skipped'"))
        return {"searchable": 0, "not_searchable": total}
    have, total = cat.count_searchable(model.id)
    return {"searchable": have, "not_searchable": max(0, total - have)}


class Encoders:
    """Loaded CLIP encoders by spec, shared by every task of one process.

    ``download``: whether a model whose weights are not on disk may be fetched (the CLI
    fetches with progress; the window only when the user asks). ``on_state`` hears
    ``("loading"|"downloading"|"ready"|"missing"|"unavailable"|"cancelled", spec, message)``.
    """

    def __init__(self, *, download: bool = True, on_state: StateFn | None = None,
                 progress_for: Callable[[str], ProgressFn] | None = None,
                 lean: bool = True) -> None:
        self.download = download
        self.lean = lean  # encoders hold one tower at a time (False: the window, see idle)
        self.progress_for = progress_for  # download progress, when downloads are allowed
        self.on_state = on_state or (lambda state, spec, message: None)
        self._lock = threading.RLock()
        self._loaded: dict[str, Embedder] = {}
        self.failed: dict[str, str] = {}  # spec -> why it could not be loaded

    def loaded(self, spec: str) -> Embedder | None:
        with self._lock:
            return self._loaded.get(spec)

    def specs(self) -> list[str]:
        with self._lock:
            return list(self._loaded)

    def get(self, spec: str, progress: ProgressFn | None = None,
            cancelled: Callable[[], bool] | None = None, *,
            export: bool = True) -> Embedder | None:
        """The encoder for ``spec`` (loaded once); None when it cannot be had, with the reason
        in :attr:`failed`. ``progress`` given: a download is allowed (the user asked).
        The light runtime (:mod:`photoorg.core.models.light`: onnxruntime, no torch) is
        tried first; ``export``: it may export the model first (a child process, once per
        model and machine; a search does not wait for that and uses torch instead)."""
        from photoorg.core.models import embedder as emb

        with self._lock:
            if spec in self._loaded:
                return self._loaded[spec]
            if spec in self.failed and progress is None:
                if not self._weights_arrived(spec):
                    return None  # said once; trying again (an export, torch) says it again
                self.failed.pop(spec)
            if progress is None and self.download and self.progress_for is not None:
                progress = self.progress_for(spec)
            if progress is None and not self.download:
                # Before the light runtime, whose export of absent weights takes seconds to
                # fail: the window must say "missing" at once, not after a child process.
                try:
                    missing = self._missing(spec)
                except ValueError as exc:
                    return self._fail(spec, "unavailable", str(exc))
                if missing:
                    return self._fail(spec, "missing", "")
            announced: list[bool] = []
            light = self._light(spec, export, announced)
            if light is not None:
                self._loaded[spec] = light
                self.failed.pop(spec, None)
                self.on_state("ready", spec, "")
                return light
            if progress or not announced:
                self.on_state("downloading" if progress else "loading", spec, "")
            try:
                encoder = emb.load_embedder(spec, progress=progress, lean=self.lean)
            except Exception as exc:
                if cancelled is not None and cancelled():
                    return self._fail(spec, "cancelled", "")
                if isinstance(exc, (emb.ModelUnavailableError, ValueError)):
                    return self._fail(spec, "unavailable", str(exc))
                raise
            self._loaded[spec] = encoder
            self.failed.pop(spec, None)
            self.on_state("ready", spec, "")
            return encoder

    def _light(self, spec: str, export: bool, announced: list[bool]) -> Any:
        """The light form, or None; ``announced`` gets an item once "loading" was said."""
        from photoorg.core.models import light

        if not light.enabled():
            return None

        def loading() -> None:
            announced.append(True)
            self.on_state("loading", spec, "")

        try:
            return light.load_light(spec, lean=self.lean, export=export, on_loading=loading)
        except light.LightUnavailableError as exc:
            log.info("%s: torch runtime (no light form: %s)", spec, exc)
        except Exception as exc:  # a broken export must cost speed, never the model
            log.warning("%s: the light runtime failed (%s: %s); using torch", spec,
                        type(exc).__name__, exc)
        return None

    @staticmethod
    def _missing(spec: str) -> bool:
        """Whether ``spec``'s weights are not on this computer, asking open_clip (torch's
        import, seconds) only for a hub model that has no light export to answer for it."""
        from photoorg.core.models import embedder as emb
        from photoorg.core.models import onnx_store

        quick = emb.weights_missing_quickly(spec)
        if quick is not None:
            return quick
        if onnx_store.lookup(spec, None)[0] is not None:
            return False
        return not emb.weights_available(spec)

    def _weights_arrived(self, spec: str) -> bool:
        """Whether ``spec`` failed only for want of its weights, and they are here now (the
        user put the file in place while the window ran)."""
        if self.failed.get(spec) != "missing":
            return False
        try:
            return not self._missing(spec)
        except ValueError:
            return False

    def _fail(self, spec: str, state: str, message: str) -> None:
        self.failed[spec] = message or state
        self.on_state(state, spec, message)
        return None

    def require(self, spec: str, progress: ProgressFn | None = None) -> Embedder:
        """Like :meth:`get`, raising ``ModelUnavailableError`` with the reason."""
        from photoorg.core.models.embedder import ModelUnavailableError

        encoder = self.get(spec, progress=progress)
        if encoder is None:
            reason = self.failed.get(spec, "")
            if reason == "missing":
                reason = f"the weights of {spec} are not on this computer"
            raise ModelUnavailableError(reason or f"model {spec} is not available")
        return encoder

    def keep_only(self, specs: set[str]) -> None:
        """Release encoders no task needs any more (a switch finished)."""
        with self._lock:
            for spec in list(self._loaded):
                if spec not in specs:
                    del self._loaded[spec]

    def idle(self) -> None:
        """No encoding for a while (faces, OCR): lean encoders let their weights go (read
        again when next used); the window's keep them, to answer searches at once."""
        with self._lock:
            encoders = list(self._loaded.values())
        for encoder in encoders:
            getattr(encoder, "idle", lambda: None)()

    def forget_failures(self) -> None:
        with self._lock:
            self.failed.clear()


class ModelPolicy:
    """One library's choice of models, over its catalog and a shared :class:`Encoders`.

    ``requested``: the target asked for (``index --model``); ``search_preference``: the
    window's ``--model`` (a search model only; it becomes the target only of a library that
    has no model yet, where it costs no re-embedding)."""

    def __init__(self, encoders: Encoders, *, requested: str | None = None,
                 search_preference: str | None = None) -> None:
        self.encoders = encoders
        self.requested = requested
        self.search_preference = search_preference

    def target_spec(self, cat: Catalog) -> str:
        if self.requested:
            return self.requested
        if self.search_preference and cat.target_model() is None:
            return self.search_preference
        return target_spec(cat)

    def search_model(self, cat: Catalog) -> Model | None:
        return search_model(cat, self.search_preference)

    def encoder_for(self, cat: Catalog, task: str) -> Embedder | None:
        """The encoder a task uses, or None when it cannot be loaded (see ``failed``).
        ``embed``: the target model; every text task: the model of the vectors it reads."""
        if task == "embed":
            return self.encoders.get(self.target_spec(cat))
        if task not in TEXT_TASKS:
            raise ValueError(f"unknown task {task!r}")
        model = self.search_model(cat) if task == "search" else cat.active_model()
        if model is None:
            return None
        return self.encoders.get(model.spec)

    def needed_specs(self, cat: Catalog) -> set[str]:
        specs = {self.target_spec(cat)}
        for model in (cat.active_model(), self.search_model(cat)):
            if model is not None:
                specs.add(model.spec)
        return specs

    def release_unneeded(self, cat: Catalog) -> None:
        self.encoders.keep_only(self.needed_specs(cat))


def spec_of(encoder: Any) -> str:
    """The canonical spec string of a loaded encoder."""
    spec = getattr(encoder, "spec", "")
    return getattr(spec, "name", None) or str(spec)
