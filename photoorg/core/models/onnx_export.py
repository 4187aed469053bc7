"""Export a CLIP model's two towers to ONNX, once per weights, for the light runtime.

Run as a child process (it imports torch and open_clip, ~0.7 GB, so the caller need not)::

    python -m photoorg.core.models.onnx_export SPEC [--cache DIR]

It writes ``<cache>/onnx/<key>/`` (``visual.onnx``, ``text.onnx``, ``manifest.json`` last,
each atomically; then the text tower's optimised form, :mod:`onnx_fast`) where ``key`` is
the weights' identity (:func:`prompt_cache.weights_key`:
the weights file's SHA-256, or architecture + seed + versions for random weights), and
records the spec in ``<cache>/onnx/specs.json`` so a later process finds the export
without importing open_clip. Before writing, each exported tower is run with onnxruntime
against the torch tower: a vector with cosine < 0.9999 means no export (the caller keeps
torch). Exit status 0: exported (or already there); 3: weights not on disk; 1: failed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import sys
import time
from collections.abc import Callable, Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from photoorg.core.models import onnx_store as store
from photoorg.core.models.cache_files import write_atomic

log = logging.getLogger(__name__)

MIN_COSINE = 0.9999
OPSET = 17


def _versions() -> dict[str, str]:
    out = {}
    for dist in ("open_clip_torch", "torch"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "?"
    return out


def _tokenizer_config(embedder: Any) -> dict[str, Any] | None:
    """How to rebuild the tokenizer without torch (None: not a plain SimpleTokenizer)."""
    from open_clip.tokenizer import SimpleTokenizer, default_bpe

    tok = embedder.tokenizer()
    if type(tok) is not SimpleTokenizer or tok.reduction_fn is not None:
        return None
    clean = {"_clean_lower": "lower", "_clean_whitespace": "whitespace",
             "_clean_canonicalize": "canonicalize"}.get(getattr(tok.clean_fn, "__name__", ""))
    if clean is None:
        return None
    specials = [t for t in tok.encoder if t.startswith("<") and t.endswith(">")
                and t not in ("<start_of_text>", "<end_of_text>")
                and tok.encoder[t] >= tok.eot_token_id]
    return {"kind": "clip-bpe", "vocabulary": default_bpe(), "context_length":
            tok.context_length, "clean": clean, "special_tokens": specials}


def _prep_config(preprocess: Any, image_size: int) -> dict[str, Any] | None:
    """open_clip's eval transform as numbers (None: not the plain resize/crop/normalise)."""
    from torchvision import transforms as T

    steps = list(getattr(preprocess, "transforms", []))
    names = [type(s).__name__ for s in steps]
    if names != ["Resize", "CenterCrop", "MaybeConvertMode", "MaybeToTensor", "Normalize"]:
        return None
    resize, crop, mode, _, norm = steps
    if (not isinstance(resize.size, int) and len(resize.size) != 1) or resize.max_size:
        return None
    size = resize.size if isinstance(resize.size, int) else resize.size[0]
    if size != image_size or tuple(crop.size) != (image_size, image_size):
        return None
    if mode.mode != "RGB" or resize.interpolation not in (T.InterpolationMode.BICUBIC,
                                                          T.InterpolationMode.BILINEAR):
        return None
    return {"size": image_size, "mean": list(norm.mean), "std": list(norm.std),
            "interpolation": resize.interpolation.value}


def _visual_module(model: Any) -> Any:
    """``encode_image(x, normalize=True)`` over the image tower alone (its weights only)."""
    import torch

    class Visual(torch.nn.Module):
        def __init__(self, visual: Any) -> None:
            super().__init__()
            self.visual = visual

        def forward(self, pixels: torch.Tensor) -> torch.Tensor:
            return torch.nn.functional.normalize(self.visual(pixels), dim=-1)

    return Visual(model.visual).eval()


