"""Search that knows what the library knows: places, tags, people's names, file names and
the words painted in photos (read by the real OCR models) rank first; CLIP-only results
end at a relevance cut-off. Real catalog, real indexer, the bundled tiny CLIP."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from photoorg.core.groups import clusters, grouping
from photoorg.core.ingest import ocr, pipeline
from photoorg.core.ingest.indexer import Indexer
from photoorg.core.ingest.scanner import scan_library
from photoorg.core.media.synthetic import draw_shape_image, write_sample_library
from photoorg.core.models.embedder import TEST_MODEL, load_embedder
from photoorg.core.search import textindex
from photoorg.core.search.engine import Filters, SearchIndex
from photoorg.core.search.library_search import search_library, similar_photos
from photoorg.core.store.catalog import Catalog

PARIS = (48.8566, 2.3522)
TOKYO = (35.6762, 139.6503)
WORDS = {"sign_0.jpg": "PLATFORM 9", "sign_1.jpg": "Boulangerie", "sign_2.jpg": "EXIT"}


def _gps_exif(lat: float, lon: float) -> Image.Exif:
    def dms(value: float) -> tuple[float, float, float]:
        value = abs(value)
        d = int(value)
        m = int((value - d) * 60)
        return (float(d), float(m), round((value - d - m / 60) * 3600, 4))

    exif = Image.Exif()
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = ("N" if lat >= 0 else "S"), dms(lat)
    gps[3], gps[4] = ("E" if lon >= 0 else "W"), dms(lon)
    return exif


def _painted(word: str, seed: int) -> Image.Image:
    """A shape picture with a sign on it (Pillow's bundled font: the same on every OS)."""
    image = draw_shape_image("blue", "square", size=256, seed=seed).resize((640, 480))
    draw = ImageDraw.Draw(image)
    draw.rectangle((30, 180, 610, 290), fill=(245, 243, 235))
    draw.text((50, 195), word, font=ImageFont.load_default(size=64), fill=(15, 15, 20))
    return image


class Lib:
    def __init__(self, folder: Path, data: Path) -> None:
        self.folder = folder
        self.data = data
        self.cat = Catalog(data / "catalog.sqlite")
        self.encoder = load_embedder(TEST_MODEL)
        self.drawn: dict[str, str] = {}  # img_NNN.jpg -> what it shows (red_circle_0.jpg)

    def id(self, name: str) -> int:
        pid = self.cat.photo_id_for_path(self.folder / name)
        assert pid is not None, name
        return pid

    def names(self, hits: list) -> list[str]:
        return [h.path.name for h in hits]


@pytest.fixture(scope="module")
def lib(tmp_path_factory: pytest.TempPathFactory) -> Lib:
    root = tmp_path_factory.mktemp("textsearch")
    folder, data = root / "photos", root / "data"
    src = root / "src"
    write_sample_library(src, per_class=1, seed=11)
    folder.mkdir()
    drawn = {}
    for i, path in enumerate(sorted(src.rglob("*.jpg"))):  # names that say nothing
        shutil.copy(path, folder / f"img_{i:03d}.jpg")
        drawn[f"img_{i:03d}.jpg"] = path.name
    for i, (lat, lon) in enumerate([PARIS] * 3 + [TOKYO] * 2):
        draw_shape_image("green", "circle", seed=100 + i).save(
            folder / f"trip_{i}.jpg", exif=_gps_exif(lat, lon), quality=90)
    for i, (name, word) in enumerate(WORDS.items()):
        _painted(word, seed=200 + i).save(folder / name, quality=92)
    out = Lib(folder, data)
    out.drawn = drawn
    cat = out.cat
    cat.add_root(folder)
    scan_library(cat)
    summary = Indexer(cat, out.encoder).run()
    assert summary.embedded == 24 + 5 + 3
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(ocr.ENV_READ_TEXT, "1")
        stage = pipeline.stage("text")  # the pipeline's last stage, as index/watch run it
        ctx = pipeline.RunContext(cat, None)  # type: ignore[arg-type] - needs no model
        assert stage.pending(ctx) == 32
        stage.run(ctx)
    assert ctx.summary.text_photos == 32 and stage.pending(ctx) == 0
    grouping.refresh_clusters(cat, "places")
    clusters.add_tag(cat, [out.id("img_003.jpg"), out.id("img_017.jpg")], "Keepers")
    person = clusters.create_cluster(cat, "people", "Barack Obama")
    for name in ("img_005.jpg", "img_020.jpg"):
        (face_id,) = cat.store_faces(out.id(name), [(0.3, 0.3, 0.2, 0.2, 0.99, 50.0,
                                                      np.ones(128, np.float32).tobytes())])
        cat.set_face_clusters([(face_id, person)])
    return out


def _first(lib: Lib, query: str, want: set[str], kind: str, k: int = 10) -> None:
    with SearchIndex(lib.cat, cache=False) as index:
        page = search_library(index, query, lib.encoder, k=k)
    top = page.hits[: len(want)]
    assert {h.path.name for h in top} == want, lib.names(page.hits)
    assert all(kind in h.matched for h in top)
    assert page.word_matches == len(want)


def test_a_place_puts_its_photos_first(lib: Lib) -> None:
    _first(lib, "Paris", {"trip_0.jpg", "trip_1.jpg", "trip_2.jpg"}, "place")
    _first(lib, "tokyo", {"trip_3.jpg", "trip_4.jpg"}, "place")  # any case
    _first(lib, "photos in Japan", {"trip_3.jpg", "trip_4.jpg"}, "place")  # the country


def test_a_tag_and_a_persons_name_put_their_photos_first(lib: Lib) -> None:
    _first(lib, "Keepers", {"img_003.jpg", "img_017.jpg"}, "tag")
    _first(lib, "Barack Obama", {"img_005.jpg", "img_020.jpg"}, "person")
    _first(lib, "obama", {"img_005.jpg", "img_020.jpg"}, "person")


def test_painted_words_are_read_and_found(lib: Lib) -> None:
    read = dict(lib.cat.query("SELECT p.rel_path, t.text FROM photo_text t "
                              "JOIN photos p ON p.id = t.photo_id WHERE t.text != ''"))
    def plain(text: str) -> str:  # the OCR may read "PLATFORM 9" as "PLATFORM9"
        return text.upper().replace(" ", "")

    assert {n: plain(read.get(n, "")) for n in WORDS} == {n: plain(w) for n, w in WORDS.items()}
    assert set(read) == set(WORDS), "text read where nothing is written"
    _first(lib, "boulangerie", {"sign_1.jpg"}, "text")
    _first(lib, "platform 9", {"sign_0.jpg"}, "text")
    _first(lib, "platform9", {"sign_0.jpg"}, "text")  # OCR spacing quirks both ways
    assert textindex.photo_text(lib.cat, lib.id("sign_2.jpg")) == "EXIT"
    with SearchIndex(lib.cat, cache=False) as index:
        page = search_library(index, "a photo of a blue square", lib.encoder, k=50,
                              filters=Filters(has_text=True), show_all=True)
    assert {h.path.name for h in page.hits} == set(WORDS)


def test_similarity_only_results_end(lib: Lib) -> None:
    total = len(lib.cat.query("SELECT id FROM photos"))
    with SearchIndex(lib.cat, cache=False) as index:
        page = search_library(index, "a photo of a red circle", lib.encoder, k=100)
        assert page.word_matches == 0  # no file, tag or place says "red circle"
        assert 0 < page.total < total // 3 and len(page.hits) == page.total
        assert lib.drawn[page.hits[0].path.name].startswith("red_circle")
        assert page.weaker_hidden and page.cutoff is not None
        assert all(h.score >= page.cutoff for h in page.hits)
        everything = search_library(index, "a photo of a red circle", lib.encoder, k=100,
                                    show_all=True)
        assert everything.total == total and len(everything.hits) == total
        assert [h.photo_id for h in everything.hits[: page.total]] == [
            h.photo_id for h in page.hits]
        # paging through the one list
        second = search_library(index, "a photo of a red circle", lib.encoder, k=2,
                                offset=1, show_all=True)
        assert [h.photo_id for h in second.hits] == [h.photo_id for h in everything.hits[1:3]]
        query = page.hits[0].photo_id
        similar = similar_photos(index, [query], k=100, include_self=True)
        assert similar.hits[0].photo_id == query
        assert 1 < similar.total < total // 3


def test_words_and_looks_in_one_ranking(lib: Lib) -> None:
    """A word match ranks above any photo that only looks like the query."""
    with SearchIndex(lib.cat, cache=False) as index:
        page = search_library(index, "a photo of a green circle in Paris", lib.encoder, k=10)
    assert {h.path.name for h in page.hits[:3]} == {"trip_0.jpg", "trip_1.jpg", "trip_2.jpg"}
    scores = [h.score for h in page.hits[:3]]
    assert scores == sorted(scores, reverse=True)  # CLIP orders within the word matches
    assert page.hits[3:] and all(not h.matched for h in page.hits[3:])


def test_index_follows_renames_tags_and_moves(lib: Lib, tmp_path: Path) -> None:
    cat = lib.cat
    keepers = {"img_003.jpg", "img_017.jpg"}
    cat.execute("UPDATE tags SET name = 'Best of' WHERE name = 'Keepers'")
    try:
        assert not len(textindex.match_text(cat, "keepers"))
        found = textindex.match_text(cat, "best")
        assert {cat.photo(int(p)).rel_path for p in found.ids} == keepers
    finally:
        cat.execute("UPDATE tags SET name = 'Keepers' WHERE name = 'Best of'")
    paris = cat.scalar("SELECT id FROM clusters WHERE auto_name = 'Paris, France'")
    clusters.name_cluster(cat, paris, "Honeymoon Zürich")
    try:
        assert len(textindex.match_text(cat, "honeymoon zurich")) == 3  # accents too
        assert len(textindex.match_text(cat, "paris")) == 3  # still its place
    finally:
        clusters.name_cluster(cat, paris, None)
    assert not len(textindex.match_text(cat, "honeymoon"))
    pid = lib.id("img_007.jpg")
    cat.move_photo(pid, cat.photo(pid).root_id, "holiday snaps/img_007.jpg", 0.0)
    try:
        assert textindex.match_text(cat, "holiday snaps").ids.tolist() == [pid]
    finally:
        cat.move_photo(pid, cat.photo(pid).root_id, "img_007.jpg", 0.0)
    assert not len(textindex.match_text(cat, "holiday"))


def test_suggestions_offer_people_places_tags(lib: Lib) -> None:
    offered = {(s.text, s.kind) for s in textindex.suggestions(lib.cat)}
    assert {("Barack Obama", "person"), ("Paris", "place"), ("France", "place"),
            ("Tokyo", "place"), ("Keepers", "tag")} <= offered


def test_ocr_terms_cover_spacing_quirks() -> None:
    terms = set(textindex.ocr_terms("PLATFORM 9\nCafé Gate12").split())
    assert {"platform", "9", "platform9", "cafe", "gate12", "gate", "12", "cafegate12"} <= terms
    assert textindex.words("A photo of the Eiffel tower") == ["eiffel", "tower"]


def test_ocr_failures_are_recorded_per_photo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                            ) -> None:
    monkeypatch.setenv(ocr.ENV_READ_TEXT, "1")
    folder = tmp_path / "p"
    folder.mkdir()
    _painted("EXIT", seed=1).save(folder / "a.jpg")
    _painted("OPEN", seed=2).save(folder / "b.jpg")
    with Catalog(tmp_path / "c.sqlite") as cat:
        cat.add_root(folder)
        scan_library(cat)
        cat.execute("UPDATE photos SET status = 'indexed'")
        (folder / "a.jpg").write_bytes(b"broken now")  # changed under the stage's feet
        assert ocr.text_stage(cat) == 2
        rows = dict(cat.query("SELECT p.rel_path, t.status || ':' || t.text FROM photo_text t "
                              "JOIN photos p ON p.id = t.photo_id"))
        assert rows == {"a.jpg": "failed:", "b.jpg": "done:OPEN"}
        assert ocr.text_stage(cat) == 1  # the failure is tried again on the next run ...
        assert ocr.text_stage(cat) == 0  # ... then waits; what was read is never read twice
        ocr.set_enabled(cat, False)
        cat.execute("DELETE FROM photo_text")
        assert ocr.text_stage(cat) == 0  # the setting turns the stage off


