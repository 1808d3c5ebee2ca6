-- When Roundtable last handed a letter for this person to the mail server: a letter that is
-- not a reply to something they did waits until `email.letter_gap_minutes` have passed.
ALTER TABLE members ADD COLUMN last_letter_at timestamptz;
