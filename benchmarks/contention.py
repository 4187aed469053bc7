"""User actions from another process while the pipeline embeds and re-clusters.

A library with >= 20,000 faces (synthetic dlib-like descriptors, ``faces.synthetic_
descriptors``) on 12,000 photos that already have vectors, half of the faces grouped into
people (some named), half new; plus real image files waiting to be embedded with the
bundled tiny CLIP model. A child process runs the library's pipeline (embed -> info ->
faces -> clusters -> sidecars: the same as ``photoorg index``), which embeds the new files
and groups the 10,000 new faces and the scenes. Meanwhile this process does what a user
does in the window: rename a person, tag a photo, search (the catalog and index part; the
query text is encoded up front, see ``user_actions``) -- and measures how long each takes
and whether it fails ("database is locked").

    python benchmarks/contention.py --json

prints ``{"p50_ms", "max_ms", "errors", "actions", "idle_p50_ms", "p50_ratio",
"max_ratio", "faces", "pipeline_s", "pipeline_ok", "child_stderr_lines", ...}``: the
latencies under load, and the same actions measured first with the pipeline idle
(``idle_*``, the baseline of this run; ratios are against it). Goal: 0 errors and max <=
1000 ms, and the child's stderr under 100 lines.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from photoorg import config  # noqa: E402
from photoorg.core.app.library import Library  # noqa: E402
from photoorg.core.media.synthetic import write_sample_library  # noqa: E402
from photoorg.core.models.embedder import TEST_MODEL  # noqa: E402
from photoorg.core.store.catalog import Catalog  # noqa: E402


def build(data: Path, photos: Path, faces: int, per_photo_files: int, seed: int) -> dict:
    """The library: vectors for the photos that carry the faces, half the faces grouped."""
    from photoorg.core.groups.grouping import refresh_clusters
    from tests.synthetic_faces import synthetic_descriptors

    rng = np.random.default_rng(seed)
    write_sample_library(photos / "new", per_class=per_photo_files, seed=seed, size=96)
    per_identity = 50
    x, _labels, face_photo = synthetic_descriptors(
        identities=max(1, faces // per_identity), per_identity=per_identity, seed=seed)
    n_photos = int(face_photo.max()) + 1
    with Library(data, model=TEST_MODEL) as lib:
        lib.add_folders([photos])
        lib.scan()  # the new files wait for the embed stage (scanned first: the archive
        # rows below have no files, a scan would forget them)
        encoder = lib.require_target_model()
        cat = lib.writer
        root = cat.roots()[0]
        ids = cat.add_photos(root.id, [(f"archive/{i:06d}.jpg", 1000, 0.0, f"h{i}")
                                       for i in range(n_photos)])
        model = cat.target_model()
        vecs = rng.normal(size=(len(ids), encoder.dim)).astype(np.float32)
        cat.store_vectors(model.id, ids, vecs)
        with cat.transaction() as conn:
            conn.executemany("UPDATE photos SET faces_done = 1, width = 100, height = 100 "
                             "WHERE id = ?", [(i,) for i in ids])
        half = len(x) // 2
        now = time.time()

        def insert(rows: range) -> None:
            with cat.transaction() as conn:
                conn.executemany(
                    "INSERT INTO faces(photo_id, x, y, w, h, score, sharpness, descriptor, "
                    "created_at) VALUES(?, 0.1, 0.1, 0.2, 0.2, 1.0, 50.0, ?, ?)",
                    [(ids[int(face_photo[i])], x[i].tobytes(), now) for i in rows])

        insert(range(half))
        refresh_clusters(cat, "people")
        people = [cid for cid, _n, _h in cat.people_clusters()]
        for number, cid in enumerate(people[:30]):
            cat.execute("UPDATE clusters SET name = ? WHERE id = ?", (f"Person {number}", cid))
        insert(range(half, len(x)))  # new faces: the pipeline groups them
        return {"faces": len(x), "photos": n_photos, "named": min(30, len(people)),
                "files_to_embed": lib.embedding_pending()}


class _Phases:
    def __init__(self) -> None:
        self.start = time.monotonic()
        self.last = ""

    def on_progress(self, progress: object) -> None:
        phase = getattr(progress, "phase", "")
        if phase != self.last:
            self.last = phase
            print(f"phase {phase} at {time.monotonic() - self.start:.1f}s", file=sys.stderr)

    def on_skipped(self, *args: object) -> None:
        pass


def pipeline_child(data: str) -> None:
    with Library(data) as lib:
        ctx = lib.run_pipeline(batch_size=16, listener=_Phases())
    print(json.dumps({"embedded": ctx.summary.embedded, "notes": ctx.notes}))


def user_actions(data: Path, seconds: float | None, proc: subprocess.Popen | None,
                 seed: int, by_kind: dict[str, list[float]] | None = None,
                 ) -> tuple[list[float], list[str]]:
    """Rename a person, tag a photo, search; until ``proc`` ends (or ``seconds``)."""
    rng = random.Random(seed)
    latencies: list[float] = []
    errors: list[str] = []
    from photoorg.core.search.engine import Query, QueryPart

    with Library(data) as lib:
        encoder = lib.search_encoder()
        # Texts are encoded up front: encoding is CPU work that has nothing to do with the
        # catalog (on this shared 2-core box torch's 2 threads alone take 0.4-0.9 s for it
        # under load, 1-14 ms with one thread); the search itself is timed.
        queries = [Query((QueryPart("vector", v),)) for v in encoder.encode_texts(
            ["a photo of a red circle", "a blue square", "a green star"])]
        named = [cid for cid, name, _h in lib.reader().people_clusters() if name]
        photos = [pid for (pid,) in lib.reader().query("SELECT id FROM photos LIMIT 5000")]
        started = time.monotonic()
        step = 0
        while True:
            if proc is not None and proc.poll() is not None:
                break
            if seconds is not None and time.monotonic() - started >= seconds:
                break
            kind = step % 3
            t0 = time.perf_counter()
            try:
                if kind == 0:
                    lib.name_cluster(rng.choice(named), f"Renamed {step}")
                elif kind == 1:
                    lib.add_tag([rng.choice(photos)], f"tag {step % 7}")
                else:
                    lib.search(rng.choice(queries), k=20)
            except Exception as exc:  # what the user would see
                errors.append(f"{['rename', 'tag', 'search'][kind]}: {type(exc).__name__}: "
                              f"{exc}")
            latencies.append((time.perf_counter() - t0) * 1e3)
            if by_kind is not None:
                by_kind.setdefault(["rename", "tag", "search"][kind], []).append(latencies[-1])
                if latencies[-1] > 500:
                    print(f"slow {['rename', 'tag', 'search'][kind]}: {latencies[-1]:.0f} ms "
                          f"at {time.monotonic() - started:.1f}s", file=sys.stderr)
            step += 1
            time.sleep(0.05)  # a person clicks, not a loop
    return latencies, errors


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces", type=int, default=20_000)
    parser.add_argument("--files", type=int, default=4, help="new image files per class (x24)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--pipeline-child", metavar="DATA", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.pipeline_child:
        pipeline_child(args.pipeline_child)
        return 0
    with tempfile.TemporaryDirectory(prefix="photoorg-contention-") as tmp:
        data, photos = Path(tmp) / "data", Path(tmp) / "photos"
        setup_start = time.monotonic()
        info = build(data, photos, args.faces, args.files, args.seed)
        setup_s = time.monotonic() - setup_start
        idle, idle_errors = user_actions(data, 6.0, None, args.seed)
        start = time.monotonic()
        # the child's output goes to files, read when it ends: a pipe nobody reads while
        # the actions run would stop the child once it has logged 64 kB
        out_path, err_path = Path(tmp) / "child.out", Path(tmp) / "child.err"
        with open(out_path, "wb") as out_f, open(err_path, "wb") as err_f:
            proc = subprocess.Popen(
                [sys.executable, __file__, "--pipeline-child", str(data)],
                stdout=out_f, stderr=err_f)
            by_kind: dict[str, list[float]] = {}
            busy, errors = user_actions(data, None, proc, args.seed + 1, by_kind)
            proc.wait()
        pipeline_s = time.monotonic() - start
        err = err_path.read_text(errors="replace")
        with Catalog(config.catalog_path(data), readonly=True) as cat:
            grouped = cat.scalar("SELECT COUNT(*) FROM faces WHERE cluster_id IS NOT NULL")
            total_faces = cat.scalar("SELECT COUNT(*) FROM faces")
    result = {
        "p50_ms": round(statistics.median(busy), 1) if busy else None,
        "max_ms": round(max(busy), 1) if busy else None,
        "errors": len(errors),
        "actions": len(busy),
        "idle_p50_ms": round(statistics.median(idle), 1),
        "idle_max_ms": round(max(idle), 1),
        "idle_errors": len(idle_errors),
        "p50_ratio": round(statistics.median(busy) / statistics.median(idle), 2) if busy else None,
        "max_ratio": round(max(busy) / max(idle), 2) if busy else None,
        "pipeline_s": round(pipeline_s, 1),
        "pipeline_ok": proc.returncode == 0,
        "faces_grouped_after": int(grouped),
        "faces_after": int(total_faces),
        "setup_s": round(setup_s, 1),
        **info,
        "by_action": {k: {"p50_ms": round(statistics.median(v), 1),
                          "max_ms": round(max(v), 1), "n": len(v)} for k, v in by_kind.items()},
        "error_samples": errors[:5],
        "child_stderr_lines": err.count("\n"),
        "child_stderr_bytes": len(err.encode()),
    }
    if proc.returncode != 0:
        result["pipeline_error"] = err[-2000:]
    print(err[-3000:], file=sys.stderr)
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:>22}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
