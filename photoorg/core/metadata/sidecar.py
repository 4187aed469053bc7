"""Portable tags: XMP sidecars next to photos (opt-in; ``Settings.write_sidecars``).

Originals are never written: everything goes to a separate ``.xmp`` file.

Naming
    We write ``IMG_1.jpg.xmp`` (digiKam's convention, also darktable's): it cannot collide
    when ``IMG_1.jpg`` and ``IMG_1.cr2`` sit side by side. We read both that and
    Lightroom's ``IMG_1.xmp`` (ours wins where both say something).

Content (what digiKam and Lightroom read)
    ``dc:subject`` (bag of leaf keywords: ``Alice``, ``holiday``),
    ``lr:hierarchicalSubject`` (bag of full paths: ``People|Alice``), the same paths as
    ``digiKam:TagsList`` (seq, ``People/Alice``), MWG face regions ``mwg-rs:Regions``
    (``AppliedToDimensions`` + ``RegionList`` of ``Name``, ``Type`` Face, ``Area`` x/y/w/h
    normalised with x/y the *centre*), and the rating / label / title / caption photoorg
    knows (``xmp:Rating``, ``xmp:Label``, ``dc:title``, ``dc:description``). Other content
    of an existing sidecar is preserved.

Orientation
    MWG Guidelines 2.0, section 5.9 (Image Region Metadata): region metadata applies to the
    *stored* image; a viewer applying the Exif Orientation must rotate the regions with
    it. So boxes given to us in displayed (oriented) coordinates are mapped back to the
    stored pixel grid before writing (and ``AppliedToDimensions`` are the stored pixel
    dimensions), and mapped forward when reading. A file whose ``AppliedToDimensions`` is
    the *displayed* size of a rotated photo (some old writers) is read as displayed.

XMP is written as RDF/XML here (exact control of bag types and structures, atomic
replace); it is read through pyexiv2 (exiv2 parses every RDF serialisation). pyexiv2's
own sidecar writer is avoided: exiv2 round-trips ``dc:subject`` through IPTC keywords on
XMP sidecars, so a removed keyword comes back and structs cannot be deleted.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from photoorg.core.media.boxes import iou, match_boxes
from photoorg.core.store.catalog import Catalog

log = logging.getLogger(__name__)

NS = {
    "x": "adobe:ns:meta/",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "dc": "http://purl.org/dc/elements/1.1/",
    "lr": "http://ns.adobe.com/lightroom/1.0/",
    "mwg-rs": "http://www.metadataworkinggroup.com/schemas/regions/",
    "stDim": "http://ns.adobe.com/xap/1.0/sType/Dimensions#",
    "stArea": "http://ns.adobe.com/xmp/sType/Area#",
}
_EXTRA_PREFIXES = {
    "xmp": "http://ns.adobe.com/xap/1.0/",
    "tiff": "http://ns.adobe.com/tiff/1.0/",
    "exif": "http://ns.adobe.com/exif/1.0/",
    "photoshop": "http://ns.adobe.com/photoshop/1.0/",
    "xmpMM": "http://ns.adobe.com/xap/1.0/mm/",
    "stEvt": "http://ns.adobe.com/xap/1.0/sType/ResourceEvent#",
    "stRef": "http://ns.adobe.com/xap/1.0/sType/ResourceRef#",
    "crs": "http://ns.adobe.com/camera-raw-settings/1.0/",
    "digiKam": "http://www.digikam.org/ns/1.0/",
    "MicrosoftPhoto": "http://ns.microsoft.com/photo/1.0/",
    "MP": "http://ns.microsoft.com/photo/1.2/",
    "MPRI": "http://ns.microsoft.com/photo/1.2/t/RegionInfo#",
    "MPReg": "http://ns.microsoft.com/photo/1.2/t/Region#",
    "Iptc4xmpCore": "http://iptc.org/std/Iptc4xmpCore/1.0/xmlns/",
    "xmpRights": "http://ns.adobe.com/xap/1.0/rights/",
}
for _prefix, _uri in {**NS, **_EXTRA_PREFIXES}.items():
    ET.register_namespace(_prefix, _uri)

_PACKET_START = '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
_PACKET_END = '\n<?xpacket end="w"?>\n'


_ALL_NS = {**NS, **_EXTRA_PREFIXES}


def _q(prefix: str, local: str) -> str:
    return f"{{{_ALL_NS[prefix]}}}{local}"


# photoorg's name of a field -> its XMP property; title / caption are language alternatives
META_PROPERTIES = {
    "rating": "xmp:Rating",
    "label": "xmp:Label",
    "title": "dc:title",
    "caption": "dc:description",
}


class SidecarError(RuntimeError):
    """A sidecar cannot be written (unreadable existing file, photo path is an .xmp ...)."""


@dataclass(frozen=True)
class FaceRegion:
    """A named face: box top-left ``x, y`` and size ``w, h``, normalised to the displayed
    (EXIF-oriented) image -- the convention of the ``faces`` table."""

    name: str
    x: float
    y: float
    w: float
    h: float
    type: str = "Face"

    @property
    def box(self) -> tuple[float, float, float, float]:
        return (self.x, self.y, self.w, self.h)


class SidecarData(NamedTuple):
    """What a sidecar says: leaf keywords, hierarchical keywords, face regions."""

    keywords: list[str]
    hierarchical: list[str]
    faces: list[FaceRegion]


# -- paths --------------------------------------------------------------------------------


def sidecar_path(photo_path: str | os.PathLike[str]) -> Path:
    """Where we write a photo's sidecar: ``IMG_1.jpg`` -> ``IMG_1.jpg.xmp``."""
    path = Path(photo_path)
    return path.with_name(path.name + ".xmp")


