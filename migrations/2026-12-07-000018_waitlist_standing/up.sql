-- When someone waiting for a seat was last told where they stand: by the "you are on the
-- waitlist" email, or by a letter with their place. People waiting hear again at most every
-- three weeks; before this column, the time they joined stands in.
ALTER TABLE memberships ADD COLUMN waitlist_told_at timestamptz;
