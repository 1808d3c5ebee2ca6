-- The dashboard roster lists facilitators, then seated members, then the waitlist in order,
-- then people who have not confirmed; people who left have no rank and are not listed. A
-- stored rank and an index in that order (covering what the roster shows of a membership)
-- let a page of a large circle be read straight from the index instead of sorting the whole
-- circle. `roster_rank IS NOT NULL` is written as SQL, not a bound value, so even a prepared
-- statement's generic plan can use the partial index.
ALTER TABLE memberships ADD COLUMN roster_rank smallint GENERATED ALWAYS AS (
    CASE WHEN state = 'left' THEN NULL WHEN role = 'facilitator' THEN 0
         WHEN state = 'active' THEN 1 WHEN state = 'waitlisted' THEN 2 ELSE 3 END) STORED;
CREATE INDEX memberships_roster_idx ON memberships
    (circle_id, roster_rank, waitlist_position, joined_at, member_id) INCLUDE (role, state)
    WHERE roster_rank IS NOT NULL;
