"""Nothing from another tool's metadata is stored whole past a bound (issue 24): a hostile
sidecar (huge packet, thousands of keywords, megabyte values, entity declarations) costs
the catalog a few kB per photo and says what was cut."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from metadata_files import blank_jpeg, xmp_packet

from photoorg.core.ingest.scanner import scan_library
from photoorg.core.metadata import importer as metadata_import
from photoorg.core.metadata import read as metadata
from photoorg.core.metadata import xmp
from photoorg.core.store.catalog import Catalog


def _bag(words: list[str]) -> str:
    items = "".join(f"<rdf:li>{w}</rdf:li>" for w in words)
    return f"<dc:subject><rdf:Bag>{items}</rdf:Bag></dc:subject>"


def _alt(tag: str, text: str) -> str:
    return (f'<dc:{tag}><rdf:Alt><rdf:li xml:lang="x-default">{text}</rdf:li></rdf:Alt>'
            f"</dc:{tag}>")


def _catalog_bytes(cat: Catalog) -> int:
    cat.conn.wal_checkpoint(mode=3)  # TRUNCATE: everything in the main file
    return os.path.getsize(cat.path)


def test_hostile_sidecars_are_bounded(tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    for name in ("plain", "huge", "many", "long", "entity"):
        blank_jpeg(photos / f"{name}.jpg")
    # 40 MB of 200 keywords of 200 kB each: refused before it is even read
    (photos / "huge.jpg.xmp").write_bytes(xmp_packet(_bag(["k" * 200_000] * 200)))
    # thousands of keywords, each fine alone
    (photos / "many.jpg.xmp").write_bytes(xmp_packet(_bag([f"word{i}" for i in range(5000)])))
    # megabyte values (under the packet bound)
    (photos / "long.jpg.xmp").write_bytes(xmp_packet(
        _alt("title", "T" * 1_000_000) + _alt("description", "D" * 1_000_000)
        + _bag(["ok", "x" * 500])))
    # entity declarations: never expanded
    (photos / "entity.jpg.xmp").write_bytes(
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "' + b"A" * 1000 + b'">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        + xmp_packet(_bag(["&b;"])))
    with Catalog(tmp_path / "c.sqlite") as cat:
        cat.add_root(photos)
        scan_library(cat)
        ids = dict(cat.query("SELECT rel_path, id FROM photos"))
        metadata_import.import_metadata(cat, [ids["plain.jpg"]])
        before = _catalog_bytes(cat)
        report = metadata_import.import_metadata(
            cat, [ids[f"{n}.jpg"] for n in ("huge", "many", "long", "entity")])
        grown = _catalog_bytes(cat) - before
        meta = {name: metadata.read_metadata(photos / name) for name in ids}

    print(f"catalog grew by {grown} bytes for 4 hostile photos")
    assert grown <= 4 * 16_384, grown  # a few kB per photo (pages of 4 kB)
    huge = meta["huge.jpg"]
    assert huge.keywords == [] and any("more than photoorg reads" in p for p in huge.problems)
    many = meta["many.jpg"]
    assert len(many.keywords) == metadata.MAX_KEYWORDS
    assert any("keywords past the first 200 skipped" in p for p in many.problems)
    long = meta["long.jpg"]
    assert long.keywords == ["ok"]
    assert len(long.title or "") == metadata.MAX_TITLE_CHARS
    assert len(long.caption or "") == metadata.MAX_CAPTION_CHARS
    assert any("caption of 1000000 characters cut" in p for p in long.problems)
    assert any("longer than 100 characters skipped" in p for p in long.problems)
    entity = meta["entity.jpg"]
    assert entity.keywords == [] and "A" * 100 not in str(entity)
    assert set(report.problems) == {ids[f"{n}.jpg"] for n in ("huge", "many", "long", "entity")}
    assert all(len(p) <= metadata.MAX_PROBLEM_CHARS for ps in report.problems.values()
               for p in ps)


def test_packets_past_the_bound_and_doctypes_are_refused() -> None:
    import pytest

    with pytest.raises(xmp.XmpError, match="more than photoorg reads"):
        xmp.parse(b" " + b"<x:xmpmeta>" + b"a" * (xmp.MAX_PACKET_BYTES + 1))
    with pytest.raises(xmp.XmpError, match="DOCTYPE"):
        xmp.parse(b'<!DOCTYPE r [<!ENTITY e "x">]><r>&e;</r>')


def test_the_same_problems_of_an_unchanged_file_are_logged_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    photos = tmp_path / "photos"
    photos.mkdir()
    blank_jpeg(photos / "a.jpg")
    (photos / "a.jpg.xmp").write_bytes(b"<x:xmpmeta><rdf:RDF>truncated")
    with Catalog(tmp_path / "c.sqlite") as cat:
        cat.add_root(photos)
        scan_library(cat)
        ids = [pid for (pid,) in cat.query("SELECT id FROM photos")]
        with caplog.at_level(logging.WARNING):
            for _ in range(3):  # three passes (the watcher re-reading, a rescan)
                report = metadata_import.import_metadata(cat, ids)
                assert report.problems  # still recorded every time
            assert sum("partly unreadable" in r.getMessage() for r in caplog.records) == 1
            (photos / "a.jpg.xmp").write_bytes(b"<x:xmpmeta><rdf:RDF>truncated again")
            os.utime(photos / "a.jpg.xmp")
            metadata_import.import_metadata(cat, ids)  # changed: said again
            assert sum("partly unreadable" in r.getMessage() for r in caplog.records) == 2
