"""Events: the library split into outings and trips by capture time and GPS, shown as
suggested albums the user keeps (an album) or dismisses (remembered).

Time. ``photos.taken_at`` is a true instant when EXIF recorded a UTC offset
(``OffsetTimeOriginal``, kept in ``photos.tz_offset``), else the camera's wall clock read as
UTC. Each photo gets both a *local* time (what the clock on the wall said: titles and days)
and an *instant* (gaps between photos). A photo without an offset borrows the offset of the
nearest photo that has one (within ``BORROW_OFFSET_S`` of wall-clock time: the phone beside
the camera), else its wall clock is taken as the instant, like every other such photo.
Photos without a capture date belong to no event (there is no honest place to put them).

Splitting, in order (constants below, each with its reason):
1. A photo starts a new event when the previous one was taken on another *event day*
   (local days that end at ``DAY_STARTS_AT_H`` o'clock, so a party across midnight stays
   one evening) after a gap of more than ``MAX_GAP_S``, or when it is more than ``JUMP_KM``
   from the previous located photo (a jump: another city), or after more than a day.
2. Consecutive events away from home (home: the place with photos on the most days) at the
   same place, less than ``TRIP_GAP_S`` apart, are one trip ("Rome, 12–15 May 2024").
   Home needs photos on ``HOME_MIN_DAYS`` days; without one, every place merges this way.
3. Events of fewer than ``min_photos`` photos are not suggested.

Identity. Events are stored (``events``, ``event_photos``) and matched to a new split by
shared photos (like clusters), so an event keeps its id, its "kept"/"dismissed" state and
its album while photos arrive; a dismissed event is never suggested again.
"""

from __future__ import annotations

import bisect
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone

from photoorg.core.groups import clusters as cl
from photoorg.core.groups.places import haversine_km
from photoorg.core.store.catalog import STACKED_AWAY, Catalog

MAX_GAP_S = 3 * 3600  # a night's sleep is longer; a lunch break is not
DAY_STARTS_AT_H = 4  # photos before 4 a.m. belong to the evening before
JUMP_KM = 30.0  # farther than a town's extent: another place
TRIP_GAP_S = 36 * 3600  # a trip's days are at most a night and a day apart
BORROW_OFFSET_S = 12 * 3600
HOME_MIN_DAYS = 7  # fewer days than that somewhere may be one long trip, not home
MIN_PHOTOS = 3

STATE_SUGGESTED = "suggested"
STATE_KEPT = "kept"
STATE_DISMISSED = "dismissed"
EVENT_TAG_ROOT = "Events"


class EventError(ValueError):
    """An event operation that cannot be done (unknown id, ...)."""


@dataclass(frozen=True)
class Shot:
    """One dated photo as the splitter sees it."""

    id: int
    instant: float  # POSIX seconds (estimated for photos without a recorded offset)
    local: float  # the wall clock, as POSIX seconds read in UTC
    offset_min: int | None  # the UTC offset the photo was taken at, when known
    latitude: float | None = None
    longitude: float | None = None

    @property
    def located(self) -> bool:
        return self.latitude is not None and self.longitude is not None

    @property
    def event_day(self) -> date:
        return _event_day(self.local)


@dataclass
class Event:
    """A run of photos: one outing or one trip."""

    photo_ids: list[int]
    start: Shot
    end: Shot
    place: str | None = None
    title: str = ""
    id: int | None = None
    state: str = STATE_SUGGESTED
    album: str | None = None
    shots: list[Shot] = field(default_factory=list, repr=False)

    @property
    def size(self) -> int:
        return len(self.photo_ids)

    def start_iso(self) -> str:
        return _iso(self.start)

    def end_iso(self) -> str:
        return _iso(self.end)


