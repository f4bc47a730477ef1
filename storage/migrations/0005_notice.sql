-- 0005_notice: notices owed because of a request, containment requests
-- started by "This wasn't me", and look-ups for the per-target limit.
--
-- A notice row is changed only under its request's row lock, like the
-- request's targets. One notice per recipient kind per target per request:
-- the unique key makes a second one impossible.

ALTER TABLE requests ADD COLUMN notify_target BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE requests ADD COLUMN notify_manager BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE requests ADD COLUMN contains_request TEXT NOT NULL DEFAULT '';
ALTER TABLE requests ADD COLUMN contain_step INTEGER NOT NULL DEFAULT 0;
ALTER TABLE requests ADD COLUMN contain_steps INTEGER NOT NULL DEFAULT 0;
ALTER TABLE requests ADD COLUMN after_request TEXT NOT NULL DEFAULT '';

CREATE INDEX requests_contains ON requests (contains_request);
CREATE INDEX request_targets_directory ON request_targets (directory_id);
CREATE INDEX request_targets_slack ON request_targets (slack_id);
CREATE INDEX request_targets_email ON request_targets (lower(email));

CREATE TABLE notices (
    request_id    TEXT    NOT NULL REFERENCES requests (id),
    idx           INTEGER NOT NULL,
    recipient_to  TEXT    NOT NULL,
    target_idx    INTEGER NOT NULL,
    state         TEXT    NOT NULL,
    after_request TEXT    NOT NULL DEFAULT '',
    recipient     TEXT    NOT NULL DEFAULT '',
    detail        TEXT    NOT NULL DEFAULT '',
    ref           TEXT    NOT NULL DEFAULT '',
    attempts      INTEGER NOT NULL DEFAULT 0,
    not_before    BIGINT  NOT NULL DEFAULT 0,
    owner         TEXT    NOT NULL DEFAULT '',
    claim_until   BIGINT  NOT NULL DEFAULT 0,
    created_at    BIGINT  NOT NULL,
    updated_at    BIGINT  NOT NULL,
    PRIMARY KEY (request_id, idx),
    UNIQUE (request_id, target_idx, recipient_to)
);

CREATE INDEX notices_waiting ON notices (state, not_before);
