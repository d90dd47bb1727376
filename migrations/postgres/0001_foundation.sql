-- The foundation, for PostgreSQL: kept equal to ../sqlite/0001_foundation.sql (tests/store_schema
-- compares the two schemas table by table). Text is compared byte by byte, as SQLite does:
-- times are fixed-width RFC 3339 strings whose order is their byte order, whatever the
-- database's own collation.

CREATE TABLE meta (
    key   TEXT COLLATE "C" PRIMARY KEY,
    value TEXT COLLATE "C" NOT NULL
);

CREATE TABLE audit_log (
    seq       BIGINT PRIMARY KEY,
    at        TEXT COLLATE "C" NOT NULL,
    operator  TEXT COLLATE "C" NOT NULL,
    action    TEXT COLLATE "C" NOT NULL,
    target    TEXT COLLATE "C" NOT NULL,
    details   TEXT COLLATE "C" NOT NULL,
    outcome   TEXT COLLATE "C" NOT NULL,
    prev_hash TEXT COLLATE "C" NOT NULL,
    hash      TEXT COLLATE "C" NOT NULL
);

CREATE INDEX audit_log_hash ON audit_log (hash);
