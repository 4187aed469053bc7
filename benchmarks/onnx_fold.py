"""The OCR models as RapidOCR ships them against their folds (photoorg.core.models.onnx_fold).

    python benchmarks/onnx_fold.py --json

For each of PaddleOCR's three models: CPU ms per run on one thread (onnxruntime, no
spinning; ``--repeat`` runs after a warm-up) on inputs of the sizes the app gives them
(the gate's 576x448 copy, a batch of 8 text lines of 48x320, 8 of 48x192 for the angle
classifier), the ratio folded/shipped, the largest output difference on those inputs and
on real photos of ``tests/data/faces-dev`` (detector), and the rewrites counted. Both
sessions run in the same process, one after the other, on the same inputs.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

MODELS = {  # file: (input shape, sample size for the fold's check)
    "ch_PP-OCRv4_det_infer.onnx": ((1, 3, 448, 576), (96, 256)),
    "ch_PP-OCRv4_rec_infer.onnx": ((8, 3, 48, 320), (48, 320)),
    "ch_ppocr_mobile_v2.0_cls_infer.onnx": ((8, 3, 48, 192), (48, 192)),
}


def _session(path: Path):  # noqa: ANN202
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def _cpu_ms(session, x: np.ndarray, repeat: int) -> float:  # noqa: ANN001
    name = session.get_inputs()[0].name
    session.run(None, {name: x})
    start = time.process_time()
    for _ in range(repeat):
        session.run(None, {name: x})
    return (time.process_time() - start) * 1e3 / repeat


def _photos() -> list[np.ndarray]:
    """Real photos as the detector's input (576 long side, cut to multiples of 32)."""
    from photoorg.core.media.imaging import load_rgb

    out = []
    for path in sorted((REPO / "tests" / "data" / "faces-dev").rglob("*.jp*g"))[:8]:
        rgb = np.asarray(load_rgb(path, 576))
        rgb = rgb[: rgb.shape[0] // 32 * 32, : rgb.shape[1] // 32 * 32]
        out.append(np.ascontiguousarray(
            (rgb[:, :, ::-1].astype(np.float32) * (2 / 255) - 1).transpose(2, 0, 1)[None]))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    import onnx

    from photoorg.core.ingest import textgate
    from photoorg.core.models import onnx_fold

    folder = textgate.engine_model_file().parent
    rng = np.random.default_rng(0)
    result: dict = {"repeat": args.repeat, "models": {}}
    with tempfile.TemporaryDirectory(prefix="photoorg-fold-") as cache:
        for name, (shape, sample) in MODELS.items():
            source = folder / name
            folded = onnx_fold.folded_copy(source, [textgate.text_sample(*sample)],
                                           cache=Path(cache))
            if folded == source:
                result["models"][name] = {"folded": False}
                continue
            shipped_session, folded_session = _session(source), _session(folded)
            x = rng.uniform(-1, 1, shape).astype(np.float32)
            inputs = [x] + (_photos() if name.startswith("ch_PP-OCRv4_det") else [])
            input_name = shipped_session.get_inputs()[0].name
            diff = max(float(np.max(np.abs(
                shipped_session.run(None, {input_name: i})[0]
                - folded_session.run(None, {input_name: i})[0]))) for i in inputs)
            shipped_ms = _cpu_ms(shipped_session, x, args.repeat)
            folded_ms = _cpu_ms(folded_session, x, args.repeat)
            counts = onnx_fold.fold(onnx.load(str(source)))
            result["models"][name] = {
                "folded": True, "input": list(shape), "rewrites": counts,
                "shipped_cpu_ms": round(shipped_ms, 1), "folded_cpu_ms": round(folded_ms, 1),
                "ratio": round(folded_ms / shipped_ms, 3), "max_abs_diff": diff,
                "inputs_compared": len(inputs),
            }
    print(json.dumps(result) if args.json else json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
