-- 0006_verification: caller verification (README, "Caller verification").
-- A request keeps the verification methods its policy rule listed when it
-- was made (comma-separated, empty for none), and each method started for
-- a target is a row; a method is started at most once per target.

ALTER TABLE requests ADD COLUMN verify TEXT NOT NULL DEFAULT '';

CREATE TABLE request_verifications (
    request_id        TEXT    NOT NULL REFERENCES requests (id),
    idx               INTEGER NOT NULL,
    target_idx        INTEGER NOT NULL,
    method            TEXT    NOT NULL,
    state             TEXT    NOT NULL,
    verifier_slack_id TEXT    NOT NULL DEFAULT '',
    verifier_email    TEXT    NOT NULL DEFAULT '',
    started_at        BIGINT  NOT NULL,
    deadline_at       BIGINT  NOT NULL,
    decided_at        BIGINT,
    detail            TEXT    NOT NULL DEFAULT '',
    challenge         TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (request_id, idx),
    UNIQUE (request_id, target_idx, method)
);
