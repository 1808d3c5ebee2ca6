-- One RSVP as the service stores it: the member, the session, the membership, then the
-- answer upserted. `bench_pairs` (made by bench/run) holds valid (session, member) pairs.
\set k random(1, 20000)
SELECT session_id, member_id FROM bench_pairs WHERE n = :k \gset
SELECT id, token_version FROM members WHERE id = :'member_id';
SELECT id, circle_id, starts_at, status FROM sessions WHERE id = :'session_id';
SELECT state FROM memberships WHERE circle_id = (SELECT circle_id FROM sessions WHERE id = :'session_id') AND member_id = :'member_id';
INSERT INTO rsvps (session_id, member_id, response, responded_at, updated_at) VALUES (:'session_id', :'member_id', 'yes', now(), now())
  ON CONFLICT (session_id, member_id) DO UPDATE SET response = excluded.response, responded_at = excluded.responded_at, updated_at = excluded.updated_at;
