ALTER TABLE session_roles DROP COLUMN questions_in_ask_of;
