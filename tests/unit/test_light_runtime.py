"""The light runtime (ONNX towers in onnxruntime) gives the torch towers' vectors, and a
command-line search with it never imports torch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("onnxruntime")
pytest.importorskip("open_clip")

from photoorg.core.media.synthetic import CLASSES, caption, draw_shape_image  # noqa: E402
from photoorg.core.models import light, onnx_store  # noqa: E402
from photoorg.core.models.embedder import load_embedder  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
TEXTS = ["a dog on the beach", "", "Café au lait — naïve façade 🐶", "a photo of a red circle",
         "word " * 100, "東京タワー", "two cats", "a blue square on a white background"]
MIN_COSINE = 0.9999


def _images(n: int = 10) -> list[Image.Image]:
    rng = np.random.default_rng(0)
    out = [draw_shape_image(*CLASSES[i % len(CLASSES)], size=160 + 17 * i, seed=i)
           for i in range(n)]
    out.append(Image.fromarray(rng.integers(0, 256, (300, 420, 3), dtype=np.uint8)))
    return out


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def _same_vectors(spec: str) -> None:
    heavy = load_embedder(spec, lean=False)
    lite = light.load_light(spec, lean=False)
    assert lite.dim == heavy.dim and lite.image_size == heavy.image_size
    images = _images()
    for im in images:  # the same input pixels
        want = heavy.preprocess(im).numpy()
        assert np.abs(lite.preprocess(im) - want).max() <= 1e-6
    img_h, img_l = heavy.encode_images(images), lite.encode_images(images)
    txt_h, txt_l = heavy.encode_texts(TEXTS), lite.encode_texts(TEXTS)
    assert _cosines(img_h, img_l).min() >= MIN_COSINE
    assert _cosines(txt_h, txt_l).min() >= MIN_COSINE
    assert img_l.dtype == np.float32 and np.allclose(np.linalg.norm(img_l, axis=1), 1, atol=1e-5)
    # the same ranking of a small library for each query
    queries = [caption(*c) for c in CLASSES[:6]] + TEXTS[:4]
    qh, ql = heavy.encode_texts(queries), lite.encode_texts(queries)
    for a, b in zip(qh, ql, strict=True):
        assert list(np.argsort(-(img_h @ a))[:5]) == list(np.argsort(-(img_l @ b))[:5])


def test_tiny_model_same_vectors():
    _same_vectors("photoorg-tiny/bundled")


@pytest.mark.slow
def test_vit_b_32_same_vectors():
    _same_vectors("ViT-B-32/random")


def test_text_tower_loads_from_its_saved_optimised_form(tmp_path, caplog):
    """An export without the optimised text graph (made before it existed, or by another
    onnxruntime) gets it on first load; vectors are the plain graph's, bit for bit."""
    import shutil

    import onnxruntime as ort

    from photoorg.core.models import onnx_fast

    spec = "photoorg-tiny/bundled"
    source = light.load_light(spec).folder
    folder = tmp_path / source.name
    folder.mkdir()
    for name in ("visual.onnx", "visual.onnx.data", "text.onnx", "text.onnx.data",
                 onnx_store.MANIFEST):
        shutil.copy(source / name, folder / name)
    info = onnx_store.manifest(folder)
    plain = light.LightEmbedder(light._spec_of(info), folder, info, 1)
    plain._sessions[light.TEXT] = ort.InferenceSession(str(folder / "text.onnx"),
                                                       providers=["CPUExecutionProvider"])
    want = plain.encode_texts(TEXTS)

    assert not onnx_fast.ready(folder, light.TEXT)
    made = light.LightEmbedder(light._spec_of(info), folder, info, 1)
    assert np.array_equal(made.encode_texts(TEXTS), want)
    assert onnx_fast.ready(folder, light.TEXT)
    assert (folder / "text.fast.data").stat().st_size > 0
    assert not list(folder.glob(".text.fast-*"))  # no temporary folder left
    fast = light.LightEmbedder(light._spec_of(info), folder, info, 1)
    assert np.array_equal(fast.encode_texts(TEXTS), want)

    # made by another onnxruntime: made again
    (folder / "text.fast.json").write_text(json.dumps({"format": 1, "onnxruntime": "0.1"}))
    assert not onnx_fast.ready(folder, light.TEXT)
    again = light.LightEmbedder(light._spec_of(info), folder, info, 1)
    assert np.array_equal(again.encode_texts(TEXTS), want)
    assert onnx_fast.ready(folder, light.TEXT)

    # the form cannot be saved (a folder in the data file's place): the plain graph, the
    # reason logged
    (folder / "text.fast.json").unlink()
    (folder / "text.fast.data").unlink()
    (folder / "text.fast.data").mkdir()
    with caplog.at_level("WARNING"):
        stuck = light.LightEmbedder(light._spec_of(info), folder, info, 1)
        assert np.array_equal(stuck.encode_texts(TEXTS), want)
    assert "cannot save the optimised text tower" in caplog.text
    assert not onnx_fast.ready(folder, light.TEXT)


