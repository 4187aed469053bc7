"""The catalog's schema: numbered migrations of the current major version (applied in
order by :class:`~photoorg.core.store.catalog.Catalog`, each in one transaction after a
backup copy; index + 1 is the minor version). Append only: a catalog made by an earlier
release is upgraded by running the steps it lacks.
"""

from __future__ import annotations

_V1 = """
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);

CREATE TABLE roots(
    id INTEGER PRIMARY KEY,
    path TEXT NOT NULL UNIQUE,
    online INTEGER NOT NULL DEFAULT 1,
    watch_mode TEXT NOT NULL DEFAULT 'auto' CHECK (watch_mode IN ('auto', 'native', 'polling')),
    added_at REAL NOT NULL,
    last_scan_at REAL
);

CREATE TABLE exclusions(pattern TEXT PRIMARY KEY);

CREATE TABLE models(
    id INTEGER PRIMARY KEY,
    spec TEXT NOT NULL UNIQUE,
    dim INTEGER NOT NULL,
    created_at REAL NOT NULL
);

CREATE TABLE photos(
    id INTEGER PRIMARY KEY,
    root_id INTEGER NOT NULL REFERENCES roots(id) ON DELETE CASCADE,
    rel_path TEXT NOT NULL,
    folder TEXT NOT NULL,
    ext TEXT NOT NULL,
    size INTEGER NOT NULL,
    mtime REAL NOT NULL,
    content_hash TEXT,
    width INTEGER,
    height INTEGER,
    taken_at REAL,
    latitude REAL,
    longitude REAL,
    camera TEXT,
    status TEXT NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'indexed', 'skipped')),
    reason TEXT,
    detail TEXT,
    model_id INTEGER REFERENCES models(id),
    faces_done INTEGER NOT NULL DEFAULT 0,
    added_at REAL NOT NULL,
    UNIQUE(root_id, rel_path)
);
CREATE INDEX photos_hash ON photos(content_hash);
CREATE INDEX photos_status ON photos(status, model_id);
CREATE INDEX photos_taken ON photos(taken_at);
CREATE INDEX photos_folder ON photos(root_id, folder);

CREATE TABLE vec_log(
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    model_id INTEGER NOT NULL,
    photo_id INTEGER NOT NULL,
    op TEXT NOT NULL CHECK (op IN ('add', 'del'))
);

CREATE TABLE clusters(
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('people', 'pets', 'places', 'scenes')),
    name TEXT,
    auto_name TEXT,
    hidden INTEGER NOT NULL DEFAULT 0,
    centroid BLOB,
    latitude REAL,
    longitude REAL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE INDEX clusters_kind ON clusters(kind);

CREATE TABLE faces(
    id INTEGER PRIMARY KEY,
    photo_id INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
    x REAL NOT NULL, y REAL NOT NULL, w REAL NOT NULL, h REAL NOT NULL,
    score REAL,
    sharpness REAL,
    descriptor BLOB NOT NULL,
    cluster_id INTEGER REFERENCES clusters(id) ON DELETE SET NULL,
    source TEXT NOT NULL DEFAULT 'auto' CHECK (source IN ('auto', 'confirmed', 'sidecar')),
    created_at REAL NOT NULL
);
CREATE INDEX faces_photo ON faces(photo_id);
CREATE INDEX faces_cluster ON faces(cluster_id);

CREATE TABLE face_rejections(
    face_id INTEGER NOT NULL REFERENCES faces(id) ON DELETE CASCADE,
    cluster_id INTEGER NOT NULL REFERENCES clusters(id) ON DELETE CASCADE,
    PRIMARY KEY(face_id, cluster_id)
);

CREATE TABLE cluster_photos(
    cluster_id INTEGER NOT NULL REFERENCES clusters(id) ON DELETE CASCADE,
    photo_id INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
    source TEXT NOT NULL DEFAULT 'auto' CHECK (source IN ('auto', 'confirmed', 'rejected')),
    PRIMARY KEY(cluster_id, photo_id)
);
CREATE INDEX cluster_photos_photo ON cluster_photos(photo_id);

CREATE TABLE tags(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE COLLATE NOCASE);

CREATE TABLE photo_tags(
    photo_id INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
    tag_id INTEGER NOT NULL REFERENCES tags(id) ON DELETE CASCADE,
    source TEXT NOT NULL DEFAULT 'user',
    PRIMARY KEY(photo_id, tag_id)
);
CREATE INDEX photo_tags_tag ON photo_tags(tag_id);

CREATE TABLE albums(
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE COLLATE NOCASE,
    query TEXT NOT NULL,
    created_at REAL NOT NULL
);
"""

