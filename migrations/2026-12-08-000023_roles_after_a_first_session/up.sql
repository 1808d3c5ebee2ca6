-- A new circle's facilitator role is asked only of people who came to one of its sessions
-- (its own facilitators lead before that). Existing circles keep their minimum.
CREATE OR REPLACE FUNCTION circles_add_facilitator_role() RETURNS trigger AS $$
BEGIN
    INSERT INTO role_kinds (circle_id, key, name, guide, position, min_attended)
    VALUES (NEW.id, 'facilitator', 'Facilitator',
            'Open the session, keep the conversation moving and make room for every voice; close on time and note where the circle stopped.',
            0, 1)
    ON CONFLICT DO NOTHING;
    RETURN NEW;
END
$$ LANGUAGE plpgsql;
