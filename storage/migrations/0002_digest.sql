-- 0002_digest: the digest ledger, and an index for the digest's per-kind
-- aggregations of the audit log.
--
-- One row per digest period, keyed by the period's end (the schedule's tick,
-- or the moment of an ad-hoc digest): the primary key is what makes a second
-- row for a period impossible, whichever replica tries. A row is claimed by
-- one replica at a time (claimed_by) until lease_until; after a failed
-- attempt lease_until is the time it may be retried. status goes pending ->
-- posting (just before the message is sent) -> posted, which is final; a
-- failed attempt returns it to pending. Times are BIGINT microseconds since
-- the Unix epoch, UTC, as in 0001.

CREATE TABLE digests (
    period_end    BIGINT  NOT NULL PRIMARY KEY,
    period_start  BIGINT  NOT NULL,
    status        TEXT    NOT NULL,
    claimed_by    TEXT    NOT NULL DEFAULT '',
    lease_until   BIGINT,
    attempts      INTEGER NOT NULL DEFAULT 0,
    error         TEXT    NOT NULL DEFAULT '',
    slack_channel TEXT    NOT NULL DEFAULT '',
    slack_ts      TEXT    NOT NULL DEFAULT '',
    head_seq      BIGINT  NOT NULL DEFAULT 0,
    head_hash     TEXT    NOT NULL DEFAULT '',
    created_at    BIGINT  NOT NULL,
    posted_at     BIGINT,
    CHECK (period_start < period_end),
    CHECK (status IN ('pending', 'posting', 'posted'))
);

CREATE INDEX audit_events_event_time ON audit_events (event, "time");
