-- The testing programme's results: one row per test of one system (a restore drill, an
-- exercise that had the system in scope). Kept for the configured time (7 years by default);
-- pruning refuses anything younger.

CREATE TABLE test_results (
    id            TEXT PRIMARY KEY,     -- TR-20261203-000001
    system        TEXT NOT NULL,
    kind          TEXT NOT NULL,        -- restore-drill | drill | functional | full-scale | tabletop
    at            TEXT NOT NULL,
    outcome       TEXT NOT NULL,        -- passed | findings | failed
    by_what       TEXT NOT NULL,        -- the job or exercise that ran it
    detail        TEXT NOT NULL,
    duration_ms INTEGER               -- how long its work took (a restore drill's restore)
);

CREATE INDEX test_results_by_system ON test_results (system, kind, at);
