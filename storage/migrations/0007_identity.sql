-- 0007_identity: the directory user the requester and each approver resolved
-- to, so that one person is recognised across Slack accounts and email
-- aliases (README, "Who is who"). Empty when they were not found.

ALTER TABLE requests ADD COLUMN requester_directory_id TEXT NOT NULL DEFAULT '';

ALTER TABLE approvals ADD COLUMN approver_directory_id TEXT NOT NULL DEFAULT '';
