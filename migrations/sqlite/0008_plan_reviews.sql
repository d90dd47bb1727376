-- Reviews of the continuity plan: who reviewed it, when, what they noted, and the configuration
-- they reviewed (its SHA-256). `status` warns when the newest is older than [plan] review_every.

CREATE TABLE plan_reviews (
    id            INTEGER PRIMARY KEY,
    at            TEXT NOT NULL,
    reviewer      TEXT NOT NULL,
    note          TEXT NOT NULL,
    config_sha256 TEXT NOT NULL
);
