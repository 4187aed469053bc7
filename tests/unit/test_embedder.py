"""photoorg.core.models.embedder: spec parsing, loading, encoding, hub download (fake local hub).

No test touches the real network: HF_ENDPOINT points at a closed local port unless a test
starts its own fake Hugging Face server on 127.0.0.1.
"""

from __future__ import annotations

import hashlib
import http.server
import io
import re
import shutil
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
open_clip = pytest.importorskip("open_clip")
hf_constants = pytest.importorskip("huggingface_hub.constants")

from photoorg.core.media.synthetic import CLASSES, caption, draw_shape_image  # noqa: E402
from photoorg.core.models import embedder as E  # noqa: E402

FAKE_REPO = "photoorg-test/tiny-clip"
FAKE_TAG = "fakehub"
FAKE_SPEC = f"{E.TINY_ARCH}/{FAKE_TAG}"
COMMIT = "0123456789abcdef0123456789abcdef01234567"
TEST_SEED_BASE = 7_000_000  # the training script uses other seeds


def _closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture(autouse=True)
def _isolated_hub(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No real network, no real caches."""
    monkeypatch.setenv("HF_ENDPOINT", _closed_port_url())
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "user-hf-cache"))
    monkeypatch.setenv("PHOTOORG_CACHE_DIR", str(tmp_path / "photoorg-cache"))
    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", False)


@pytest.fixture
def fake_tag(monkeypatch: pytest.MonkeyPatch) -> str:
    """Register pretrained tag ``photoorg-tiny/fakehub`` whose weights live in FAKE_REPO."""
    tags = dict(open_clip.pretrained._PRETRAINED.get(E.TINY_ARCH, {}))
    tags[FAKE_TAG] = open_clip.pretrained._pcfg(hf_hub=f"{FAKE_REPO}/")
    monkeypatch.setitem(open_clip.pretrained._PRETRAINED, E.TINY_ARCH, tags)
    return FAKE_SPEC


class FakeHub:
    """A local HTTP server answering HEAD/GET ``/{repo_id}/resolve/{revision}/{filename}``."""

    _PATH = re.compile(r"^/(?P<repo>[^/]+/[^/]+)/resolve/(?P<rev>[^/]+)/(?P<file>.+)$")

    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = files  # "org/name/filename" -> content
        self.requests: list[tuple[str, str]] = []
        hub = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_HEAD(self) -> None:  # noqa: N802 - http.server's naming
                self._answer(body=False)

            def do_GET(self) -> None:  # noqa: N802
                self._answer(body=True)

            def _answer(self, body: bool) -> None:
                hub.requests.append((self.command, self.path))
                match = FakeHub._PATH.match(self.path.split("?")[0])
                data = hub.files.get(f"{match['repo']}/{match['file']}") if match else None
                if data is None:
                    self.send_response(404)
                    self.send_header("X-Error-Code", "EntryNotFound" if match else "RepoNotFound")
                    self.send_header("X-Repo-Commit", COMMIT)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("X-Repo-Commit", COMMIT)
                self.send_header("ETag", f'"{hashlib.sha256(data).hexdigest()}"')
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Content-Type", "application/octet-stream")
                self.end_headers()
                if body:
                    self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@pytest.fixture
def fake_hub(monkeypatch: pytest.MonkeyPatch):
    hubs: list[FakeHub] = []

    def start(files: dict[str, bytes]) -> FakeHub:
        hub = FakeHub(files)
        hubs.append(hub)
        monkeypatch.setenv("HF_ENDPOINT", hub.url)
        return hub

    yield start
    for hub in hubs:
        if hub.thread.is_alive():
            hub.stop()


@pytest.fixture(scope="module")
def tiny() -> E.Embedder:
    return E.load_embedder(E.TEST_MODEL, threads=2)


def _tiny_weights_as_bin() -> bytes:
    """The bundled weights re-saved as a torch .bin (what older hub repos hold)."""
    from safetensors.torch import load_file

    state = load_file(str(E.bundled_model_dir() / E.TINY_WEIGHTS))
    buffer = io.BytesIO()
    torch.save(state, buffer)
    return buffer.getvalue()


def _probe_images(n: int = 2) -> list:
    return [
        draw_shape_image(c, s, size=96, seed=TEST_SEED_BASE + i)
        for i, (c, s) in enumerate(CLASSES[:n])
    ]


# --------------------------------------------------------------------------- spec parsing


def test_parse_model_spec_kinds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    hub = E.parse_model_spec(E.DEFAULT_MODEL)
    assert (hub.arch, hub.pretrained, hub.kind) == ("ViT-B-32-256", "datacomp_s34b_b86k", "hub")
    assert hub.name == E.DEFAULT_MODEL
    assert E.parse_model_spec("ViT-B-32/OpenAI").name == "ViT-B-32/openai"

    assert E.parse_model_spec("ViT-B-32/random") == E.ModelSpec("ViT-B-32", "random", "random", 0)
    seven = E.parse_model_spec("ViT-B-32/random:7")
    assert (seven.kind, seven.seed, seven.name) == ("random", 7, "ViT-B-32/random:7")
    assert E.parse_model_spec("ViT-B-32/random:0").name == "ViT-B-32/random"

    bundled = E.parse_model_spec(E.TEST_MODEL)
    assert (bundled.kind, bundled.name) == ("bundled", E.TEST_MODEL)

    monkeypatch.chdir(tmp_path)
    rel = E.parse_model_spec("ViT-B-32-256/weights/open_clip_model.safetensors")
    assert rel.kind == "file"
    assert rel.name == f"ViT-B-32-256/{tmp_path.resolve() / 'weights/open_clip_model.safetensors'}"
    absolute = E.parse_model_spec(f"ViT-B-32/{tmp_path / 'x.pt'}")
    assert absolute.kind == "file" and absolute.pretrained == str(tmp_path.resolve() / "x.pt")
    (tmp_path / "mycheckpoint").write_bytes(b"")
    assert E.parse_model_spec("ViT-B-32/mycheckpoint").kind == "file"  # an existing path

    for spec in (hub, seven, bundled, rel, absolute):
        assert E.parse_model_spec(spec.name) == spec  # the catalog's string round-trips


def test_parse_model_spec_errors() -> None:
    with pytest.raises(ValueError, match="ViT-B-32"):  # a suggestion
        E.parse_model_spec("ViT-B-33/openai")
    with pytest.raises(ValueError, match="laion2b_s34b_b79k"):  # the known tags
        E.parse_model_spec("ViT-B-32/no-such-tag")
    with pytest.raises(ValueError, match="ARCH/PRETRAINED"):
        E.parse_model_spec("ViT-B-32")
    with pytest.raises(ValueError, match="bundled"):
        E.parse_model_spec("ViT-B-32/bundled")


# --------------------------------------------------------------------------- loading and encoding


def test_encode_outputs(tiny: E.Embedder) -> None:
    assert tiny.spec.name == E.TEST_MODEL
    assert (tiny.dim, tiny.image_size) == (64, 64)
    images = [
        draw_shape_image(c, s, size=80, seed=TEST_SEED_BASE + k)
        for k, (c, s) in enumerate(CLASSES[:6])
    ]
    vecs = tiny.encode_images(images)
    texts = tiny.encode_texts(["a photo of a red circle", "blue square"])
    for arr, n in ((vecs, 6), (texts, 2)):
        assert arr.shape == (n, tiny.dim) and arr.dtype == np.float32
        assert arr.flags.c_contiguous
        np.testing.assert_allclose(np.linalg.norm(arr, axis=1), 1.0, atol=1e-5)
    assert tiny.encode_images([]).shape == (0, tiny.dim)
    assert tiny.encode_texts([]).shape == (0, tiny.dim)

    # preprocess is safe from decode worker threads, and matches the sequential result
    with ThreadPoolExecutor(max_workers=4) as pool:
        threaded = torch.stack(list(pool.map(tiny.preprocess, images)))
    assert threaded.shape == (6, 3, 64, 64)
    np.testing.assert_allclose(tiny.encode_image_tensors(threaded), vecs, atol=1e-6)
    np.testing.assert_allclose(tiny.encode_image_tensors(threaded[0]), vecs[:1], atol=1e-6)


def test_texts_are_encoded_only_up_to_their_end_token(tiny: E.Embedder) -> None:
    """The padding after the last end-of-text token of a batch is skipped: the same vectors
    as open_clip's full-context encode_text, short, long and over-long texts mixed."""
    texts = ["dog", "a photo of a red circle", "blue square on a beach at sunset",
             "a very long prompt " * 12]
    tokens = tiny.tokenizer()(texts)
    short = tiny.tokenizer()(texts[:2])
    assert int(short.argmax(dim=-1).max()) + 1 < short.shape[1]  # there is padding to skip
    tiny.load("text")  # a lean embedder holds a tower only while it is used
    with torch.inference_mode():
        for batch in (tokens, short, tokens[:1]):
            want = tiny.model.encode_text(batch, normalize=True)
            got = E._encode_text(tiny.model, batch)
            assert got.shape == want.shape
            np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=0, atol=1e-6)
        everything = tiny.model.encode_text(tokens, normalize=True).numpy()
    np.testing.assert_allclose(tiny.encode_texts(texts), everything, rtol=0, atol=1e-6)