def lightroom_sidecar_path(photo_path: str | os.PathLike[str]) -> Path:
    """Lightroom's name for it: ``IMG_1.jpg`` -> ``IMG_1.xmp``."""
    return Path(photo_path).with_suffix(".xmp")


def _existing(path: Path) -> Path | None:
    """``path`` or a case variant of its suffix (``.XMP``) that exists."""
    for candidate in (path, path.with_suffix(".XMP")):
        if candidate.is_file():
            return candidate
    return None


def find_sidecars(photo_path: str | os.PathLike[str]) -> list[Path]:
    """Existing sidecars of a photo, ours (``.jpg.xmp``) first, then Lightroom's."""
    found = []
    for candidate in (sidecar_path(photo_path), lightroom_sidecar_path(photo_path)):
        hit = _existing(candidate)
        if hit is not None and hit not in found:
            found.append(hit)
    return found


# -- orientation --------------------------------------------------------------------------

# EXIF orientation -> where a point (x, y) of the stored image lands in the displayed one
# (normalised coordinates). Checked against Pillow's exif_transpose in the tests.
_STORED_TO_DISPLAYED = {
    1: lambda x, y: (x, y),
    2: lambda x, y: (1 - x, y),
    3: lambda x, y: (1 - x, 1 - y),
    4: lambda x, y: (x, 1 - y),
    5: lambda x, y: (y, x),
    6: lambda x, y: (1 - y, x),
    7: lambda x, y: (1 - y, 1 - x),
    8: lambda x, y: (y, 1 - x),
}
_INVERSE = {1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 6: 8, 7: 7, 8: 6}


def _map_box(
    box: tuple[float, float, float, float], orientation: int
) -> tuple[float, float, float, float]:
    fn = _STORED_TO_DISPLAYED.get(orientation, _STORED_TO_DISPLAYED[1])
    x, y, w, h = box
    pts = [fn(x, y), fn(x + w, y + h)]
    x0, x1 = sorted(p[0] for p in pts)
    y0, y1 = sorted(p[1] for p in pts)
    return (x0, y0, x1 - x0, y1 - y0)


def stored_to_displayed(
    box: tuple[float, float, float, float], orientation: int
) -> tuple[float, float, float, float]:
    """A normalised top-left box on the stored pixel grid -> the same box as displayed."""
    return _map_box(box, orientation)


def displayed_to_stored(
    box: tuple[float, float, float, float], orientation: int
) -> tuple[float, float, float, float]:
    """A normalised top-left box as displayed -> the same box on the stored pixel grid."""
    return _map_box(box, _INVERSE.get(orientation, 1))


def read_orientation(photo_path: str | os.PathLike[str]) -> tuple[int, tuple[int, int] | None]:
    """(EXIF orientation, stored pixel size) of a photo, read-only; (1, None) if unknown."""
    from PIL import Image

    try:
        with Image.open(photo_path) as im:
            value = im.getexif().get(0x0112, 1)
            orientation = int(value) if isinstance(value, int) and 1 <= value <= 8 else 1
            return orientation, im.size
    except Exception:  # any decoder failure: assume upright, size unknown
        return 1, None


# -- writing ------------------------------------------------------------------------------


