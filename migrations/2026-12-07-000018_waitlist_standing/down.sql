ALTER TABLE memberships DROP COLUMN waitlist_told_at;
