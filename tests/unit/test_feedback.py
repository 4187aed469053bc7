"""More like these / less like those (Rocchio) over a real indexed library (tiny CLIP)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from photoorg.core.groups import clusters as cl
from photoorg.core.ingest.indexer import Indexer
from photoorg.core.ingest.scanner import scan_library
from photoorg.core.media.synthetic import draw_shape_image, write_sample_library
from photoorg.core.models.embedder import TEST_MODEL, load_embedder, weights_available
from photoorg.core.search import feedback as fb
from photoorg.core.search.engine import SearchIndex
from photoorg.core.store.catalog import Catalog

pytestmark = pytest.mark.skipif(not weights_available(TEST_MODEL), reason="tiny model missing")


@pytest.fixture(scope="module")
def lib(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("feedback")
    photos = root / "photos"
    write_sample_library(photos, per_class=3, seed=21, size=96)
    cat = Catalog(root / "data" / "catalog.sqlite")
    cat.add_root(photos)
    scan_library(cat)
    embedder = load_embedder(TEST_MODEL, threads=1)
    Indexer(cat, embedder).run()
    yield cat, photos, embedder, root
    cat.close()


def pid(cat: Catalog, name: str) -> int:
    found = next(i for i, rel in cat.query("SELECT id, rel_path FROM photos")
                 if Path(rel).name == name)
    return int(found)


def names(hits: list) -> list[str]:
    return [h.path.name for h in hits]


def test_rocchio_vector_is_the_weighted_difference() -> None:
    pos = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    neg = np.array([[0.0, 1.0, 0.0]])
    q = fb.rocchio_vector(pos, neg)
    expected = 0.75 * np.array([0.5, 0.5, 0.0]) - 0.25 * np.array([0.0, 1.0, 0.0])
    np.testing.assert_allclose(q, expected / np.linalg.norm(expected), rtol=1e-6)
    assert fb.rocchio_vector(pos, None)[0] == pytest.approx(fb.rocchio_vector(pos, None)[1])


def test_less_like_those_pushes_them_down(lib) -> None:
    cat, _, _, _ = lib
    seeds = [pid(cat, "red_circle_0.jpg"), pid(cat, "red_square_0.jpg")]
    with SearchIndex(cat) as index:
        plain = fb.more_like_these(index, fb.Feedback(tuple(seeds)), k=100)
        pushed = fb.more_like_these(
            index, fb.Feedback(tuple(seeds), (pid(cat, "red_square_1.jpg"),)), k=100)
        # the query really is the Rocchio vector over the stored vectors
        vecs = {p: cat.vector(p, cat.active_model().id) for p in (*seeds,
                pid(cat, "red_square_1.jpg"))}
        expected = fb.rocchio_vector(np.stack([vecs[s] for s in seeds]),
                                     vecs[pid(cat, "red_square_1.jpg")][None, :])
        got = index.query_vector(
            fb.Feedback(tuple(seeds), (pid(cat, "red_square_1.jpg"),)).to_query())
    np.testing.assert_allclose(got, expected, atol=1e-5)
    # the other red square falls behind the red circles it was level with
    score = {n: {h.path.name: h.score for h in hits} for n, hits in (("plain", plain),
                                                                       ("pushed", pushed))}
    gap = {n: score[n]["red_square_2.jpg"] - score[n]["red_circle_2.jpg"] for n in score}
    assert gap["pushed"] < gap["plain"] - 0.01, gap
    # every other photo's score changes by its similarity to the negative: squares drop most
    drop = {n: score["plain"][n] - score["pushed"][n] for n in score["pushed"]}
    squares = [d for n, d in drop.items() if "square" in n]
    others = [d for n, d in drop.items() if "square" not in n]
    assert np.mean(squares) > np.mean(others)
    assert "red_square_1.jpg" not in names(pushed)  # marked "less like": left out
    assert "red_square_1.jpg" in names(plain)


def test_refine_moves_photos_between_sides() -> None:
    f = fb.Feedback((1, 2)).refine(less=[5]).refine(more=[7], less=[2])
    assert f.positive == (1, 7) and f.negative == (5, 2)
    assert f.refine(more=[5]).negative == (2,)


def test_saved_album_stays_current(lib) -> None:
    cat, photos, embedder, _ = lib
    seeds = (pid(cat, "blue_star_0.jpg"), pid(cat, "blue_star_1.jpg"))
    album = fb.save_album(cat, "Blue stars", fb.Feedback(seeds, (pid(cat, "blue_circle_0.jpg"),)),
                          k=4)
    resolver = fb.album_resolver()
    before = cl.album_photos(cat, "Blue stars", resolver=resolver)
    assert len(before) == 4 and set(seeds) <= set(before)
    assert cl.get_album(cat, "Blue stars").similar == album.similar
    # a new blue star arrives: it joins the album on the next read
    draw_shape_image("blue", "star", size=96, seed=4242).save(photos / "new_blue_star.jpg")
    scan_library(cat)
    Indexer(cat, embedder).run()
    after = cl.album_photos(cat, "Blue stars", resolver=resolver)
    assert pid(cat, "new_blue_star.jpg") in after and len(after) == 4
    with pytest.raises(cl.AlbumError):
        fb.album_resolver()(cat, cl.create_album(cat, "Plain search", query="blue"))


def test_cli_similar_many_and_not(lib) -> None:
    from tests.unit.test_cli_e2e import run_cli

    cat, photos, _, root = lib
    data = root / "data"
    a, b, c = (str(photos / n) for n in ("red_circle_0.jpg", "red_square_0.jpg",
                                         "red_square_1.jpg"))
    one = json.loads(run_cli(data, "similar", a, "-k", "3", "--json").stdout)
    assert all(set(h) >= {"path", "score"} for h in one) and one  # extra keys allowed
    assert one[0]["path"] == a and one[0]["score"] == pytest.approx(1.0, abs=1e-4)
    # --all: the Rocchio algebra is under test here, not the relevance cut-off
    plain = json.loads(run_cli(data, "similar", a, b, "-k", "100", "--all", "--json").stdout)
    pushed = json.loads(run_cli(data, "similar", a, b, "--not", c, "-k", "100", "--all",
                                "--json").stdout)
    gap = {}
    for label, hits in (("plain", plain), ("pushed", pushed)):
        score = {Path(h["path"]).name: h["score"] for h in hits}
        gap[label] = score["red_square_2.jpg"] - score["red_circle_2.jpg"]
    assert gap["pushed"] < gap["plain"] - 0.01, gap
    assert c not in [h["path"] for h in pushed] and c in [h["path"] for h in plain]
