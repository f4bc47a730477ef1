-- 0009_verifier_identity: the directory identity of the person asked to
-- verify a caller (a manager found through the directory), so that after a
-- restart they are still told apart from approvers by directory ID, not
-- only by Slack ID and email: a manager must never approve the request,
-- not even from a second Slack account under an alias address.
ALTER TABLE request_verifications ADD COLUMN verifier_directory_id TEXT NOT NULL DEFAULT '';
