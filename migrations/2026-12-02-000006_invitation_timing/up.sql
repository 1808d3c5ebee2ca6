-- Each session's invitation goes out this many days before it (0: as soon as it is
-- scheduled). Someone who joins gets the next session's invitation at once.
ALTER TABLE circles
    ADD COLUMN invite_lead_days integer NOT NULL DEFAULT 7 CHECK (invite_lead_days BETWEEN 0 AND 365);
