CREATE OR REPLACE FUNCTION circles_add_facilitator_role() RETURNS trigger AS $$
BEGIN
    INSERT INTO role_kinds (circle_id, key, name, guide, position)
    VALUES (NEW.id, 'facilitator', 'Facilitator',
            'Open the session, keep the conversation moving and make room for every voice; close on time and note where the circle stopped.',
            0)
    ON CONFLICT DO NOTHING;
    RETURN NEW;
END
$$ LANGUAGE plpgsql;
