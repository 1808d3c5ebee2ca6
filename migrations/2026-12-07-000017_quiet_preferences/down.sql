ALTER TABLE members DROP COLUMN feedback_requests_enabled, DROP COLUMN consent_reminders_enabled;
