-- Crisis communications: the notices sent for an incident, and the outbox that delivers them.

-- One notice: a stage of an incident's playbook, approved and sent to its lists.
CREATE TABLE notices (
    id          TEXT PRIMARY KEY,   -- INC-...-initial-1
    incident    TEXT NOT NULL,
    stage       TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    due_at      TEXT NOT NULL,      -- when the cadence wanted it
    sent_at     TEXT NOT NULL,      -- when it was approved and queued
    next_update TEXT,               -- the time it promised the next one by
    lists       TEXT NOT NULL,      -- JSON list
    message     TEXT NOT NULL,
    sent_by     TEXT NOT NULL,
    job_id      TEXT,
    external    TEXT,               -- the external audience's text (the status page reads it)
    UNIQUE (incident, stage, seq)
);

CREATE INDEX notices_incident ON notices (incident, sent_at);

-- One row per (notice, recipient, channel): the exact bytes to send, resent unchanged.
CREATE TABLE outbox (
    key            TEXT PRIMARY KEY,  -- the idempotency key: notice/recipient/channel
    notice         TEXT NOT NULL,
    incident       TEXT NOT NULL,
    recipient      TEXT NOT NULL,     -- a contact, a webhook's name, or "file"
    channel        TEXT NOT NULL,     -- email | sms | chat | file
    address        TEXT NOT NULL,     -- the email address, the number, the webhook, the path
    body           BLOB NOT NULL,     -- the rendered message (RFC 5322 for email)
    meta           TEXT NOT NULL,     -- JSON: subject, sender, segments, the audience
    state          TEXT NOT NULL,
    attempts       INTEGER NOT NULL DEFAULT 0,
    next_attempt   TEXT,
    last_error     TEXT,
    provider_id    TEXT,              -- the provider's message id (Twilio's sid)
    queued_at      TEXT NOT NULL,
    sent_at        TEXT,
    claimed_by     TEXT,              -- the deliverer sending it now
    claimed_until  TEXT,
    fallback_of    TEXT               -- the row this one stands in for (email -> sms)
);

CREATE INDEX outbox_pending ON outbox (state, next_attempt);
CREATE INDEX outbox_notice ON outbox (notice);