def _event_day(local: float) -> date:
    return date.fromordinal(_EPOCH_ORDINAL + int((local - DAY_STARTS_AT_H * 3600) // 86400))


_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


def _wall(local: float) -> datetime:
    return datetime.fromtimestamp(local, UTC).replace(tzinfo=None)


def _iso(shot: Shot) -> str:
    """Local time with its offset when known (``2024-05-12T09:30:00+02:00``), else naive."""
    wall = _wall(shot.local)
    if shot.offset_min is None:
        return wall.isoformat(timespec="seconds")
    tz = timezone(timedelta(minutes=shot.offset_min))
    return wall.replace(tzinfo=tz).isoformat(timespec="seconds")


# -- photos -> shots ------------------------------------------------------------------------


def make_shots(rows: Sequence[tuple[int, float, int | None, float | None, float | None]]
               ) -> list[Shot]:
    """``(id, taken_at, tz_offset, lat, lon)`` rows -> shots sorted by instant."""
    known = sorted(
        (taken + off * 60, off) for _, taken, off, _, _ in rows if off is not None
    )
    known_local = [k[0] for k in known]
    shots = []
    for pid, taken, off, lat, lon in rows:
        if off is not None:
            shots.append(Shot(pid, taken, taken + off * 60, off, lat, lon))
            continue
        borrowed = _nearest_offset(known_local, known, taken)
        instant = taken - (borrowed or 0) * 60
        shots.append(Shot(pid, instant, taken, None, lat, lon))
    shots.sort(key=lambda s: (s.instant, s.id))
    return shots


def _nearest_offset(locals_: list[float], known: list[tuple[float, int]], local: float
                    ) -> int | None:
    i = bisect.bisect_left(locals_, local)
    best: tuple[float, int] | None = None
    for j in (i - 1, i):
        if 0 <= j < len(known):
            d = abs(known[j][0] - local)
            if d <= BORROW_OFFSET_S and (best is None or d < best[0]):
                best = (d, known[j][1])
    return None if best is None else best[1]


def library_shots(cat: Catalog) -> list[Shot]:
    """Every dated, readable photo of the library (not those whose file went missing)."""
    rows = cat.query(
        "SELECT id, taken_at, tz_offset, latitude, longitude FROM photos "
        "WHERE taken_at IS NOT NULL AND status != 'skipped' AND missing_since IS NULL "
        f"AND id NOT IN ({STACKED_AWAY})"  # a stack is one shot
    )
    return make_shots(rows)


def undated_count(cat: Catalog) -> int:
    """Readable photos without a capture date (they are in no event)."""
    return int(cat.scalar(
        "SELECT COUNT(*) FROM photos WHERE taken_at IS NULL AND status = 'indexed'"))


# -- splitting ------------------------------------------------------------------------------


def _km(a: Shot, b: Shot) -> float:
    assert a.latitude is not None and a.longitude is not None
    assert b.latitude is not None and b.longitude is not None
    return haversine_km(a.latitude, a.longitude, b.latitude, b.longitude)


def split_runs(shots: Sequence[Shot]) -> list[list[Shot]]:
    """Step 1: runs of photos (see the module doc), in time order."""
    runs: list[list[Shot]] = []
    last_located: Shot | None = None
    prev_day: date | None = None
    for shot in shots:
        day = shot.event_day
        if runs:
            prev = runs[-1][-1]
            gap = shot.instant - prev.instant
            new_day = day != prev_day
            jump = (shot.located and last_located is not None
                    and _km(shot, last_located) > JUMP_KM)
            if (new_day and gap > MAX_GAP_S) or jump or gap > 24 * 3600:
                runs.append([])
        else:
            runs.append([])
        runs[-1].append(shot)
        prev_day = day
        if shot.located:
            last_located = shot
    return runs


PlaceOf = Callable[[Sequence[Shot]], list[str | None]]
"""Names the place of each located shot (None when unknown)."""


def _majority(names: Sequence[str | None]) -> str | None:
    counts = Counter(n for n in names if n)
    return counts.most_common(1)[0][0] if counts else None


def home_place(runs: Sequence[Sequence[Shot]], names: dict[int, str | None]) -> str | None:
    """The place with photos on the most distinct days, if on ``HOME_MIN_DAYS`` or more."""
    days: dict[str, set[date]] = {}
    for run in runs:
        for shot in run:
            name = names.get(shot.id)
            if name:
                days.setdefault(name, set()).add(shot.event_day)
    if not days:
        return None
    best = max(days, key=lambda n: (len(days[n]), n))
    return best if len(days[best]) >= HOME_MIN_DAYS else None


def split_events(
    shots: Sequence[Shot],
    place_of: PlaceOf | None = None,
    *,
    min_photos: int = MIN_PHOTOS,
    today: date | None = None,
) -> list[Event]:
    """Split shots (sorted by instant) into titled events (see the module doc)."""
    runs = split_runs(shots)
    located = [s for run in runs for s in run if s.located]
    names: dict[int, str | None] = {}
    if place_of is not None and located:
        names = dict(zip((s.id for s in located), place_of(located), strict=True))
    home = home_place(runs, names)
    merged: list[tuple[list[Shot], str | None]] = []
    for run in runs:
        place = _majority([names.get(s.id) for s in run])
        if merged:
            prev, prev_place = merged[-1]
            away = place is not None and place != home
            if away and place == prev_place and run[0].instant - prev[-1].instant < TRIP_GAP_S:
                prev.extend(run)
                continue
        merged.append((list(run), place))
    events = []
    for run, place in merged:
        if len(run) < max(1, min_photos):
            continue
        shown_place = place if place != home or home is None else None
        events.append(Event(
            photo_ids=[s.id for s in run], start=run[0], end=run[-1], place=shown_place,
            title=event_title(run[0], run[-1], shown_place, today=today), shots=run,
        ))
    return events


# -- titles ---------------------------------------------------------------------------------


def format_dates(first: date, last: date, today: date | None = None) -> str:
    """``Saturday 3 June`` (this year) / ``Saturday 3 June 2023``; ``12–15 May 2024``;
    ``28 May – 2 June 2024``; ``30 December 2023 – 2 January 2024``."""
    this_year = (today or date.today()).year
    if first == last:
        text = f"{first:%A} {first.day} {first:%B}"
        return text if first.year == this_year else f"{text} {first.year}"
    if (first.year, first.month) == (last.year, last.month):
        return f"{first.day}–{last.day} {last:%B} {last.year}"
    if first.year == last.year:
        return f"{first.day} {first:%B} – {last.day} {last:%B} {last.year}"
    return f"{first.day} {first:%B} {first.year} – {last.day} {last:%B} {last.year}"


def event_title(first: Shot, last: Shot, place: str | None, today: date | None = None) -> str:
    """``Rome, 12–15 May 2024``; ``Saturday 3 June`` (at home, or no GPS)."""
    dates = format_dates(first.event_day, last.event_day, today=today)
    return f"{place}, {dates}" if place else dates


# -- places ---------------------------------------------------------------------------------


def catalog_place_namer(cat: Catalog) -> PlaceOf:
    """Names from the library: a place the user named ("Grandma's") wins; else the city
    the offline geocoder gives."""
    user_named = {
        pid: name
        for pid, name in cat.query(
            "SELECT cp.photo_id, c.name FROM cluster_photos cp JOIN clusters c "
            "ON c.id = cp.cluster_id WHERE c.kind = 'places' AND c.name IS NOT NULL "
            "AND cp.source != 'rejected'"
        )
    }

    def name(shots: Sequence[Shot]) -> list[str | None]:
        from photoorg.core.groups.places import geocoder

        geo = geocoder()
        rest = [s for s in shots if s.id not in user_named]
        cities: dict[int, str] = {}
        if geo is not None and rest:
            points = [(s.latitude, s.longitude) for s in rest]
            cities = {s.id: p.city for s, p in zip(rest, geo.lookup_many(points), strict=True)}
        return [user_named.get(s.id) or cities.get(s.id) for s in shots]

    return name


# -- stored events: suggestions to keep or dismiss -------------------------------------------


def refresh_events(
    cat: Catalog,
    *,
    place_of: PlaceOf | None = None,
    min_photos: int = MIN_PHOTOS,
    today: date | None = None,
) -> list[Event]:
    """Split the library and store the result, keeping ids and the user's decisions: a
    new event takes the id (state, album) of the stored event it shares most photos with
    (at least half of the smaller one). Returns every event, stored order by start."""
    shots = library_shots(cat)
    events = split_events(shots, place_of if place_of is not None else catalog_place_namer(cat),
                          min_photos=min_photos, today=today)
    now = time.time()
    with cat.transaction():
        stored: dict[int, set[int]] = {}
        for eid, pid in cat.query("SELECT event_id, photo_id FROM event_photos"):
            stored.setdefault(eid, set()).add(pid)
        states = {eid: (state, album) for eid, state, album in
                  cat.query("SELECT id, state, album FROM events")}
        pairs = []
        for i, ev in enumerate(events):
            members = set(ev.photo_ids)
            for eid, old in stored.items():
                shared = len(members & old)
                if shared and shared >= 0.5 * min(len(members), len(old)):
                    pairs.append((-shared, i, eid))
        taken: set[int] = set()
        for _, i, eid in sorted(pairs):
            if events[i].id is None and eid not in taken:
                events[i].id = eid
                taken.add(eid)
        for eid, (state, _album) in states.items():
            if eid not in taken and state == STATE_SUGGESTED:
                cat.execute("DELETE FROM events WHERE id = ?", (eid,))
        for ev in events:
            if ev.id is None:
                ev.id = cat.execute(
                    "INSERT INTO events(start, end, title, created_at, updated_at) "
                    "VALUES(?, ?, ?, ?, ?) RETURNING id",
                    (ev.start.instant, ev.end.instant, ev.title, now, now),
                ).fetchone()[0]
            else:
                ev.state, ev.album = states[ev.id]
                cat.execute(
                    "UPDATE events SET start = ?, end = ?, title = ?, updated_at = ? "
                    "WHERE id = ?", (ev.start.instant, ev.end.instant, ev.title, now, ev.id),
                )
            if stored.get(ev.id, set()) != set(ev.photo_ids):
                cat.execute("DELETE FROM event_photos WHERE event_id = ?", (ev.id,))
                for pid in ev.photo_ids:
                    cat.execute("INSERT INTO event_photos(event_id, photo_id) VALUES(?, ?)",
                                (ev.id, pid))
    return events


def list_events(events: Sequence[Event], include_all: bool = False) -> list[Event]:
    """Suggestions (newest first); with ``include_all`` also kept and dismissed ones."""
    shown = [e for e in events if include_all or e.state == STATE_SUGGESTED]
    return sorted(shown, key=lambda e: (-e.start.instant, e.id or 0))


def _event_row(cat: Catalog, event_id: int) -> tuple[str, str, str | None]:
    row = cat.execute("SELECT title, state, album FROM events WHERE id = ?",
                      (int(event_id),)).fetchone()
    if row is None:
        raise EventError(f"no event with id {event_id}")
    return row


def event_photo_ids(cat: Catalog, event_id: int) -> list[int]:
    _event_row(cat, event_id)
    ids = [pid for (pid,) in cat.query(
        "SELECT photo_id FROM event_photos WHERE event_id = ?", (int(event_id),))]
    return cl.order_by_date(cat, ids)


def keep_event(cat: Catalog, event_id: int, name: str | None = None) -> cl.Album:
    """Keep an event as an album: its photos get the tag ``Events|<name>`` and a tag album
    ``<name>`` shows them (the name defaults to the event's title; a taken album name gets
    " (2)", " (3)" ...). Returns the album."""
    title, state, album = _event_row(cat, event_id)
    if state == STATE_KEPT and album and cl.get_album(cat, album) is not None:
        found = cl.get_album(cat, album)
        assert found is not None
        return found
    base = cl.clean_name((name or title).replace("|", "/")) or title
    chosen, n = base, 1
    while cl.get_album(cat, chosen) is not None:
        n += 1
        chosen = f"{base} ({n})"
    tag = f"{EVENT_TAG_ROOT}|{chosen}"
    with cat.transaction():
        cl.add_tag(cat, event_photo_ids(cat, event_id), tag)
        made = cl.create_album(cat, chosen, tags=[tag])
        cat.execute("UPDATE events SET state = ?, album = ?, updated_at = ? WHERE id = ?",
                    (STATE_KEPT, chosen, time.time(), int(event_id)))
    return made


def dismiss_event(cat: Catalog, event_id: int) -> None:
    """Never suggest this event again (its photos are untouched)."""
    _event_row(cat, event_id)
    cat.execute("UPDATE events SET state = ?, updated_at = ? WHERE id = ?",
                (STATE_DISMISSED, time.time(), int(event_id)))
