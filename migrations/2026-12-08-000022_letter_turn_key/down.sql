ALTER TABLE members DROP COLUMN last_letter_key;
