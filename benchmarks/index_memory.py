"""Peak memory of ``photoorg index`` itself, and of loading a CLIP weights file.

    python benchmarks/index_memory.py --json [--faces-dev tests/data/faces-dev]

Builds a mixed 12 MP library (benchmarks/people_photos.py, 48 photos) and runs the real
command line in child processes on fresh libraries: ``index`` (CLIP, faces, clusters,
suggested names, OCR), and ``index --no-faces`` then ``index``. Prints one JSON line with each
run's peak RSS (the child's ``ru_maxrss``) and seconds. ``--weights-file``: also the peak
of loading a ``.safetensors`` copy of the model's random weights and embedding one image
(what real weights cost; random weights are built, not read). ``--gps``: every photo gets a
GPS position near one of six cities, so places are grouped and named (the geocoder loads).
The goal: 1.2 GB with ViT-B-32.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

_SAVE = """
import sys
from safetensors.torch import save_file
from photoorg.core.models.embedder import _create
model, _ = _create(sys.argv[1], None)
save_file({k: v.contiguous() for k, v in model.state_dict().items()}, sys.argv[2])
"""
_LOAD_ONE = """
import resource, sys
from PIL import Image
from photoorg.core.models.embedder import load_embedder
load_embedder(sys.argv[1]).encode_images([Image.new("RGB", (64, 64))])
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""


def _env() -> dict[str, str]:
    """This checkout first on the children's path."""
    return {**os.environ,
            "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}


def _run(args: list[str], env: dict[str, str]) -> dict:
    """Run a child; its peak RSS (MB) and wall seconds."""
    import time

    start = time.perf_counter()
    pid = os.fork()
    if pid == 0:  # the child: exactly the command line (its report not mixed with ours)
        os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
        os.chdir(REPO)  # "" on sys.path is the working folder: this checkout's code
        os.execvpe(sys.executable, [sys.executable, *args], env)
    _, status, usage = os.wait4(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{args} failed ({status})")
    return {"peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
            "seconds": round(time.perf_counter() - start, 1)}


def _index_runs(model: str, folder: Path, work: Path, runs: list[list[str]]) -> list[dict]:
    data = Path(tempfile.mkdtemp(dir=work))
    env = {**_env(), "PHOTOORG_DATA_DIR": str(data), "PHOTOORG_CACHE_DIR": str(work / "cache")}
    return [_run(["-m", "photoorg", "index", "-q", "--model", model, *extra, str(folder)], env)
            for extra in runs]


def _weights_file_peak(model: str, work: Path) -> dict:
    """Peak RSS of loading the model from a .safetensors file and embedding one image. Both
    steps in children: a child's peak counts what its parent held when it forked."""
    from photoorg.core.models.embedder import parse_model_spec

    arch = parse_model_spec(model).arch
    path = work / "weights.safetensors"
    subprocess.run([sys.executable, "-c", _SAVE, arch, str(path)], env=_env(), check=True,
                   capture_output=True, cwd=REPO)
    out = subprocess.run([sys.executable, "-c", _LOAD_ONE, f"{arch}/{path}"], env=_env(),
                         capture_output=True, text=True, check=True, cwd=REPO)
    return {"weights_file_load_peak_rss_mb": round(float(out.stdout.split()[-1]), 1)}


CITIES = [(48.8566, 2.3522), (41.9028, 12.4964), (40.7128, -74.0060), (-33.8688, 151.2093),
          (35.6762, 139.6503), (51.5074, -0.1278)]


def add_gps(folder: Path, seed: int = 0) -> None:
    """A GPS position in every photo, around six cities (as a phone's photos have), written
    by Pillow (the JPEG is saved again at quality 92)."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    for i, path in enumerate(sorted(folder.glob("*.jpg"))):
        lat, lon = CITIES[i % len(CITIES)]
        lat, lon = lat + float(rng.normal(0, 0.01)), lon + float(rng.normal(0, 0.01))
        with Image.open(path) as im:
            im.load()
            exif = im.getexif()
            gps = exif.get_ifd(0x8825)
            gps[1], gps[3] = ("N" if lat >= 0 else "S"), ("E" if lon >= 0 else "W")
            gps[2] = _dms(abs(lat))
            gps[4] = _dms(abs(lon))
            im.save(path, exif=exif, quality=92)


def _dms(value: float) -> tuple[float, float, float]:
    degrees = int(value)
    minutes = int((value - degrees) * 60)
    return (float(degrees), float(minutes), round((value - degrees - minutes / 60) * 3600, 2))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="ViT-B-32/random")
    parser.add_argument("--count", type=int, default=48)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--weights-file", action="store_true")
    parser.add_argument("--gps", action="store_true",
                        help="every photo with a GPS position (places, the geocoder)")
    parser.add_argument("--faces-dev", type=Path,
                        default=REPO / "tests" / "data" / "faces-dev")
    args = parser.parse_args()
    import people_photos as pp

    sources = pp.fetch_mate_backgrounds(REPO / "bench-data" / "mate")
    work = Path(tempfile.mkdtemp(prefix="photoorg-mem-"))
    try:
        n = args.count
        people, drawings = max(4, round(0.3 * n)), max(6, round(0.1 * n))
        folder = work / "people"
        pp.make_library(folder, sources, args.faces_dev, scenes=max(1, n - people - drawings),
                        people=people, drawings=drawings)
        if args.gps:
            add_gps(folder)
        full = _index_runs(args.model, folder, work, [[]])[0]
        no_faces, then = _index_runs(args.model, folder, work, [["--no-faces"], []])
        row = {"model": args.model, "photos": n, "gps": args.gps,
               "load_avg": [round(v, 1) for v in os.getloadavg()],
               "index_peak_rss_mb": full["peak_rss_mb"], "index_s": full["seconds"],
               "index_no_faces_peak_rss_mb": no_faces["peak_rss_mb"],
               "index_after_no_faces_peak_rss_mb": then["peak_rss_mb"],
               "peak_rss_mb": max(full["peak_rss_mb"], no_faces["peak_rss_mb"],
                                  then["peak_rss_mb"])}
        if args.weights_file:
            row.update(_weights_file_peak(args.model, work))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(row) if args.json else row)
    return 0


if __name__ == "__main__":
    sys.exit(main())
