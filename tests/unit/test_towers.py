"""CLIP towers loaded one at a time (photoorg.core.models.towers, Embedder): same weights and
vectors as open_clip's whole model, whatever the order, after letting a tower go, from every weights
format; a lean `index` pipeline still makes pets, scenes and suggested names."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("open_clip")

from photoorg.core.media.synthetic import CLASSES, caption, draw_shape_image  # noqa: E402
from photoorg.core.models import embedder as E  # noqa: E402
from photoorg.core.models import towers  # noqa: E402

TINY_FILE = E.bundled_model_dir() / E.TINY_WEIGHTS
needs_tiny = pytest.mark.skipif(not TINY_FILE.is_file(), reason="tiny model missing")
TEXTS = [caption(*c) for c in CLASSES[:5]] + ["a photo of a dog", "a cat on a red mat"]


def _images() -> list:
    return [draw_shape_image(*c, size=64, seed=11) for c in CLASSES[:4]]


def _whole(arch: str, pretrained: str | None, seed: int = 0) -> E.Embedder:
    """open_clip's own whole model, as loaded before towers (never lets go)."""
    random = f"random:{seed}" if seed else "random"
    spec = E.parse_model_spec(f"{arch}/{pretrained or random}")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model, preprocess = E._create(arch, pretrained)
    return E.Embedder(spec, model, preprocess)


def _same_state(a: E.Embedder, b: E.Embedder) -> None:
    sa, sb = a.model.state_dict(), b.model.state_dict()
    assert set(sa) == set(sb)
    for key in sa:
        assert sa[key].dtype == sb[key].dtype and torch.equal(sa[key], sb[key]), key


def _on_meta(embedder: E.Embedder, tower: str) -> bool:
    """The tower's parameters hold no memory (small buffers, e.g. batch-norm stats, stay)."""
    return all(v.device.type == "meta" for k, v in embedder.model.named_parameters()
               if towers.tower_of(k) == tower)


@pytest.mark.parametrize("text_first", [False, True])
def test_random_towers_are_open_clips_whole_model_in_any_order(text_first: bool) -> None:
    whole = _whole(E.TINY_ARCH, None, seed=5)
    lean = E.load_embedder(f"{E.TINY_ARCH}/random:5")
    assert lean.loaded == set() and _on_meta(lean, "visual") and _on_meta(lean, "text")
    if text_first:
        texts = lean.encode_texts(TEXTS)
        assert lean.loaded == {"text"}
        images = lean.encode_images(_images())
    else:
        images = lean.encode_images(_images())
        assert lean.loaded == {"visual"} and _on_meta(lean, "text")
        texts = lean.encode_texts(TEXTS)
    assert lean.loaded == ({"visual"} if text_first else {"text"})  # one tower at a time
    np.testing.assert_array_equal(images, whole.encode_images(_images()))
    np.testing.assert_array_equal(texts, whole.encode_texts(TEXTS))
    lean.load("visual", "text")
    _same_state(lean, whole)


@needs_tiny
def test_text_vectors_after_letting_go_equal_the_whole_models() -> None:
    whole = _whole(E.TINY_ARCH, str(TINY_FILE))
    lean = E.load_embedder(E.TEST_MODEL)
    want_images, want_texts = whole.encode_images(_images()), whole.encode_texts(TEXTS)
    np.testing.assert_array_equal(lean.encode_images(_images()), want_images)
    np.testing.assert_array_equal(lean.encode_texts(TEXTS), want_texts)  # visual let go
    assert _on_meta(lean, "visual")
    lean.idle()
    assert lean.loaded == set() and _on_meta(lean, "text")
    np.testing.assert_array_equal(lean.encode_texts(TEXTS), want_texts)  # read again
    np.testing.assert_array_equal(lean.encode_images(_images()), want_images)


@needs_tiny
def test_a_window_embedder_keeps_both_towers() -> None:
    from photoorg.core.models.policy import Encoders

    keep = Encoders(download=False, lean=False).get(E.TEST_MODEL)
    keep.encode_images(_images())
    keep.encode_texts(TEXTS)
    keep.idle()
    assert keep.loaded == {"visual", "text"}


