-- Which letter took the person's turn: when its sending failed (the mail server was down, the
-- worker stopped), the same letter tried again keeps the turn instead of waiting an hour.
ALTER TABLE members ADD COLUMN last_letter_key text;