def test_random_weights_are_deterministic() -> None:
    images = _probe_images()
    a = E.load_embedder(f"{E.TINY_ARCH}/random").encode_images(images)
    torch.manual_seed(12345)  # the global RNG state must not matter...
    b = E.load_embedder(f"{E.TINY_ARCH}/random").encode_images(images)
    c = E.load_embedder(f"{E.TINY_ARCH}/random:7").encode_images(images)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_vit_b32_random_loads_offline() -> None:
    assert E.weights_available("ViT-B-32/random")
    emb = E.load_embedder("ViT-B-32/random")
    assert (emb.dim, emb.image_size) == (512, 224)
    vecs = emb.encode_images(_probe_images(2))
    assert vecs.shape == (2, 512) and np.isfinite(vecs).all()
    assert emb.encode_texts(["a red circle"]).shape == (1, 512)


def test_bundled_model_finds_shapes_by_text(tiny: E.Embedder) -> None:
    # 24 pictures, hard negatives included: same colour or same shape as the query.
    groups = [
        ("red", "circle"),
        ("red", "square"),
        ("blue", "circle"),
        ("orange", "circle"),
        ("purple", "star"),
        ("green", "triangle"),
    ]
    labels = [g for g in groups for _ in range(4)]
    images = [
        draw_shape_image(c, s, seed=TEST_SEED_BASE + 50 + i) for i, (c, s) in enumerate(labels)
    ]
    vecs = tiny.encode_images(images)
    for query in (("red", "circle"), ("red", "square"), ("purple", "star")):
        scores = vecs @ tiny.encode_texts([caption(*query)])[0]
        top4 = [labels[i] for i in np.argsort(-scores)[:4]]
        assert sum(t == query for t in top4) >= 3, (query, top4)


