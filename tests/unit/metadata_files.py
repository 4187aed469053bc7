"""Test photos whose metadata other tools wrote: exiftool (the reference writer) in one
batch, and hand-made broken files for the tolerant-reading cases."""

from __future__ import annotations

import shutil
import struct
import subprocess
from pathlib import Path

import pytest
from PIL import Image

EXIFTOOL = shutil.which("exiftool")
needs_exiftool = pytest.mark.skipif(
    EXIFTOOL is None, reason="exiftool not installed (Debian: libimage-exiftool-perl)")


def blank_jpeg(path: Path, size: tuple[int, int] = (120, 80), orientation: int = 1) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    exif = Image.Exif()
    if orientation != 1:
        exif[0x0112] = orientation
    Image.new("RGB", size, (90, 140, 200)).save(path, quality=90, exif=exif)
    return path


def exiftool_batch(jobs: list[tuple[Path, list[str]]]) -> None:
    """Write each ``(file, exiftool arguments)`` with ONE exiftool process (``-execute``);
    a file that does not exist and ends in .xmp is created as an XMP sidecar."""
    assert EXIFTOOL is not None
    lines: list[str] = []
    for target, args in jobs:
        lines += ["-q", "-overwrite_original", *args, str(target), "-execute"]
    argfile = jobs[0][0].parent / "exiftool.args"
    argfile.write_text("\n".join(lines) + "\n", encoding="utf-8")
    subprocess.run([EXIFTOOL, "-charset", "filename=utf8", "-@", str(argfile)],
                   check=True, capture_output=True, timeout=120)
    argfile.unlink()


def exiftool_json(path: Path, *tags: str) -> dict:
    """What exiftool reads from a file (``-struct -j``), one dict."""
    import json

    assert EXIFTOOL is not None
    out = subprocess.run([EXIFTOOL, "-j", "-struct", "-n", *tags, str(path)],
                         check=True, capture_output=True, text=True, timeout=60).stdout
    return json.loads(out)[0]


def inject_xmp(src: Path, dst: Path, packet: bytes) -> Path:
    """Copy a JPEG with an XMP APP1 segment we wrote ourselves (no toolkit vetting it)."""
    data = src.read_bytes()
    payload = b"http://ns.adobe.com/xap/1.0/\x00" + packet
    segment = b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload
    dst.write_bytes(data[:2] + segment + data[2:])
    return dst


def xmp_packet(body: str) -> bytes:
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
        'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\n'
        '<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns:xmp="http://ns.adobe.com/xap/1.0/" '
        'xmlns:mwg-rs="http://www.metadataworkinggroup.com/schemas/regions/" '
        'xmlns:stArea="http://ns.adobe.com/xmp/sType/Area#">\n'
        f"{body}\n</rdf:Description></rdf:RDF></x:xmpmeta>\n"
        '<?xpacket end="w"?>'
    ).encode()


def mwg_region(name: str, cx: float, cy: float, w: float, h: float) -> str:
    """exiftool's struct syntax for one MWG face region (x, y: the centre)."""
    return (f"{{Area={{X={cx},Y={cy},W={w},H={h},Unit=normalized}},Name={name},Type=Face}}")


def mwg_args(regions: list[str], size: tuple[int, int]) -> list[str]:
    return [
        f"-XMP-mwg-rs:RegionInfo={{AppliedToDimensions={{W={size[0]},H={size[1]},"
        f"Unit=pixel}},RegionList=[{','.join(regions)}]}}"
    ]
