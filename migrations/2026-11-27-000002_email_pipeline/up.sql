-- A delivery remembers which message it was, so a message that was already handed to the
-- mail server is not sent again when a later fan-out queues it a second time.
ALTER TABLE deliveries ADD COLUMN dedupe_key text;
CREATE INDEX deliveries_dedupe_key_idx ON deliveries (dedupe_key);
CREATE INDEX jobs_running_lease_idx ON jobs (locked_until) WHERE state = 'running';

-- Wake idle workers as soon as a job is queued; polling remains the fallback.
CREATE FUNCTION roundtable_jobs_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('roundtable_jobs', '');
    RETURN NULL;
END
$$;
CREATE TRIGGER jobs_notify AFTER INSERT ON jobs
    FOR EACH STATEMENT EXECUTE FUNCTION roundtable_jobs_notify();
