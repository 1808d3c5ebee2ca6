-- The statements of one public signup, as the service ran them before issue 26 (it now reads
-- the circle, person, membership and pending count in one statement, `signup_facts`): hold the circle FOR SHARE, find or
-- create the member, read and write the membership, queue the confirmation email. The
-- circle is one of the first :circles seeded ones (pgbench -D circles=N).
\set n random(1, 100000000)
\set c random(1, :circles)
BEGIN;
SELECT id FROM circles WHERE slug = 'seed-circle-' || :c FOR SHARE;
INSERT INTO members (id, email, display_name, timezone) VALUES (gen_random_uuid(), 'pgbench-' || :n || '-' || :client_id || '@example.org', 'Load Tester', 'UTC') ON CONFLICT DO NOTHING;
SELECT id FROM members WHERE lower(email) = lower('pgbench-' || :n || '-' || :client_id || '@example.org');
SELECT state FROM memberships WHERE circle_id = (SELECT id FROM circles WHERE slug = 'seed-circle-' || :c) AND member_id = (SELECT id FROM members WHERE lower(email) = lower('pgbench-' || :n || '-' || :client_id || '@example.org'));
INSERT INTO memberships (circle_id, member_id, role, state) SELECT c.id, m.id, 'member', 'pending' FROM circles c, members m WHERE c.slug = 'seed-circle-' || :c AND lower(m.email) = lower('pgbench-' || :n || '-' || :client_id || '@example.org') ON CONFLICT (circle_id, member_id) DO NOTHING;
INSERT INTO jobs (id, kind, payload, dedupe_key) VALUES (gen_random_uuid(), 'noop', '{}', 'pgbench-' || :n || '-' || :client_id) ON CONFLICT DO NOTHING;
END;
