"""Events from capture time and GPS: photos with EXIF dates, offsets and GPS written here
(Pillow's Exif), indexed by the real pipeline with the tiny model."""

from __future__ import annotations

import json
from datetime import date
from fractions import Fraction
from pathlib import Path

import pytest
from PIL import Image

from photoorg.core.groups import clusters as cl
from photoorg.core.groups import events as ev
from photoorg.core.ingest.indexer import Indexer
from photoorg.core.ingest.scanner import scan_library
from photoorg.core.models.embedder import TEST_MODEL, load_embedder, weights_available
from photoorg.core.store.catalog import Catalog

pytestmark = pytest.mark.skipif(not weights_available(TEST_MODEL), reason="tiny model missing")

ROME = (41.9009, 12.4833)
BERLIN = (52.5200, 13.4050)
TODAY = date(2024, 12, 1)


def _dms(value: float) -> tuple[Fraction, Fraction, Fraction]:
    value = abs(value)
    deg = int(value)
    minutes = int((value - deg) * 60)
    seconds = round(((value - deg) * 60 - minutes) * 60 * 100)
    return (Fraction(deg), Fraction(minutes), Fraction(seconds, 100))


def write_photo(path: Path, when: str | None, offset: str | None = None,
                gps: tuple[float, float] | None = None, shade: int = 0) -> Path:
    """A small JPEG with DateTimeOriginal (+ OffsetTimeOriginal) and GPS in its EXIF."""
    exif = Image.Exif()
    sub = exif.get_ifd(0x8769)
    if when is not None:
        sub[0x9003] = when
    if offset is not None:
        sub[0x9011] = offset
    if gps is not None:
        g = exif.get_ifd(0x8825)
        g[1], g[2] = ("N" if gps[0] >= 0 else "S"), _dms(gps[0])
        g[3], g[4] = ("E" if gps[1] >= 0 else "W"), _dms(gps[1])
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (48, 48), (shade % 256, 90, 160)).save(path, exif=exif)
    return path


@pytest.fixture(scope="module")
def embedder():  # noqa: ANN201
    return load_embedder(TEST_MODEL, threads=1)


def index(folder: Path, data: Path, embedder) -> Catalog:  # noqa: ANN001
    cat = Catalog(data / "catalog.sqlite")
    cat.add_root(folder)
    scan_library(cat)
    Indexer(cat, embedder).run()
    return cat


def by_name(cat: Catalog, events: list[ev.Event]) -> list[list[str]]:
    paths = cat.paths_for_ids([p for e in events for p in e.photo_ids])
    return [sorted(paths[p].name for p in e.photo_ids) for e in events]


def test_trip_days_merge_home_days_split_midnight_stays_and_undated_left_out(
    tmp_path: Path, embedder
) -> None:  # noqa: ANN001
    lib = tmp_path / "photos"
    n = 0

    def shot(name: str, when: str | None, offset: str | None = None,
             gps: tuple[float, float] | None = None) -> None:
        nonlocal n
        n += 1
        write_photo(lib / f"{name}.jpg", when, offset, gps, shade=n * 37)

    # home: Berlin on 8 separate days (a home, not a trip)
    for day in range(1, 9):
        for k in range(3):
            shot(f"home{day:02d}_{k}", f"2024:03:{day:02d} 1{k}:00:00", "+01:00", BERLIN)
    # Rome, 12-15 May 2024: four days, nights between them (phone: offset + GPS)
    for day in (12, 13, 14, 15):
        for k, hour in enumerate((9, 13, 19)):
            shot(f"rome{day}_{k}", f"2024:05:{day} {hour:02d}:30:00", "+02:00", ROME)
    # a party across midnight, camera without GPS or offset: 21:00 -> 01:40
    for k, when in enumerate(("2023:06:03 21:00:00", "2023:06:03 22:30:00",
                              "2023:06:03 23:50:00", "2023:06:04 01:40:00")):
        shot(f"party_{k}", when)
    # no date at all: in no event, and nothing breaks
    shot("undated_0", None)
    shot("undated_1", None)

    cat = index(lib, tmp_path / "data", embedder)
    events = ev.refresh_events(cat, today=TODAY)
    titles = {e.title for e in events}
    assert "Rome, 12–15 May 2024" in titles
    assert "Saturday 3 June 2023" in titles  # 3 June 2023 was a Saturday; ends 01:40 on the 4th
    groups = by_name(cat, events)
    assert sorted(f"rome{d}_{k}.jpg" for d in (12, 13, 14, 15) for k in range(3)) in groups
    assert [f"party_{k}.jpg" for k in range(4)] in groups
    # home days are separate events with no place in their title
    home = sorted(e.title for e in events if "home" in by_name(cat, [e])[0][0])
    assert home == sorted(f"{date(2024, 3, d):%A} {d} March" for d in range(1, 9))
    assert not any("undated" in name for g in groups for name in g)
    rome = next(e for e in events if e.title.startswith("Rome"))
    assert rome.start_iso() == "2024-05-12T09:30:00+02:00"
    assert rome.end_iso() == "2024-05-15T19:30:00+02:00"
    cat.close()


