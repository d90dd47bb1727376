-- Jobs, their locks and the backup catalog, for PostgreSQL (see ../sqlite/0002_jobs_and_backups.sql).

CREATE TABLE jobs (
    id           TEXT COLLATE "C" PRIMARY KEY,
    kind         TEXT COLLATE "C" NOT NULL,
    target       TEXT COLLATE "C" NOT NULL,
    state        TEXT COLLATE "C" NOT NULL,
    plan         TEXT COLLATE "C" NOT NULL,
    spec         TEXT COLLATE "C" NOT NULL,
    policy       TEXT COLLATE "C" NOT NULL,
    proposed_by  TEXT COLLATE "C" NOT NULL,
    proposed_at  TEXT COLLATE "C" NOT NULL,
    approved_by  TEXT COLLATE "C",
    approved_at  TEXT COLLATE "C",
    started_at   TEXT COLLATE "C",
    finished_at  TEXT COLLATE "C",
    outcome      TEXT COLLATE "C",
    progress     TEXT COLLATE "C",
    log          TEXT COLLATE "C" NOT NULL,
    owner_pid    BIGINT,
    owner_host   TEXT COLLATE "C",
    heartbeat_at TEXT COLLATE "C"
);

CREATE INDEX jobs_state ON jobs (state);
CREATE INDEX jobs_proposed_at ON jobs (proposed_at);

CREATE TABLE job_locks (
    target TEXT COLLATE "C" NOT NULL,
    kind   TEXT COLLATE "C" NOT NULL,
    job_id TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (target, kind)
);

CREATE TABLE backups (
    location         TEXT COLLATE "C" NOT NULL,
    id               TEXT COLLATE "C" NOT NULL,
    system           TEXT COLLATE "C" NOT NULL,
    taken_at         TEXT COLLATE "C" NOT NULL,
    manifest         TEXT COLLATE "C" NOT NULL,
    verified_at      TEXT COLLATE "C",
    deep_verified_at TEXT COLLATE "C",
    verify_error     TEXT COLLATE "C",
    PRIMARY KEY (location, id)
);

CREATE INDEX backups_system ON backups (system, taken_at);
