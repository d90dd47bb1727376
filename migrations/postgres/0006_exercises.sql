-- Exercises, for PostgreSQL (see ../sqlite/0006_exercises.sql).

CREATE TABLE exercises (
    id              TEXT COLLATE "C" PRIMARY KEY,
    name            TEXT COLLATE "C" NOT NULL,
    kind            TEXT COLLATE "C" NOT NULL,
    scenario        TEXT COLLATE "C" NOT NULL,
    checked         TEXT COLLATE "C" NOT NULL,
    scenario_sha256 TEXT COLLATE "C" NOT NULL,
    path            TEXT COLLATE "C" NOT NULL,
    started_at      TEXT COLLATE "C" NOT NULL,
    started_by      TEXT COLLATE "C" NOT NULL,
    ended_at        TEXT COLLATE "C",
    open            BIGINT
);

CREATE UNIQUE INDEX exercises_one_open ON exercises (open);

CREATE TABLE exercise_events (
    exercise   TEXT COLLATE "C" NOT NULL,
    seq        BIGINT NOT NULL,
    at         TEXT COLLATE "C" NOT NULL,
    offset_ms  BIGINT NOT NULL,
    author     TEXT COLLATE "C" NOT NULL,
    event      TEXT COLLATE "C" NOT NULL,
    once_key   TEXT COLLATE "C",
    PRIMARY KEY (exercise, seq),
    UNIQUE (exercise, once_key)
);

CREATE TABLE corrective_actions (
    id          TEXT COLLATE "C" PRIMARY KEY,
    exercise    TEXT COLLATE "C",
    objective   TEXT COLLATE "C",
    system      TEXT COLLATE "C",
    issue       TEXT COLLATE "C" NOT NULL,
    action      TEXT COLLATE "C" NOT NULL,
    element     TEXT COLLATE "C" NOT NULL,
    owner       TEXT COLLATE "C" NOT NULL,
    opened_at   TEXT COLLATE "C" NOT NULL,
    due         TEXT COLLATE "C" NOT NULL,
    closed_at   TEXT COLLATE "C",
    closed_by   TEXT COLLATE "C",
    evidence    TEXT COLLATE "C"
);
