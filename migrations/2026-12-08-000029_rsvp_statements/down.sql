DROP FUNCTION session_role_holders(uuid);
DROP FUNCTION rsvp_answer(uuid, uuid, uuid, text, timestamptz);