def _text_module(model: Any) -> tuple[Any, bool]:
    """The text tower over tokens up to the batch's last end-of-text (see
    ``embedder._encode_text``: the same vectors, a fraction of the work), with the text
    weights only, when the model allows it (``True``); else ``encode_text`` over the whole
    context, with the whole model."""
    import torch
    from open_clip.model import CLIP
    from open_clip.transformer import text_global_pool

    pool = getattr(model, "text_pool_type", None)
    blocks = list(getattr(getattr(model, "transformer", None), "resblocks", []))
    trim = (type(model) is CLIP and getattr(model, "attn_mask", None) is not None
            and pool == "argmax" and all(_plain_attention(b) for b in blocks))

    class WholeText(torch.nn.Module):
        def __init__(self, clip: Any) -> None:
            super().__init__()
            self.clip = clip

        def forward(self, text: torch.Tensor) -> torch.Tensor:
            return self.clip.encode_text(text, normalize=True)

    class Text(torch.nn.Module):
        def __init__(self, clip: Any) -> None:
            super().__init__()
            self.token_embedding = clip.token_embedding
            self.positional_embedding = clip.positional_embedding
            self.transformer = clip.transformer
            self.ln_final = clip.ln_final
            self.text_projection = clip.text_projection

        def forward(self, text: torch.Tensor) -> torch.Tensor:
            length = text.shape[1]
            cast = self.transformer.get_cast_dtype()
            x = self.token_embedding(text).to(cast) + self.positional_embedding[:length].to(cast)
            # the causal mask made in the graph for this length (a slice of the model's
            # mask would be traced as a constant of the example's length)
            pos = torch.arange(length, device=text.device)
            upper = pos[None, :] > pos[:, None]
            mask = torch.zeros(upper.shape, dtype=cast).masked_fill(upper, float("-inf"))
            with _traceable_attention(blocks):
                x = self.transformer(x, attn_mask=mask)
            x = text_global_pool(self.ln_final(x), text, pool)
            proj = self.text_projection
            if proj is not None:
                x = proj(x) if isinstance(proj, torch.nn.Linear) else x @ proj
            return torch.nn.functional.normalize(x, dim=-1)

    return (Text(model) if trim else WholeText(model)).eval(), trim


def _plain_attention(block: Any) -> bool:
    from open_clip.transformer import ResidualAttentionBlock

    mha = getattr(block, "attn", None)
    return (type(block) is ResidualAttentionBlock and not hasattr(block, "ln_1_kv")
            and mha is not None and mha.batch_first and mha.in_proj_weight is not None
            and mha.bias_k is None and not mha.add_zero_attn)


