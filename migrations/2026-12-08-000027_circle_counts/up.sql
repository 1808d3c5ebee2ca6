-- The dashboard's front page reads each circle's seats and waitlist from the circle's row
-- instead of counting memberships, and pages the circles with those that needed attention at
-- the clock's last check first. The counts change in the transaction that changes a
-- membership, which already holds the circle's row (`lock_seats`); pending signups are not
-- counted here, since they hold the circle only FOR SHARE and run side by side.
ALTER TABLE circles
    ADD COLUMN active_members integer NOT NULL DEFAULT 0,
    ADD COLUMN waitlisted_members integer NOT NULL DEFAULT 0,
    ADD COLUMN needs_attention boolean NOT NULL DEFAULT false;

UPDATE circles c SET active_members = n.active, waitlisted_members = n.waitlisted
FROM (SELECT circle_id,
             count(*) FILTER (WHERE state = 'active') AS active,
             count(*) FILTER (WHERE state = 'waitlisted') AS waitlisted
      FROM memberships GROUP BY circle_id) n
WHERE n.circle_id = c.id;

CREATE FUNCTION circle_counts_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE circles SET active_members = active_members - (OLD.state = 'active')::int,
                           waitlisted_members = waitlisted_members - (OLD.state = 'waitlisted')::int
        WHERE id = OLD.circle_id AND OLD.state IN ('active', 'waitlisted');
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        UPDATE circles SET active_members = active_members + (NEW.state = 'active')::int,
                           waitlisted_members = waitlisted_members + (NEW.state = 'waitlisted')::int
        WHERE id = NEW.circle_id AND NEW.state IN ('active', 'waitlisted');
    END IF;
    RETURN NULL;
END $$;

-- Only seats and the waitlist call the function: a pending signup runs no trigger code.
CREATE TRIGGER circle_counts_insert AFTER INSERT ON memberships
    FOR EACH ROW WHEN (NEW.state IN ('active', 'waitlisted'))
    EXECUTE FUNCTION circle_counts_changed();
CREATE TRIGGER circle_counts_delete AFTER DELETE ON memberships
    FOR EACH ROW WHEN (OLD.state IN ('active', 'waitlisted'))
    EXECUTE FUNCTION circle_counts_changed();
CREATE TRIGGER circle_counts_update AFTER UPDATE OF state, circle_id ON memberships
    FOR EACH ROW WHEN ((OLD.state IS DISTINCT FROM NEW.state OR OLD.circle_id <> NEW.circle_id)
                       AND (OLD.state IN ('active', 'waitlisted') OR NEW.state IN ('active', 'waitlisted')))
    EXECUTE FUNCTION circle_counts_changed();

-- The front page's order: needing attention first, then by name.
CREATE INDEX circles_front_page ON circles (needs_attention DESC, name, id);
-- Dead email jobs by circle, for what needs attention.
CREATE INDEX jobs_dead_by_circle ON jobs ((payload->>'circle_id')) WHERE state = 'dead';

-- What needs attention in each of the given circles, now, as counts; only circles with
-- something to attend to have a row. A function so that each connection plans it once
-- (planning it took longer than running it for a page of 25 circles).
CREATE FUNCTION circle_attention(ids uuid[])
RETURNS TABLE (circle_id uuid, unmarked_sessions bigint, dead_jobs bigint, open_slots bigint,
               unanswered_asks bigint, rounds_closing bigint, grow_asking bigint,
               feedback_short bigint)
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN QUERY
    WITH unmarked AS (SELECT s.circle_id, count(*) AS n FROM sessions s
                      WHERE s.circle_id = ANY(ids) AND s.status <> 'cancelled'
                        AND s.ends_at < now() AND s.ends_at > now() - interval '30 days'
                        AND NOT EXISTS (SELECT 1 FROM rsvps r WHERE r.session_id = s.id AND r.attended IS NOT NULL)
                      GROUP BY s.circle_id),
         dead AS (SELECT (j.payload->>'circle_id')::uuid AS circle_id, count(*) AS n FROM jobs j
                  WHERE j.state = 'dead' AND j.payload->>'circle_id' = ANY(ids::text[]) GROUP BY 1),
         slots AS (SELECT sr.circle_id,
                     count(*) FILTER (WHERE sr.state IN ('open', 'declined')) AS open_slots,
                     count(*) FILTER (WHERE sr.state = 'asked') AS asked
                   FROM session_roles sr JOIN sessions s ON s.id = sr.session_id
                   JOIN circles ci ON ci.id = sr.circle_id
                   WHERE sr.circle_id = ANY(ids) AND s.status = 'scheduled' AND s.starts_at > now()
                     AND s.starts_at - make_interval(days => ci.role_ask_days) <= now()
                   GROUP BY sr.circle_id),
         closing AS (SELECT cr.circle_id, count(*) AS n FROM consent_rounds cr
                     WHERE cr.circle_id = ANY(ids) AND cr.closed_at IS NULL
                       AND cr.closes_at < now() + interval '2 days' GROUP BY cr.circle_id),
         growing AS (SELECT sp.circle_id, count(*) AS n FROM sibling_proposals sp
                     WHERE sp.circle_id = ANY(ids) AND sp.state = 'asking' GROUP BY sp.circle_id),
         short AS (SELECT fr.circle_id, count(*) AS n FROM feedback_requests fr
                   WHERE fr.circle_id = ANY(ids) AND fr.closed_quietly
                     AND fr.closes_at > now() - interval '7 days' AND fr.closes_at <= now()
                   GROUP BY fr.circle_id),
         c AS (SELECT DISTINCT unnest(ids) AS circle_id)
    SELECT c.circle_id, coalesce(unmarked.n, 0), coalesce(dead.n, 0),
           coalesce(slots.open_slots, 0), coalesce(slots.asked, 0),
           coalesce(closing.n, 0), coalesce(growing.n, 0), coalesce(short.n, 0)
    FROM c LEFT JOIN unmarked ON unmarked.circle_id = c.circle_id
           LEFT JOIN dead ON dead.circle_id = c.circle_id
           LEFT JOIN slots ON slots.circle_id = c.circle_id
           LEFT JOIN closing ON closing.circle_id = c.circle_id
           LEFT JOIN growing ON growing.circle_id = c.circle_id
           LEFT JOIN short ON short.circle_id = c.circle_id
    WHERE coalesce(unmarked.n, 0) + coalesce(dead.n, 0) + coalesce(slots.open_slots, 0)
          + coalesce(slots.asked, 0) + coalesce(closing.n, 0) + coalesce(growing.n, 0)
          + coalesce(short.n, 0) > 0;
