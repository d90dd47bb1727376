-- Crisis communications, for PostgreSQL (see ../sqlite/0005_comms.sql).

CREATE TABLE notices (
    id          TEXT COLLATE "C" PRIMARY KEY,
    incident    TEXT COLLATE "C" NOT NULL,
    stage       TEXT COLLATE "C" NOT NULL,
    seq         BIGINT NOT NULL,
    due_at      TEXT COLLATE "C" NOT NULL,
    sent_at     TEXT COLLATE "C" NOT NULL,
    next_update TEXT COLLATE "C",
    lists       TEXT COLLATE "C" NOT NULL,
    message     TEXT COLLATE "C" NOT NULL,
    sent_by     TEXT COLLATE "C" NOT NULL,
    job_id      TEXT COLLATE "C",
    external    TEXT COLLATE "C",
    UNIQUE (incident, stage, seq)
);

CREATE INDEX notices_incident ON notices (incident, sent_at);

CREATE TABLE outbox (
    key            TEXT COLLATE "C" PRIMARY KEY,
    notice         TEXT COLLATE "C" NOT NULL,
    incident       TEXT COLLATE "C" NOT NULL,
    recipient      TEXT COLLATE "C" NOT NULL,
    channel        TEXT COLLATE "C" NOT NULL,
    address        TEXT COLLATE "C" NOT NULL,
    body           BYTEA NOT NULL,
    meta           TEXT COLLATE "C" NOT NULL,
    state          TEXT COLLATE "C" NOT NULL,
    attempts       BIGINT NOT NULL DEFAULT 0,
    next_attempt   TEXT COLLATE "C",
    last_error     TEXT COLLATE "C",
    provider_id    TEXT COLLATE "C",
    queued_at      TEXT COLLATE "C" NOT NULL,
    sent_at        TEXT COLLATE "C",
    claimed_by     TEXT COLLATE "C",
    claimed_until  TEXT COLLATE "C",
    fallback_of    TEXT COLLATE "C"
);

CREATE INDEX outbox_pending ON outbox (state, next_attempt);
CREATE INDEX outbox_notice ON outbox (notice);