_V2_EXT_INDEX = "CREATE INDEX photos_ext ON photos(ext);"  # file-type filter without a scan

# What other tools wrote (photoorg.core.metadata.importer): rating / label / title / caption
# per photo with who decided (imported from the file, or the user in photoorg: the user
# wins); the tags and named face regions the last import found (to tell what is new).
_V3_IMPORTED_METADATA = """
CREATE TABLE photo_meta(
    photo_id INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
    field TEXT NOT NULL CHECK (field IN ('rating', 'label', 'title', 'caption')),
    value TEXT NOT NULL,
    source TEXT NOT NULL CHECK (source IN ('imported', 'user')),
    PRIMARY KEY(photo_id, field)
);
CREATE INDEX photo_meta_field ON photo_meta(field, value);
CREATE TABLE photo_imports(
    photo_id INTEGER PRIMARY KEY REFERENCES photos(id) ON DELETE CASCADE,
    tags TEXT NOT NULL,
    problems TEXT NOT NULL,
    read_at REAL NOT NULL
);
CREATE TABLE photo_regions(
    id INTEGER PRIMARY KEY,
    photo_id INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    x REAL NOT NULL, y REAL NOT NULL, w REAL NOT NULL, h REAL NOT NULL,
    face_id INTEGER REFERENCES faces(id) ON DELETE SET NULL,
    applied INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX photo_regions_photo ON photo_regions(photo_id);
CREATE INDEX photo_regions_pending ON photo_regions(applied) WHERE applied = 0;
"""

# Per-photo pipeline state (see photoorg/core/ingest/pipeline.py) for stages that have no column of
# their own: one row per (photo, stage) that ran, with the version it ran at (a model, a
# digest of what was written) and the error if it failed. A content change clears them.
_V5_PHOTO_STAGES = """
CREATE TABLE photo_stages(
    photo_id INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
    stage TEXT NOT NULL,
    version TEXT NOT NULL DEFAULT '',
    detail TEXT,
    done_at REAL NOT NULL,
    error TEXT,
    PRIMARY KEY(photo_id, stage)
) WITHOUT ROWID;
CREATE INDEX photo_stages_stage ON photo_stages(stage, version);
"""

# The window's own decisions (issue 16): how to turn a photo on screen (never written to the
# file), and pairs of photos the user said are not duplicates (by content, so moves keep it).
_V4_VIEW_AND_DUPLICATES = """
CREATE TABLE photo_view(
    photo_id INTEGER PRIMARY KEY REFERENCES photos(id) ON DELETE CASCADE,
    rotation INTEGER NOT NULL DEFAULT 0 CHECK (rotation IN (0, 90, 180, 270))
);
CREATE TABLE not_duplicates(
    hash_a TEXT NOT NULL,
    hash_b TEXT NOT NULL,
    decided_at REAL NOT NULL,
    PRIMARY KEY(hash_a, hash_b),
    CHECK (hash_a < hash_b)
);
"""

# a photo whose file is gone keeps its row, marked missing (photoorg.core.store.missing)
_V6_MISSING = """
ALTER TABLE photos ADD COLUMN missing_since REAL;
CREATE INDEX photos_missing ON photos(missing_since) WHERE missing_since IS NOT NULL;
"""