END $$;

-- A page of the dashboard's front page: every circle (viewer and one null), the circles a
-- person facilitates (viewer), or one circle (one); those that needed attention at the
-- clock's last check first, then by name, each with its next session's answers. A function
-- for the same reason as circle_attention.
CREATE FUNCTION circle_front_page(viewer uuid, one uuid, lim bigint, skip bigint)
RETURNS TABLE (id uuid, name text, status text, timezone text, active integer,
               waitlisted integer, needs_attention boolean, pending bigint,
               next_starts_at timestamptz, next_ends_at timestamptz, next_timezone text,
               yes bigint, no bigint, maybe bigint)
LANGUAGE plpgsql STABLE AS $$
BEGIN
    IF one IS NOT NULL THEN
        RETURN QUERY SELECT * FROM circle_front_lines(ARRAY[one]);
    ELSIF viewer IS NOT NULL THEN
        RETURN QUERY SELECT * FROM circle_front_lines(ARRAY(
            SELECT c.id FROM circles c
            WHERE c.id IN (SELECT m.circle_id FROM memberships m WHERE m.member_id = viewer
                           AND m.role = 'facilitator' AND m.state = 'active')
            ORDER BY c.needs_attention DESC, c.name, c.id LIMIT lim OFFSET skip));
    ELSE
        RETURN QUERY SELECT * FROM circle_front_lines(ARRAY(
            SELECT c.id FROM circles c
            ORDER BY c.needs_attention DESC, c.name, c.id LIMIT lim OFFSET skip));
    END IF;
END $$;

-- The front page's lines for the given circles, in the front page's order.
CREATE FUNCTION circle_front_lines(ids uuid[])
RETURNS TABLE (id uuid, name text, status text, timezone text, active integer,
               waitlisted integer, needs_attention boolean, pending bigint,
               next_starts_at timestamptz, next_ends_at timestamptz, next_timezone text,
               yes bigint, no bigint, maybe bigint)
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN QUERY
    SELECT c.id, c.name, c.status, c.timezone, c.active_members, c.waitlisted_members,
           c.needs_attention,
           -- Unconfirmed signups (roster rank 3), read from the roster's index up to 100.
           (SELECT count(*) FROM (SELECT 1 FROM memberships p WHERE p.circle_id = c.id
              AND p.roster_rank = 3 LIMIT 100) p),
           n.starts_at, n.ends_at, n.timezone,
           coalesce(a.yes, 0), coalesce(a.no, 0), coalesce(a.maybe, 0)
    FROM circles c
    LEFT JOIN LATERAL (SELECT s.id, s.starts_at, s.ends_at, s.timezone FROM sessions s
                       WHERE s.circle_id = c.id AND s.status = 'scheduled' AND s.starts_at > now()
                       ORDER BY s.starts_at LIMIT 1) n ON TRUE
    LEFT JOIN LATERAL (SELECT count(*) FILTER (WHERE r.response = 'yes') AS yes,
                              count(*) FILTER (WHERE r.response = 'no') AS no,
                              count(*) FILTER (WHERE r.response = 'maybe') AS maybe
                       FROM rsvps r WHERE r.session_id = n.id) a ON TRUE
    WHERE c.id = ANY(ids)
    ORDER BY c.needs_attention DESC, c.name, c.id;
END $$;
