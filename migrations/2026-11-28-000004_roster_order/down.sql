DROP INDEX memberships_roster_idx;
ALTER TABLE memberships DROP COLUMN roster_rank;
