"""Clusters of every kind, names -> tags -> albums, re-clustering that keeps user work."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from photoorg.core.groups import clusters as cl
from photoorg.core.groups import regroup
from photoorg.core.store.catalog import Catalog

DIM = 64


def unit(v: np.ndarray) -> np.ndarray:
    return (v / np.linalg.norm(v)).astype(np.float32)


class Lib:
    """A catalog with synthetic photos (no files needed) and vectors of one model."""

    def __init__(self, path: Path, dim: int = DIM) -> None:
        self.folder = path / "photos"
        self.folder.mkdir(parents=True, exist_ok=True)
        self.cat = Catalog(path / "catalog.sqlite")
        self.root = self.cat.add_root(self.folder)
        self.model = self.cat.set_target_model("test/synthetic", dim)
        self.count = 0

    def add(self, vector: np.ndarray, lat: float | None = None, lon: float | None = None) -> int:
        rel = f"p{self.count:04d}.jpg"
        self.count += 1
        pid = self.cat.add_photo(self.root.id, rel, 1, 0.0, None)
        self.cat.record_info(pid, width=640, height=480, taken_at=float(self.count),
                             latitude=lat, longitude=lon, camera=None)
        with self.cat.transaction():
            self.cat.store_vector(pid, self.model.id, unit(vector))
        return pid

    def close(self) -> None:
        self.cat.close()


@pytest.fixture
def lib(tmp_path: Path) -> Lib:
    library = Lib(tmp_path)
    yield library
    library.close()


class World:
    """Synthetic CLIP: a random unit vector per prompt and per individual animal/scene."""

    def __init__(self, seed: int = 0, knows_animals: bool = True) -> None:
        from photoorg.core.models.competence import PARAPHRASES

        self.rng = np.random.default_rng(seed)
        prompts = regroup.pet_prompts()
        self.text = np.stack([unit(self.rng.normal(size=DIM)) for _ in prompts])
        self.index = {p: i for i, p in enumerate(prompts)}
        # a model that knows animals puts "a kitten" beside "a cat"; a weak one anywhere
        rows = []
        for animal, text in PARAPHRASES.items():
            near = self.text[self.index[regroup.PET_PROMPTS[animal]]] if knows_animals else 0
            rows.append(unit(near + 0.3 * self.rng.normal(size=DIM) / np.sqrt(DIM)
                             + (0 if knows_animals else self.rng.normal(size=DIM))))
            self.index[text] = len(self.text) + len(rows) - 1
        self.text = np.concatenate([self.text, np.stack(rows)])
        self.individual: dict[str, np.ndarray] = {}

    def encode_texts(self, prompts: list[str]) -> np.ndarray:
        return self.text[[self.index[p] for p in prompts]]

    def prompt(self, text: str) -> np.ndarray:
        return self.text[self.index[text]]

    def photo(self, prompt: str, who: str) -> np.ndarray:
        if who not in self.individual:
            self.individual[who] = unit(self.rng.normal(size=DIM))
        noise = self.rng.normal(size=DIM) * 0.04
        return unit(0.85 * self.prompt(prompt) + 0.5 * self.individual[who] + noise)


DOG, CAT, PERSON = "a photo of a dog", "a photo of a cat", "a photo of a person"


def pets_library(lib: Lib, world: World) -> dict[str, list[int]]:
    photos = {
        "rex": [lib.add(world.photo(DOG, "rex")) for _ in range(6)],
        "fido": [lib.add(world.photo(DOG, "fido")) for _ in range(5)],
        "tom": [lib.add(world.photo(CAT, "tom")) for _ in range(5)],
        "people": [lib.add(world.photo(PERSON, f"p{i}")) for i in range(6)],
    }
    return photos


def cluster_of(cat: Catalog, kind: str, photo_id: int) -> cl.ClusterInfo:
    found = [c for c in cl.list_clusters(cat, kind, include_hidden=True)
             if photo_id in c.photo_ids]
    assert len(found) == 1, found
    return found[0]


def test_zero_shot_pet_detection_uses_softmax_over_prompts() -> None:
    world = World()
    x = np.stack([world.photo(DOG, "a"), world.photo(CAT, "b"), world.photo(PERSON, "c")])
    prompts = world.encode_texts(regroup.pet_prompts())
    assert regroup.classify_pets(x, prompts) == ["dog", "cat", None]
    # an image halfway between a dog and a person is no confident pet photo
    mixed = unit(world.prompt(DOG) + world.prompt(PERSON))[None, :]
    assert regroup.classify_pets(mixed, prompts, threshold=0.9) == [None]


def test_pets_cluster_per_animal_and_names_survive_reclustering(lib: Lib) -> None:
    world = World()
    photos = pets_library(lib, world)
    regroup.recluster_pets(lib.cat, world.encode_texts)
    pets = cl.list_clusters(lib.cat, "pets")
    assert sorted(sorted(c.photo_ids) for c in pets) == sorted(
        sorted(photos[k]) for k in ("rex", "fido", "tom")
    )
    rex = cluster_of(lib.cat, "pets", photos["rex"][0])
    assert rex.auto_name == "dog" and rex.name is None and rex.tag is None
    cl.name_cluster(lib.cat, rex.id, "  Rex ")
    assert cl.tags_for_photo(lib.cat, photos["rex"][0]) == ["Pets|Rex"]

    new = [lib.add(world.photo(DOG, "rex")) for _ in range(3)]
    regroup.recluster_pets(lib.cat, world.encode_texts)
    again = cl.get_cluster(lib.cat, rex.id)
    assert again is not None and again.name == "Rex"
    assert set(again.photo_ids) == set(photos["rex"]) | set(new)
    assert cl.tags_for_photo(lib.cat, new[0]) == ["Pets|Rex"]
    assert cl.photos_with_tag(lib.cat, "pets|rex") == set(again.photo_ids)


def test_a_model_that_does_not_know_animals_makes_no_pet_groups(lib: Lib) -> None:
    from photoorg.core.models.competence import REQUIRED, animal_score

    knowing, weak = World(seed=3), World(seed=3, knows_animals=False)
    assert animal_score(knowing.encode_texts, regroup.PET_PROMPTS) == 8
    assert animal_score(weak.encode_texts, regroup.PET_PROMPTS) < REQUIRED
    pets_library(lib, weak)  # the photos look like pets to it, confidently
    regroup.recluster_pets(lib.cat, weak.encode_texts)
    assert cl.list_clusters(lib.cat, "pets") == []


def test_new_pet_photo_joins_nearest_cluster_incrementally(lib: Lib) -> None:
    world = World()
    photos = pets_library(lib, world)
    regroup.recluster_pets(lib.cat, world.encode_texts)
    tom = cluster_of(lib.cat, "pets", photos["tom"][0])
    cl.name_cluster(lib.cat, tom.id, "Tom")
    new_tom, person = lib.add(world.photo(CAT, "tom")), lib.add(world.photo(PERSON, "x"))
    stranger = lib.add(world.photo(CAT, "a stray cat"))
    joined = regroup.assign_to_nearest(lib.cat, "pets", [new_tom, person, stranger],
                                  encode_texts=world.encode_texts)
    assert joined == {new_tom: tom.id}
    assert "Pets|Tom" in cl.tags_for_photo(lib.cat, new_tom)


def test_rejected_photo_never_rejoins(lib: Lib) -> None:
    world = World()
    photos = pets_library(lib, world)
    regroup.recluster_pets(lib.cat, world.encode_texts)
    rex = cluster_of(lib.cat, "pets", photos["rex"][0])
    cl.name_cluster(lib.cat, rex.id, "Rex")
    wrong = photos["rex"][1]
    cl.remove_photo_from_cluster(lib.cat, rex.id, wrong)
    assert wrong not in cl.get_cluster(lib.cat, rex.id).photo_ids
    regroup.recluster_pets(lib.cat, world.encode_texts)
    regroup.assign_to_nearest(lib.cat, "pets", [wrong], encode_texts=world.encode_texts)
    after = cl.get_cluster(lib.cat, rex.id)
    assert after is not None and after.name == "Rex"
    assert wrong not in after.photo_ids
    assert set(after.photo_ids) == set(photos["rex"]) - {wrong}
    assert "Pets|Rex" not in cl.tags_for_photo(lib.cat, wrong)


def test_confirmed_photo_stays(lib: Lib) -> None:
    world = World()
    photos = pets_library(lib, world)
    regroup.recluster_pets(lib.cat, world.encode_texts)
    tom = cluster_of(lib.cat, "pets", photos["tom"][0])
    odd = photos["people"][0]  # the user says Tom is on this photo too
    cl.add_photo_to_cluster(lib.cat, tom.id, odd)
    regroup.recluster_pets(lib.cat, world.encode_texts)
    assert odd in cl.get_cluster(lib.cat, tom.id).photo_ids


def test_hidden_clusters_are_not_listed_and_stay_hidden(lib: Lib) -> None:
    world = World()
    photos = pets_library(lib, world)
    regroup.recluster_pets(lib.cat, world.encode_texts)
    tom = cluster_of(lib.cat, "pets", photos["tom"][0])
    cl.hide_cluster(lib.cat, tom.id)
    assert tom.id not in [c.id for c in cl.list_clusters(lib.cat, "pets")]
    regroup.recluster_pets(lib.cat, world.encode_texts)
    assert tom.id not in [c.id for c in cl.list_clusters(lib.cat, "pets")]
    hidden = [c for c in cl.list_clusters(lib.cat, "pets", include_hidden=True) if c.hidden]
    assert [c.id for c in hidden] == [tom.id]
    cl.unhide(lib.cat, tom.id)
    assert tom.id in [c.id for c in cl.list_clusters(lib.cat, "pets")]


def test_merge_keeps_names_rejections_and_survives_reclustering(lib: Lib) -> None:
    world = World()
    photos = pets_library(lib, world)
    regroup.recluster_pets(lib.cat, world.encode_texts)
    rex = cluster_of(lib.cat, "pets", photos["rex"][0])
    fido = cluster_of(lib.cat, "pets", photos["fido"][0])
    cl.name_cluster(lib.cat, fido.id, "Fido")
    cl.remove_photo_from_cluster(lib.cat, fido.id, photos["fido"][0])
    # keep (rex) is unnamed: it takes the other's name
    merged = cl.merge_clusters(lib.cat, rex.id, fido.id)
    assert merged.id == rex.id and merged.name == "Fido"
    assert cl.get_cluster(lib.cat, fido.id) is None
    assert set(merged.photo_ids) == (set(photos["rex"]) | set(photos["fido"])) - {
        photos["fido"][0]}
    regroup.recluster_pets(lib.cat, world.encode_texts)  # the user's merge is not undone
    after = cluster_of(lib.cat, "pets", photos["rex"][0])
    assert after.id == rex.id and after.name == "Fido"
    assert set(after.photo_ids) == set(merged.photo_ids)
    assert photos["fido"][0] not in after.photo_ids
    tom = cluster_of(lib.cat, "pets", photos["tom"][0])
    cl.name_cluster(lib.cat, tom.id, "Tom")
    with pytest.raises(cl.ClusterError):
        cl.merge_clusters(lib.cat, tom.id, tom.id)
    # keep's name wins when both are named
    assert cl.merge_clusters(lib.cat, tom.id, rex.id).name == "Tom"


def test_named_cluster_that_loses_its_photos_is_kept(lib: Lib) -> None:
    world = World()
    photos = pets_library(lib, world)
    regroup.recluster_pets(lib.cat, world.encode_texts)
    tom = cluster_of(lib.cat, "pets", photos["tom"][0])
    cl.name_cluster(lib.cat, tom.id, "Tom")
    lib.cat.delete_photos(photos["tom"])
    regroup.recluster_pets(lib.cat, world.encode_texts)
    kept = cl.get_cluster(lib.cat, tom.id)
    assert kept is not None and kept.name == "Tom" and kept.size == 0
    assert tom.id in [c.id for c in cl.list_clusters(lib.cat, "pets")]


def scene_library(lib: Lib, rng: np.random.Generator) -> dict[str, list[int]]:
    centres = {k: unit(rng.normal(size=DIM)) for k in ("beach", "garden", "snow")}

    def shot(kind: str) -> np.ndarray:
        return unit(centres[kind] + rng.normal(size=DIM) * 0.08)

    photos = {k: [lib.add(shot(k)) for _ in range(6)] for k in centres}
    photos["gps"] = [lib.add(shot("beach"), lat=48.85, lon=2.35) for _ in range(3)]
    photos["_centres"] = centres  # type: ignore[assignment]
    return photos


def test_scenes_cluster_photos_without_gps_and_keep_names(lib: Lib) -> None:
    rng = np.random.default_rng(1)
    photos = scene_library(lib, rng)
    regroup.recluster_scenes(lib.cat)
    scenes = cl.list_clusters(lib.cat, "scenes")
    assert sorted(sorted(c.photo_ids) for c in scenes) == sorted(
        sorted(photos[k]) for k in ("beach", "garden", "snow")
    )
    beach = cluster_of(lib.cat, "scenes", photos["beach"][0])
    cl.name_cluster(lib.cat, beach.id, "beach")
    centre = photos["_centres"]["beach"]  # type: ignore[index]
    new = [lib.add(unit(centre + rng.normal(size=DIM) * 0.08)) for _ in range(2)]
    joined = regroup.assign_to_nearest(lib.cat, "scenes", new)
    assert joined == {new[0]: beach.id, new[1]: beach.id}
    later = lib.add(unit(centre + rng.normal(size=DIM) * 0.08))
    regroup.recluster_scenes(lib.cat)
    after = cl.get_cluster(lib.cat, beach.id)
    assert after is not None and after.name == "beach"
    assert set(after.photo_ids) == set(photos["beach"]) | set(new) | {later}
    assert cl.tags_for_photo(lib.cat, later) == ["Scenes|beach"]
    assert not set(photos["gps"]) & set().union(
        *(c.photo_ids for c in cl.list_clusters(lib.cat, "scenes")))


def test_user_tags_and_hierarchical_case_insensitive_filter(lib: Lib) -> None:
    world = World()
    photos = pets_library(lib, world)
    regroup.recluster_pets(lib.cat, world.encode_texts)
    rex = cluster_of(lib.cat, "pets", photos["rex"][0])
    cl.name_cluster(lib.cat, rex.id, "Rex")
    a, b = photos["people"][:2]
    assert cl.add_tag(lib.cat, [a, b], "holiday") == 2
    assert cl.add_tag(lib.cat, [a], "Travel|2023|Lisbon") == 1
    assert cl.add_tag(lib.cat, [a], "HOLIDAY") == 0  # same tag, any case
    assert cl.tags_for_photo(lib.cat, a) == ["holiday", "Travel|2023|Lisbon"]
    assert cl.photos_with_tag(lib.cat, "Holiday") == {a, b}
    assert cl.photos_with_tag(lib.cat, "travel") == {a}  # descendants
    assert cl.photos_with_tag(lib.cat, "travel|2023") == {a}
    assert cl.photos_with_tag(lib.cat, "lisbon") == {a}  # trailing path
    assert cl.photos_with_tag(lib.cat, "2023") == set()  # not a middle level
    assert cl.photos_with_tag(lib.cat, "PETS") == set(photos["rex"])
    assert cl.photos_with_tag(lib.cat, "rex") == set(photos["rex"])
    assert cl.photos_with_tag(lib.cat, "nothing") == set()
    # the SQL form composes with other conditions
    cond, params = cl.tag_filter_sql(lib.cat, "holiday")
    rows = lib.cat.query(f"SELECT p.id FROM photos p WHERE {cond} AND p.id != ?", [*params, b])
    assert rows == [(a,)]
    assert dict(cl.all_tags(lib.cat)) == {
        "holiday": 2, "Pets|Rex": len(photos["rex"]), "Travel|2023|Lisbon": 1}
    assert cl.remove_tag(lib.cat, [a], "Holiday") == 1
    assert cl.tags_for_photo(lib.cat, a) == ["Travel|2023|Lisbon"]
    # removing a cluster tag takes the photo out of the cluster for good
    assert cl.remove_tag(lib.cat, [photos["rex"][0]], "pets|rex") == 1
    assert photos["rex"][0] not in cl.get_cluster(lib.cat, rex.id).photo_ids
    with pytest.raises(ValueError):
        cl.add_tag(lib.cat, [a], " | ")


def test_albums_of_tags_and_saved_searches(lib: Lib) -> None:
    world = World()
    photos = pets_library(lib, world)
    regroup.recluster_pets(lib.cat, world.encode_texts)
    rex = cluster_of(lib.cat, "pets", photos["rex"][0])
    cl.name_cluster(lib.cat, rex.id, "Rex")
    cl.add_tag(lib.cat, photos["rex"][:2] + photos["tom"][:1], "holiday")
    cl.create_album(lib.cat, "Rex on holiday", tags=["Pets|Rex", "holiday"])
    cl.create_album(lib.cat, "Rex or holiday", tags=["rex", "holiday"], match="any")
    cl.create_album(lib.cat, "Red things", query="a red circle", filters={"tag": "holiday"})
    assert [a.name for a in cl.list_albums(lib.cat)] == [
        "Red things", "Rex on holiday", "Rex or holiday"]
    assert cl.album_photos(lib.cat, "rex ON holiday") == photos["rex"][:2]
    assert set(cl.album_photos(lib.cat, "Rex or holiday")) == set(photos["rex"]) | {
        photos["tom"][0]}
    # a new photo of Rex tagged holiday joins the album by itself
    new = lib.add(world.photo(DOG, "rex"))
    regroup.recluster_pets(lib.cat, world.encode_texts)
    cl.add_tag(lib.cat, [new], "holiday")
    assert new in cl.album_photos(lib.cat, "Rex on holiday")
    search_album = cl.get_album(lib.cat, "Red things")
    assert search_album is not None and search_album.is_search
    stored = json.loads(lib.cat.scalar("SELECT query FROM albums WHERE name = 'Red things'"))
    assert stored["query"] == "a red circle" and stored["filters"] == {"tag": "holiday"}
    with pytest.raises(cl.AlbumError, match="search"):
        cl.album_photos(lib.cat, "Red things")
    assert cl.album_photos(lib.cat, "Red things", resolver=lambda c, a: [3, 1]) == [3, 1]
    with pytest.raises(cl.AlbumError, match="exists"):
        cl.create_album(lib.cat, "RED THINGS", tags=["x"])
    with pytest.raises(cl.AlbumError):
        cl.create_album(lib.cat, "empty")
    assert cl.delete_album(lib.cat, "red things")
    assert cl.get_album(lib.cat, "Red things") is None


def _face(cat: Catalog, photo_id: int, cluster_id: int | None, source: str = "auto") -> int:
    return cat.execute(
        "INSERT INTO faces(photo_id, x, y, w, h, descriptor, cluster_id, source, created_at) "
        "VALUES(?, 0.1, 0.1, 0.2, 0.2, ?, ?, ?, 0) RETURNING id",
        (photo_id, np.zeros(128, np.float32).tobytes(), cluster_id, source),
    ).fetchone()[0]


def test_generic_ops_work_for_people_clusters(lib: Lib) -> None:
    ids = [lib.add(np.ones(DIM)) for _ in range(4)]
    alice = cl.create_cluster(lib.cat, "people")
    other = cl.create_cluster(lib.cat, "people")
    f0, f1 = _face(lib.cat, ids[0], alice), _face(lib.cat, ids[1], alice)
    f2 = _face(lib.cat, ids[2], other)
    f3 = _face(lib.cat, ids[3], None)
    lib.cat.execute("INSERT INTO face_rejections(face_id, cluster_id) VALUES(?, ?)", (f3, other))
    assert cl.name_cluster(lib.cat, alice, "Alice").photo_ids == (ids[0], ids[1])
    assert cl.tags_for_photo(lib.cat, ids[0]) == ["People|Alice"]
    assert cl.photos_with_tag(lib.cat, "people") == {ids[0], ids[1]}
    merged = cl.merge_clusters(lib.cat, other, alice)
    assert merged.name == "Alice" and merged.photo_ids == (ids[0], ids[1], ids[2])
    assert lib.cat.query("SELECT face_id, cluster_id FROM face_rejections") == [(f3, other)]
    unsorted = cl.remove_photo_from_cluster(lib.cat, other, ids[1])
    # the face rejected goes to a new unnamed person at once: in sight, never lost
    assert lib.cat.scalar("SELECT cluster_id FROM faces WHERE id = ?", (f1,)) == unsorted
    assert unsorted not in (None, other, alice)
    assert (f1, other) in lib.cat.query("SELECT face_id, cluster_id FROM face_rejections")
    assert cl.photos_with_tag(lib.cat, "Alice") == {ids[0], ids[2]}
    assert [(c.id, c.name, c.photo_ids) for c in cl.list_clusters(lib.cat, "people")] == [
        (other, "Alice", (ids[0], ids[2])), (unsorted, None, (ids[1],))]
    assert cl.cluster_for_name(lib.cat, "people", "alice") == other
    assert f0 and f2


def test_cluster_kind_is_checked(lib: Lib) -> None:
    with pytest.raises(cl.ClusterError):
        cl.list_clusters(lib.cat, "cars")
    with pytest.raises(cl.ClusterError):
        cl.name_cluster(lib.cat, 999, "x")
    pets, places = cl.create_cluster(lib.cat, "pets"), cl.create_cluster(lib.cat, "places")
    with pytest.raises(cl.ClusterError, match="cannot merge"):
        cl.merge_clusters(lib.cat, pets, places)


# -- CLI ---------------------------------------------------------------------------------


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    from photoorg.cli import main

    capsys.readouterr()
    code = main(list(argv))
    return code, capsys.readouterr().out


def test_cli_scenes_name_merge_hide_tags_albums(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lib = Lib(data_dir)
    lib.cat.close()
    lib.cat = Catalog(data_dir / "catalog.sqlite")
    photos = scene_library(lib, np.random.default_rng(2))
    lib.close()
    d = ["--data-dir", str(data_dir)]
    code, out = run_cli(capsys, *d, "clusters", "scenes", "--json")
    assert code == 0
    listed = json.loads(out)
    assert len(listed) == 3
    assert set(listed[0]) == {"id", "kind", "name", "auto_name", "named_by", "photos", "size",
                                "suggestion"}
    assert all(c["kind"] == "scenes" and c["name"] is None and c["size"] == 6 for c in listed)
    folder = data_dir / "photos"
    assert all(Path(p).is_absolute() and Path(p).parent == folder
               for c in listed for p in c["photos"])
    beach_path = str(folder / "p0000.jpg")
    beach = next(c for c in listed if beach_path in c["photos"])
    garden = next(c for c in listed if c is not beach)

    assert run_cli(capsys, *d, "name", str(beach["id"]), "beach")[0] == 0
    code, out = run_cli(capsys, *d, "tags", beach_path, "--json")
    assert json.loads(out) == ["Scenes|beach"]
    assert run_cli(capsys, *d, "tag", beach_path, "--add", "holiday")[0] == 0
    code, out = run_cli(capsys, *d, "tags", beach_path)
    assert out.split() == ["holiday", "Scenes|beach"]
    assert run_cli(capsys, *d, "tag", beach_path, "--remove", "holiday")[0] == 0
    assert json.loads(run_cli(capsys, *d, "tags", beach_path, "--json")[1]) == ["Scenes|beach"]

    assert run_cli(capsys, *d, "merge", str(beach["id"]), str(garden["id"]))[0] == 0
    code, out = run_cli(capsys, *d, "clusters", "scenes", "--json")
    listed = json.loads(out)
    merged = next(c for c in listed if c["id"] == beach["id"])
    assert merged["name"] == "beach" and merged["named_by"] == "user" and merged["size"] == 12

    assert run_cli(capsys, *d, "album", "create", "Beach", "--tag", "scenes|BEACH")[0] == 0
    code, out = run_cli(capsys, *d, "album", "show", "Beach", "--json")
    assert sorted(json.loads(out)) == sorted(merged["photos"])
    code, out = run_cli(capsys, *d, "album", "list", "--json")
    assert json.loads(out)[0]["name"] == "Beach" and json.loads(out)[0]["tags"] == ["scenes|BEACH"]
    assert run_cli(capsys, *d, "album", "create", "Beach", "--tag", "x")[0] == 1

    assert run_cli(capsys, *d, "hide", str(beach["id"]))[0] == 0
    code, out = run_cli(capsys, *d, "clusters", "scenes", "--json")
    assert beach["id"] not in [c["id"] for c in json.loads(out)]
    assert run_cli(capsys, *d, "name", "9999", "x")[0] == 1
    assert run_cli(capsys, *d, "tags", str(folder / "missing.jpg"))[0] == 1
    code, out = run_cli(capsys, *d, "clusters", "scenes")
    assert code == 0 and "photos" in out
    assert photos