@contextlib.contextmanager
def _traceable_attention(blocks: list[Any]) -> Iterator[None]:
    """nn.MultiheadAttention written out (same weights, same maths): traced, the module
    keeps the example's sequence length as a constant in a reshape; this form does not."""
    import torch.nn.functional as F

    def attention(mha: Any) -> Callable[..., Any]:
        heads = mha.num_heads

        def attend(q_x: Any, k_x: Any = None, v_x: Any = None, attn_mask: Any = None) -> Any:
            width = q_x.shape[-1]
            qkv = F.linear(q_x, mha.in_proj_weight, mha.in_proj_bias)
            q, k, v = qkv.unflatten(-1, (3, heads, width // heads)).permute(2, 0, 3, 1, 4)
            weights = (q * (width // heads) ** -0.5) @ k.transpose(-2, -1)
            if attn_mask is not None:
                weights = weights + attn_mask
            out = (weights.softmax(dim=-1) @ v).transpose(1, 2).flatten(2)
            return F.linear(out, mha.out_proj.weight, mha.out_proj.bias)

        return attend

    for block in blocks:
        block.attention = attention(block.attn)
    try:
        yield
    finally:
        for block in blocks:
            del block.attention


DATA_SUFFIX = ".data"
"""``visual.onnx.data``: the tower's weights (ONNX external data)."""


def _export(module: Any, example: Any, path: Path, name: str) -> None:
    import torch

    tmp = path.with_suffix(".onnx.tmp")
    axes = {name: {0: "n", 1: "length"}} if name == "tokens" else {name: {0: "n"}}
    axes["vectors"] = {0: "n"}
    # With gradients on, nn.MultiheadAttention takes its plain path (ONNX has no op for the
    # fused ``_native_multi_head_attention`` it uses under no_grad).
    with torch.inference_mode(False), torch.enable_grad():
        torch.onnx.export(module, (example,), str(tmp), dynamo=False, opset_version=OPSET,
                          input_names=[name], output_names=["vectors"], dynamic_axes=axes,
                          do_constant_folding=True)
    # The weights in a file beside the graph: onnxruntime maps them instead of reading the
    # model bytes and copying each weight out of them (the text tower's session peaked at
    # 440 MB, 258 MB so; loaded mid-index beside the face models, issue 26).
    import onnx

    model = onnx.load(str(tmp))
    data = path.with_name(path.name + DATA_SUFFIX)
    data.unlink(missing_ok=True)  # save_model appends to it
    onnx.save_model(model, str(tmp), save_as_external_data=True, all_tensors_to_one_file=True,
                    location=data.name, size_threshold=1024)
    os.replace(tmp, path)


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    return (a * b).sum(axis=1)


def _session(path: Path) -> Any:
    import onnxruntime as ort

    return ort.InferenceSession(str(path), ort.SessionOptions(),
                                providers=["CPUExecutionProvider"])


def _export_towers(parsed: Any, cache: Path | None, folder: Path) -> dict[str, Any]:
    """Export and check one tower at a time (a lean embedder holds one: the export's
    copies of a tower's weights come on top of that tower only)."""
    import gc

    import torch

    from photoorg.core.models.embedder import load_embedder
    from photoorg.core.models.towers import trim_heap

    embedder = load_embedder(parsed, cache, lean=True)
    model = embedder.model
    tokens = _tokenizer_config(embedder)
    prep = _prep_config(embedder._preprocess, embedder.image_size)
    if tokens is None or prep is None:
        raise ValueError(f"{parsed.name}: its tokenizer or preprocess has no torch-free form")
    size = embedder.image_size
    pixels = np.random.default_rng(0).standard_normal((3, 3, size, size)).astype(np.float32)
    texts = ["a dog on the beach", "", "a photo of a very long " + "word " * 90, "chat"]
    ids = embedder.tokenizer()(texts).numpy()

    want = embedder.encode_image_tensors(torch.from_numpy(pixels))  # loads the image tower
    _export(_visual_module(model), torch.from_numpy(pixels[:2]), folder / "visual.onnx",
            "pixels")
    worst = float(_cosines(_session(folder / "visual.onnx").run(None, {"pixels": pixels})[0],
                           want).min())
    gc.collect()
    trim_heap()

    want = embedder.encode_texts(texts)  # lets the image tower go, loads the text tower
    text_module, trim = _text_module(model)
    if not trim:
        embedder.load("visual", "text")  # encode_text of the whole model
    sample = ids[:2, : int(ids[:2].argmax(-1).max()) + 1] if trim else ids[:2]
    _export(text_module, torch.from_numpy(sample), folder / "text.onnx", "tokens")
    run_ids = ids[:, : int(ids.argmax(-1).max()) + 1] if trim else ids
    got = _session(folder / "text.onnx").run(None, {"tokens": run_ids})[0]
    worst = min(worst, float(_cosines(got, want).min()))
    if worst < MIN_COSINE:
        raise ValueError(f"{parsed.name}: the ONNX towers differ from torch (cosine {worst:.6f})")
    return {"spec": parsed.name, "arch": parsed.arch, "pretrained": parsed.pretrained,
            "kind": parsed.kind, "seed": parsed.seed, "dim": embedder.dim,
            "image_size": size, "preprocess": prep, "tokenizer": tokens, "text_trim": trim,
            "min_cosine": worst, "versions": _versions(), "opset": OPSET}


def _make_fast(folder: Path) -> None:
    """The text tower's optimised form (:mod:`onnx_fast`), so that the first search does
    not make it; a failure here is logged and the first load tries again."""
    from photoorg.core.models import onnx_fast

    for tower in onnx_fast.TOWERS:
        if not onnx_fast.ready(folder, tower):
            try:
                onnx_fast.make(folder, tower)
            except OSError as exc:
                log.warning("cannot save the optimised %s tower in %s (%s)", tower, folder, exc)


def export(spec: str, cache: Path | None = None) -> Path:
    """Export the towers of ``spec`` (when not done yet); the folder with the manifest."""
    from photoorg.core.models import prompt_cache
    from photoorg.core.models.embedder import parse_model_spec, weights_file

    parsed = parse_model_spec(spec)
    key = prompt_cache.weights_key(parsed.name, cache)
    if key is None:
        raise FileNotFoundError(f"the weights of {spec} are not on this computer")
    root = store.root(cache)
    folder = root / key
    weights = weights_file(parsed)
    entry = store.entry_for(key, parsed, weights, _versions())
    if store.manifest(folder) is None:
        folder.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        info = _export_towers(parsed, cache, folder)
        info["export_seconds"] = round(time.perf_counter() - started, 2)
        write_atomic(folder / store.MANIFEST, json.dumps(info, indent=1).encode())
    _make_fast(folder)
    store.remember(root, [spec, parsed.name], entry)
    return folder


def run_child(spec: str, cache: Path | None, timeout: float = 900.0) -> tuple[bool, str]:
    """Export in a child process: ``(done, why not)``; the caller's memory stays as it is."""
    import subprocess

    if getattr(sys, "frozen", False):  # the app's binary is no Python that runs ``-m``
        return False, "the packaged app does not export models yet"
    cmd = [sys.executable, "-m", "photoorg.core.models.onnx_export", spec]
    if cache is not None:
        cmd += ["--cache", str(cache)]
    env = dict(os.environ)
    env.setdefault("PYTHONPATH", "")
    repo = str(Path(__file__).resolve().parents[3])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (repo, env["PYTHONPATH"]) if p)
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env,
                              check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, f"export child failed: {exc}"
    if done.returncode == 0:
        return True, ""
    lines = [ln for ln in (done.stderr or "").strip().splitlines() if ln.strip()]
    return False, lines[-1] if lines else f"export child exited with {done.returncode}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="export a CLIP model's towers to ONNX")
    parser.add_argument("spec")
    parser.add_argument("--cache", type=Path, default=None)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    import warnings

    warnings.simplefilter("ignore")
    try:
        folder = export(args.spec, args.cache)
    except FileNotFoundError as exc:
        print(f"onnx export: {exc}", file=sys.stderr)
        return 3
    except Exception as exc:  # reported to the parent, which keeps the torch path
        print(f"onnx export of {args.spec} failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print(folder)
    return 0


if __name__ == "__main__":
    sys.exit(main())