def test_texts_in_batches_equal_one_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    embedder = E.load_embedder(f"{E.TINY_ARCH}/random:2")
    monkeypatch.setattr(E, "TEXT_BATCH", 1000)
    once = embedder.encode_texts(TEXTS)
    monkeypatch.setattr(E, "TEXT_BATCH", 2)
    np.testing.assert_allclose(embedder.encode_texts(TEXTS), once, rtol=0, atol=1e-6)


@needs_tiny
@pytest.mark.parametrize("fmt", ["safetensors", "bin", "fp16.pt", "legacy.pt", "renamed.pt"])
def test_weights_files_load_as_open_clip_loads_them(tmp_path: Path, fmt: str) -> None:
    from safetensors.torch import load_file, save_file

    state = load_file(str(TINY_FILE))
    path = tmp_path / f"weights.{fmt}"
    if fmt == "safetensors":
        save_file({f"module.{k}": v for k, v in state.items()}, str(path))  # DDP prefix too
    elif fmt == "bin":
        torch.save({"state_dict": state}, path)
    elif fmt == "fp16.pt":
        torch.save({k: v.half() for k, v in state.items()}, path)
    elif fmt == "legacy.pt":  # not mappable: open_clip loads it whole, as before
        torch.save(state, path, _use_new_zipfile_serialization=False)
    else:  # keys of another model: open_clip says why at load
        state = {("text." + k if k.startswith("transformer.") else k): v for k, v in state.items()}
        torch.save(state, path)
    if fmt == "renamed.pt":
        with pytest.raises(E.ModelUnavailableError):
            E.load_embedder(f"{E.TINY_ARCH}/{path}")
        return
    whole = _whole(E.TINY_ARCH, str(path))
    lean = E.load_embedder(f"{E.TINY_ARCH}/{path}")
    assert lean.loaded == ({"visual", "text"} if fmt == "legacy.pt" else set())
    lean.idle()
    np.testing.assert_array_equal(lean.encode_texts(TEXTS), whole.encode_texts(TEXTS))
    np.testing.assert_array_equal(lean.encode_images(_images()), whole.encode_images(_images()))
    lean.load("visual", "text")
    _same_state(lean, whole)
    assert all(v.dtype == torch.float32 for v in lean.model.state_dict().values()
               if v.is_floating_point())


@needs_tiny
def test_a_broken_weights_file_is_refused_at_load(tmp_path: Path) -> None:
    truncated = tmp_path / "cut.safetensors"
    truncated.write_bytes(TINY_FILE.read_bytes()[:-1000])
    garbage = tmp_path / "garbage.safetensors"
    garbage.write_bytes(b"\x00" * 64)
    for path in (truncated, garbage):
        with pytest.raises(E.ModelUnavailableError):
            E.load_embedder(f"{E.TINY_ARCH}/{path}")


@needs_tiny
def test_a_lean_index_still_makes_pets_scenes_and_names(tmp_path: Path) -> None:
    """``photoorg index`` lets the model go between stages; the text stages load the text
    tower and store the same prompt vectors as the whole model would."""
    from photoorg.core.app.library import Library
    from photoorg.core.groups import grouping, suggest
    from photoorg.core.media.synthetic import write_sample_library

    write_sample_library(tmp_path / "photos", per_class=1, seed=5, size=96)
    with Library(tmp_path / "data", model=E.TEST_MODEL) as lib:
        assert lib.encoders.lean
        lib.add_folders([tmp_path / "photos"])
        lib.index(faces=False)
        cat = lib.writer
        encoder = lib.encoders.loaded(E.TEST_MODEL)
        assert encoder.loaded == set()  # let go after the names stage
        for kind in ("pets", "scenes", "places"):
            assert not grouping.is_stale(cat, kind), kind
        assert cat.scalar("SELECT COUNT(*) FROM clusters WHERE kind = 'scenes'") > 0
        assert suggest.is_prepared(cat)
        prompts = sorted(set(suggest._builtin_prompts()))[:40]
        stored = suggest.stored_prompt_vectors(cat, cat.active_model().id, prompts)
    whole = _whole(E.TINY_ARCH, str(TINY_FILE))
    np.testing.assert_allclose(stored, whole.encode_texts(prompts), rtol=0, atol=1e-6)
