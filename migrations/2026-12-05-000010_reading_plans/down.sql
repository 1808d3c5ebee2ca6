DROP TABLE reading_segments;
ALTER TABLE readings DROP COLUMN chapters;
