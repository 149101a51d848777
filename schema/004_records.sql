-- 004_records: what makes the store a product for the archive's staff:
-- the models that read each page, each digit's normalised pixels (to learn
-- from corrections), the field's validation rule, human reviews, an
-- append-only audit trail, look-up indexes by date, and v_fields showing
-- the corrected value with its provenance.

-- Every model id a stage reported on a stored page (pages.model_* hold the
-- id). Rows appear by themselves through the trigger below; `blotter model
-- swap` and the writer add the file path when they know it. The id's tail
-- after ':' is the file's CRC-32 (hex), kept apart for look-ups.
CREATE TABLE models (
    id         TEXT PRIMARY KEY,             -- "<name>@<version>:<crc32 hex>"
    stage      TEXT NOT NULL,                -- ingest, detect, segment, classify, write
    path       TEXT,                         -- model file, when known
    crc        TEXT,                         -- CRC-32 of the file's body, hex
    loaded_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX models_stage ON models(stage, loaded_at);

CREATE TRIGGER pages_models AFTER INSERT ON pages
BEGIN
    INSERT OR IGNORE INTO models(id, stage, crc)
    SELECT m.id, m.stage,
           CASE WHEN instr(m.id, ':') > 0 THEN substr(m.id, instr(m.id, ':') + 1) END
    FROM (SELECT NEW.model_ingest AS id, 'ingest' AS stage
          UNION ALL SELECT NEW.model_detect, 'detect'
          UNION ALL SELECT NEW.model_segment, 'segment'
          UNION ALL SELECT NEW.model_classify, 'classify'
          UNION ALL SELECT NEW.model_write, 'write') m
    WHERE m.id IS NOT NULL AND m.id <> '';
END;

-- Each digit's 28x28 MNIST-normalised crop, row-major, one byte per pixel
-- (0 paper .. 255 ink): 784 bytes, what the classifier saw. NULL on rows
-- stored before this migration.
ALTER TABLE digits ADD COLUMN pixels BLOB
    CHECK (pixels IS NULL OR length(pixels) = 784);

-- The field's validation rule from the form template ("len=8;date=DDMMYYYY",
-- see docs/SCHEMA.md), '' when no template named the field.
ALTER TABLE fields ADD COLUMN rule TEXT NOT NULL DEFAULT '';

-- Human corrections. The machine reading in fields.value is never changed:
-- a review adds a row; the newest row of a field is its current value.
-- A reviewer who confirms the machine reading stores new_value = old_value.
CREATE TABLE reviews (
    id           INTEGER PRIMARY KEY,
    field_id     INTEGER NOT NULL REFERENCES fields(id) ON DELETE CASCADE,
    reviewer     TEXT    NOT NULL,
    reviewed_at  TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    old_value    TEXT    NOT NULL,   -- the value shown to the reviewer
    new_value    TEXT    NOT NULL,   -- digits only
    source_file  TEXT    NOT NULL,   -- the review sheet it came from
    CHECK (new_value <> '' AND new_value NOT GLOB '*[^0-9]*')
);
CREATE INDEX reviews_field ON reviews(field_id, id);
CREATE INDEX reviews_date ON reviews(reviewed_at);

-- The audit trail: who did what, when. Append-only: the triggers refuse
-- any UPDATE or DELETE, so a row once written stays as written.
CREATE TABLE audit (
    id        INTEGER PRIMARY KEY,
    at        TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    who       TEXT    NOT NULL,      -- $BLOTTER_USER, else the login name
    command   TEXT    NOT NULL,      -- "query", "export", "review import", "model swap", ...
    params    TEXT    NOT NULL,      -- JSON object: the command's bound parameters
    row_count INTEGER                -- rows returned, written or changed
);
CREATE INDEX audit_at ON audit(at);
CREATE INDEX audit_command ON audit(command, at);

CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN
    SELECT RAISE(ABORT, 'audit is append-only: rows cannot be changed');
END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN
    SELECT RAISE(ABORT, 'audit is append-only: rows cannot be deleted');
END;

-- Look-ups by date and confidence.
CREATE INDEX pages_stored_at ON pages(stored_at);
CREATE INDEX fields_confidence ON fields(confidence);

-- v_fields keeps every column of 001 in place and order; `value` is now
-- the reviewed value when a review exists (the newest), and the extra
-- columns at the end keep the machine reading and the review's provenance.
DROP VIEW v_fields;
CREATE VIEW v_fields AS
SELECT b.name           AS batch,
       d.source_path    AS source_path,
       p.page_index     AS page_index,
       f.field_name     AS field_name,
       coalesce(r.new_value, f.value) AS value,
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
       d.id             AS document_id,
       f.value          AS machine_value,
       CASE WHEN r.id IS NULL THEN (CASE WHEN f.needs_review THEN 'pending' ELSE 'none' END)
            WHEN r.new_value = f.value THEN 'confirmed'
            ELSE 'corrected' END AS review_state,
       r.reviewer       AS reviewed_by,
       r.reviewed_at    AS reviewed_at,
       r.source_file    AS review_source,
       f.rule           AS rule
FROM fields f
JOIN pages p     ON p.id = f.page_id
JOIN documents d ON d.id = p.document_id
JOIN batches b   ON b.id = d.batch_id
LEFT JOIN reviews r ON r.id = (SELECT max(id) FROM reviews WHERE field_id = f.id);
