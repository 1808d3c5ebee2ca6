-- A public signup read the circle (held FOR SHARE), the person by address, their membership
-- and the count of pending signups in four statements; this reads them in one, holding only
-- the circle's row (never the person's or the membership's, which a signup then writes).
-- `p_email` is the address lowercased, as `members_email_key` indexes it.
CREATE FUNCTION signup_facts(p_circle uuid, p_email text, p_cap bigint)
RETURNS TABLE (status text, member_id uuid, state text, full_of_pending boolean)
LANGUAGE plpgsql AS $$
BEGIN
    RETURN QUERY
    SELECT c.status, m.id, ms.state,
           (SELECT count(*) FROM (SELECT 1 FROM memberships p WHERE p.circle_id = c.id
                                  AND p.roster_rank = 3 LIMIT p_cap) p) >= p_cap
    FROM circles c
    LEFT JOIN members m ON lower(m.email) = p_email
    LEFT JOIN memberships ms ON ms.circle_id = c.id AND ms.member_id = m.id
    WHERE c.id = p_circle
    FOR SHARE OF c;
END $$;
