DROP TRIGGER IF EXISTS jobs_notify ON jobs;
DROP FUNCTION IF EXISTS roundtable_jobs_notify();
DROP INDEX IF EXISTS jobs_running_lease_idx;
DROP INDEX IF EXISTS deliveries_dedupe_key_idx;
ALTER TABLE deliveries DROP COLUMN IF EXISTS dedupe_key;
