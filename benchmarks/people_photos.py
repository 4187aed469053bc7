"""Camera-like test photos for the face benchmarks, built from real photos.

- *scenes*: real photos (Debian's ``mate-backgrounds``) cropped to 12 MP (4000x3000), no people;
- *people*: a scene with one or two real faces from ``faces-dev`` pasted in (head and
  shoulders, feathered edges), scaled so the face (dlib's box) is 150-400 px tall;
- *drawings*: things that are not people: smileys, cartoon faces, a pencil sketch and a
  posterised print of a real face, a test chart; each on a scene.

``make_library`` returns the ground truth: per file the people in it (largest first) and
whether it is a drawing.
"""

from __future__ import annotations

import glob
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageOps

SIZE = (4000, 3000)


def fetch_mate_backgrounds(dest: Path) -> list[Path]:
    """The 16 JPEGs of Debian's mate-backgrounds (``apt-get download`` once into ``dest``)."""
    found = sorted(Path(p) for p in glob.glob(str(dest / "**" / "*.jpg"), recursive=True))
    if found:
        return found
    dest.mkdir(parents=True, exist_ok=True)
    subprocess.run(["apt-get", "download", "mate-backgrounds"], cwd=dest, check=True)
    deb = next(dest.glob("mate-backgrounds*.deb"))
    subprocess.run(["dpkg", "-x", str(deb), str(dest / "x")], check=True)
    return sorted(Path(p) for p in glob.glob(str(dest / "**" / "*.jpg"), recursive=True))


@dataclass
class Head:
    """A head-and-shoulders cut-out of a real photo, with the face box inside it."""

    person: str
    image: Image.Image
    face_h: float  # the face box height in ``image`` pixels
    face_cx: float  # face centre in ``image`` pixels
    face_cy: float


@dataclass
class Library:
    people: dict[str, list[str]] = field(default_factory=dict)  # file name -> people
    # file name -> face centres (x, y as fractions of the photo), in the order of ``people``
    centres: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    drawings: list[str] = field(default_factory=list)
    scenes: list[str] = field(default_factory=list)


def cut_heads(faces_dev: Path) -> list[Head]:
    """One cut-out per faces-dev photo (its largest face)."""
    import dlib

    detector = dlib.get_frontal_face_detector()
    heads = []
    for path in sorted(p for p in faces_dev.glob("*/*") if p.suffix.lower() in (".jpg", ".jpeg")):
        im = ImageOps.exif_transpose(Image.open(path)).convert("RGB")
        im.thumbnail((1200, 1200))
        rects = detector(np.asarray(im), 1)
        if not rects:
            continue
        r = max(rects, key=lambda r: r.area())
        w, h = r.width(), r.height()
        box = (max(0, r.left() - 0.9 * w), max(0, r.top() - 1.0 * h),
               min(im.width, r.right() + 0.9 * w), min(im.height, r.bottom() + 1.4 * h))
        crop = im.crop(tuple(round(v) for v in box))
        heads.append(Head(path.parent.name, crop, float(h),
                          (r.left() + r.right()) / 2 - box[0], (r.top() + r.bottom()) / 2 - box[1]))
    return heads


