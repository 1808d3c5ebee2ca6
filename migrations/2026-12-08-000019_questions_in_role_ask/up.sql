-- Whom a discussion lead's role ask also asked for their two or three questions. Accepting
-- that ask counts as having been asked for them (questions_asked_of), so no separate
-- "your questions" email follows. A holder who came another way (a swap, an organiser's
-- assignment, an ask sent before this column) is still asked separately.
ALTER TABLE session_roles
    ADD COLUMN questions_in_ask_of uuid REFERENCES members (id) ON DELETE SET NULL;
