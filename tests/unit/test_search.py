"""Search: exactness against brute force, filters, query algebra, staying in sync with the
catalog (also across connections and processes), paging, duplicates, the start-up cache."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from photoorg.core.search import engine as search_mod
from photoorg.core.search.engine import (
    F16_SCORE_ERROR,
    Filters,
    Query,
    QueryError,
    QueryPart,
    SearchIndex,
    find_duplicates,
    parse_query,
    to_timestamp,
)
from photoorg.core.store.catalog import Catalog

BACKENDS = ["torch", "numpy"]
DIM = 32


def unit(mat: np.ndarray) -> np.ndarray:
    mat = np.asarray(mat, np.float32)
    return mat / np.linalg.norm(mat, axis=-1, keepdims=True)


class FakeEncoder:
    """Texts map to fixed vectors; every image encodes to ``image_vector``."""

    def __init__(self, table: dict[str, np.ndarray], image_vector: np.ndarray | None = None):
        self.table = table
        self.dim = len(next(iter(table.values())))
        self.image_vector = image_vector
        self.image_size = 32

    def encode_texts(self, texts: list[str]) -> np.ndarray:
        return unit(np.stack([self.table[t] for t in texts]))

    def encode_images(self, images: list) -> np.ndarray:
        assert self.image_vector is not None
        return unit(np.stack([self.image_vector for _ in images]))


class Library:
    def __init__(self, tmp_path: Path, dim: int = DIM, spec: str = "test/fake") -> None:
        self.data = tmp_path / "data"
        self.photos = tmp_path / "photos"
        self.photos.mkdir(parents=True, exist_ok=True)
        self.cat = Catalog(self.data / "catalog.sqlite")
        self.root = self.cat.add_root(self.photos)
        self.model = self.cat.set_target_model(spec, dim)
        self.dim = dim
        self.added = 0

    def add(self, vectors: np.ndarray, rels: list[str] | None = None) -> list[int]:
        rels = rels or [f"p{self.added + i:05d}.jpg" for i in range(len(vectors))]
        self.added += len(rels)
        ids = self.cat.add_photos(self.root.id, [(r, 1, 0.0, None) for r in rels])
        self.cat.store_vectors(self.model.id, ids, vectors)
        return ids

    def index(self, backend: str = "numpy", **kwargs: object) -> SearchIndex:
        return SearchIndex(self.cat.path, backend=backend, **kwargs)

    def brute(self, query: np.ndarray, k: int) -> tuple[list[int], np.ndarray]:
        ids, mat = self.cat.load_vectors(self.model.id)
        scores = unit(mat) @ unit(query)
        order = np.lexsort((ids, -scores))[:k]
        return ids[order].tolist(), scores[order]


@pytest.fixture(autouse=True)
def float16_scan_everywhere(monkeypatch: pytest.MonkeyPatch) -> None:
    """Small test libraries would take the exact numpy shortcut; test the float16 scan."""
    monkeypatch.setattr(search_mod, "_SMALL_SCAN_ROWS", 0)


@pytest.fixture
def lib(tmp_path: Path) -> Library:
    library = Library(tmp_path)
    yield library
    library.cat.close()


def random_vectors(n: int, seed: int = 0, dim: int = DIM) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)


def assert_matches_brute(lib: Library, index: SearchIndex, query: np.ndarray, k: int) -> None:
    want_ids, want_scores = lib.brute(query, k)
    hits = index.search(query, k=k)
    assert [h.photo_id for h in hits] == want_ids
    np.testing.assert_allclose([h.score for h in hits], want_scores, atol=1e-6)


# -- exactness -------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_results_equal_brute_force(lib: Library, backend: str) -> None:
    lib.add(random_vectors(700))
    with lib.index(backend) as index:
        for q in random_vectors(15, seed=1):
            assert_matches_brute(lib, index, q, 25)
        assert_matches_brute(lib, index, random_vectors(1, seed=2)[0], 700)  # k = everything
        assert len(index.search(random_vectors(1, seed=3)[0], k=5000)) == 700


def test_float16_scan_is_rescored_exactly_among_near_ties(lib: Library) -> None:
    """Scores closer together than float16 can tell apart still rank exactly."""
    rng = np.random.default_rng(5)
    base = unit(rng.standard_normal(DIM))
    other = unit(rng.standard_normal(DIM) - (rng.standard_normal(DIM) @ base) * base)
    # cosines to `base` spaced 1e-5 apart, far below float16 resolution (~5e-4 at 0.9)
    angles = np.arccos(0.9 + 1e-5 * np.arange(200))
    vecs = np.cos(angles)[:, None] * base + np.sin(angles)[:, None] * unit(
        other + 1e-3 * rng.standard_normal((200, DIM))
    )
    lib.add(rng.permutation(unit(vecs)))
    with lib.index("torch") as index:
        assert index.backend == "torch-f16"
        assert_matches_brute(lib, index, base, 40)
        hits = index.search(base, k=3, offset=10)
        assert [h.photo_id for h in hits] == lib.brute(base, 13)[0][10:]


def test_small_sets_take_the_single_threaded_path(
    lib: Library, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(search_mod, "_SMALL_SCAN_ROWS", 2048)
    vecs = random_vectors(3000)
    ids = lib.add(vecs, [f"{'a' if i % 5 == 0 else 'b'}/p{i}.jpg" for i in range(3000)])
    with lib.index("torch") as index:
        q = random_vectors(1, seed=1)[0]
        assert_matches_brute(lib, index, q, 10)
        hits = index.search(q, k=10, filters=Filters(folder=lib.photos / "a"))  # 600 rows
        scores = unit(vecs[::5]) @ unit(q)
        order = np.argsort(-scores)[:10]
        assert [h.photo_id for h in hits] == [ids[::5][i] for i in order]
        np.testing.assert_allclose([h.score for h in hits], scores[order], atol=1e-6)


def test_float16_error_bound_holds(lib: Library) -> None:
    lib.add(random_vectors(3000, seed=9))
    with lib.index("torch") as index:
        ids, mat = lib.cat.load_vectors(lib.model.id)
        for q in unit(random_vectors(5, seed=10)):
            approx = index._scan.score(index._mat[: index._n], q)
            assert np.abs(approx - unit(mat) @ q).max() < F16_SCORE_ERROR


@pytest.mark.parametrize("backend", BACKENDS)
def test_paging_and_min_score(lib: Library, backend: str) -> None:
    lib.add(random_vectors(300))
    q = random_vectors(1, seed=4)[0]
    with lib.index(backend) as index:
        everything = index.search(q, k=300)
        pages = [p for off in range(0, 300, 40) for p in index.search(q, k=40, offset=off)]
        assert [p.photo_id for p in pages] == [e.photo_id for e in everything]
        assert index.search(q, k=10, offset=295) == everything[295:]
        assert index.search(q, k=0) == []
        strong = index.search(q, k=300, min_score=0.3)
        assert strong == [e for e in everything if e.score >= 0.3]
        assert all(h.score >= 0.3 for h in strong) and 0 < len(strong) < 300
        assert index.search(q, k=5, min_score=2.0) == []
        with pytest.raises(QueryError):
            index.search(q, k=-1)


def test_empty_library_and_no_model(tmp_path: Path) -> None:
    path = tmp_path / "catalog.sqlite"
    Catalog(path).close()
    with SearchIndex(path) as index:
        assert index.search(np.ones(4, np.float32)) == []
        assert index.find_duplicates() == []
    lib = Library(tmp_path / "x")
    with lib.index() as index:
        assert index.search(np.ones(DIM, np.float32)) == []
    lib.cat.close()


# -- query algebra ---------------------------------------------------------------------------


def basis(i: int, dim: int = DIM) -> np.ndarray:
    v = np.zeros(dim, np.float32)
    v[i] = 1.0
    return v


@pytest.fixture
def algebra(lib: Library) -> tuple[Library, dict[str, int], FakeEncoder]:
    e0, e1, e2 = basis(0), basis(1), basis(2)
    vecs = np.stack([e0, e1, unit(e0 + e1), e2, unit(e0 + e2)])
    ids = lib.add(vecs, ["a.jpg", "b.jpg", "ab.jpg", "c.jpg", "ac.jpg"])
    names = dict(zip(["a", "b", "ab", "c", "ac"], ids, strict=True))
    encoder = FakeEncoder({"cat": e0, "dog": e1, "grass": e2, "beach": e0})
    return lib, names, encoder


@pytest.mark.parametrize("backend", BACKENDS)
def test_positive_negative_and_weights(algebra, backend: str) -> None:
    lib, names, enc = algebra
    by_id = {v: k for k, v in names.items()}
    with lib.index(backend) as index:
        order = [by_id[h.photo_id] for h in index.search("cat - dog", enc, k=5)]
        assert order[0] == "a" and order[-1] == "b"
        top = index.search("cat - dog", enc, k=1)[0]
        assert top.score == pytest.approx(np.sqrt(0.5), abs=1e-6)  # cosine to the direction
        assert by_id[index.search("cat + dog", enc, k=1)[0].photo_id] == "ab"
        # 2:cat + dog -> (2, 1)/sqrt(5): ab scores 3/sqrt(10) > a 2/sqrt(5) > b 1/sqrt(5)
        hits = index.search("2:cat + dog", enc, k=3)
        assert [by_id[h.photo_id] for h in hits] == ["ab", "a", "ac"]
        assert hits[0].score == pytest.approx(3 / np.sqrt(10), abs=1e-6)
        structured = index.search(Query.build(["cat", (0.5, "grass")], ["dog"]), enc, k=1)
        assert by_id[structured[0].photo_id] == "ac"
        assert index.search(Query.build([names["a"]]), k=1)[0].photo_id == names["a"]
        with pytest.raises(QueryError, match="cancel"):
            index.search("cat - cat", enc)
        with pytest.raises(QueryError, match="model"):
            index.search("cat")


def test_text_and_image_parts_combine(algebra, tmp_path: Path) -> None:
    lib, names, enc = algebra
    outside = tmp_path / "elsewhere.png"
    outside.write_bytes(b"not decoded: the fake encoder ignores pixels")
    enc.image_vector = basis(2)
    query = Query((QueryPart("text", "cat"), QueryPart("image", lib.photos / "b.jpg")))
    with lib.index() as index:
        # a library photo as an image part uses its stored vector (no decoding)
        assert index.search(query, enc, k=1)[0].photo_id == names["ab"]
        from PIL import Image

        Image.new("RGB", (40, 40), "red").save(outside)
        hits = index.search(f'cat + "{outside}"', enc, k=1)
        assert hits[0].photo_id == names["ac"]
        assert index.query_vector(f"{outside}", enc) == pytest.approx(basis(2))


def test_similar_to_photo(algebra) -> None:
    lib, names, _ = algebra
    with lib.index() as index:
        hits = index.similar_to_photo(names["a"], k=2)
        assert names["a"] not in [h.photo_id for h in hits]
        assert hits[0].photo_id in (names["ab"], names["ac"])
        assert index.similar_to_photo(names["a"], k=1, include_self=True)[0].score == (
            pytest.approx(1.0)
        )
        both = index.similar_to_photos([names["a"], names["b"]], k=1)
        assert both[0].photo_id == names["ab"]


def test_parse_query(tmp_path: Path) -> None:
    q = parse_query('beach + 2:sunset - "people + crowds" - 0.5:"red car" + t-shirt')
    assert [(p.kind, p.value, p.weight) for p in q.parts] == [
        ("text", "beach", 1.0),
        ("text", "sunset", 2.0),
        ("text", "people + crowds", -1.0),
        ("text", "red car", -0.5),
        ("text", "t-shirt", 1.0),
    ]
    assert parse_query("a dog's toy").parts == (QueryPart("text", "a dog's toy"),)
    assert parse_query("- people").parts == (QueryPart("text", "people", -1.0),)
    assert parse_query(".5:cat").parts[0].weight == 0.5
    image = tmp_path / "my photo.jpg"
    image.write_bytes(b"x")
    parts = parse_query(f'"{image}" - dog').parts
    assert parts[0] == QueryPart("image", image)
    assert parse_query(f'"{image}"', files_are_images=False).parts[0].kind == "text"
    for bad in ("", "  ", "+", "cat + 2:"):
        with pytest.raises(QueryError):
            parse_query(bad)


# -- filters ---------------------------------------------------------------------------------


@pytest.fixture
def filtered(lib: Library) -> tuple[Library, dict[str, int]]:
    rels = [
        "2020/a.jpg", "2020/summer/b.JPG", "2020/summer/deep/c.png", "2020summer/d.jpg",
        "2021/e.heic", "f.jpg",
    ]
    ids = lib.add(unit(random_vectors(len(rels), seed=3)), rels)
    names = dict(zip("abcdef", ids, strict=True))
    dates = {"a": "2020-01-01", "b": "2020-07-01", "c": "2020-07-02T12:00:00", "d": None,
             "e": "2021-03-01", "f": "2019-12-31T23:59:59"}
    for key, when in dates.items():
        stamp = None if when is None else to_timestamp(when)
        lib.cat.execute("UPDATE photos SET taken_at = ? WHERE id = ?", (stamp, names[key]))
    return lib, names


def ids_for(index: SearchIndex, names: dict[str, int], **filters: object) -> set[str]:
    by_id = {v: k for k, v in names.items()}
    hits = index.search(np.ones(DIM, np.float32), k=100, filters=Filters(**filters))
    return {by_id[h.photo_id] for h in hits}


@pytest.mark.parametrize("backend", BACKENDS)
def test_folder_date_and_type_filters(filtered, backend: str) -> None:
    lib, names = filtered
    with lib.index(backend) as index:
        assert ids_for(index, names) == set("abcdef")
        assert ids_for(index, names, folder=lib.photos / "2020") == set("abc")
        assert ids_for(index, names, folder=str(lib.photos / "2020" / "summer")) == set("bc")
        assert ids_for(index, names, folder=lib.photos) == set("abcdef")
        assert ids_for(index, names, folder=lib.photos.parent) == set("abcdef")  # holds root
        assert ids_for(index, names, folder=lib.photos / "nowhere") == set()
        assert ids_for(index, names, folder="/somewhere/else") == set()
        assert ids_for(index, names, after="2020-01-01", before="2021-01-01") == set("abc")
        assert ids_for(index, names, after="2020-07-02") == set("ce")
        assert ids_for(index, names, before="2020-01-01") == set("f")
        assert ids_for(index, names, exts=("jpg",)) == set("abdf")
        assert ids_for(index, names, exts=(".PNG", "heic")) == set("ce")
        assert ids_for(index, names, folder=lib.photos / "2020", exts=("jpg",)) == set("ab")


def test_tag_person_place_filters(filtered) -> None:
    lib, names = filtered
    cat = lib.cat
    with cat.transaction():
        cat.execute("INSERT INTO tags(id, name) VALUES(1, 'Holiday'), (2, 'family')")
        for key, tag in (("a", 1), ("b", 1), ("b", 2), ("e", 2)):
            cat.execute("INSERT INTO photo_tags(photo_id, tag_id) VALUES(?, ?)",
                        (names[key], tag))
        cat.execute("INSERT INTO clusters(id, kind, created_at, updated_at) VALUES "
                    "(7, 'people', 0, 0), (8, 'places', 0, 0)")
        for key in "ac":
            cat.execute(
                "INSERT INTO faces(photo_id, x, y, w, h, descriptor, cluster_id, created_at) "
                "VALUES(?, 0, 0, 1, 1, x'00', 7, 0)", (names[key],))
        for key, source in (("d", "auto"), ("e", "confirmed"), ("f", "rejected")):
            cat.execute("INSERT INTO cluster_photos(cluster_id, photo_id, source) "
                        "VALUES(8, ?, ?)", (names[key], source))
    with lib.index() as index:
        assert ids_for(index, names, tags=("holiday",)) == set("ab")
        assert ids_for(index, names, tags=("Holiday", "family")) == set("b")
        assert ids_for(index, names, tags=("nope",)) == set()
        assert ids_for(index, names, person=7) == set("ac")
        assert ids_for(index, names, place=8) == set("de")
        assert ids_for(index, names, person=7, folder=lib.photos / "2020" / "summer") == {"c"}


def test_offline_and_skipped_are_excluded_by_default(lib: Library, tmp_path: Path) -> None:
    lib.add(unit(random_vectors(4, seed=1)), ["a.jpg", "b.jpg", "c.jpg", "d.jpg"])
    other = tmp_path / "drive"
    other.mkdir()
    root2 = lib.cat.add_root(other)
    far = lib.cat.add_photos(root2.id, [("x.jpg", 1, 0.0, None)])
    lib.cat.store_vectors(lib.model.id, far, unit(random_vectors(1, seed=8)))
    q = np.ones(DIM, np.float32)
    with lib.index() as index:
        assert len(index.search(q, k=10)) == 5
        lib.cat.set_root_online(root2.id, False)
        lib.cat.mark_skipped(lib.cat.photo_id_for_path(lib.photos / "b.jpg"), "broken")
        hits = index.search(q, k=10)
        assert {h.path.name for h in hits} == {"a.jpg", "c.jpg", "d.jpg"}
        hits = index.search(q, k=10, filters=Filters(include_offline=True))
        assert {h.path.name: h.offline for h in hits} == {
            "a.jpg": False, "c.jpg": False, "d.jpg": False, "x.jpg": True}
        hits = index.search(q, k=10, filters=Filters(include_offline=True, folder=other))
        assert [(h.path, h.offline) for h in hits] == [(other / "x.jpg", True)]


def test_date_parsing() -> None:
    assert to_timestamp("1970-01-02") == 86400.0
    assert to_timestamp(86400) == 86400.0
    with pytest.raises(QueryError):
        to_timestamp("yesterday")


# -- staying in sync --------------------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_follows_adds_deletes_and_replacements(lib: Library, backend: str) -> None:
    ids = lib.add(random_vectors(200, seed=1))
    q = random_vectors(1, seed=2)[0]
    with lib.index(backend) as index:
        assert_matches_brute(lib, index, q, 10)
        lib.add(unit(q)[None] * 3)  # a new photo matching the query exactly
        assert index.search(q, k=1)[0].score == pytest.approx(1.0, abs=1e-6)
        assert_matches_brute(lib, index, q, 10)
        top = [h.photo_id for h in index.search(q, k=5)]
        lib.cat.delete_photos(top[:3])
        assert_matches_brute(lib, index, q, 10)
        with lib.cat.transaction():  # replace a vector (re-embedded)
            lib.cat.store_vector(ids[50], lib.model.id, -q)
        assert index.search(-q, k=1)[0].photo_id == ids[50]
        assert_matches_brute(lib, index, q, 10)
        lib.cat.mark_changed(ids[51], 2, 1.0, None)  # content changed: vector dropped
        assert ids[51] not in [h.photo_id for h in index.search(q, k=300)]
        assert len(index) == lib.cat.vector_count(lib.model.id) == 197


@pytest.mark.parametrize("backend", BACKENDS)
def test_out_of_order_ids_and_compaction(lib: Library, backend: str) -> None:
    ids = lib.cat.add_photos(lib.root.id, [(f"p{i}.jpg", 1, 0.0, None) for i in range(3000)])
    vecs = random_vectors(3000, seed=3)
    lib.cat.store_vectors(lib.model.id, ids[1000:2000], vecs[1000:2000])
    q = random_vectors(1, seed=4)[0]
    with lib.index(backend) as index:
        assert_matches_brute(lib, index, q, 15)
        lib.cat.store_vectors(lib.model.id, ids[:1000], vecs[:1000])  # lower ids: merged
        assert_matches_brute(lib, index, q, 15)
        lib.cat.store_vectors(lib.model.id, ids[2000:], vecs[2000:])  # appended
        assert_matches_brute(lib, index, q, 15)
        lib.cat.delete_photos(ids[:1500])  # half gone: compacted
        assert_matches_brute(lib, index, q, 15)
        assert index._dead == 0 and len(index) == 1500
        lib.cat.store_vectors(lib.model.id, ids[1500:1510], vecs[:10])
        assert_matches_brute(lib, index, q, 15)


def test_follows_another_connection_and_process(lib: Library) -> None:
    lib.add(random_vectors(50, seed=1))
    q = random_vectors(1, seed=2)[0]
    with lib.index("torch") as index:
        index.search(q)
        with Catalog(lib.cat.path) as writer:  # another connection
            new = writer.add_photos(lib.root.id, [("w.jpg", 1, 0.0, None)])
            writer.store_vectors(lib.model.id, new, q[None])
        assert index.search(q, k=1)[0].photo_id == new[0]
        code = (
            "import sys, numpy as np\n"
            "from photoorg.core.store.catalog import Catalog\n"
            "cat = Catalog(sys.argv[1]); root = cat.roots()[0]; model = cat.active_model()\n"
            "ids = cat.add_photos(root.id, [('proc.jpg', 1, 0.0, None)])\n"
            "cat.store_vectors(model.id, ids, -np.array(sys.argv[2].split(','), np.float32)"
            "[None])\n"
            "cat.delete_photos([int(sys.argv[3])])\n"
            "print(ids[0])\n"
        )
        out = subprocess.run(
            [sys.executable, "-c", code, str(lib.cat.path), ",".join(map(str, q.tolist())),
             str(new[0])],
            capture_output=True, text=True, check=True,
        )
        proc_id = int(out.stdout.strip())
        assert index.search(-q, k=1)[0].photo_id == proc_id
        assert new[0] not in [h.photo_id for h in index.search(q, k=60)]
        assert_matches_brute(lib, index, q, 10)


def test_writer_thread_while_searching(lib: Library) -> None:
    lib.add(random_vectors(100, seed=1))
    errors: list[BaseException] = []

    def write() -> None:
        try:
            with Catalog(lib.cat.path) as writer:
                for batch in range(20):
                    ids = writer.add_photos(
                        lib.root.id, [(f"t{batch}_{i}.jpg", 1, 0.0, None) for i in range(10)])
                    writer.store_vectors(lib.model.id, ids, random_vectors(10, seed=100 + batch))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    q = random_vectors(1, seed=2)[0]
    with lib.index("torch") as index:
        thread = threading.Thread(target=write)
        thread.start()
        while thread.is_alive():
            assert len(index.search(q, k=5)) == 5
        thread.join()
        assert not errors
        assert_matches_brute(lib, index, q, 10)
        assert len(index) == 300


def test_model_switch_reloads(lib: Library) -> None:
    ids = lib.add(random_vectors(20, seed=1))
    with lib.index("torch") as index:
        assert index.model.spec == "test/fake"
        new = lib.cat.set_target_model("test/other", 8)
        lib.cat.store_vectors(new.id, ids, random_vectors(20, seed=2, dim=8))
        assert lib.cat.maybe_switch_model()
        q = random_vectors(1, seed=3, dim=8)[0]
        hits = index.search(q, k=3)
        assert index.model.spec == "test/other"
        ids2, mat = lib.cat.load_vectors(new.id)
        assert [h.photo_id for h in hits] == ids2[np.argsort(-(unit(mat) @ unit(q)))[:3]].tolist()
    assert [p.name for p in lib.data.glob("search-cache-*")] == [f"search-cache-m{new.id}.bin"]


# -- the start-up cache ----------------------------------------------------------------------


def test_cache_file_is_reused_and_follows_changes(lib: Library) -> None:
    ids = lib.add(random_vectors(300, seed=1))
    q = random_vectors(1, seed=2)[0]
    with lib.index("torch") as index:
        assert index.loaded_from == "sqlite"
        cache = Path(index.stats().cache_file)
    assert cache.parent == lib.data and cache.name == f"search-cache-m{lib.model.id}.bin"
    with lib.index("torch") as index:
        assert index.loaded_from == "cache"
        assert_matches_brute(lib, index, q, 10)
    # changes while no index is open are replayed from the log on top of the file
    lib.add(random_vectors(5, seed=3))
    lib.cat.delete_photos(ids[:5])
    stamp = cache.stat().st_mtime_ns
    with lib.index("torch") as index:
        assert index.loaded_from == "cache"
        assert_matches_brute(lib, index, q, 10)
    assert cache.stat().st_mtime_ns == stamp  # 10 changes: not worth rewriting
    lib.add(random_vectors(300, seed=4))
    with lib.index("numpy") as index:  # the file serves either backend
        assert index.loaded_from == "cache"
        assert_matches_brute(lib, index, q, 10)
    assert cache.stat().st_mtime_ns != stamp  # rewritten on close: far behind
    with lib.index("torch") as index:
        assert index.loaded_from == "cache" and index._seq == index._file_seq


def test_cache_file_invalidation(lib: Library) -> None:
    ids = lib.add(random_vectors(100, seed=1))
    q = random_vectors(1, seed=2)[0]
    with lib.index() as index:
        cache = Path(index.stats().cache_file)

    def reopen() -> str:
        with lib.index("torch") as index:
            assert_matches_brute(lib, index, q, 10)
            return index.loaded_from

    raw = cache.read_bytes()
    cache.write_bytes(raw[:-100])  # truncated
    assert reopen() == "sqlite"
    cache.write_bytes(b"garbage" + raw[7:])  # bad magic
    assert reopen() == "sqlite"
    header = raw[:4096].rstrip(b"\0")
    meta = json.loads(header.split(b"\n", 1)[1])
    for change in ({"seq": meta["seq"] + 50}, {"spec": "another/model"}, {"model_id": 99}):
        bad = b"photoorg-search-cache\n" + json.dumps({**meta, **change}).encode()
        cache.write_bytes(bad.ljust(4096, b"\0") + raw[4096:])
        assert reopen() == "sqlite", change
    assert reopen() == "cache"
    lib.cat.set_meta("vec_log_floor", str(lib.cat.vec_log_seq() + 1))  # log compacted
    lib.cat.store_vectors(lib.model.id, ids[:1], q[None])
    assert reopen() == "sqlite"
    assert reopen() == "cache"
    # vectors that vanished without a log entry (ghosts) are caught by the count check
    lib.cat.execute(f"DELETE FROM vec_m{lib.model.id} WHERE rowid = ?", (ids[5],))
    assert reopen() == "sqlite"


def test_no_cache_option_leaves_no_file(lib: Library) -> None:
    lib.add(random_vectors(50, seed=1))
    with lib.index("torch", cache=False) as index:
        assert_matches_brute(lib, index, random_vectors(1, seed=2)[0], 5)
        assert Path(index.stats().cache_file).parent != lib.data
    assert not list(lib.data.glob("search-cache-*"))


def test_cache_dir_option(lib: Library, tmp_path: Path) -> None:
    lib.add(random_vectors(50, seed=1))
    with lib.index("torch", cache_dir=tmp_path / "elsewhere") as index:
        assert Path(index.stats().cache_file).parent == tmp_path / "elsewhere"


# -- duplicates -------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_find_duplicates(lib: Library, backend: str) -> None:
    rng = np.random.default_rng(0)
    base = unit(rng.standard_normal((120, DIM)))
    groups_made = {0: 3, 1: 2, 2: 4}  # base row -> copies
    rows = [base]
    for row, copies in groups_made.items():
        rows.append(unit(base[row] + 0.05 * rng.standard_normal((copies, DIM))))
    ids = lib.add(np.concatenate(rows).astype(np.float32))
    vecs = unit(np.concatenate(rows))
    # brute-force truth: connected components of the >= threshold graph
    sims = vecs @ vecs.T
    with lib.index(backend) as index:
        groups = index.find_duplicates(0.95, block=16)
        got = sorted(sorted(h.photo_id for h in g) for g in groups)
        pairs = {(i, j) for i, j in zip(*np.nonzero(sims >= 0.95), strict=True) if i < j}
        parent = list(range(len(ids)))

        def find(x: int) -> int:
            while parent[x] != x:
                x = parent[x]
            return x

        for i, j in pairs:
            parent[find(j)] = find(i)
        comps: dict[int, list[int]] = {}
        for i in range(len(ids)):
            comps.setdefault(find(i), []).append(ids[i])
        want = sorted(sorted(c) for c in comps.values() if len(c) > 1)
        assert got == want and len(got) == 3
        for g in groups:
            assert g[0].score == 1.0 and g[0].photo_id == min(h.photo_id for h in g)
            assert all(a.score >= b.score for a, b in zip(g[1:], g[2:], strict=False))
        assert [len(g) for g in groups] == sorted((len(g) for g in groups), reverse=True)
        assert index.find_duplicates(0.999) == []
        loose = index.find_duplicates(0.9)
        assert len(loose) >= 3
    assert sorted(sorted(h.photo_id for h in g) for g in find_duplicates(lib.cat.path)) == want


@pytest.mark.parametrize("backend", BACKENDS)
def test_find_duplicates_groups_around_keepers_not_chains(lib: Library, backend: str) -> None:
    """A~B, B~C (0.97), A and C 0.88: never one group that puts C with A."""
    theta = np.arccos(0.97)
    vecs = np.zeros((3, DIM), np.float32)
    vecs[:, 0], vecs[:, 1] = np.cos([0, theta, 2 * theta]), np.sin([0, theta, 2 * theta])
    a, b, c = lib.add(vecs)
    with lib.index(backend) as index:
        pairs = sorted(index.duplicate_pairs(0.95))
        assert [(x, y) for x, y, _ in pairs] == [(a, b), (b, c)]
        assert [s for _, _, s in pairs] == pytest.approx([0.97, 0.97], abs=1e-5)
        (group,) = index.find_duplicates(0.95)  # keeper: the lowest id
        assert [(h.photo_id, round(h.score, 4)) for h in group] == [(a, 1.0), (b, 0.97)]
        prefer = {b: 0, a: 1, c: 2}  # B the best keeper: A and C are each copies of B
        (group,) = index.find_duplicates(0.95, rank=prefer.__getitem__)
        assert [h.photo_id for h in group] == [b, a, c]
        assert index.find_duplicates(0.85)[0][0].photo_id == a  # a clique at 0.85
        assert len(index.find_duplicates(0.85)[0]) == 3


def test_keeper_groups_ignore_the_order_of_pairs() -> None:
    pairs = [(1, 2, 0.96), (2, 3, 0.97), (3, 4, 0.99), (5, 6, 0.95), (4, 7, 0.96)]
    rank = {3: 0, 1: 1, 5: 2, 2: 3, 4: 4, 6: 5, 7: 6}.__getitem__
    want = search_mod.keeper_groups(pairs, rank)
    # 1 and 7 stay alone: their only look-alikes (2, 4) already went with keeper 3
    assert want == [[(3, 1.0), (4, 0.99), (2, 0.97)], [(5, 1.0), (6, 0.95)]]
    for seed in range(5):
        shuffled = [pairs[i] for i in np.random.default_rng(seed).permutation(len(pairs))]
        flipped = [(b, a, s) if seed % 2 else (a, b, s) for a, b, s in shuffled]
        assert search_mod.keeper_groups(flipped, rank) == want


# -- catalog bulk helpers ---------------------------------------------------------------------


def test_catalog_bulk_vector_io(lib: Library) -> None:
    ids = lib.add(random_vectors(2500, seed=1))
    lib.cat.delete_photos(ids[10:400:7])
    lib.cat.store_vectors(lib.model.id, ids[3:5], random_vectors(2, seed=9))
    again = lib.add(random_vectors(30, seed=2))  # reuses freed chunk slots
    a_ids, a = lib.cat.load_vectors_bulk(lib.model.id)
    b_ids, b = lib.cat.load_vectors(lib.model.id)
    assert np.array_equal(a_ids, b_ids) and np.array_equal(a, b)
    assert lib.cat.vector_count(lib.model.id) == len(b_ids)
    want = [*ids[:20], *again, 10**9]
    f_ids, f = lib.cat.vectors_for_ids(lib.model.id, want)
    assert set(f_ids.tolist()) == set(want[:-1]) - set(ids[10:400:7])
    assert np.array_equal(f, b[np.searchsorted(b_ids, f_ids)])


def test_catalog_bulk_falls_back_when_layout_unknown(lib: Library, monkeypatch) -> None:
    from photoorg.core.store import vectors as vectors_mod

    ids = lib.add(random_vectors(40, seed=1))
    monkeypatch.setattr(vectors_mod, "VEC0_CHUNK_LAYOUTS", ("v9.9.9",))
    assert lib.cat.vec0_chunk_index(lib.model.id) is None
    a_ids, a = lib.cat.load_vectors_bulk(lib.model.id)
    assert a_ids.tolist() == ids
    with lib.index("torch") as index:
        assert_matches_brute(lib, index, random_vectors(1, seed=2)[0], 5)
        lib.add(random_vectors(3, seed=3))
        assert_matches_brute(lib, index, random_vectors(1, seed=2)[0], 5)


# -- with the real tiny model ---------------------------------------------------------------------


@pytest.mark.slow
def test_tiny_model_ranks_red_circles_first(tmp_path: Path) -> None:
    from photoorg.core.media.imaging import decode_photo
    from photoorg.core.media.synthetic import write_sample_library
    from photoorg.core.models import embedder as embedder_mod

    embedder = embedder_mod.load_embedder(embedder_mod.TEST_MODEL)
    written = write_sample_library(tmp_path / "photos", per_class=2, seed=0, size=96)
    lib = Library(tmp_path, dim=embedder.dim, spec=embedder_mod.TEST_MODEL)
    ids = lib.cat.add_photos(
        lib.root.id, [(p.name, 1, 0.0, None) for p, _, _ in written])
    images = [decode_photo(p, min_side=embedder.image_size).image for p, _, _ in written]
    lib.cat.store_vectors(lib.model.id, ids, embedder.encode_images(images))
    with lib.index() as index:
        hits = index.search_text(embedder, "a photo of a red circle", k=2)
        assert [h.path.name.rsplit("_", 1)[0] for h in hits] == ["red_circle"] * 2
        similar = index.similar_to_photo(ids[0], k=1)
        assert similar[0].path.name.startswith(written[0][1] + "_" + written[0][2])
    lib.cat.close()


# -- the CLI ------------------------------------------------------------------------------------


def run_main(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    from photoorg.cli import main

    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_search_similar_duplicates(
    algebra, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from photoorg.core.app.library import Library as CoreLibrary

    lib, names, enc = algebra
    lib.add(unit(basis(0) + 0.01 * basis(3))[None], ["sub/a_copy.png"])
    monkeypatch.setattr(CoreLibrary, "search_encoder", lambda self: enc)
    data = str(lib.data)

    def search(*argv: str) -> list[dict]:
        # --all: the query algebra is under test here, not the relevance cut-off
        extra = ["--all"] if argv[0] in ("search", "similar") else []
        code, out, err = run_main(capsys, "--data-dir", data, *argv, *extra, "--json")
        assert code == 0, err
        return json.loads(out)

    hits = search("search", "cat - dog", "-k", "3")
    assert all(set(h) >= {"path", "score"} for h in hits) and len(hits) == 3
    assert Path(hits[0]["path"]).name in ("a.jpg", "a_copy.png")
    assert hits[0]["score"] == pytest.approx(np.sqrt(0.5), abs=1e-3)
    same = search("search", "cat", "--not", "dog", "-k", "3")
    assert same == hits
    assert [Path(h["path"]).name for h in search("search", "cat", "--and", "dog", "-k", "1")] == [
        "ab.jpg"]
    assert [Path(h["path"]).name for h in search("search", "cat", "--type", "png")] == [
        "a_copy.png"]
    assert [Path(h["path"]).name for h in search(
        "search", "cat", "--folder", str(lib.photos / "sub"))] == ["a_copy.png"]
    assert search("search", "cat", "--min-score", "0.9", "--offset", "1") == search(
        "search", "cat", "--min-score", "0.9")[1:]
    assert search("search", "cat", "--after", "2000-01-01") == []  # no capture dates here

    monkeypatch.setattr(CoreLibrary, "search_encoder",
                        lambda self: pytest.fail("no model needed"))
    similar = search("similar", str(lib.photos / "a.jpg"), "-k", "2")
    assert Path(similar[0]["path"]) == lib.photos / "a.jpg"
    assert similar[0]["score"] == pytest.approx(1.0)
    assert Path(similar[1]["path"]).name == "a_copy.png"

    # a.jpg and a_copy.png are 0.99995 alike by their vectors, but nothing here has pixels
    # to compare (vectors written directly): the cosine alone never makes a duplicate group
    # (groups with their "kind": test_duplicates_e2e.py)
    groups = search("duplicates")
    assert groups == []
    assert search("duplicates", "--threshold", "0.6") == []
    code, out, err = run_main(capsys, "--data-dir", data, "duplicates")
    assert code == 0 and out == "" and "no duplicates" in err

    code, _, err = run_main(capsys, "--data-dir", data, "search", "cat", "--after", "soon")
    assert code == 1 and "YYYY-MM-DD" in err
    code, _, err = run_main(capsys, "--data-dir", data, "similar", str(lib.photos / "nope.jpg"))
    assert code == 1 and "not a file" in err


def test_compacted_log_keeps_the_newest_entries_and_indexes_stay_exact(lib: Library) -> None:
    ids = lib.add(random_vectors(60, seed=1))
    q = random_vectors(1, seed=2)[0]
    with lib.index("torch", cache=False) as behind, lib.index("torch", cache=False) as live:
        assert_matches_brute(lib, behind, q, 10)
        for round_ in range(3):  # 180 more log entries
            lib.cat.store_vectors(lib.model.id, ids, random_vectors(60, seed=10 + round_))
            assert_matches_brute(lib, live, q, 10)  # live follows the log as it goes
        seq = lib.cat.vec_log_seq()
        entries = lib.cat.scalar("SELECT COUNT(*) FROM vec_log")
        assert entries == 240
        assert lib.cat.compact_vec_log(keep=50) == entries - 50
        assert lib.cat.vec_log_floor() == seq - 50
        assert lib.cat.scalar("SELECT COUNT(*) FROM vec_log") == 50
        assert lib.cat.compact_vec_log(keep=50) == 0  # nothing more to drop
        # behind synced before the dropped entries: it must reload, not replay a gap
        assert_matches_brute(lib, behind, q, 10)
        assert_matches_brute(lib, live, q, 10)
