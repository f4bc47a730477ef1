-- 0008_audit_request_event: `mfadesk audit verify` asks, for every finished
-- request, whether the log holds its `created` and closing events. This
-- index answers each question from the index alone; without it both
-- databases may walk every event of one kind per request.
CREATE INDEX audit_events_request_event ON audit_events (request_id, event);
