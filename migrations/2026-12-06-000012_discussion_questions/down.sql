ALTER TABLE session_roles DROP COLUMN questions_asked_of, DROP COLUMN questions_by,
    DROP COLUMN questions;