def _leaf_keywords(hierarchical: Iterable[str]) -> list[str]:
    return [tag.split("|")[-1].strip() for tag in hierarchical if tag.split("|")[-1].strip()]


def _unique(values: Iterable[str]) -> list[str]:
    seen: set[str] = set()
    out = []
    for value in values:
        value = value.strip()
        if value and value.casefold() not in seen:
            seen.add(value.casefold())
            out.append(value)
    return out


def _fmt(value: float) -> str:
    return f"{min(1.0, max(0.0, value)):.6f}".rstrip("0").rstrip(".") or "0"


def _bag(parent: ET.Element, tag: str, items: Sequence[str]) -> None:
    prop = ET.SubElement(parent, tag)
    bag = ET.SubElement(prop, _q("rdf", "Bag"))
    for item in items:
        ET.SubElement(bag, _q("rdf", "li")).text = item


def _seq(parent: ET.Element, tag: str, items: Sequence[str]) -> None:
    prop = ET.SubElement(parent, tag)
    seq = ET.SubElement(prop, _q("rdf", "Seq"))
    for item in items:
        ET.SubElement(seq, _q("rdf", "li")).text = item


def _resource(parent: ET.Element, tag: str) -> ET.Element:
    elem = ET.SubElement(parent, tag)
    elem.set(_q("rdf", "parseType"), "Resource")
    return elem


def _load_tree(path: Path | None) -> ET.Element:
    if path is not None and path.is_file():
        try:
            root = ET.fromstring(path.read_bytes())
        except ET.ParseError as exc:
            raise SidecarError(f"cannot parse existing sidecar {path}: {exc}") from exc
        if root.tag == _q("rdf", "RDF"):
            meta = ET.Element(_q("x", "xmpmeta"))
            meta.append(root)
            root = meta
        if root.tag == _q("x", "xmpmeta") and root.find(_q("rdf", "RDF")) is not None:
            return root
        raise SidecarError(f"{path} is not an XMP packet")
    root = ET.Element(_q("x", "xmpmeta"))
    ET.SubElement(root, _q("rdf", "RDF"))
    return root


