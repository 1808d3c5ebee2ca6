-- The organisation's leadership figures read per-circle, per-day totals instead of every role
-- ever held, so a view costs what its window holds, not what history holds. One row per
-- person, circle and day (UTC) on which they held a confirmed role in a session that was not
-- cancelled: how many roles, and how many of those were leading it (the facilitator role,
-- unless attendance marked them absent).
--
-- The totals are kept in the transaction that changes a role, a session or an attendance
-- mark, by recounting that person's days in that circle from the roles themselves (a handful
-- of rows), so they cannot drift; `roundtable leadership rebuild` recounts everything and says
-- whether anything differed. Erasing a person removes their rows with them.
CREATE TABLE leadership_days (
    circle_id uuid NOT NULL REFERENCES circles (id) ON DELETE CASCADE,
    member_id uuid NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    day       date NOT NULL,
    roles     integer NOT NULL,
    led       integer NOT NULL,
    PRIMARY KEY (circle_id, member_id, day)
);
CREATE INDEX leadership_days_by_day ON leadership_days (day) INCLUDE (circle_id, member_id, roles, led);
CREATE INDEX leadership_days_member ON leadership_days (member_id);

-- Newcomers in a window are found by when they joined.
CREATE INDEX memberships_joined ON memberships (joined_at) WHERE state IN ('active', 'left');

-- Every confirmed role in a session that was not cancelled, as the totals count it: the
-- person, the circle, the day and whether it was leading. The totals are this, grouped.
CREATE VIEW leadership_role_facts AS
SELECT sr.circle_id, sr.member_id, s.starts_at, (s.starts_at AT TIME ZONE 'UTC')::date AS day,
       (sr.role_key = 'facilitator' AND r.attended IS DISTINCT FROM false) AS led
FROM session_roles sr
JOIN sessions s ON s.id = sr.session_id
LEFT JOIN rsvps r ON r.session_id = sr.session_id AND r.member_id = sr.member_id
WHERE sr.state = 'confirmed' AND sr.member_id IS NOT NULL AND s.status <> 'cancelled';

-- Recount one person's days in one circle. The advisory lock makes two transactions that
-- touch the same person in the same circle recount one after the other, each seeing the
-- other's committed roles.
CREATE FUNCTION leadership_days_recount(c uuid, m uuid) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF c IS NULL OR m IS NULL THEN
        RETURN;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtextextended('leadership_days ' || c::text || m::text, 0));
    DELETE FROM leadership_days d WHERE d.circle_id = c AND d.member_id = m;
    IF EXISTS (SELECT 1 FROM members WHERE id = m) AND EXISTS (SELECT 1 FROM circles WHERE id = c) THEN
        INSERT INTO leadership_days (circle_id, member_id, day, roles, led)
        SELECT f.circle_id, f.member_id, f.day, count(*), count(*) FILTER (WHERE f.led)
        FROM leadership_role_facts f WHERE f.circle_id = c AND f.member_id = m
        GROUP BY 1, 2, 3;
    END IF;
END
$$;

CREATE FUNCTION leadership_days_role_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' AND OLD.state = 'confirmed' THEN
        PERFORM leadership_days_recount(OLD.circle_id, OLD.member_id);
    END IF;
    IF TG_OP <> 'DELETE' AND NEW.state = 'confirmed'
       AND (TG_OP = 'INSERT' OR OLD.state <> 'confirmed' OR OLD.member_id IS DISTINCT FROM NEW.member_id
            OR OLD.circle_id <> NEW.circle_id OR OLD.role_key <> NEW.role_key) THEN
        PERFORM leadership_days_recount(NEW.circle_id, NEW.member_id);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER leadership_days_role
AFTER INSERT OR DELETE OR UPDATE OF state, member_id, circle_id, role_key ON session_roles
FOR EACH ROW EXECUTE FUNCTION leadership_days_role_changed();

CREATE FUNCTION leadership_days_session_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    holder uuid;
BEGIN
    IF (OLD.status = 'cancelled') IS DISTINCT FROM (NEW.status = 'cancelled')
       OR OLD.starts_at <> NEW.starts_at THEN
        FOR holder IN
            SELECT DISTINCT sr.member_id FROM session_roles sr
            WHERE sr.session_id = NEW.id AND sr.state = 'confirmed' AND sr.member_id IS NOT NULL
            ORDER BY 1
        LOOP
            PERFORM leadership_days_recount(NEW.circle_id, holder);
        END LOOP;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER leadership_days_session
AFTER UPDATE OF status, starts_at ON sessions
FOR EACH ROW EXECUTE FUNCTION leadership_days_session_changed();

CREATE FUNCTION leadership_days_attendance_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    s uuid := coalesce(NEW.session_id, OLD.session_id);
    m uuid := coalesce(NEW.member_id, OLD.member_id);
    c uuid;
BEGIN
    -- Only a mark of absence changes the totals.
    IF (TG_OP = 'UPDATE' AND (OLD.attended IS NOT DISTINCT FROM false) = (NEW.attended IS NOT DISTINCT FROM false))
       OR (TG_OP = 'INSERT' AND NEW.attended IS DISTINCT FROM false)
       OR (TG_OP = 'DELETE' AND OLD.attended IS DISTINCT FROM false) THEN
        RETURN NULL;
    END IF;
    SELECT sr.circle_id INTO c FROM session_roles sr
    WHERE sr.session_id = s AND sr.member_id = m AND sr.state = 'confirmed' AND sr.role_key = 'facilitator'
    LIMIT 1;
    IF c IS NOT NULL THEN
        PERFORM leadership_days_recount(c, m);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER leadership_days_attendance
AFTER INSERT OR DELETE OR UPDATE OF attended ON rsvps
FOR EACH ROW EXECUTE FUNCTION leadership_days_attendance_changed();

INSERT INTO leadership_days (circle_id, member_id, day, roles, led)
SELECT circle_id, member_id, day, count(*), count(*) FILTER (WHERE led)
FROM leadership_role_facts GROUP BY 1, 2, 3;