# the user's decisions, undoable (photoorg.core.store.journal)
_V7_JOURNAL = """
CREATE TABLE journal(
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    batch INTEGER NOT NULL,
    at REAL NOT NULL,
    action TEXT NOT NULL,
    summary TEXT NOT NULL,
    data TEXT NOT NULL,
    undone_at REAL
);
CREATE INDEX journal_batch ON journal(batch);
"""

# Issue 17: the UTC offset EXIF recorded (local dates of events), CLIP prompt vectors kept
# per model (suggested names without the model loaded), events shown as suggested albums.
_V8_EVENTS_SUGGESTIONS = """
ALTER TABLE photos ADD COLUMN tz_offset INTEGER;
CREATE TABLE prompt_vectors(
    model_id INTEGER NOT NULL REFERENCES models(id) ON DELETE CASCADE,
    prompt TEXT NOT NULL,
    vector BLOB NOT NULL,
    PRIMARY KEY(model_id, prompt)
);
CREATE TABLE events(
    id INTEGER PRIMARY KEY,
    start REAL NOT NULL,
    end REAL NOT NULL,
    title TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'suggested' CHECK (state IN ('suggested', 'kept', 'dismissed')),
    album TEXT,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE TABLE event_photos(
    event_id INTEGER NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    photo_id INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
    PRIMARY KEY(event_id, photo_id)
);
CREATE INDEX event_photos_photo ON event_photos(photo_id);
"""

