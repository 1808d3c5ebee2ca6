DROP FUNCTION signup_facts(uuid, text, bigint);
