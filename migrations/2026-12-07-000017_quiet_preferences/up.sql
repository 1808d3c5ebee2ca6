-- A member can turn off feedback requests (the forms in their reflection prompt) and the
-- reminder a day before a consent round closes.
ALTER TABLE members
    ADD COLUMN feedback_requests_enabled boolean NOT NULL DEFAULT true,
    ADD COLUMN consent_reminders_enabled boolean NOT NULL DEFAULT true;
