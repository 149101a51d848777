-- 001_initial: the record store's first schema and the stable view v_fields.
--
-- Migrations are numbered NNN_name.sql and compiled into the program
-- (common/db/CMakeLists.txt). The store applies, in order and one
-- transaction each, every migration whose number is above the database's
-- PRAGMA user_version, then sets user_version to that number. A migration
-- never edits an earlier one: it alters, or drops and re-creates (views).
--
-- Identity is (batch name, source path, page index); the integer ids are
-- internal. Children cascade on delete, so replacing a page is one DELETE
-- of its row followed by fresh inserts (idempotent storage).
-- Coordinates: x, y, w, h are in the input file's own pixels (mapped back
-- through rotation and deskew); px, py, pw, ph in the normalised page
-- (upright, deskewed, 300 dpi) that the stages worked on.

CREATE TABLE batches (
    id          INTEGER PRIMARY KEY,
    name        TEXT    NOT NULL UNIQUE,
    created_at  TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

CREATE TABLE documents (
    id          INTEGER PRIMARY KEY,
    batch_id    INTEGER NOT NULL REFERENCES batches(id) ON DELETE CASCADE,
    source_path TEXT    NOT NULL,          -- the input file as given
    page_count  INTEGER NOT NULL CHECK (page_count >= 0),
    UNIQUE (batch_id, source_path)
);
CREATE INDEX documents_batch ON documents(batch_id);

CREATE TABLE pages (
    id             INTEGER PRIMARY KEY,
    document_id    INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    page_index     INTEGER NOT NULL CHECK (page_index >= 0),  -- 0-based
    width          INTEGER NOT NULL,       -- source page, pixels
    height         INTEGER NOT NULL,
    dpi_x          REAL    NOT NULL,       -- source page resolution
    dpi_y          REAL    NOT NULL,
    rotation       REAL    NOT NULL,       -- degrees, applied by ingest
    skew           REAL    NOT NULL,       -- degrees, measured by ingest
    content_hash   TEXT    NOT NULL,       -- FNV-1a 64, 16 hex digits
    -- Affine map from normalised-page pixels to source pixels:
    --   src_x = tr_a*x + tr_b*y + tr_c,  src_y = tr_d*x + tr_e*y + tr_f
    tr_a REAL NOT NULL, tr_b REAL NOT NULL, tr_c REAL NOT NULL,
    tr_d REAL NOT NULL, tr_e REAL NOT NULL, tr_f REAL NOT NULL,
    -- The model id each stage used for this page (NULL: none reported).
    model_ingest   TEXT,
    model_detect   TEXT,
    model_segment  TEXT,
    model_classify TEXT,
    model_write    TEXT,
    stored_at      TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    UNIQUE (document_id, page_index)
);

CREATE TABLE fields (
    id           INTEGER PRIMARY KEY,
    page_id      INTEGER NOT NULL REFERENCES pages(id) ON DELETE CASCADE,
    field_index  INTEGER NOT NULL,         -- reading order on the page
    field_name   TEXT    NOT NULL,         -- template name or field_N
    value        TEXT    NOT NULL,         -- the recognised digits, '?' unclassified
    confidence   REAL    NOT NULL CHECK (confidence >= 0.0 AND confidence <= 1.0),
    needs_review INTEGER NOT NULL CHECK (needs_review IN (0, 1)),
    x INTEGER NOT NULL, y INTEGER NOT NULL, w INTEGER NOT NULL, h INTEGER NOT NULL,
    px INTEGER NOT NULL, py INTEGER NOT NULL, pw INTEGER NOT NULL, ph INTEGER NOT NULL,
    UNIQUE (page_id, field_index)          -- also serves the cascade from pages
);
CREATE INDEX fields_value ON fields(value);
CREATE INDEX fields_name ON fields(field_name);
-- The review queue is small next to the archive: a partial index keeps it cheap.
CREATE INDEX fields_flagged ON fields(page_id) WHERE needs_review = 1;

CREATE TABLE digits (
    id          INTEGER PRIMARY KEY,
    field_id    INTEGER NOT NULL REFERENCES fields(id) ON DELETE CASCADE,
    digit_index INTEGER NOT NULL,          -- left to right within the field
    class       INTEGER CHECK (class BETWEEN 0 AND 9),  -- NULL: unclassified
    probability REAL,                      -- p[class]
    p0 REAL, p1 REAL, p2 REAL, p3 REAL, p4 REAL,
    p5 REAL, p6 REAL, p7 REAL, p8 REAL, p9 REAL,
    px INTEGER NOT NULL, py INTEGER NOT NULL, pw INTEGER NOT NULL, ph INTEGER NOT NULL,
    UNIQUE (field_id, digit_index)         -- also serves the cascade from fields
);

-- Failures are keyed by batch name, not batches.id: a batch whose every
-- file failed has no other rows, and its errors must still be counted.
CREATE TABLE errors (
    id          INTEGER PRIMARY KEY,
    batch       TEXT    NOT NULL,
    source_path TEXT    NOT NULL,
    page_index  INTEGER,                   -- NULL: the whole file failed
    stage       TEXT    NOT NULL,
    message     TEXT    NOT NULL,
    created_at  TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX errors_batch ON errors(batch);

-- The stable view (DESIGN.md, "Records: the stable view"): one row per
-- recognised field. Scripts rely on the first eleven columns; later
-- migrations may add columns but never rename or drop these.
CREATE VIEW v_fields AS
SELECT b.name           AS batch,
       d.source_path    AS source_path,
       p.page_index     AS page_index,
       f.field_name     AS field_name,
       f.value          AS value,
       f.confidence     AS confidence,
       f.needs_review   AS needs_review,
       f.x AS x, f.y AS y, f.w AS w, f.h AS h,
       f.field_index    AS field_index,
       f.px AS px, f.py AS py, f.pw AS pw, f.ph AS ph,
       p.model_classify AS model_classify,
       p.model_write    AS model_write,
       p.stored_at      AS stored_at,
       f.id             AS field_id,
       p.id             AS page_id,
       d.id             AS document_id
FROM fields f
JOIN pages p     ON p.id = f.page_id
JOIN documents d ON d.id = p.document_id
JOIN batches b   ON b.id = d.batch_id;
