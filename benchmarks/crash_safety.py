"""kill -9 at random moments, restart, and check that nothing was lost or done twice.

    python benchmarks/crash_safety.py --kills 20 --json
    python benchmarks/crash_safety.py --kills 3 --photos 48 --json     # the unit test's size

A library of ``--photos`` synthetic photos is indexed once (real CLI, in a subprocess,
with the tiny bundled model), some photos get user tags and two people clusters get
names. Then, ``--kills`` times: the folder is changed (new photos, tagged photos renamed
and moved to other folders, a folder renamed, an untagged photo re-encoded or deleted),
``photoorg index`` or ``photoorg watch`` (alternately) is started and SIGKILLed at a
random moment: during the scan, the indexing, the watcher's catch-up or its handling of
live changes. After every kill the catalog is opened and checked:

* ``PRAGMA integrity_check`` is "ok" (``integrity_ok`` counts kills that passed);
* every cluster name, and every user tag, named face and named-cluster membership of a
  photo set before, is still there (``names_lost``, ``tags_lost``: photos are identified
  by catalog row, which moves keep);
* nothing is duplicated (``duplicates``): no two rows for one file or one content, no
  vector without its photo, and no photo embedded twice (two ``add``s in ``vec_log``
  without a ``del`` between: a photo whose embedding was committed is never redone).

Beside each killed run, a *decider* process makes user decisions through the undo journal
(tags added and removed, a group renamed, undos) and is SIGKILLed at the same moment. After
the kill, undoing every decision it journaled must bring back exactly the state before it
ever ran (``journal_inconsistent`` counts kills where it did not; ``decisions`` counts the
journal steps that survived the kills): the journal entry and the change commit together.

A final uninterrupted ``index`` must leave nothing pending and every non-skipped photo with
exactly one vector, and the original files must be byte-identical to what the test wrote
(``originals_modified``). Prints ONE JSON line with ``--json``.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from photoorg.core.groups import clusters  # noqa: E402
from photoorg.core.media.synthetic import CLASSES, draw_shape_image  # noqa: E402
from photoorg.core.store import journal  # noqa: E402
from photoorg.core.store.catalog import Catalog, vec_table  # noqa: E402

TEST_MODEL = "photoorg-tiny/bundled"

# kill points: after which stderr marker the random delay starts (None: from the start)
PHASES: dict[str, dict[str, str | None]] = {
    "index": {"start": None, "scan": "scanned:", "embed": "embedding"},
    "watch": {
        "start": None,
        "scan": "watch: scanning",
        "index": "watch: indexing",
        "live": "watch: watching",
    },
}


class Photos:
    """Unique synthetic JPEGs on demand."""

    def __init__(self, seed: int, size: int) -> None:
        self.seed = seed
        self.size = size
        self.count = 0

    def write(self, path: Path) -> Path:
        color, shape = CLASSES[self.count % len(CLASSES)]
        seed = self.seed * 100_003 + self.count
        image = draw_shape_image(color, shape, size=self.size, seed=seed)
        self.count += 1
        path.parent.mkdir(parents=True, exist_ok=True)
        image.save(path, quality=85)
        return path


def checksum(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class Run:
    """One photoorg subprocess whose stderr is followed for progress markers."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env,
            cwd=REPO,
        )
        self.lines: list[str] = []
        self.seen = threading.Condition()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            with self.seen:
                self.lines.append(line)
                self.seen.notify_all()
        with self.seen:
            self.seen.notify_all()

    def wait_for(self, marker: str, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self.seen:
            while True:
                if any(marker in line for line in self.lines):
                    return True
                if self.proc.poll() is not None and not self.reader.is_alive():
                    return False
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.seen.wait(min(left, 0.1))

    def kill(self) -> bool:
        """SIGKILL; False when it had already exited (the kill came too late)."""
        alive = self.proc.poll() is None
        if alive:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.reader.join(5)
        if self.proc.stderr is not None:
            self.proc.stderr.close()
        return alive

    def finish(self, timeout: float) -> int:
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.reader.join(5)
        if self.proc.stderr is not None:
            self.proc.stderr.close()
        return self.proc.returncode


class Library:
    def __init__(self, root: Path, photos: Photos) -> None:
        self.lib = root / "lib"
        self.data = root / "data"
        self.photos = photos
        self.written: dict[str, str] = {}  # rel -> sha256 of what we wrote (live files)

    def add(self, rel: str) -> None:
        path = self.photos.write(self.lib / rel)
        self.written[rel] = checksum(path)

    def move(self, rel: str, new: str) -> None:
        (self.lib / new).parent.mkdir(parents=True, exist_ok=True)
        os.rename(self.lib / rel, self.lib / new)
        self.written[new] = self.written.pop(rel)

    def move_folder(self, old: str, new: str) -> None:
        os.rename(self.lib / old, self.lib / new)
        for rel in [r for r in self.written if r.startswith(old + "/")]:
            self.written[new + rel[len(old) :]] = self.written.pop(rel)

    def delete(self, rel: str) -> None:
        (self.lib / rel).unlink()
        del self.written[rel]

    def originals_modified(self) -> int:
        return sum(
            1 for rel, digest in self.written.items() if checksum(self.lib / rel) != digest
        )


def cli(data: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "photoorg", "--data-dir", str(data), *args]


def user_data(cat: Catalog) -> set[tuple[int, str]]:
    """(photo id, tag or cluster name) for every user tag, named face and named cluster
    membership: what a user typed and must never lose."""
    return set(
        cat.query(
            "SELECT pt.photo_id, 'tag:' || t.name FROM photo_tags pt JOIN tags t "
            "ON t.id = pt.tag_id WHERE pt.source = 'user' "
            "UNION SELECT f.photo_id, 'face:' || c.name FROM faces f JOIN clusters c "
            "ON c.id = f.cluster_id WHERE c.name IS NOT NULL "
            "UNION SELECT cp.photo_id, 'cluster:' || c.name FROM cluster_photos cp "
            "JOIN clusters c ON c.id = cp.cluster_id WHERE c.name IS NOT NULL "
            "AND cp.source != 'rejected'"
        )
    )


def check(
    cat: Catalog, tags: set[tuple[int, str]], names: set[str], final: bool = False
) -> dict[str, int]:
    """Integrity, lost names/tags and duplicates of one catalog state. Two rows with one
    content are allowed between a kill and the next scan (a move seen in two halves: the
    old row takes the new one's place then), not in the ``final`` state."""
    ok = cat.integrity_check() == "ok"
    have_tags = user_data(cat)
    have_names = {n for (n,) in cat.query("SELECT name FROM clusters WHERE name IS NOT NULL")}
    dup_rows = cat.scalar(
        "SELECT COUNT(*) FROM (SELECT 1 FROM photos GROUP BY root_id, rel_path "
        "HAVING COUNT(*) > 1)"
    )
    if final:
        dup_rows += cat.scalar(
            "SELECT COUNT(*) FROM (SELECT 1 FROM photos WHERE content_hash IS NOT NULL "
            "GROUP BY content_hash HAVING COUNT(*) > 1)"
        )
    dup_vectors = 0
    for (model_id,) in cat.query("SELECT id FROM models"):
        table = vec_table(model_id)
        if not cat.scalar("SELECT 1 FROM sqlite_master WHERE name = ?", (table,)):
            continue
        dup_vectors += cat.scalar(
            f"SELECT COUNT(*) - COUNT(DISTINCT rowid) FROM {table}"
        ) + cat.scalar(
            f"SELECT COUNT(*) FROM {table} WHERE rowid NOT IN (SELECT id FROM photos)"
        )
        # embedded twice: an 'add' following an 'add' for the same photo with no 'del'
        last: dict[int, str] = {}
        for photo_id, op in cat.query(
            "SELECT photo_id, op FROM vec_log WHERE model_id = ? ORDER BY seq", (model_id,)
        ):
            if op == "add" and last.get(photo_id) == "add":
                dup_vectors += 1
            last[photo_id] = op
    return {
        "integrity_ok": int(ok),
        "names_lost": len(names - have_names),
        "tags_lost": len(tags - have_tags),
        "duplicates": dup_rows + dup_vectors,
    }


DECIDER_GROUP = "Zed"


def decide_forever(data: Path, seed: int) -> None:
    """The decider: journaled user decisions as fast as it can, until killed."""
    rng = random.Random(seed)
    with Catalog(data / "catalog.sqlite") as cat:
        photos = [pid for (pid,) in cat.query("SELECT id FROM photos WHERE status = 'indexed'")]
        group = clusters.clusters_named(cat, "scenes", DECIDER_GROUP) or [
            cid for (cid,) in cat.query("SELECT id FROM clusters WHERE kind = 'scenes' AND "
                                        "name LIKE 'Zed-%'")]
        floor = cat.scalar("SELECT COALESCE(MAX(batch), 0) FROM journal")
        n = 0
        while True:
            n += 1
            op = rng.random()
            if op < 0.5:
                clusters.add_tag(cat, rng.sample(photos, 3), f"j{seed}-{n}")
            elif op < 0.7:
                tags = [t for t, _ in clusters.all_tags(cat) if t.startswith("j")]
                if tags:
                    clusters.remove_tag(cat, photos, rng.choice(tags))
            elif op < 0.85 and group:
                clusters.name_cluster(cat, group[0], f"Zed-{seed}-{n}")
            elif journal.history(cat, limit=1)[0].batch > floor:  # only its own decisions
                journal.undo(cat)
            print(f"decided {n}", file=sys.stderr, flush=True)


class _RollbackError(Exception):
    pass


def check_journal(cat: Catalog, setup_batch: int, zed: int) -> tuple[int, int]:
    """(inconsistent 0/1, decision steps journaled since the setup). Undoes, inside a
    transaction that is rolled back, every step the deciders journaled: the decider's
    tags must all be gone and its group named as before."""
    steps = cat.scalar("SELECT COUNT(DISTINCT batch) FROM journal WHERE undone_at IS NULL "
                       "AND batch > ?", (setup_batch,))
    bad = 0
    with contextlib.suppress(_RollbackError), cat.transaction():
        journal.undo(cat, steps)
        leftover = [t for t, _ in clusters.all_tags(cat) if t.startswith("j")]
        bad = int(bool(leftover) or clusters.get_cluster(cat, zed).name != DECIDER_GROUP
                  or journal.history(cat, limit=1)[0].batch > setup_batch)
        raise _RollbackError
    return bad, steps


def perturb(lib: Library, rng: random.Random, tagged: list[str], step: int, new: int) -> None:
    """Changes for the next run to reconcile: adds, renames/moves (tagged photos
    included), a folder rename, a re-encode and a delete of untagged photos."""
    for i in range(new):
        lib.add(f"batch{step}/n{i}.jpg")
    for _ in range(2):
        rel = rng.choice(sorted(r for r in lib.written if r in tagged))
        new_rel = f"moved{step % 3}/{Path(rel).stem}-{step}.jpg"
        lib.move(rel, new_rel)
        tagged[tagged.index(rel)] = new_rel
    folders = sorted({r.split("/")[0] for r in lib.written if "/" in r})
    folder = rng.choice(folders)
    lib.move_folder(folder, f"{folder}-r{step}")
    for i, rel in enumerate(list(tagged)):
        if rel.startswith(folder + "/"):
            tagged[i] = f"{folder}-r{step}" + rel[len(folder) :]
    untagged = sorted(r for r in lib.written if r not in tagged)
    if len(untagged) > 4:
        victim = rng.choice(untagged)
        lib.photos.write(lib.lib / victim)  # new content, same name
        lib.written[victim] = checksum(lib.lib / victim)
        lib.delete(rng.choice([r for r in untagged if r != victim]))


def run(args: argparse.Namespace) -> dict[str, Any]:
    rng = random.Random(args.seed)
    tmp = Path(tempfile.mkdtemp(prefix="photoorg-crash-"))
    lib = Library(tmp, Photos(args.seed, args.size))
    env = {**os.environ, "PYTHONPATH": str(REPO), "PHOTOORG_CACHE_DIR": str(tmp / "cache")}
    started = time.monotonic()
    for i in range(args.photos):
        lib.add(f"f{i % 4}/p{i}.jpg")

    first = Run(cli(lib.data, "index", str(lib.lib), "--model", args.model, "--no-faces",
                    "-q"), env)
    if first.finish(600) != 0:
        shutil.rmtree(tmp, ignore_errors=True)
        raise SystemExit("initial index failed:\n" + "".join(first.lines[-20:]))
    with Catalog(lib.data / "catalog.sqlite") as cat:
        ids = {rel: pid for pid, rel in cat.query("SELECT id, rel_path FROM photos")}
        tagged = sorted(ids)[:: max(1, len(ids) // 12)]
        for k, rel in enumerate(tagged):
            clusters.add_tag(cat, [ids[rel]], f"tag{k % 3}")
        for name, members in (("Alice", tagged[:3]), ("Bob", tagged[3:6])):
            cid = clusters.create_cluster(cat, "people", name)
            for rel in members:  # a confirmed face of the named person on the photo
                cat.execute(
                    "INSERT INTO faces(photo_id, x, y, w, h, descriptor, cluster_id, source, "
                    "created_at) VALUES(?, 0.1, 0.1, 0.3, 0.3, zeroblob(512), ?, 'confirmed', ?)",
                    (ids[rel], cid, time.time()),
                )
        beach = clusters.create_cluster(cat, "scenes", "Beach")
        for rel in tagged[6:9]:
            clusters.add_photo_to_cluster(cat, beach, ids[rel])
        tags = user_data(cat)
        names = {n for (n,) in cat.query("SELECT name FROM clusters WHERE name IS NOT NULL")}
        zed = clusters.create_cluster(cat, "scenes", DECIDER_GROUP)  # the decider renames it
        setup_batch = cat.scalar("SELECT COALESCE(MAX(batch), 0) FROM journal")

    totals = {"integrity_ok": 0, "names_lost": 0, "tags_lost": 0, "duplicates": 0,
              "journal_inconsistent": 0, "decisions": 0}
    where: dict[str, int] = {}
    late = 0
    plan = args.plan.split(",") if args.plan else []
    runs: list[Run] = []
    for step in range(args.kills):
        perturb(lib, rng, tagged, step, args.new_per_kill)
        if plan:
            point = plan[step % len(plan)]
        else:
            command = "index" if step % 2 == 0 else "watch"
            point = f"{command}:{rng.choice(sorted(PHASES[command]))}"
        command, phase = point.split(":")
        if command == "index":
            argv = cli(lib.data, "index", str(lib.lib), "--no-faces", "--batch-size", "8")
        else:
            argv = cli(lib.data, "watch", "--no-faces", "--settle", "0.3", "--batch-size", "8")
        decider = Run([sys.executable, str(Path(__file__).resolve()), "--decider",
                       str(lib.data), str(step + 1)], env)
        proc = Run(argv, env)
        runs.append(proc)
        marker = PHASES[command][phase]
        if marker is None:  # any moment from the start, imports and model loading included
            time.sleep(rng.uniform(0.0, 4.0))
        elif phase == "live":  # changes made while the watcher runs, handled live
            proc.wait_for(marker, 120)
            perturb(lib, rng, tagged, step + 1000, args.new_per_kill)
            time.sleep(rng.uniform(0.0, 1.5))
        else:
            proc.wait_for(marker, 120)
            time.sleep(rng.uniform(0.0, 0.6))
        if not proc.kill():
            late += 1
        decider.kill()
        where[point] = where.get(point, 0) + 1
        with Catalog(lib.data / "catalog.sqlite") as cat:
            for key, value in check(cat, tags, names).items():
                totals[key] += value
            bad, steps = check_journal(cat, setup_batch, zed)
            totals["journal_inconsistent"] += bad
            totals["decisions"] = steps

    final = Run(cli(lib.data, "index", str(lib.lib), "--no-faces", "-q"), env)
    final_rc = final.finish(600)
    with Catalog(lib.data / "catalog.sqlite") as cat:
        after = check(cat, tags, names, final=True)
        model = cat.target_model()
        pending = cat.count_pending_embedding(model.id if model else None)
        vectors = cat.scalar(f"SELECT COUNT(*) FROM {vec_table(model.id)}") if model else 0
        indexed = cat.scalar("SELECT COUNT(*) FROM photos WHERE status = 'indexed'")
        # rows of deleted files are kept, missing, until forgotten (core.missing)
        rows = cat.scalar("SELECT COUNT(*) FROM photos WHERE missing_since IS NULL")
        final_journal, _ = check_journal(cat, setup_batch, zed)
    result = {
        "kills": args.kills,
        **totals,
        "killed_after_exit": late,
        "kill_points": dict(sorted(where.items())),
        "final_rc": final_rc,
        "final_ok": bool(
            final_rc == 0 and after["integrity_ok"] and not after["names_lost"]
            and not after["tags_lost"] and not after["duplicates"] and pending == 0
            and vectors == indexed and rows == len(lib.written) and not final_journal
        ),
        "final_pending": pending,
        "final_rows": rows,
        "files": len(lib.written),
        "originals_modified": lib.originals_modified(),
        "seconds": round(time.monotonic() - started, 1),
        "model": args.model,
    }
    if args.verbose:
        for proc in runs:
            print("----", " ".join(proc.proc.args[4:]), file=sys.stderr)  # type: ignore[index]
            sys.stderr.write("".join(proc.lines[-12:]))
    if final_rc != 0:
        result["final_stderr"] = "".join(final.lines[-15:])
    if not args.keep:
        shutil.rmtree(tmp, ignore_errors=True)
    else:
        result["dir"] = str(tmp)
    return result


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kills", type=int, default=20)
    ap.add_argument("--photos", type=int, default=160, help="photos indexed before the kills")
    ap.add_argument("--new-per-kill", type=int, default=24, help="photos added before each run")
    ap.add_argument("--size", type=int, default=96, help="photo side in pixels")
    ap.add_argument("--model", default=TEST_MODEL)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--plan", help="kill points to cycle through instead of random ones, "
                    "e.g. index:embed,watch:live (see PHASES)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder")
    ap.add_argument("--verbose", action="store_true", help="show each run's last lines")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--decider", nargs=2, metavar=("DATA", "SEED"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.decider:
        decide_forever(Path(args.decider[0]), int(args.decider[1]))
        return 0
    result = run(args)
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:20} {value}")
    good = (
        result["integrity_ok"] == result["kills"] and not result["names_lost"]
        and not result["journal_inconsistent"]
        and not result["tags_lost"] and not result["duplicates"] and result["final_ok"]
        and not result["originals_modified"]
    )
    return 0 if good else 1


if __name__ == "__main__":
    sys.exit(main())
