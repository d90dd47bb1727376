-- The testing programme's results, for PostgreSQL (see ../sqlite/0007_test_results.sql).

CREATE TABLE test_results (
    id            TEXT COLLATE "C" PRIMARY KEY,
    system        TEXT COLLATE "C" NOT NULL,
    kind          TEXT COLLATE "C" NOT NULL,
    at            TEXT COLLATE "C" NOT NULL,
    outcome       TEXT COLLATE "C" NOT NULL,
    by_what       TEXT COLLATE "C" NOT NULL,
    detail        TEXT COLLATE "C" NOT NULL,
    duration_ms   BIGINT
);

CREATE INDEX test_results_by_system ON test_results (system, kind, at);
