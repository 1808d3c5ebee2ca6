ALTER TABLE members DROP COLUMN calendar_token_version, DROP COLUMN me_token_version;
DROP TABLE staff_sessions;
