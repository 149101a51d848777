-- 003_stage_stats: what each stage did for a batch, and which input files
-- of a batch are settled (so that running the batch again resumes it).
--
-- Both are keyed by batch name, like errors: a batch whose every file
-- failed has no batches row, and its figures must still be kept.

-- One row per batch, stage and instance, written by the writer when the
-- front end reports the batch finished (or stopped). Counters cover the
-- batch: an instance restarted during it counts its earlier lives too, and
-- a run that resumes the batch adds its figures to the row.
CREATE TABLE stage_stats (
    id          INTEGER PRIMARY KEY,
    batch       TEXT    NOT NULL,
    stage       TEXT    NOT NULL,          -- ingest, detect, segment, classify, write
    instance    INTEGER NOT NULL CHECK (instance >= 0),
    items_in    INTEGER NOT NULL,          -- messages received (ingest: files)
    items_out   INTEGER NOT NULL,          -- pages sent on (write: pages stored)
    errors      INTEGER NOT NULL,          -- malformed messages and failed items
    restarts    INTEGER NOT NULL,          -- deaths of the instance during the batch
    busy_s      REAL    NOT NULL,          -- wall seconds spent on items
    cpu_s       REAL,                      -- process CPU seconds; NULL: not local
    peak_rss_kb INTEGER,                   -- VmHWM; NULL: not local
    p50_ms      REAL,                      -- latency per item over the last 256
    p95_ms      REAL,
    started_at  TEXT    NOT NULL,          -- the batch's first feed, UTC
    finished_at TEXT    NOT NULL,          -- its last outcome, UTC
    UNIQUE (batch, stage, instance)
);

-- One row per input file whose every outcome is in (pages stored,
-- duplicates, failures), with the file's identity when it was read. A
-- later run of the same batch skips a file whose identity is unchanged,
-- whose stored pages are all still there and which had no passing
-- failure (retry = 0).
CREATE TABLE batch_files (
    batch       TEXT    NOT NULL,
    source_path TEXT    NOT NULL,          -- as given
    size        INTEGER NOT NULL,          -- bytes
    mtime_ns    INTEGER NOT NULL,          -- modification time, ns since 1970
    hash        TEXT    NOT NULL,          -- FNV-1a 64 of the bytes, 16 hex digits
    pages       INTEGER NOT NULL,          -- outcomes: stored + duplicates + failed
    stored      INTEGER NOT NULL,
    duplicates  INTEGER NOT NULL,
    failed      INTEGER NOT NULL,
    retry       INTEGER NOT NULL CHECK (retry IN (0, 1)), -- a failure was passing
    settled_at  TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    PRIMARY KEY (batch, source_path)
);