def _scene(sources: list[Path], i: int, rng: np.random.Generator) -> Image.Image:
    src = sources[i % len(sources)]
    with Image.open(src) as im:
        im.draft("RGB", (SIZE[0], SIZE[1]))
        w, h = im.size
        # a different 4:3 crop each time the source comes round again
        cw = min(w, round(h * 4 / 3))
        ch = round(cw * 3 / 4)
        x = int(rng.integers(0, max(1, w - cw + 1)))
        y = int(rng.integers(0, max(1, h - ch + 1)))
        scene = im.convert("RGB").crop((x, y, x + cw, y + ch))
        scene = scene.resize(SIZE, Image.Resampling.BILINEAR)
    return ImageOps.mirror(scene) if (i // len(sources)) % 2 else scene


def _feathered_mask(size: tuple[int, int]) -> Image.Image:
    w, h = size
    mask = Image.new("L", size, 0)
    ImageDraw.Draw(mask).ellipse((w * 0.04, h * 0.02, w * 0.96, h * 1.3), fill=255)
    return mask.filter(ImageFilter.GaussianBlur(max(2, min(w, h) // 30)))


def paste_head(scene: Image.Image, head: Head, face_px: float, at: tuple[float, float],
               mirror: bool = False, brightness: float = 1.0) -> None:
    """Paste ``head`` so its face is ``face_px`` tall, centred at ``at`` (fractions)."""
    from PIL import ImageEnhance

    scale = face_px / head.face_h
    im = head.image.resize((max(1, round(head.image.width * scale)),
                            max(1, round(head.image.height * scale))), Image.Resampling.LANCZOS)
    cx, cy = head.face_cx * scale, head.face_cy * scale
    if mirror:
        im = ImageOps.mirror(im)
        cx = im.width - cx
    if brightness != 1.0:
        im = ImageEnhance.Brightness(im).enhance(brightness)
    x = round(at[0] * scene.width - cx)
    y = round(at[1] * scene.height - cy)
    scene.paste(im, (x, y), _feathered_mask(im.size))


def _smiley(size: int, colour: tuple[int, int, int], rng: np.random.Generator) -> Image.Image:
    im = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    d = ImageDraw.Draw(im)
    d.ellipse((0, 0, size - 1, size - 1), fill=colour, outline=(20, 20, 20), width=size // 40)
    e = size // 9
    for cx in (0.34, 0.66):
        d.ellipse((cx * size - e / 2, 0.3 * size, cx * size + e / 2, 0.3 * size + 1.6 * e),
                  fill=(20, 20, 20))
    d.arc((0.25 * size, 0.35 * size, 0.75 * size, 0.78 * size), 20, 160, fill=(20, 20, 20),
          width=max(2, size // 25))
    return im


def _cartoon(size: int, rng: np.random.Generator) -> Image.Image:
    """A flat-coloured cartoon face: skin-tone oval, hair, eyes, nose, mouth."""
    im = Image.new("RGBA", (size, int(size * 1.3)), (0, 0, 0, 0))
    d = ImageDraw.Draw(im)
    skin = tuple(int(v) for v in rng.choice([(241, 194, 160), (224, 172, 105), (141, 85, 36)]))
    hair = tuple(int(v) for v in rng.choice([(60, 40, 20), (230, 200, 90), (20, 20, 20)]))
    d.ellipse((0, 0, size, size * 0.5), fill=hair)
    d.ellipse((size * 0.08, size * 0.15, size * 0.92, size * 1.25), fill=skin, outline=(40, 30, 20),
              width=max(2, size // 60))
    for cx in (0.33, 0.67):
        d.ellipse((cx * size - size * 0.09, size * 0.5, cx * size + size * 0.09, size * 0.62),
                  fill="white", outline="black", width=max(1, size // 80))
        d.ellipse((cx * size - size * 0.035, size * 0.52, cx * size + size * 0.035, size * 0.6),
                  fill="black")
    d.line((size * 0.5, size * 0.62, size * 0.45, size * 0.8, size * 0.53, size * 0.8),
           fill=(90, 50, 30), width=max(2, size // 70))
    d.arc((size * 0.32, size * 0.78, size * 0.68, size * 1.02), 20, 160, fill=(150, 30, 30),
          width=max(2, size // 40))
    return im


def _sketch(head: Head) -> Image.Image:
    """A pencil sketch of a real face: grey edges on paper."""
    grey = ImageOps.grayscale(head.image)
    edges = ImageOps.invert(grey.filter(ImageFilter.FIND_EDGES))
    edges = ImageOps.autocontrast(edges.filter(ImageFilter.SMOOTH_MORE), cutoff=2)
    return edges.point(lambda v: 255 if v > 200 else v).convert("RGB")


def _poster(head: Head) -> Image.Image:
    """A pop-art print of a real face: three flat colours."""
    grey = ImageOps.autocontrast(ImageOps.grayscale(head.image))
    palette = [(15, 45, 80), (210, 30, 40), (120, 170, 180), (250, 230, 160)]
    q = np.digitize(np.asarray(grey), [70, 130, 190])
    return Image.fromarray(np.asarray(palette, dtype=np.uint8)[q])


def _test_chart(size: int) -> Image.Image:
    im = Image.new("RGB", (size, size), "white")
    d = ImageDraw.Draw(im)
    for i in range(8):
        r = size * (0.48 - i * 0.055)
        d.ellipse((size / 2 - r, size / 2 - r, size / 2 + r, size / 2 + r),
                  outline="black", width=max(2, size // 90))
    for i in range(12):
        x = size * (0.1 + i * 0.07)
        d.rectangle((x, size * 0.05, x + size * 0.03, size * 0.2), fill="black")
    d.ellipse((size * 0.3, size * 0.35, size * 0.4, size * 0.45), fill="black")
    d.ellipse((size * 0.6, size * 0.35, size * 0.7, size * 0.45), fill="black")
    return im


def make_library(dest: Path, sources: list[Path], faces_dev: Path, *, scenes: int,
                 people: int, drawings: int, seed: int = 0, quality: int = 92) -> Library:
    """Write ``scenes`` + ``people`` + ``drawings`` 12 MP JPEGs into ``dest``."""
    rng = np.random.default_rng(seed)
    heads = cut_heads(faces_dev)
    lib = Library()
    dest.mkdir(parents=True, exist_ok=True)
    n = 0

    def save(im: Image.Image, name: str) -> str:
        nonlocal n
        n += 1
        fname = f"{n:04d}_{name}.jpg"
        im.save(dest / fname, quality=quality)
        return fname

    for i in range(scenes):
        lib.scenes.append(save(_scene(sources, i, rng), "scene"))
    for i in range(people):
        scene = _scene(sources, i + 7, rng)
        head = heads[i % len(heads)]
        pasted = [head]
        at = (float(rng.uniform(0.2, 0.8)), float(rng.uniform(0.25, 0.6)))
        paste_head(scene, head, float(rng.uniform(150, 400)), at, mirror=bool(rng.random() < 0.5),
                   brightness=float(rng.uniform(0.75, 1.15)))
        if i % 4 == 3:  # every fourth photo: a second person beside the first
            other = next(h for h in heads[(i * 3 + 1) % len(heads):] + heads
                         if h.person != head.person)
            at2 = (at[0] + (0.3 if at[0] < 0.5 else -0.3), at[1] + float(rng.uniform(-.1, .1)))
            paste_head(scene, other, float(rng.uniform(150, 400)), at2,
                       mirror=bool(rng.random() < 0.5))
            pasted.append(other)
        centres = [at] + ([at2] if len(pasted) > 1 else [])
        name = save(scene, "people")
        lib.people[name] = [h.person for h in pasted]
        lib.centres[name] = centres
    makers = [
        lambda s: _smiley(s, (80, 200, 60), rng), lambda s: _smiley(s, (250, 210, 40), rng),
        lambda s: _cartoon(s, rng), lambda s: _sketch(heads[int(rng.integers(len(heads)))]),
        lambda s: _poster(heads[int(rng.integers(len(heads)))]), _test_chart,
    ]
    for i in range(drawings):
        scene = _scene(sources, i + 3, rng)
        art = makers[i % len(makers)](int(rng.integers(260, 700)))
        if art.mode != "RGBA":
            art = art.convert("RGB")
            w = int(rng.integers(500, 900))
            art = art.resize((w, round(art.height * w / art.width)))
        x = int(rng.integers(100, SIZE[0] - art.width - 100))
        y = int(rng.integers(100, SIZE[1] - art.height - 100))
        scene.paste(art, (x, y), art if art.mode == "RGBA" else None)
        lib.drawings.append(save(scene, "drawing"))
    return lib


# -- scoring a catalog against the truth ------------------------------------------------------

NOT_A_PERSON = "-"


@dataclass
class FaceRow:
    rel_path: str
    box: tuple[float, float, float, float]
    row: tuple  # the catalog row (x, y, w, h, score, sharpness, descriptor blob)
    cluster: int  # -1: none


def catalog_faces(cat) -> list[FaceRow]:
    """Every face of a catalog with its photo's path and cluster, by face id."""
    rows = cat.query(
        "SELECT p.rel_path, f.x, f.y, f.w, f.h, f.score, f.sharpness, f.descriptor, f.cluster_id "
        "FROM faces f JOIN photos p ON p.id = f.photo_id ORDER BY f.id"
    )
    return [FaceRow(r[0], (r[1], r[2], r[3], r[4]), tuple(r[1:8]),
                    -1 if r[8] is None else int(r[8])) for r in rows]


def truth_of(lib: Library, face: FaceRow) -> str | None:
    """The pasted person a face is (its centre inside the box), NOT_A_PERSON for a face in
    a scene or drawing, None for a face in a people photo that matches nobody."""
    name = Path(face.rel_path).name
    if name not in lib.people:
        return NOT_A_PERSON
    x, y, w, h = face.box
    for person, (cx, cy) in zip(lib.people[name], lib.centres[name], strict=True):
        if abs(cx - (x + w / 2)) < w and abs(cy - (y + h / 2)) < h:
            return person
    return None


def score_people(lib: Library, faces: list[FaceRow]) -> dict:
    """Quality of People as the user sees it: pairwise F1 over real faces, people photos
    whose every person is in a group, and faces that are not people but are in a group."""
    from photoorg.core.people.faces import people_pairwise_scores

    truth = [truth_of(lib, f) for f in faces]
    labelled = [(t, f.cluster) for t, f in zip(truth, faces, strict=True)
                if t not in (None, NOT_A_PERSON)]
    p, r, f1 = people_pairwise_scores([t for t, _ in labelled], [c for _, c in labelled])
    grouped: dict[str, set[str]] = {}
    for t, f in zip(truth, faces, strict=True):
        if t not in (None, NOT_A_PERSON) and f.cluster >= 0:
            grouped.setdefault(Path(f.rel_path).name, set()).add(t)
    complete = sum(set(people) <= grouped.get(name, set()) for name, people in lib.people.items())
    found = {(Path(f.rel_path).name, t) for t, f in zip(truth, faces, strict=True)
             if t not in (None, NOT_A_PERSON)}
    not_people = [f for t, f in zip(truth, faces, strict=True) if t == NOT_A_PERSON]
    return {
        "people_photos": len(lib.people),
        "people_photos_clustered": complete,
        "faces_expected": sum(len(v) for v in lib.people.values()),
        "faces_found": len(found),
        "pairwise_precision": round(p, 4), "pairwise_recall": round(r, 4),
        "pairwise_f1": round(f1, 4),
        "people": len({t for t, _ in labelled}),
        "groups": len({f.cluster for f in faces if f.cluster >= 0}),
        "not_people_detected": len(not_people),
        "false_people": sum(f.cluster >= 0 for f in not_people),
        "drawings": len(lib.drawings),
    }


def replay(folder: Path, faces: list[FaceRow], chunks: list[list[str]], tmp: Path,
           full: bool = False) -> dict[tuple[str, int], int]:
    """The faces of ``faces`` arriving in ``chunks`` of photos (relative paths), each chunk
    followed by the face pass's clustering step, in a fresh catalog. Returns the cluster of
    every face keyed by (photo, index in that photo)."""
    from photoorg.core.ingest.scanner import scan_library
    from photoorg.core.people.faces import recluster_people
    from photoorg.core.store.catalog import Catalog

    by_photo: dict[str, list[FaceRow]] = {}
    for f in faces:
        by_photo.setdefault(f.rel_path, []).append(f)
    with Catalog(tmp / "replay.sqlite") as cat:
        cat.add_root(folder)
        scan_library(cat)
        ids = {rel: pid for pid, rel in cat.query("SELECT id, rel_path FROM photos")}
        keys: dict[int, tuple[str, int]] = {}
        for chunk in chunks:
            for rel in chunk:
                got = cat.store_faces(ids[rel], [f.row for f in by_photo.get(rel, [])])
                keys.update({fid: (rel, i) for i, fid in enumerate(got)})
            recluster_people(cat, full=full)
        out = {keys[fid]: -1 if cid is None else int(cid)
               for fid, cid in cat.query("SELECT id, cluster_id FROM faces")}
    for suffix in ("", "-wal", "-shm"):
        (tmp / f"replay.sqlite{suffix}").unlink(missing_ok=True)
    return out


def partition_f1(a: dict, b: dict) -> float:
    """Pairwise F1 between two groupings of the same faces (unassigned = alone)."""
    from photoorg.core.people.faces import people_pairwise_scores

    keys = sorted(a)
    truth = [a[k] if a[k] >= 0 else ("alone", k) for k in keys]
    return round(people_pairwise_scores(truth, [b[k] for k in keys])[2], 4)


def order_independence(folder: Path, faces: list[FaceRow], tmp: Path) -> dict:
    """The same faces clustered at once, in two halves and photo by photo."""
    photos = sorted({f.rel_path for f in faces} | {p.name for p in folder.glob("*.jpg")})
    half = len(photos) // 2
    at_once = replay(folder, faces, [photos], tmp)
    halves = replay(folder, faces, [photos[:half], photos[half:]], tmp)
    one_by_one = replay(folder, faces, [[p] for p in photos], tmp)
    rng = np.random.default_rng(1)
    shuffled = [photos[i] for i in rng.permutation(len(photos))]
    shuffled_one = replay(folder, faces, [[p] for p in shuffled], tmp)
    return {
        "order_f1_halves": partition_f1(at_once, halves),
        "order_f1_one_by_one": partition_f1(at_once, one_by_one),
        "order_f1_shuffled_one_by_one": partition_f1(at_once, shuffled_one),
        "order_runs": {"at_once": at_once, "halves": halves, "one_by_one": one_by_one,
                       "shuffled": shuffled_one},
    }