def test_bundled_model_precision_over_all_classes(tiny: E.Embedder) -> None:
    per_class = 3
    labels = np.repeat(np.arange(len(CLASSES)), per_class)
    images = [
        draw_shape_image(*CLASSES[k], seed=TEST_SEED_BASE + 1000 + i) for i, k in enumerate(labels)
    ]
    vecs = tiny.encode_images(images)
    texts = tiny.encode_texts([caption(c, s) for c, s in CLASSES])
    top = np.argsort(-(texts @ vecs.T), axis=1)[:, :per_class]
    text_precision = float((labels[top] == np.arange(len(CLASSES))[:, None]).mean())
    sims = vecs @ vecs.T
    np.fill_diagonal(sims, -np.inf)
    nearest = np.argsort(-sims, axis=1)[:, :2]
    image_precision = float((labels[nearest] == labels[:, None]).mean())
    assert text_precision >= 0.7, text_precision  # chance: 1/24
    assert image_precision >= 0.7, image_precision


# --------------------------------------------------------------------------- hub download


def test_download_weights_reports_progress_and_caches(
    fake_hub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    payload = np.random.default_rng(0).bytes(300_000)
    hub = fake_hub({f"{FAKE_REPO}/weights.bin": payload})
    monkeypatch.setattr(hf_constants, "DOWNLOAD_CHUNK_SIZE", 64 * 1024)
    calls: list[tuple[int, int | None]] = []
    cache = tmp_path / "cache" / "hf"
    path = E._download_weights(FAKE_REPO, "weights.bin", cache, lambda d, t: calls.append((d, t)))
    assert path.read_bytes() == payload
    assert path.resolve().is_relative_to(cache.resolve())
    done = [d for d, _ in calls]
    assert len(calls) >= 4 and done == sorted(done)
    assert calls[-1] == (len(payload), len(payload))
    assert ("GET", f"/{FAKE_REPO}/resolve/main/weights.bin") in hub.requests

    with pytest.raises(E._RemoteFileMissingError):
        E._download_weights(FAKE_REPO, "missing.bin", cache)
    hub.stop()
    with pytest.raises(E.ModelUnavailableError, match="cannot reach"):
        E._download_weights(FAKE_REPO, "other.bin", cache)


def test_hub_model_downloads_then_loads_from_cache(
    fake_hub, fake_tag: str, tiny: E.Embedder, tmp_path: Path
) -> None:
    # Only the .bin is served: the .safetensors candidate answers 404 and is skipped.
    hub = fake_hub({f"{FAKE_REPO}/open_clip_pytorch_model.bin": _tiny_weights_as_bin()})
    cache = tmp_path / "cache"
    assert not E.weights_available(fake_tag, cache_dir=cache)
    calls: list[tuple[int, int | None]] = []
    emb = E.load_embedder(fake_tag, cache_dir=cache, progress=lambda d, t: calls.append((d, t)))
    assert emb.spec.name == fake_tag
    assert calls and calls[-1][0] == calls[-1][1]
    assert any(p.endswith("open_clip_model.safetensors") for _, p in hub.requests)
    assert list((cache / "hf").rglob("open_clip_pytorch_model.bin"))
    images = _probe_images(3)
    expected = tiny.encode_images(images)
    np.testing.assert_allclose(emb.encode_images(images), expected, atol=1e-5)

    hub.stop()  # now offline: the cached copy is used, without a network call
    assert E.weights_available(fake_tag, cache_dir=cache)
    start = time.perf_counter()
    again = E.load_embedder(fake_tag, cache_dir=cache)
    assert time.perf_counter() - start < 10
    np.testing.assert_allclose(again.encode_images(images), expected, atol=1e-5)


def test_users_hugging_face_cache_is_used(fake_hub, fake_tag: str, tmp_path: Path) -> None:
    hub = fake_hub(
        {
            f"{FAKE_REPO}/open_clip_model.safetensors": (
                E.bundled_model_dir() / E.TINY_WEIGHTS
            ).read_bytes()
        }
    )
    user_cache = Path(E._user_hf_cache())
    E._download_weights(FAKE_REPO, "open_clip_model.safetensors", user_cache)
    hub.stop()
    ours = tmp_path / "empty-cache"
    assert E.weights_available(fake_tag, cache_dir=ours)
    assert E.load_embedder(fake_tag, cache_dir=ours).dim == 64
    assert not (ours / "hf").exists() or not list((ours / "hf").rglob("*.safetensors"))


def test_unreachable_hub_raises_model_unavailable(fake_tag: str, tmp_path: Path) -> None:
    for spec in (fake_tag, E.DEFAULT_MODEL):
        assert not E.weights_available(spec, cache_dir=tmp_path)
        start = time.perf_counter()
        with pytest.raises(E.ModelUnavailableError) as info:
            E.load_embedder(spec, cache_dir=tmp_path)
        assert time.perf_counter() - start < 15  # fails fast, no long retry loop
        message = str(info.value)
        assert spec in message and "--model" in message and "HF_HOME" in message
        assert info.value.spec == spec


def test_offline_mode_raises_model_unavailable(
    fake_tag: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(E.ModelUnavailableError, match="offline"):
        E.load_embedder(fake_tag, cache_dir=tmp_path)


def test_file_spec(tmp_path: Path, tiny: E.Embedder) -> None:
    weights = tmp_path / "my weights" / "tiny.safetensors"
    weights.parent.mkdir()
    shutil.copy(E.bundled_model_dir() / E.TINY_WEIGHTS, weights)
    spec = f"{E.TINY_ARCH}/{weights}"
    assert E.weights_available(spec)
    emb = E.load_embedder(spec)
    assert emb.spec.kind == "file"
    images = _probe_images(2)
    np.testing.assert_allclose(emb.encode_images(images), tiny.encode_images(images), atol=1e-6)

    missing = f"{E.TINY_ARCH}/{tmp_path / 'nope.safetensors'}"
    assert not E.weights_available(missing)
    with pytest.raises(E.ModelUnavailableError, match=re.escape(missing)):
        E.load_embedder(missing)