def test_export_is_cached_and_keyed_by_weights():
    spec = "photoorg-tiny/bundled"
    light.load_light(spec)
    folder, why = onnx_store.lookup(spec, None)
    assert folder is not None, why
    info = onnx_store.manifest(folder)
    assert info["spec"] == spec and info["min_cosine"] >= MIN_COSINE
    from photoorg.core.models import prompt_cache

    assert folder.name == prompt_cache.weights_key(spec)
    from photoorg.core.models import onnx_export, onnx_fast

    onnx_export._make_fast(folder)  # what an export does last
    assert onnx_fast.ready(folder, light.TEXT)


def test_release_drops_the_sessions_and_reloads_equal():
    lite = light.load_light("photoorg-tiny/bundled", lean=False)
    before = lite.encode_texts(["a red circle"])
    assert lite.loaded == {"text"}
    lite.release()
    assert lite.loaded == set()
    assert np.array_equal(lite.encode_texts(["a red circle"]), before)


def test_lean_holds_one_tower_at_a_time():
    lite = light.load_light("photoorg-tiny/bundled", lean=True)
    lite.encode_texts(["x"])
    lite.encode_images(_images(1))
    assert lite.loaded == {"visual"}
    lite.idle()
    assert lite.loaded == set()


def test_no_export_when_torch_runtime_asked(monkeypatch):
    monkeypatch.setenv("PHOTOORG_RUNTIME", "torch")
    with pytest.raises(light.LightUnavailableError):
        light.load_light("photoorg-tiny/bundled")


def test_unknown_export_without_permission_to_export(tmp_path, monkeypatch):
    monkeypatch.setenv("PHOTOORG_ONNX_CACHE", str(tmp_path / "empty"))
    with pytest.raises(light.LightUnavailableError, match="not exported"):
        light.load_light("photoorg-tiny/bundled", export=False)


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env,
                          cwd=REPO, timeout=600, check=False)


def test_cli_index_and_search_never_import_torch(tmp_path):
    """``index --no-faces --read-text off`` (the export made in a child process, or found),
    then search and similar as fresh processes: same results as the torch runtime, and
    torch never imported by any of them."""
    photos = tmp_path / "photos"
    photos.mkdir()
    for i, im in enumerate(_images(8)):
        im.convert("RGB").save(photos / f"p{i}.jpg", quality=90)
    env = dict(os.environ, PYTHONPATH=str(REPO), PHOTOORG_CACHE_DIR=str(tmp_path / "cache"))
    data = str(tmp_path / "data")
    probe = ("import runpy, sys, json\n"
             "sys.argv = ['photoorg'] + sys.argv[1:]\n"
             "try:\n    runpy.run_module('photoorg', run_name='__main__')\n"
             "except SystemExit as e:\n    code = e.code\n"
             "print(json.dumps({'torch': 'torch' in sys.modules}), file=sys.stderr)\n")
    done = _run(["-c", probe, "--data-dir", data, "index", str(photos), "--no-faces",
                 "--read-text", "off", "--model", "photoorg-tiny/bundled"], env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stderr.strip().splitlines()[-1]) == {"torch": False}
    search = ["-c", probe, "--data-dir", data, "search", "a red circle", "--json"]
    lite = _run(search, env)
    assert lite.returncode == 0, lite.stderr
    assert json.loads(lite.stderr.strip().splitlines()[-1]) == {"torch": False}
    heavy = _run(search, dict(env, PHOTOORG_RUNTIME="torch"))
    assert json.loads(heavy.stderr.strip().splitlines()[-1]) == {"torch": True}
    got, want = json.loads(lite.stdout), json.loads(heavy.stdout)
    assert got and [r["path"] for r in got] == [r["path"] for r in want]
    for a, b in zip(got, want, strict=True):
        assert a["score"] == pytest.approx(b["score"], abs=1e-3)
    similar = _run(["-c", probe, "--data-dir", data, "similar", str(photos / "p0.jpg"),
                    "--json"], env)
    assert similar.returncode == 0, similar.stderr
    assert json.loads(similar.stderr.strip().splitlines()[-1]) == {"torch": False}


