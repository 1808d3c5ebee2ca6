-- The RSVP link's POST and its page run two statements with joins that took longer to plan
-- than to run. As functions, each connection plans them once.

-- Save a member's answer only if, as it runs, they are an active member of the circle (the
-- membership row held FOR SHARE until the transaction ends, so a departure either came first
-- or waits) and the session of that circle is neither cancelled nor started at `at`. Returns
-- the answer with the circle's facilitation, or no row when a check failed.
CREATE FUNCTION rsvp_answer(p_session uuid, p_circle uuid, p_member uuid, p_response text,
                            p_at timestamptz)
RETURNS TABLE (session_id uuid, member_id uuid, response text, responded_at timestamptz,
               attended boolean, facilitation text)
LANGUAGE plpgsql AS $$
BEGIN
    RETURN QUERY
    WITH saved AS (
        INSERT INTO rsvps AS r (session_id, member_id, response, responded_at, updated_at)
        SELECT p_session, p_member, p_response, clock_timestamp(), clock_timestamp()
        WHERE EXISTS (SELECT 1 FROM memberships m WHERE m.circle_id = p_circle
                        AND m.member_id = p_member AND m.state = 'active' FOR SHARE)
          AND EXISTS (SELECT 1 FROM sessions s WHERE s.id = p_session AND s.circle_id = p_circle
                        AND s.status <> 'cancelled' AND s.starts_at > p_at)
        ON CONFLICT ON CONSTRAINT rsvps_pkey DO UPDATE
          SET response = excluded.response, responded_at = excluded.responded_at,
              updated_at = excluded.updated_at
        RETURNING r.session_id, r.member_id, r.response, r.responded_at, r.attended)
    SELECT saved.session_id, saved.member_id, saved.response, saved.responded_at,
           saved.attended, c.facilitation
    FROM saved JOIN circles c ON c.id = p_circle;
END $$;

-- Each role of a session but the facilitator's with who holds it, as the RSVP page shows
-- them: (role name, holders joined by commas), in the circle's order of roles.
CREATE FUNCTION session_role_holders(p_session uuid)
RETURNS TABLE (name text, holders text)
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN QUERY
    SELECT k.name, string_agg(m.display_name, ', ' ORDER BY sr.slot)
    FROM session_roles sr JOIN role_kinds k ON k.circle_id = sr.circle_id AND k.key = sr.role_key
    JOIN members m ON m.id = sr.member_id
    WHERE sr.session_id = p_session AND sr.state = 'confirmed' AND sr.role_key <> 'facilitator'
    GROUP BY k.name, k.position ORDER BY k.position, k.name;
END $$;
