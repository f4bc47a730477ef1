-- 0003_audit_append_only: the audit log refuses UPDATE, DELETE (and, on
-- PostgreSQL, TRUNCATE) in the database itself, not only by convention; and
-- events gain the `method` of a caller verification.
--
-- Statements after a "-- dialect: NAME" line run only on that database,
-- until "-- dialect: all". A trigger body is kept on one line, so that its
-- inner semicolons do not end the statement.

ALTER TABLE audit_events ADD COLUMN method TEXT NOT NULL DEFAULT '';

-- dialect: postgres
CREATE FUNCTION mfadesk_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'audit_events is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege'; END $$;
CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events FOR EACH ROW EXECUTE FUNCTION mfadesk_audit_append_only();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events FOR EACH STATEMENT EXECUTE FUNCTION mfadesk_audit_append_only();

-- dialect: sqlite
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events BEGIN SELECT RAISE(ABORT, 'audit_events is append-only: UPDATE refused'); END;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events BEGIN SELECT RAISE(ABORT, 'audit_events is append-only: DELETE refused'); END;
