-- Failover procedures, recovery plans and incidents.

-- Operators' signals to a running job, from any process on this state: a manual step done or
-- aborted, a plan's system skipped or retried. The job polls for them and marks them taken.
CREATE TABLE job_signals (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id   TEXT NOT NULL,
    signal   TEXT NOT NULL,
    argument TEXT,
    by_whom  TEXT NOT NULL,
    at       TEXT NOT NULL,
    taken_at TEXT
);

CREATE INDEX job_signals_job ON job_signals (job_id, taken_at);

-- Approvals given to a job (the two-person policy needs two operators).
ALTER TABLE jobs ADD COLUMN approvals TEXT;

-- What a job reports beyond its progress (a recovery plan: each system's state), JSON.
ALTER TABLE jobs ADD COLUMN detail TEXT;

-- Each system's failover state (Normal when absent), and after a failover its commit window.
CREATE TABLE system_states (
    system          TEXT PRIMARY KEY,
    state           TEXT NOT NULL,
    since           TEXT NOT NULL,
    job_id          TEXT,
    commit_deadline TEXT,
    on_timeout      TEXT,
    detail          TEXT
);

CREATE TABLE incidents (
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    severity    TEXT NOT NULL,
    systems     TEXT NOT NULL,
    declared_by TEXT NOT NULL,
    declared_at TEXT NOT NULL,
    plan_job    TEXT,
    closed_by   TEXT,
    closed_at   TEXT,
    summary     TEXT
);

-- Health transitions, as the process running the monitor saw them: the incidents' timelines
-- and the outage starts that RTO achieved counts from.
CREATE TABLE health_events (
    id     INTEGER PRIMARY KEY AUTOINCREMENT,
    at     TEXT NOT NULL,
    system TEXT NOT NULL,
    kind   TEXT NOT NULL,
    from_state TEXT,
    to_state   TEXT,
    detail TEXT
);

CREATE INDEX health_events_at ON health_events (at);