def test_query_vectors_cached_per_model(tmp_path):
    from photoorg.core.models import query_cache

    lite = light.load_light("photoorg-tiny/bundled", lean=False)
    enc = query_cache.cached(lite, tmp_path)
    first = enc.encode_texts(["a dog on the beach"])
    assert np.array_equal(first, lite.encode_texts(["a dog on the beach"]))
    lite.release()
    again = query_cache.cached(lite, tmp_path).encode_texts(["a dog on the beach"])
    assert np.array_equal(again, first)
    assert lite.loaded == set()  # from the cache: the text tower was not needed
    assert (tmp_path / "query-vectors" / f"{lite.weights_key}.npz").is_file()
    # another model (another key) does not see them
    other = query_cache.CachedQueries(lite, "other-key", tmp_path)
    other.encode_texts(["a dog on the beach"])
    assert lite.loaded == {"text"}


def test_encoders_use_the_light_runtime_and_fall_back_to_torch_saying_why(
        monkeypatch, caplog):
    import logging

    from photoorg.core.models.embedder import Embedder
    from photoorg.core.models.policy import Encoders

    spec = "photoorg-tiny/bundled"
    assert isinstance(Encoders().get(spec), light.LightEmbedder)

    def unavailable(*args, **kwargs):
        raise light.LightUnavailableError("onnxruntime is not installed (test)")

    monkeypatch.setattr(light, "load_light", unavailable)
    with caplog.at_level(logging.INFO, logger="photoorg.core.models.policy"):
        heavy = Encoders().get(spec)
    assert isinstance(heavy, Embedder)
    assert "onnxruntime is not installed (test)" in caplog.text


def test_search_does_not_wait_for_an_export(tmp_path, monkeypatch):
    """Without an export, a search's encoder is torch's (no export child started)."""
    from photoorg.core.models import onnx_export
    from photoorg.core.models.policy import Encoders

    monkeypatch.setenv("PHOTOORG_ONNX_CACHE", str(tmp_path / "none"))
    started = []
    monkeypatch.setattr(onnx_export, "run_child", lambda *a, **k: started.append(a))
    encoder = Encoders().get("photoorg-tiny/bundled", export=False)
    assert not isinstance(encoder, light.LightEmbedder) and not started


def test_missing_weights_said_at_once_and_once(tmp_path, monkeypatch):
    """Weights that are not on disk: the window's encoders say "missing" before any export
    child or torch import, and asking again (every stage asks) neither retries nor says
    "loading", which would hide the window's banner while the model is still missing."""
    import sys

    from photoorg.core.models import onnx_export
    from photoorg.core.models.policy import Encoders

    monkeypatch.setenv("PHOTOORG_ONNX_CACHE", str(tmp_path / "none"))
    started = []
    monkeypatch.setattr(onnx_export, "run_child", lambda *a, **k: started.append(a))
    states = []
    encoders = Encoders(download=False, on_state=lambda *a: states.append(a[0]))
    spec = f"photoorg-tiny/{tmp_path / 'nowhere.safetensors'}"
    had_torch = "torch" in sys.modules
    assert encoders.get(spec) is None
    assert encoders.get(spec) is None
    assert states == ["missing"]
    assert not started
    assert had_torch or "torch" not in sys.modules


def test_weights_put_in_place_later_are_loaded(tmp_path, monkeypatch):
    """The window said "missing"; the user copies the file to where the model points: the
    next stage that asks loads it, without a restart."""
    import shutil

    from photoorg.core.models.embedder import TINY_WEIGHTS, bundled_model_dir
    from photoorg.core.models.policy import Encoders

    states = []
    encoders = Encoders(download=False, on_state=lambda *a: states.append(a[0]))
    weights = tmp_path / "later.safetensors"
    spec = f"photoorg-tiny/{weights}"
    assert encoders.get(spec) is None and states == ["missing"]
    shutil.copy(bundled_model_dir() / TINY_WEIGHTS, weights)
    assert encoders.get(spec) is not None
    assert states[-1] == "ready" and spec not in encoders.failed


def test_the_windows_encoders_answer_without_torch_when_the_export_is_there(tmp_path):
    """Checking for missing weights must not import open_clip (torch) where the light
    export answers: the window's service stays light."""
    import subprocess
    import sys

    from photoorg.core.models.policy import Encoders

    assert isinstance(Encoders().get("photoorg-tiny/bundled"), light.LightEmbedder)  # exported
    code = ("import sys\n"
            "from photoorg.core.models.policy import Encoders\n"
            "e = Encoders(download=False).get('photoorg-tiny/bundled')\n"
            "print(type(e).__name__, 'torch' in sys.modules)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["LightEmbedder", "False"]
