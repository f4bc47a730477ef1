-- 0001_init: requests, their targets and approvals, and the audit log.
--
-- Dialect-neutral SQL: it runs unchanged on PostgreSQL and SQLite.
-- Times are BIGINT microseconds since the Unix epoch, UTC, in every table:
-- exact on both databases (the audit hash covers microseconds), and ordered
-- and compared as plain integers. NULL marks an absent time (lease_until).
-- Statements end with a semicolon at the end of a line.

CREATE TABLE requests (
    id                  TEXT    NOT NULL PRIMARY KEY,
    requester_slack_id  TEXT    NOT NULL,
    requester_email     TEXT    NOT NULL,
    action              TEXT    NOT NULL,
    reason              TEXT    NOT NULL,
    ticket              TEXT    NOT NULL DEFAULT '',
    state               TEXT    NOT NULL,
    created_at          BIGINT  NOT NULL,
    expires_at          BIGINT  NOT NULL,
    updated_at          BIGINT  NOT NULL,
    approvals_needed    INTEGER NOT NULL,
    decided_by_slack_id TEXT    NOT NULL DEFAULT '',
    decided_by_email    TEXT    NOT NULL DEFAULT '',
    decision_note       TEXT    NOT NULL DEFAULT '',
    manual              BOOLEAN NOT NULL DEFAULT FALSE,
    message             TEXT    NOT NULL DEFAULT '',
    submission_key      TEXT    UNIQUE,
    lease_owner         TEXT    NOT NULL DEFAULT '',
    lease_until         BIGINT,
    version             BIGINT  NOT NULL DEFAULT 0
);

CREATE INDEX requests_requester_created ON requests (requester_slack_id, created_at);
CREATE INDEX requests_state_expires ON requests (state, expires_at);
CREATE INDEX requests_created ON requests (created_at);

CREATE TABLE request_targets (
    request_id   TEXT    NOT NULL REFERENCES requests (id),
    idx          INTEGER NOT NULL,
    slack_id     TEXT    NOT NULL,
    email        TEXT    NOT NULL,
    directory_id TEXT    NOT NULL,
    privileged   BOOLEAN NOT NULL DEFAULT FALSE,
    outcome      TEXT,
    detail       TEXT    NOT NULL DEFAULT '',
    result_at    BIGINT,
    PRIMARY KEY (request_id, idx)
);

CREATE TABLE approvals (
    request_id        TEXT    NOT NULL REFERENCES requests (id),
    idx               INTEGER NOT NULL,
    approver_slack_id TEXT    NOT NULL,
    approver_email    TEXT    NOT NULL,
    at                BIGINT  NOT NULL,
    PRIMARY KEY (request_id, idx),
    UNIQUE (request_id, approver_slack_id)
);

CREATE TABLE audit_events (
    seq        BIGINT NOT NULL PRIMARY KEY,
    "time"     BIGINT NOT NULL,
    request_id TEXT   NOT NULL DEFAULT '',
    event      TEXT   NOT NULL,
    actor      TEXT   NOT NULL,
    action     TEXT   NOT NULL DEFAULT '',
    targets    TEXT,
    target     TEXT,
    outcome    TEXT   NOT NULL DEFAULT '',
    detail     TEXT   NOT NULL DEFAULT '',
    prev_hash  TEXT   NOT NULL,
    hash       TEXT   NOT NULL UNIQUE
);

CREATE INDEX audit_events_time ON audit_events ("time");
CREATE INDEX audit_events_action_time ON audit_events (action, "time");
CREATE INDEX audit_events_request ON audit_events (request_id, seq);

CREATE TABLE audit_head (
    id   INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    seq  BIGINT  NOT NULL,
    hash TEXT    NOT NULL
);

INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '');