def _cli(capsys: pytest.CaptureFixture[str], data: Path, *args: str) -> tuple[int, str]:
    """The real CLI, in this process (torch is loaded once for the whole module)."""
    from photoorg.cli import main

    capsys.readouterr()
    code = main(["--data-dir", str(data), *args])
    return code, capsys.readouterr().out


def test_without_a_model_file_names_still_answer(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """First run offline: the default model's weights are not here, the pipeline runs what
    needs no model, and search by file name works."""
    photos = tmp_path / "photos"
    write_sample_library(photos, per_class=1, seed=3)
    data = tmp_path / "data"
    _cli(capsys, data, "index", str(photos))  # no weights here: nothing embedded
    code, out = _cli(capsys, data, "search", "red circle", "--json")
    assert code == 0
    hits = json.loads(out)
    assert [Path(h["path"]).name for h in hits] == ["red_circle_0.jpg"]
    assert hits[0]["matched"] == ["file"] and set(hits[0]) >= {"path", "score"}


def test_cli_search_json_and_all(lib: Lib, capsys: pytest.CaptureFixture[str]) -> None:
    hits = json.loads(_cli(capsys, lib.data, "search", "Paris", "--json")[1])
    assert {Path(h["path"]).name for h in hits[:3]} == {"trip_0.jpg", "trip_1.jpg",
                                                         "trip_2.jpg"}
    assert hits[0]["matched"] == ["place"] and isinstance(hits[0]["score"], float)
    total = len(lib.cat.query("SELECT id FROM photos"))
    assert len(hits) < total
    everything = json.loads(_cli(capsys, lib.data, "search", "Paris", "--all", "-k", "100",
                                 "--json")[1])
    assert len(everything) == total
    out = _cli(capsys, lib.data, "search", "boulangerie", "--has-text", "--json")[1]
    assert [Path(h["path"]).name for h in json.loads(out)][:1] == ["sign_1.jpg"]