def write_sidecar(
    photo_path: str | os.PathLike[str],
    keywords: Sequence[str] | None,
    hierarchical: Sequence[str],
    faces: Sequence[FaceRegion | tuple[str, Sequence[float]]] = (),
    image_size: tuple[int, int] | None = None,
    orientation: int = 1,
    meta: Mapping[str, str | int | None] | None = None,
) -> Path:
    """Write (or update) ``<photo>.xmp`` with keywords, hierarchical keywords and faces.

    Hierarchical keywords are written twice: ``lr:hierarchicalSubject`` (``|``, Lightroom)
    and ``digiKam:TagsList`` (``/``, so digiKam shows the hierarchy). ``meta``: rating,
    label, title, caption to write (see :data:`META_PROPERTIES`); a None value removes
    the property, a field not given is left as the sidecar has it.

    ``keywords``: ``dc:subject`` (None: the leaves of ``hierarchical``);
    ``faces``: ``FaceRegion``s or ``(name, (x, y, w, h))`` with a top-left box normalised
    to the displayed (oriented) image -- the complete list of face regions;
    ``image_size``: displayed (width, height); ``orientation``: the photo's EXIF
    orientation. The photo itself is never opened for writing. Other content of an
    existing sidecar (ratings, regions that are not faces ...) is kept. Returns its path.
    """
    photo = Path(photo_path)
    if photo.suffix.lower() == ".xmp":
        raise SidecarError(f"{photo} is a sidecar, not a photo")
    target = sidecar_path(photo)
    existing = _existing(target)
    root = _load_tree(existing)
    old = _read_xmp_file(existing) if existing is not None else {}

    hier = _unique(hierarchical)
    words = _unique(_leaf_keywords(hier) if keywords is None else keywords)
    regions = [
        f if isinstance(f, FaceRegion) else FaceRegion(f[0], *(float(v) for v in f[1]))
        for f in faces
    ]
    stored = [(r, displayed_to_stored(r.box, orientation)) for r in regions]
    keep = [r for r in _parse_regions(old) if r[1].casefold() != "face"]

    rdf = root.find(_q("rdf", "RDF"))
    assert rdf is not None
    descriptions = rdf.findall(_q("rdf", "Description"))
    meta = dict(meta or {})
    replaced = ["dc:subject", "lr:hierarchicalSubject", "digiKam:TagsList", "mwg-rs:Regions"]
    replaced += [META_PROPERTIES[name] for name in meta]
    for desc in descriptions:
        for prop in replaced:
            prefix, local = prop.split(":")
            for child in desc.findall(_q(prefix, local)):
                desc.remove(child)
            desc.attrib.pop(_q(prefix, local), None)
    if descriptions:
        desc = descriptions[0]
    else:
        desc = ET.SubElement(rdf, _q("rdf", "Description"))
        desc.set(_q("rdf", "about"), "")
    if words:
        _bag(desc, _q("dc", "subject"), words)
    if hier:
        _bag(desc, _q("lr", "hierarchicalSubject"), hier)
        _seq(desc, _q("digiKam", "TagsList"), [t.replace("|", "/") for t in hier])
    for name, value in meta.items():
        if value is None or str(value).strip() == "":
            continue
        prefix, local = META_PROPERTIES[name].split(":")
        if prefix == "dc":
            alt = ET.SubElement(ET.SubElement(desc, _q(prefix, local)), _q("rdf", "Alt"))
            li = ET.SubElement(alt, _q("rdf", "li"))
            li.set("{http://www.w3.org/XML/1998/namespace}lang", "x-default")
            li.text = str(value)
        else:
            ET.SubElement(desc, _q(prefix, local)).text = str(value)
    all_regions = [(r.name, r.type, box) for r, box in stored] + keep
    if all_regions:
        regs = _resource(desc, _q("mwg-rs", "Regions"))
        if image_size is not None:
            w, h = image_size
            if orientation in (5, 6, 7, 8):
                w, h = h, w
            dims = _resource(regs, _q("mwg-rs", "AppliedToDimensions"))
            ET.SubElement(dims, _q("stDim", "w")).text = str(int(w))
            ET.SubElement(dims, _q("stDim", "h")).text = str(int(h))
            ET.SubElement(dims, _q("stDim", "unit")).text = "pixel"
        bag = ET.SubElement(ET.SubElement(regs, _q("mwg-rs", "RegionList")), _q("rdf", "Bag"))
        for name, kind, (x, y, bw, bh) in all_regions:
            li = _resource(bag, _q("rdf", "li"))
            if name:
                ET.SubElement(li, _q("mwg-rs", "Name")).text = name
            ET.SubElement(li, _q("mwg-rs", "Type")).text = kind
            area = _resource(li, _q("mwg-rs", "Area"))
            for key, value in (("x", x + bw / 2), ("y", y + bh / 2), ("w", bw), ("h", bh)):
                ET.SubElement(area, _q("stArea", key)).text = _fmt(value)
            ET.SubElement(area, _q("stArea", "unit")).text = "normalized"

    ET.indent(root, space=" ")
    text = _PACKET_START + ET.tostring(root, encoding="unicode") + _PACKET_END
    _atomic_write(existing or target, text.encode("utf-8"))
    return existing or target


def _atomic_write(path: Path, data: bytes) -> None:
    """Write beside, then replace. The file gets the mode of the one it replaces, or the
    user's normal mode for a new file (0666 less the umask), not mkstemp's private 0600."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        try:
            mode = path.stat().st_mode & 0o7777
        except OSError:
            mode = 0o666 & ~_umask()
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _umask() -> int:
    """The process umask, read without changing it where the OS says it (Linux), else by
    setting and restoring it (a moment other threads creating files could notice)."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    old = os.umask(0o022)
    os.umask(old)
    return old


# -- reading ------------------------------------------------------------------------------


def _read_xmp_file(path: Path) -> dict[str, Any]:
    import pyexiv2

    try:
        with pyexiv2.Image(str(path)) as img:
            return img.read_xmp()
    except (RuntimeError, OSError) as exc:
        log.warning("cannot read sidecar %s: %s", path, exc)
        return {}


_REGION_KEY = re.compile(
    r"^Xmp\.mwg-rs\.Regions/mwg-rs:RegionList\[(\d+)\]/(?:mwg-rs:(\w+)|mwg-rs:Area/stArea:(\w+))$"
)


