-- Exercises: a scenario run on its own clock, what happened in it, and the corrective actions
-- it leaves behind (tracked to closure).

CREATE TABLE exercises (
    id              TEXT PRIMARY KEY,   -- EX-20261202-1
    name            TEXT NOT NULL,
    kind            TEXT NOT NULL,      -- tabletop | drill | functional | full-scale
    scenario        TEXT NOT NULL,      -- the scenario file's text, as it ran
    checked         TEXT NOT NULL,      -- JSON: the scenario as checked when it started
    scenario_sha256 TEXT NOT NULL,
    path            TEXT NOT NULL,      -- where it was read from
    started_at      TEXT NOT NULL,
    started_by      TEXT NOT NULL,
    ended_at        TEXT,
    open            INTEGER             -- 1 while open, NULL once ended: one open at a time
);

CREATE UNIQUE INDEX exercises_one_open ON exercises (open);

-- The run, as events: the state on any host is their replay.
CREATE TABLE exercise_events (
    exercise   TEXT NOT NULL,
    seq        INTEGER NOT NULL,
    at         TEXT NOT NULL,
    offset_ms  INTEGER NOT NULL,        -- on the scenario clock
    author     TEXT NOT NULL,
    event      TEXT NOT NULL,           -- JSON
    once_key   TEXT,                    -- an event that happens once (a release) is recorded once
    PRIMARY KEY (exercise, seq),
    UNIQUE (exercise, once_key)
);

CREATE TABLE corrective_actions (
    id          TEXT PRIMARY KEY,       -- CA-1
    exercise    TEXT,
    objective   TEXT,
    system      TEXT,
    issue       TEXT NOT NULL,
    action      TEXT NOT NULL,
    element     TEXT NOT NULL,          -- planning | organisation | equipment | training | exercise
    owner       TEXT NOT NULL,
    opened_at   TEXT NOT NULL,
    due         TEXT NOT NULL,
    closed_at   TEXT,
    closed_by   TEXT,
    evidence    TEXT
);