# Full-text search (photoorg.core.search.textindex): one FTS5 row per photo (its path's words, the
# words read in it, its title and caption) and one per label (tags, named clusters, albums),
# kept in step with their tables by triggers, so every writer (any process) keeps them true.
_V9_TEXT_SEARCH = """
CREATE TABLE photo_text(
    photo_id INTEGER PRIMARY KEY REFERENCES photos(id) ON DELETE CASCADE,
    content_hash TEXT,
    status TEXT NOT NULL CHECK (status IN ('done', 'failed')),
    text TEXT NOT NULL DEFAULT '',
    terms TEXT NOT NULL DEFAULT '',
    detail TEXT,
    read_at REAL NOT NULL
);
CREATE INDEX photo_text_has ON photo_text(photo_id) WHERE text != '';

CREATE VIRTUAL TABLE photo_fts USING fts5(
    name, words, caption, tokenize = 'unicode61 remove_diacritics 2');
CREATE TRIGGER photo_fts_add AFTER INSERT ON photos BEGIN
    INSERT INTO photo_fts(rowid, name) VALUES (new.id, new.rel_path);
END;
CREATE TRIGGER photo_fts_move AFTER UPDATE OF rel_path ON photos BEGIN
    UPDATE photo_fts SET name = new.rel_path WHERE rowid = new.id;
END;
CREATE TRIGGER photo_fts_del AFTER DELETE ON photos BEGIN
    DELETE FROM photo_fts WHERE rowid = old.id;
END;
CREATE TRIGGER photo_text_add AFTER INSERT ON photo_text BEGIN
    UPDATE photo_fts SET words = new.terms WHERE rowid = new.photo_id;
END;
CREATE TRIGGER photo_text_change AFTER UPDATE OF terms ON photo_text BEGIN
    UPDATE photo_fts SET words = new.terms WHERE rowid = new.photo_id;
END;
CREATE TRIGGER photo_text_del AFTER DELETE ON photo_text BEGIN
    UPDATE photo_fts SET words = NULL WHERE rowid = old.photo_id;
END;
INSERT INTO photo_fts(rowid, name) SELECT id, rel_path FROM photos;

CREATE VIRTUAL TABLE label_fts USING fts5(
    label, kind UNINDEXED, ref UNINDEXED, tokenize = 'unicode61 remove_diacritics 2');
CREATE TRIGGER label_tag_add AFTER INSERT ON tags BEGIN
    INSERT INTO label_fts(label, kind, ref) VALUES (new.name, 'tag', new.id);
END;
CREATE TRIGGER label_tag_change AFTER UPDATE OF name ON tags BEGIN
    DELETE FROM label_fts WHERE kind = 'tag' AND ref = old.id;
    INSERT INTO label_fts(label, kind, ref) VALUES (new.name, 'tag', new.id);
END;
CREATE TRIGGER label_tag_del AFTER DELETE ON tags BEGIN
    DELETE FROM label_fts WHERE kind = 'tag' AND ref = old.id;
END;
CREATE TRIGGER label_album_add AFTER INSERT ON albums BEGIN
    INSERT INTO label_fts(label, kind, ref) VALUES (new.name, 'album', new.id);
END;
CREATE TRIGGER label_album_change AFTER UPDATE OF name ON albums BEGIN
    DELETE FROM label_fts WHERE kind = 'album' AND ref = old.id;
    INSERT INTO label_fts(label, kind, ref) VALUES (new.name, 'album', new.id);
END;
CREATE TRIGGER label_album_del AFTER DELETE ON albums BEGIN
    DELETE FROM label_fts WHERE kind = 'album' AND ref = old.id;
END;
CREATE TRIGGER label_cluster_add AFTER INSERT ON clusters
WHEN new.name IS NOT NULL OR (new.kind = 'places' AND new.auto_name IS NOT NULL) BEGIN
    INSERT INTO label_fts(label, kind, ref) VALUES (
        trim(COALESCE(new.name, '') || ' ' ||
             CASE WHEN new.kind = 'places' THEN COALESCE(new.auto_name, '') ELSE '' END),
        new.kind, new.id);
END;
CREATE TRIGGER label_cluster_change AFTER UPDATE OF name, auto_name, kind ON clusters BEGIN
    DELETE FROM label_fts WHERE kind = old.kind AND ref = old.id;
    INSERT INTO label_fts(label, kind, ref)
    SELECT trim(COALESCE(new.name, '') || ' ' ||
                CASE WHEN new.kind = 'places' THEN COALESCE(new.auto_name, '') ELSE '' END),
           new.kind, new.id
    WHERE new.name IS NOT NULL OR (new.kind = 'places' AND new.auto_name IS NOT NULL);
END;
CREATE TRIGGER label_cluster_del AFTER DELETE ON clusters BEGIN
    DELETE FROM label_fts WHERE kind = old.kind AND ref = old.id;
END;
CREATE TRIGGER photo_meta_words_add AFTER INSERT ON photo_meta
WHEN new.field IN ('title', 'caption') BEGIN
    UPDATE photo_fts SET caption = (SELECT group_concat(value, ' ') FROM photo_meta
        WHERE photo_id = new.photo_id AND field IN ('title', 'caption')) WHERE rowid = new.photo_id;
END;
CREATE TRIGGER photo_meta_words_change AFTER UPDATE OF value, field ON photo_meta BEGIN
    UPDATE photo_fts SET caption = (SELECT group_concat(value, ' ') FROM photo_meta
        WHERE photo_id = new.photo_id AND field IN ('title', 'caption')) WHERE rowid = new.photo_id;
END;
CREATE TRIGGER photo_meta_words_del AFTER DELETE ON photo_meta
WHEN old.field IN ('title', 'caption') BEGIN
    UPDATE photo_fts SET caption = (SELECT group_concat(value, ' ') FROM photo_meta
        WHERE photo_id = old.photo_id AND field IN ('title', 'caption')) WHERE rowid = old.photo_id;
END;
UPDATE photo_fts SET caption = (SELECT group_concat(value, ' ') FROM photo_meta
    WHERE photo_id = photo_fts.rowid AND field IN ('title', 'caption'))
WHERE rowid IN (SELECT photo_id FROM photo_meta WHERE field IN ('title', 'caption'));

INSERT INTO label_fts(label, kind, ref) SELECT name, 'tag', id FROM tags;
INSERT INTO label_fts(label, kind, ref) SELECT name, 'album', id FROM albums;
INSERT INTO label_fts(label, kind, ref)
SELECT trim(COALESCE(name, '') || ' ' ||
            CASE WHEN kind = 'places' THEN COALESCE(auto_name, '') ELSE '' END), kind, id
FROM clusters WHERE name IS NOT NULL OR (kind = 'places' AND auto_name IS NOT NULL);
"""