def _parse_regions(
    xmp: dict[str, Any],
) -> list[tuple[str, str, tuple[float, float, float, float]]]:
    """(name, type, top-left box on the stored grid) of every normalised MWG region."""
    items: dict[int, dict[str, str]] = {}
    for key, value in xmp.items():
        m = _REGION_KEY.match(key)
        if m and isinstance(value, str):
            field = m.group(2) or "area_" + (m.group(3) or "")
            items.setdefault(int(m.group(1)), {})[field] = value
    out = []
    for _, item in sorted(items.items()):
        if item.get("area_unit", "normalized").lower() != "normalized":
            continue
        try:
            cx, cy = float(item["area_x"]), float(item["area_y"])
            w, h = float(item.get("area_w", 0)), float(item.get("area_h", 0))
        except (KeyError, ValueError):
            continue
        out.append((item.get("Name", ""), item.get("Type", "Face"), (cx - w / 2, cy - h / 2, w, h)))
    return out


def _applied_dims(xmp: dict[str, Any]) -> tuple[int, int] | None:
    base = "Xmp.mwg-rs.Regions/mwg-rs:AppliedToDimensions/stDim:"
    try:
        return int(float(xmp[base + "w"])), int(float(xmp[base + "h"]))
    except (KeyError, ValueError, TypeError):
        return None


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    if isinstance(value, dict):
        return [str(v) for v in value.values()]
    return [str(v) for v in value]


def read_sidecar(
    photo_path: str | os.PathLike[str], orientation: int | None = None
) -> SidecarData:
    """Keywords, hierarchical keywords and named face regions (boxes in displayed
    coordinates) from the photo's sidecars (``IMG_1.jpg.xmp`` and ``IMG_1.xmp``).
    ``orientation``: the photo's EXIF orientation (read from the photo if None)."""
    paths = find_sidecars(photo_path)
    if not paths:
        return SidecarData([], [], [])
    stored_size: tuple[int, int] | None = None
    if orientation is None:
        orientation, stored_size = read_orientation(photo_path)
    keywords: list[str] = []
    hierarchical: list[str] = []
    faces: list[FaceRegion] = []
    face_names: set[str] = set()
    for path in paths:  # ours first: it wins on faces of the same name
        xmp = _read_xmp_file(path)
        keywords += _as_list(xmp.get("Xmp.dc.subject"))
        hier = _as_list(xmp.get("Xmp.lr.hierarchicalSubject"))
        if not hier:  # digiKam's own list uses '/'
            hier = [t.replace("/", "|") for t in _as_list(xmp.get("Xmp.digiKam.TagsList"))]
        hierarchical += hier
        applied = _applied_dims(xmp)
        as_displayed = (
            orientation in (5, 6, 7, 8)
            and applied is not None
            and stored_size is not None
            and applied == (stored_size[1], stored_size[0])
            and applied != stored_size
        )
        for name, kind, box in _parse_regions(xmp):
            if kind.casefold() != "face" or not name or name.casefold() in face_names:
                continue
            x, y, w, h = box if as_displayed else stored_to_displayed(box, orientation)
            faces.append(FaceRegion(name, x, y, w, h))
            face_names.add(name.casefold())
    return SidecarData(_unique(keywords), _unique(hierarchical), faces)


def face_hints(photo_path: str | os.PathLike[str]) -> list[FaceRegion]:
    """Named face regions of a photo's sidecars, in displayed coordinates (for the face
    pass: a detected face overlapping one is that person)."""
    return read_sidecar(photo_path).faces


def match_face_hints(
    boxes: Sequence[tuple[float, float, float, float]],
    hints: Sequence[FaceRegion],
    min_iou: float = 0.3,
) -> dict[int, str]:
    """Detected face boxes (top-left, normalised, displayed) -> the sidecar name of the
    best-overlapping region (IoU >= ``min_iou``), each region used once."""
    matches = match_boxes(boxes, [hint.box for hint in hints], min_iou)
    return {i: hints[j].name for i, j in matches.items()}


# -- moving -------------------------------------------------------------------------------


def move_sidecar(
    old_photo_path: str | os.PathLike[str], new_photo_path: str | os.PathLike[str]
) -> list[Path]:
    """A photo moved or was renamed: move its sidecars along (never over an existing
    file). A Lightroom-style ``IMG_1.xmp`` still used by a sibling (``IMG_1.cr2``) is
    copied, not moved. Returns the new sidecar paths."""
    old, new = Path(old_photo_path), Path(new_photo_path)
    moved = []
    pairs = [
        (sidecar_path(old), sidecar_path(new), False),
        (lightroom_sidecar_path(old), lightroom_sidecar_path(new), True),
    ]
    for src_name, dst, shared_name in pairs:
        src = _existing(src_name)
        if src is None or dst.exists() or src == dst:
            continue
        dst = dst.with_suffix(src.suffix) if src.suffix != ".xmp" else dst
        if dst.exists():
            continue
        dst.parent.mkdir(parents=True, exist_ok=True)
        siblings = shared_name and any(
            p != old and p.suffix.lower() != ".xmp" and p.is_file()
            for p in old.parent.glob(glob_escape(old.stem) + ".*")
        )
        if siblings:
            shutil.copy2(src, dst)
        else:
            shutil.move(src, dst)
        moved.append(dst)
    return moved


