DROP INDEX IF EXISTS feedback_requests_notes_idx;
ALTER TABLE feedback_requests DROP COLUMN closed_quietly, DROP COLUMN noted_in;