# the pixel signature that decides duplicates (photoorg.core.media.pixels), per photo content:
# photos indexed before get theirs from the "pixels" stage (pipeline), lazily and resumably
_V10_PIXEL_SIGNATURES = """
CREATE TABLE pixel_signatures(
    photo_id INTEGER PRIMARY KEY REFERENCES photos(id) ON DELETE CASCADE,
    content_hash TEXT,
    version INTEGER NOT NULL,
    grey BLOB NOT NULL,
    aspect REAL NOT NULL,
    phash INTEGER NOT NULL,
    colour BLOB NOT NULL
);
"""

# Videos (photoorg.core.media.video): a video is a row of photos with a duration (its vector
# is its poster frame's); a few keyframes per video and model carry their own vectors, so
# search finds the moment (photoorg.core.search.video_frames).
_V11_VIDEOS = """
ALTER TABLE photos ADD COLUMN duration REAL;
CREATE TABLE video_frames(
    photo_id INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
    model_id INTEGER NOT NULL REFERENCES models(id) ON DELETE CASCADE,
    t REAL NOT NULL,
    embedding BLOB NOT NULL,
    PRIMARY KEY(model_id, photo_id, t)
);
CREATE INDEX video_frames_photo ON video_frames(photo_id);
"""

# Stacks (photoorg.core.groups.stacks): RAW+JPEG pairs, Live Photos and bursts shown as one
# tile; an unstacked stack keeps its row so it is never made again automatically.
_V12_STACKS = """
CREATE TABLE stacks(
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('raw_jpeg', 'live', 'burst')),
    cover_id INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
    state TEXT NOT NULL DEFAULT 'stacked' CHECK (state IN ('stacked', 'unstacked')),
    created_at REAL NOT NULL
);
CREATE TABLE stack_members(
    photo_id INTEGER PRIMARY KEY REFERENCES photos(id) ON DELETE CASCADE,
    stack_id INTEGER NOT NULL REFERENCES stacks(id) ON DELETE CASCADE
);
CREATE INDEX stack_members_stack ON stack_members(stack_id);
"""

# Numbered migrations of the current major version; index + 1 is the minor version.
# Faces the user said are not faces ("Not a face" on the unnamed faces): never clustered,
# never listed again; undone like any decision (a journal table).
_V13_NOT_FACES = """
CREATE TABLE IF NOT EXISTS not_faces(
    face_id INTEGER PRIMARY KEY REFERENCES faces(id) ON DELETE CASCADE,
    decided_at REAL NOT NULL
);
"""

# Faces found in a video's keyframes: the second of the frame each was seen in (NULL for
# photos), so a person's page opens the clip at that moment.
_V14_FACE_TIMES = """
ALTER TABLE faces ADD COLUMN t REAL;
"""

MIGRATIONS: list[str] = [
    _V1, _V2_EXT_INDEX, _V3_IMPORTED_METADATA, _V4_VIEW_AND_DUPLICATES, _V5_PHOTO_STAGES,
    _V6_MISSING, _V7_JOURNAL, _V8_EVENTS_SUGGESTIONS, _V9_TEXT_SEARCH, _V10_PIXEL_SIGNATURES,
    _V11_VIDEOS, _V12_STACKS, _V13_NOT_FACES, _V14_FACE_TIMES,
]
