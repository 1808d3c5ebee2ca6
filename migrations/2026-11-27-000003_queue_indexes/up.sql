-- The dedupe index only needs rows that have a key. Without `dedupe_key IS NOT NULL` its
-- predicate also matched the worker's `state = 'queued'` claim, and the planner would pick a
-- bitmap scan over it that re-reads every dead entry of a draining queue.
DROP INDEX jobs_dedupe_key;
CREATE UNIQUE INDEX jobs_dedupe_key ON jobs (dedupe_key)
    WHERE dedupe_key IS NOT NULL AND state IN ('queued', 'running');

-- A queue table churns: vacuum and analyze it far sooner than the defaults would.
ALTER TABLE jobs SET (autovacuum_vacuum_scale_factor = 0.02, autovacuum_analyze_scale_factor = 0.02,
                      autovacuum_vacuum_cost_delay = 0);
