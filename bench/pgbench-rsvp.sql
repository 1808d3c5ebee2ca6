-- One RSVP as the service stores it: the member, the session, the membership, then the
-- answer upserted. `bench_pairs` (made by bench/http.sh) holds valid (session, member) pairs.
\set k random(1, 20000)
SELECT id, token_version FROM members WHERE id = (SELECT member_id FROM bench_pairs WHERE n = :k);
SELECT id, circle_id, starts_at, status FROM sessions WHERE id = (SELECT session_id FROM bench_pairs WHERE n = :k);
SELECT state FROM memberships WHERE (circle_id, member_id) = (SELECT s.circle_id, p.member_id FROM bench_pairs p JOIN sessions s ON s.id = p.session_id WHERE p.n = :k);
INSERT INTO rsvps (session_id, member_id, response, responded_at, updated_at)
  SELECT session_id, member_id, 'yes', now(), now() FROM bench_pairs WHERE n = :k
  ON CONFLICT (session_id, member_id) DO UPDATE SET response = excluded.response, responded_at = excluded.responded_at, updated_at = excluded.updated_at;