def test_time_zones_local_dates_and_true_gaps(tmp_path: Path, embedder) -> None:  # noqa: ANN001
    lib = tmp_path / "photos"
    # Tokyo, early morning local time: still the 11th in UTC, the 12th on the wall
    for k, hh in enumerate(("06:10", "06:40", "07:20")):
        write_photo(lib / f"tokyo_{k}.jpg", f"2024:05:12 {hh}:00", "+09:00", shade=k * 40)
    # a flight west: local clocks go back but only 30-50 minutes pass between photos
    write_photo(lib / "fly_0.jpg", "2024:06:01 22:00:00", "+02:00", shade=10)
    write_photo(lib / "fly_1.jpg", "2024:06:01 21:30:00", "+01:00", shade=20)  # 30 min later
    write_photo(lib / "fly_2.jpg", "2024:06:01 22:20:00", "+01:00", shade=30)
    cat = index(lib, tmp_path / "data", embedder)
    events = ev.refresh_events(cat, today=TODAY)
    by_title = {e.title: sorted(by_name(cat, [e])[0]) for e in events}
    assert by_title["Sunday 12 May"] == ["tokyo_0.jpg", "tokyo_1.jpg", "tokyo_2.jpg"]
    assert by_title["Saturday 1 June"] == ["fly_0.jpg", "fly_1.jpg", "fly_2.jpg"]
    flight = next(e for e in events if e.title == "Saturday 1 June")
    assert [cat.paths_for_ids([p])[p].name for p in flight.photo_ids] == [
        "fly_0.jpg", "fly_1.jpg", "fly_2.jpg"]  # in true time order, not wall-clock order
    cat.close()


def test_gps_jump_splits_a_day_and_camera_borrows_the_phone_offset() -> None:
    # same day, same hour range: Berlin in the morning, Rome after a flight (a jump)
    rows = [(1, 1_700_000_000.0, 60, *BERLIN), (2, 1_700_001_800.0, 60, *BERLIN),
            (3, 1_700_003_600.0, 60, *BERLIN),
            (4, 1_700_012_000.0, 60, *ROME), (5, 1_700_013_000.0, 60, *ROME),
            (6, 1_700_014_000.0, 60, *ROME)]
    events = ev.split_events(ev.make_shots(rows), lambda shots: [None] * len(shots),
                             today=TODAY)
    assert [e.photo_ids for e in events] == [[1, 2, 3], [4, 5, 6]]
    # without the jump (same place) the same photos are one event
    same = [(pid, t, off, *BERLIN) for pid, t, off, _, _ in rows]
    assert [e.photo_ids for e in ev.split_events(ev.make_shots(same), None)] == [
        [1, 2, 3, 4, 5, 6]]
    # a camera without offset beside a phone at +02:00: its wall clock is placed in true time
    phone = 1_700_000_000.0  # an instant
    camera_wall = phone + 2 * 3600 + 600  # 10 minutes later, wall clock read as UTC
    shots = ev.make_shots([(1, phone, 120, None, None), (2, camera_wall, None, None, None)])
    assert [s.id for s in shots] == [1, 2]
    assert shots[1].instant == pytest.approx(phone + 600)


def test_keep_makes_an_album_dismiss_is_remembered_ids_stay(tmp_path: Path, embedder) -> None:  # noqa: ANN001, E501
    lib = tmp_path / "photos"
    for day in (3, 10):
        for k in range(3):
            write_photo(lib / f"d{day}_{k}.jpg", f"2024:08:{day:02d} 1{k}:00:00", shade=day * k)
    cat = index(lib, tmp_path / "data", embedder)
    first = ev.refresh_events(cat, today=TODAY)
    assert [e.title for e in ev.list_events(first)] == ["Saturday 10 August", "Saturday 3 August"]
    sat10, sat3 = ev.list_events(first)
    album = ev.keep_event(cat, sat10.id)
    assert album.name == "Saturday 10 August"
    photos = cl.album_photos(cat, album.name)
    assert sorted(photos) == sorted(sat10.photo_ids)
    assert f"Events|{album.name}" in cl.tags_for_photo(cat, photos[0])
    ev.dismiss_event(cat, sat3.id)

    # a new photo of the 3rd arrives: same event id, still dismissed; nothing suggested
    write_photo(lib / "d3_late.jpg", "2024:08:03 18:00:00", shade=99)
    scan_library(cat)
    Indexer(cat, embedder).run()
    again = {e.id: e for e in ev.refresh_events(cat, today=TODAY)}
    assert again[sat3.id].state == ev.STATE_DISMISSED and again[sat3.id].size == 4
    assert again[sat10.id].state == ev.STATE_KEPT and again[sat10.id].album == album.name
    assert ev.list_events(list(again.values())) == []
    with pytest.raises(ev.EventError):
        ev.dismiss_event(cat, 9999)
    cat.close()


def test_events_cli_json(tmp_path: Path) -> None:
    from tests.unit.test_cli_e2e import run_cli

    lib = tmp_path / "photos"
    for k in range(3):
        write_photo(lib / f"rome_{k}.jpg", f"2024:05:12 1{k}:00:00", "+02:00", ROME, shade=k)
    data = tmp_path / "data"
    run_cli(data, "index", str(lib), "--model", TEST_MODEL, "--no-faces")
    out = json.loads(run_cli(data, "events", "--json").stdout)
    assert len(out) == 1 and set(out[0]) == {"id", "title", "start", "end", "photos"}
    assert out[0]["title"].startswith("Rome, Sunday 12 May")
    assert out[0]["start"] == "2024-05-12T10:00:00+02:00"
    assert sorted(Path(p).name for p in out[0]["photos"]) == [f"rome_{k}.jpg" for k in range(3)]
    kept = run_cli(data, "events", "keep", str(out[0]["id"]))
    assert "album" in kept.stdout
    assert json.loads(run_cli(data, "events", "--json").stdout) == []
    albums = json.loads(run_cli(data, "album", "list", "--json").stdout)
    assert [a["name"] for a in albums] == [out[0]["title"]]
