DROP INDEX sessions_starts_any;
DROP TABLE reading_segments;
ALTER TABLE readings DROP COLUMN chapters;
