-- The rota writes every slot it proposes; only confirmed turns count in the leadership
-- totals. The one trigger that called its function for every write of a slot becomes three
-- that call it only when a confirmed turn is written, moved or removed (same function, same
-- totals), so a plan of proposals runs no trigger code.
DROP TRIGGER leadership_days_role ON session_roles;
CREATE TRIGGER leadership_days_role_insert
AFTER INSERT ON session_roles
FOR EACH ROW WHEN (NEW.state = 'confirmed')
EXECUTE FUNCTION leadership_days_role_changed();
CREATE TRIGGER leadership_days_role_delete
AFTER DELETE ON session_roles
FOR EACH ROW WHEN (OLD.state = 'confirmed')
EXECUTE FUNCTION leadership_days_role_changed();
CREATE TRIGGER leadership_days_role_update
AFTER UPDATE OF state, member_id, circle_id, role_key ON session_roles
FOR EACH ROW WHEN (OLD.state = 'confirmed' OR NEW.state = 'confirmed')
EXECUTE FUNCTION leadership_days_role_changed();

-- The planner's two reads with joins, as functions so each connection plans them once
-- (planning them took about as long as running them for a circle of twelve).

-- A circle's active members with their preferences, attendance and load elsewhere (roles
-- confirmed or asked in other circles within a fortnight of `at`).
CREATE FUNCTION rota_planner_members(p_circle uuid, p_at timestamptz)
RETURNS TABLE (member_id uuid, display_name text, opted_in boolean, weight integer,
               paused_until date, opted_out_roles text[], attended bigint, elsewhere bigint,
               lead boolean)
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN QUERY
    SELECT m.id, m.display_name, coalesce(p.opted_in, true), coalesce(p.weight, 100),
           p.paused_until, coalesce(p.opted_out_roles, '{}'),
           (SELECT count(*) FROM rsvps r JOIN sessions s ON s.id = r.session_id
             WHERE r.member_id = m.id AND s.circle_id = p_circle AND r.attended),
           (SELECT count(*) FROM session_roles sr JOIN sessions s ON s.id = sr.session_id
             WHERE sr.member_id = m.id AND sr.circle_id <> p_circle
               AND sr.state IN ('confirmed', 'asked') AND s.status = 'scheduled'
               AND s.starts_at BETWEEN p_at AND p_at + interval '14 days'),
           ms.role = 'facilitator'
    FROM memberships ms JOIN members m ON m.id = ms.member_id
    LEFT JOIN rotation_prefs p ON p.circle_id = ms.circle_id AND p.member_id = ms.member_id
    WHERE ms.circle_id = p_circle AND ms.state = 'active'
    ORDER BY ms.joined_at, m.id;
END $$;

-- Per member (all, or `p_member`) and role of a circle: times held (confirmed, in a session
-- that started by `at`, not marked absent), first and last.
CREATE FUNCTION rota_held(p_circle uuid, p_member uuid, p_at timestamptz)
RETURNS TABLE (member_id uuid, role_key text, count bigint, first_at timestamptz,
               last_at timestamptz)
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN QUERY
    SELECT sr.member_id, sr.role_key, count(*), min(s.starts_at), max(s.starts_at)
    FROM session_roles sr JOIN sessions s ON s.id = sr.session_id
    LEFT JOIN rsvps r ON r.session_id = sr.session_id AND r.member_id = sr.member_id
    WHERE sr.circle_id = p_circle AND sr.state = 'confirmed' AND sr.member_id IS NOT NULL
      AND (p_member IS NULL OR sr.member_id = p_member)
      AND s.status <> 'cancelled' AND s.starts_at <= p_at AND r.attended IS DISTINCT FROM false
    GROUP BY sr.member_id, sr.role_key;
END $$;