def glob_escape(text: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", text)


# -- catalog side ---------------------------------------------------------------------------


def import_sidecar(
    cat: Catalog, photo_id: int, photo_path: str | os.PathLike[str] | None = None
) -> SidecarData:
    """Read a new photo's sidecars into the catalog: their keywords become tags (source
    'xmp'); hierarchical keywords as they are, flat ones unless they only repeat a level
    of a hierarchical one. Face regions are returned as named hints for the face pass
    (see :func:`match_face_hints`). Safe to call again."""
    from photoorg.core.groups.clusters import add_tag

    if photo_path is None:
        row = cat.photo(photo_id)
        if row is None:
            return SidecarData([], [], [])
        photo_path = row.path
    data = read_sidecar(photo_path)
    levels = {part.strip().casefold() for tag in data.hierarchical for part in tag.split("|")}
    tags = list(data.hierarchical) + [k for k in data.keywords if k.casefold() not in levels]
    for tag in _unique(tags):
        add_tag(cat, [photo_id], tag, source="xmp")
    return data


def sync_sidecars(cat: Catalog, photo_ids: Iterable[int]) -> int:
    """Write the sidecars of these photos from the catalog: all tags, named faces, and
    face regions already there that no detected face contradicts. Photos with nothing to
    say and no sidecar yet get none. Returns how many sidecars were written."""
    from photoorg.core.groups.clusters import tags_for_photos
    from photoorg.core.store.photo_meta import note_written, photo_metas

    ids = sorted({int(p) for p in photo_ids})
    paths = cat.paths_for_ids(ids)
    tags = tags_for_photos(cat, ids)
    metas = photo_metas(cat, ids)
    unreadable = {pid for (pid,) in cat.query("SELECT id FROM photos WHERE status = 'skipped'")}
    written = 0
    for pid in ids:
        path = paths.get(pid)
        if path is None or not path.is_file():
            continue  # offline or gone: nothing to write next to
        if pid in unreadable:
            continue  # no image there (a broken file, a text file named .jpg): no sidecar
        rows = cat.query(
            "SELECT f.x, f.y, f.w, f.h, c.name FROM faces f LEFT JOIN clusters c ON "
            "c.id = f.cluster_id WHERE f.photo_id = ? ORDER BY f.id",
            (pid,),
        )
        faces = [FaceRegion(name, x, y, w, h) for x, y, w, h, name in rows if name]
        known = {f.name.casefold() for f in faces}
        # regions already in the sidecar stay unless a face we know is there now (named:
        # we write ours; unnamed: the user took the name away) or the name moved
        # so do named regions imported from the photo that no detected face took
        imported = [FaceRegion(*r) for r in cat.query(
            "SELECT name, x, y, w, h FROM photo_regions WHERE photo_id = ? AND face_id IS NULL "
            "ORDER BY id", (pid,))]
        for hint in [*read_sidecar(path).faces, *imported]:
            if hint.name.casefold() not in known and not any(
                iou(hint.box, r[:4]) > 0.3 for r in rows
            ):
                faces.append(hint)
                known.add(hint.name.casefold())
        m = metas[pid]
        # what photoorg knows (the user's or imported); a field nobody set stays as it is
        meta = {name: getattr(m, name) for name in META_PROPERTIES if name in m.sources}
        if not tags[pid] and not faces and not any(meta.values()) and not find_sidecars(path):
            continue
        size = cat.execute("SELECT width, height FROM photos WHERE id = ?", (pid,)).fetchone()
        orientation, stored = read_orientation(path)
        image_size = (size[0], size[1]) if size and size[0] and size[1] else None
        if image_size is None and stored is not None:
            image_size = stored[::-1] if orientation in (5, 6, 7, 8) else stored
        try:
            write_sidecar(path, None, tags[pid], faces, image_size, orientation, meta)
            note_written(cat, pid, [*tags[pid], *(f"People|{f.name}" for f in faces)])
            written += 1
        except (SidecarError, OSError) as exc:
            log.warning("cannot write sidecar of %s: %s", path, exc)
    return written
