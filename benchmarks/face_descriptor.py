"""Face descriptors: dlib's ResNet (no BLAS in the dlib-bin wheel) against its torch port
(photoorg/core/people/descriptor.py) and its onnxruntime graph (descriptor_onnx.py, what
the face pass uses), on the same chips, in one run.

Chips: every face FaceAnalyzer keeps in the faces-dev photos, plus the faces-dev faces
pasted small (50-150 px tall) into a textured scene, as benchmarks/people_photos.py does.
Prints one JSON line: ms per face for each (1 and 8 chips per call; and wall ms per face
with two threads calling at once, one chip per call, as the face pass does), the speed-ups,
and the largest per-component difference and L2 distance between the descriptors (the
``ort_`` keys: the onnxruntime graph's figures, its speed-ups against dlib).

    python benchmarks/face_descriptor.py tests/data/faces-dev
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

from photoorg.core.media.imaging import load_rgb
from photoorg.core.people.descriptor import TorchFaceDescriptor
from photoorg.core.people.descriptor_onnx import OnnxFaceDescriptor
from photoorg.core.people.faces import CHIP_PADDING, CHIP_SIZE, FaceAnalyzer, model_path

HERE = Path(__file__).resolve().parent


def face_chips(analyzer: FaceAnalyzer, image: Image.Image) -> list[np.ndarray]:
    """The aligned chips FaceAnalyzer.detect computes descriptors of (before its gates)."""
    rgb = analyzer.prepare(image)
    detector, shape_predictor, _ = analyzer._models()
    found = analyzer._find(detector, rgb, analyzer.upsample_for(*rgb.size))
    pixels = np.ascontiguousarray(np.asarray(rgb, dtype=np.uint8))
    return [
        analyzer._dlib.get_face_chip(pixels, shape_predictor(pixels, rect), CHIP_SIZE, CHIP_PADDING)
        for rect, _ in found
    ]


def _people_photos():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("people_photos", HERE / "people_photos.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("people_photos", module)
    spec.loader.exec_module(module)
    return module


def pasted_scene(faces_dev: Path, sizes: tuple[int, ...] = (50, 80, 150)) -> Image.Image:
    """A 2048x1536 textured scene with each faces-dev face pasted at each of ``sizes``."""
    pp = _people_photos()
    heads = pp.cut_heads(faces_dev)
    rng = np.random.default_rng(7)
    noise = rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)
    scene = Image.fromarray(noise).resize((2048, 1536), Image.Resampling.BICUBIC)
    cols = len(heads)
    for j, size in enumerate(sizes):
        for i, head in enumerate(heads):
            pp.paste_head(scene, head, size, ((i + 0.5) / cols, (j + 0.5) / len(sizes)))
    return scene


def collect_chips(faces_dev: Path, analyzer: FaceAnalyzer) -> tuple[list[np.ndarray], int]:
    """Chips of the faces-dev photos, then of the pasted scene; and how many are pasted."""
    photos = sorted(p for p in faces_dev.glob("*/*") if p.suffix.lower() in (".jpg", ".jpeg"))
    chips = [c for p in photos for c in face_chips(analyzer, load_rgb(p, max_side=2048))]
    pasted = face_chips(analyzer, pasted_scene(faces_dev))
    return chips + pasted, len(pasted)


def _ms_per_face(fn, chips: list[np.ndarray], per_call: int, rounds: int) -> float:  # type: ignore[no-untyped-def]
    fn(chips[:per_call])  # warm up
    start = time.perf_counter()
    done = 0
    for _ in range(rounds):
        for i in range(0, len(chips), per_call):
            fn(chips[i:i + per_call])
            done += len(chips[i:i + per_call])
    return (time.perf_counter() - start) * 1000 / done


def _ms_per_face_2_threads(make, chips: list[np.ndarray], rounds: int) -> float:  # type: ignore[no-untyped-def]
    """Wall ms per face with two threads describing one chip per call at once, as the
    face pass does (``make()`` gives each thread its describe function)."""
    from concurrent.futures import ThreadPoolExecutor

    fns = [make(), make()]
    for fn in fns:
        fn(chips[:1])

    def run(k: int) -> None:
        for _ in range(rounds):
            for chip in chips[k::2]:
                fns[k]([chip])

    start = time.perf_counter()
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(run, (0, 1)))
    return (time.perf_counter() - start) * 1000 / (rounds * len(chips))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("faces_dev", type=Path)
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    import dlib
    import torch

    analyzer = FaceAnalyzer(proposals=False)
    chips, pasted = collect_chips(args.faces_dev, analyzer)
    path = model_path("dlib_face_recognition_resnet_model_v1.dat")
    start = time.perf_counter()
    port = TorchFaceDescriptor(path)
    load_s = time.perf_counter() - start
    start = time.perf_counter()
    ort = OnnxFaceDescriptor(path)
    ort_load_s = time.perf_counter() - start
    encoder = dlib.face_recognition_model_v1(str(path))

    def with_dlib(batch: list[np.ndarray]) -> np.ndarray:
        return np.asarray([np.asarray(v) for v in encoder.compute_face_descriptor(batch, 0)])

    want = with_dlib(chips)
    got = port(chips)
    got_ort = ort(chips)
    diff = np.abs(got - want)
    result: dict = {
        "chips": len(chips),
        "pasted_chips": pasted,
        "max_abs_diff": float(diff.max()),
        "max_abs_diff_pasted": float(diff[len(chips) - pasted:].max()) if pasted else None,
        "max_l2_distance": float(np.linalg.norm(got - want, axis=1).max()),
        "port_load_s": round(load_s, 3),
        "torch_threads": torch.get_num_threads(),
        "ort_max_abs_diff": float(np.abs(got_ort - want).max()),
        "ort_max_abs_diff_vs_torch": float(np.abs(got_ort - got).max()),
        "ort_max_l2_distance": float(np.linalg.norm(got_ort - want, axis=1).max()),
        "ort_load_s": round(ort_load_s, 3),
    }
    for per_call in (1, 8):
        base = _ms_per_face(with_dlib, chips, per_call, args.rounds)
        fast = _ms_per_face(port, chips, per_call, args.rounds)
        result[f"dlib_ms_per_face_{per_call}"] = round(base, 2)
        result[f"torch_ms_per_face_{per_call}"] = round(fast, 2)
        result[f"speedup_{per_call}"] = round(base / fast, 2)
        light = _ms_per_face(ort, chips, per_call, args.rounds)
        result[f"ort_ms_per_face_{per_call}"] = round(light, 2)
        result[f"ort_speedup_{per_call}"] = round(base / light, 2)
    def dlib_per_thread():  # type: ignore[no-untyped-def]
        own = dlib.face_recognition_model_v1(str(path))  # dlib's is not thread-safe
        return lambda batch: own.compute_face_descriptor(batch, 0)

    base = _ms_per_face_2_threads(dlib_per_thread, chips, args.rounds)
    fast = _ms_per_face_2_threads(lambda: port, chips, args.rounds)
    result["dlib_wall_ms_per_face_2_threads"] = round(base, 2)
    result["torch_wall_ms_per_face_2_threads"] = round(fast, 2)
    result["speedup_2_threads"] = round(base / fast, 2)
    light = _ms_per_face_2_threads(lambda: ort, chips, args.rounds)
    result["ort_wall_ms_per_face_2_threads"] = round(light, 2)
    result["ort_speedup_2_threads"] = round(base / light, 2)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
