-- 0004_stepup: approver step-up attempts (README, "Approver step-up").
--
-- One row per Approve click on a step_up action. Only hashes of the link
-- token and of the browser cookie are stored. state moves issued -> started
-- (link opened, browser bound) -> finished (callback taken), each by one
-- guarded UPDATE, so a link opens once and a callback counts once.

CREATE TABLE step_ups (
    id                    TEXT   NOT NULL PRIMARY KEY,
    token_hash            TEXT   NOT NULL UNIQUE,
    request_id            TEXT   NOT NULL REFERENCES requests (id),
    approver_slack_id     TEXT   NOT NULL,
    approver_email        TEXT   NOT NULL,
    approver_directory_id TEXT   NOT NULL DEFAULT '',
    action                TEXT   NOT NULL,
    targets               TEXT   NOT NULL,
    state                 TEXT   NOT NULL,
    browser_hash          TEXT   NOT NULL DEFAULT '',
    created_at            BIGINT NOT NULL,
    expires_at            BIGINT NOT NULL,
    started_at            BIGINT,
    finished_at           BIGINT
);

CREATE INDEX step_ups_request ON step_ups (request_id);
