-- The discussion lead's two or three questions for a session: asked for five days before it
-- starts, and carried in its reminder. Both name the holder they were for, so questions never
-- pass to whoever takes the role over.
ALTER TABLE session_roles
    ADD COLUMN questions text CHECK (length(questions) <= 1200),
    ADD COLUMN questions_by uuid REFERENCES members (id) ON DELETE SET NULL,
    ADD COLUMN questions_asked_of uuid REFERENCES members (id) ON DELETE SET NULL;
