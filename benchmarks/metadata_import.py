"""What reading other tools' metadata adds to indexing, as a ratio to decoding the photo.

    python benchmarks/metadata_import.py --photos 200 --json

Writes ``--photos`` camera-sized JPEGs (``--size``, default 4000x3000) carrying the metadata
a digiKam / Lightroom library has (IPTC keywords, XMP dc:subject, lr:hierarchicalSubject,
digiKam:TagsList, rating, label, title, caption, two MWG face regions; exiftool writes them
in one batch), a sidecar beside every other one, and then measures in one process:

* ``read_ms``: :func:`photoorg.core.metadata.read.read_metadata` per photo (embedded + sidecars);
* ``store_ms``: :func:`photoorg.core.metadata.importer.import_metadata` per photo (read +
  catalog writes, first import);
* ``reimport_ms``: the same again (nothing changed: the watcher's case);
* ``decode_ms``: the indexer's own decode of the photo (``decode_photo`` at CLIP size,
  draft mode), the baseline;

and prints their ratios to ``decode_ms``. Needs exiftool (Debian libimage-exiftool-perl).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image


def _write_library(folder: Path, n: int, size: tuple[int, int]) -> list[Path]:
    rng = np.random.default_rng(0)
    noise = rng.integers(0, 255, (size[1] // 8, size[0] // 8, 3), dtype=np.uint8)
    base = Image.fromarray(noise).resize(size)
    photos = []
    lines: list[str] = []
    for i in range(n):
        path = folder / f"IMG_{i:05d}.jpg"
        base.save(path, quality=85)
        photos.append(path)
        args = [
            f"-IPTC:Keywords=kw{i % 7}", "-IPTC:Keywords=holiday", "-XMP-dc:Subject=holiday",
            f"-XMP-lr:HierarchicalSubject=Places|Norway|Town{i % 5}",
            "-XMP-digiKam:TagsList=People/Alice", f"-XMP-xmp:Rating={i % 6}",
            "-XMP-xmp:Label=Red", f"-XMP-dc:Title=Photo {i}", "-XMP-dc:Description=A caption",
            f"-XMP-mwg-rs:RegionInfo={{AppliedToDimensions={{W={size[0]},H={size[1]},"
            "Unit=pixel},RegionList=["
            "{Area={X=0.3,Y=0.4,W=0.1,H=0.15,Unit=normalized},Name=Alice,Type=Face},"
            "{Area={X=0.7,Y=0.4,W=0.1,H=0.15,Unit=normalized},Name=Bob,Type=Face}]}",
        ]
        lines += ["-q", "-overwrite_original", *args, str(path), "-execute"]
        if i % 2:
            lines += ["-q", f"-XMP-dc:Subject=sidecar{i % 3}", "-XMP-xmp:Rating=5",
                      str(path.with_name(path.name + ".xmp")), "-execute"]
    argfile = folder / "args.txt"
    argfile.write_text("\n".join(lines) + "\n")
    subprocess.run(["exiftool", "-@", str(argfile)], check=True, capture_output=True)
    argfile.unlink()
    return photos


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--photos", type=int, default=200)
    parser.add_argument("--size", type=int, nargs=2, default=(4000, 3000))
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if shutil.which("exiftool") is None:
        print("exiftool is needed (Debian: libimage-exiftool-perl)", file=sys.stderr)
        return 2

    from photoorg.core.ingest.scanner import scan_library
    from photoorg.core.media.imaging import decode_photo
    from photoorg.core.metadata.importer import import_metadata
    from photoorg.core.metadata.read import read_metadata
    from photoorg.core.store.catalog import Catalog

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "photos"
        folder.mkdir()
        photos = _write_library(folder, args.photos, tuple(args.size))
        n = len(photos)

        start = time.perf_counter()
        for path in photos:
            decode_photo(path, min_side=224)
        decode_ms = (time.perf_counter() - start) * 1000 / n

        start = time.perf_counter()
        metas = [read_metadata(path) for path in photos]
        read_ms = (time.perf_counter() - start) * 1000 / n
        assert all(len(m.regions) == 2 and m.rating is not None for m in metas)

        with Catalog(Path(tmp) / "catalog.sqlite") as cat:
            cat.add_root(folder)
            scan_library(cat)
            ids = [r[0] for r in cat.query("SELECT id FROM photos")]
            start = time.perf_counter()
            import_metadata(cat, ids)
            store_ms = (time.perf_counter() - start) * 1000 / n
            start = time.perf_counter()
            import_metadata(cat, ids)
            reimport_ms = (time.perf_counter() - start) * 1000 / n

    result = {
        "photos": n,
        "size": list(args.size),
        "decode_ms": round(decode_ms, 2),
        "read_ms": round(read_ms, 2),
        "store_ms": round(store_ms, 2),
        "reimport_ms": round(reimport_ms, 2),
        "read_vs_decode": round(read_ms / decode_ms, 3),
        "store_vs_decode": round(store_ms / decode_ms, 3),
        "reimport_vs_decode": round(reimport_ms / decode_ms, 3),
    }
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:>20}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
