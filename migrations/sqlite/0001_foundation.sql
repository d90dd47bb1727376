-- The foundation: key/value facts about this state, and the audit chain.
-- Keep every statement portable to PostgreSQL: plain types (TEXT, BIGINT), no SQLite-only syntax.

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- Append-only and tamper-evident: each record carries the previous record's hash and its own
-- SHA-256 over a canonical encoding (see docs/ARCHITECTURE.md, "Audit chain").
CREATE TABLE audit_log (
    seq       BIGINT PRIMARY KEY,
    at        TEXT NOT NULL,
    operator  TEXT NOT NULL,
    action    TEXT NOT NULL,
    target    TEXT NOT NULL,
    details   TEXT NOT NULL,
    outcome   TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL
);

CREATE INDEX audit_log_hash ON audit_log (hash);
