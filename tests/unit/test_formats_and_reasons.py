"""Formats photoorg does not read are listed, never ignored silently; reasons are sentences
without Python internals; real files with big metadata chunks are read (issue 24)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image, PngImagePlugin

from photoorg.core.ingest.scanner import scan_library
from photoorg.core.media import imaging
from photoorg.core.store.catalog import Catalog

UNSUPPORTED = (".j2k", ".tga", ".sgi", ".eps", ".dds", ".avifs")


def test_a_png_with_a_big_xmp_chunk_is_read(tmp_path: Path) -> None:
    """A Photoshop export: 200x130 pixels, a 1.15 MB XMP text chunk (Pillow's default
    guard, 1 MB, called it truncated)."""
    packet = ("<x:xmpmeta xmlns:x='adobe:ns:meta/'>" + "<!-- history -->" * 72_000
              + "</x:xmpmeta>")
    assert len(packet) > 1_150_000
    info = PngImagePlugin.PngInfo()
    info.add_itxt("XML:com.adobe.xmp", packet, zip=True)  # compressed, as Photoshop writes
    path = tmp_path / "export.png"
    Image.new("RGB", (200, 130), "green").save(path, pnginfo=info)
    photo = imaging.decode_photo(path)
    assert (photo.info.width, photo.info.height) == (200, 130)


def test_a_text_chunk_past_the_guard_is_still_refused(tmp_path: Path) -> None:
    info = PngImagePlugin.PngInfo()
    info.add_itxt("XML:com.adobe.xmp", "x" * (17 * 1024 * 1024), zip=True)  # a bomb
    path = tmp_path / "bomb.png"
    Image.new("RGB", (20, 20)).save(path, pnginfo=info)
    assert path.stat().st_size < 100_000
    with pytest.raises(imaging.DecodeError, match="truncated or corrupt"):
        imaging.decode_photo(path)


def test_mpo_is_read(tmp_path: Path) -> None:
    path = tmp_path / "stereo.mpo"
    Image.new("RGB", (64, 48), "red").save(path, save_all=True,
                                            append_images=[Image.new("RGB", (64, 48))])
    assert imaging.is_supported(path)
    assert imaging.decode_photo(path).info.width == 64


@pytest.mark.parametrize("ext", UNSUPPORTED)
def test_unsupported_formats_are_listed_with_a_reason(tmp_path: Path, ext: str) -> None:
    path = tmp_path / f"picture{ext}"
    path.write_bytes(b"\x00" * 64)
    assert imaging.is_supported(path)  # the scanner lists it ...
    with pytest.raises(imaging.DecodeError) as caught:
        imaging.decode_photo(path)
    assert caught.value.reason.startswith("not supported (")  # ... as not supported


def test_unsupported_files_reach_couldnt_read(tmp_path: Path) -> None:
    from photoorg.core.ingest.indexer import Indexer
    from photoorg.core.models.embedder import TEST_MODEL, load_embedder, weights_available

    if not weights_available(TEST_MODEL):
        pytest.skip("tiny model missing")
    folder = tmp_path / "p"
    folder.mkdir()
    Image.new("RGB", (8, 8)).save(folder / "old.tga")
    (folder / "logo.eps").write_text("%!PS-Adobe-3.0 EPSF-3.0\n")
    (folder / "notes.jpg").write_text("not an image")
    with Catalog(tmp_path / "c.sqlite") as cat:
        cat.add_root(folder)
        scan_library(cat)
        Indexer(cat, load_embedder(TEST_MODEL)).run()
        skipped = {path.name: (reason, detail) for path, reason, detail in cat.skipped()}
    assert skipped["old.tga"][0] == "not supported (TGA)"
    assert skipped["logo.eps"][0] == "not supported (EPS)"
    reason, detail = skipped["notes.jpg"]
    assert "_io." not in detail and "<" not in detail, detail
