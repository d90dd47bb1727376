-- Background jobs (backups, verifications, restores, prunes; failovers later), the locks that
-- keep one of each kind running per system across processes, and the backup catalog: a cache
-- of what the repositories hold, with when each copy was last verified.

CREATE TABLE jobs (
    id           TEXT PRIMARY KEY,
    kind         TEXT NOT NULL,
    target       TEXT NOT NULL,
    state        TEXT NOT NULL,
    plan         TEXT NOT NULL,
    spec         TEXT NOT NULL,
    policy       TEXT NOT NULL,
    proposed_by  TEXT NOT NULL,
    proposed_at  TEXT NOT NULL,
    approved_by  TEXT,
    approved_at  TEXT,
    started_at   TEXT,
    finished_at  TEXT,
    outcome      TEXT,
    progress     TEXT,
    log          TEXT NOT NULL,
    owner_pid    BIGINT,
    owner_host   TEXT,
    heartbeat_at TEXT
);

CREATE INDEX jobs_state ON jobs (state);
CREATE INDEX jobs_proposed_at ON jobs (proposed_at);

CREATE TABLE job_locks (
    target TEXT NOT NULL,
    kind   TEXT NOT NULL,
    job_id TEXT NOT NULL,
    PRIMARY KEY (target, kind)
);

CREATE TABLE backups (
    location         TEXT NOT NULL,
    id               TEXT NOT NULL,
    system           TEXT NOT NULL,
    taken_at         TEXT NOT NULL,
    manifest         TEXT NOT NULL,
    verified_at      TEXT,
    deep_verified_at TEXT,
    verify_error     TEXT,
    PRIMARY KEY (location, id)
);

CREATE INDEX backups_system ON backups (system, taken_at);
