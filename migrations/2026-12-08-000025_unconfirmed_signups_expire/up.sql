-- Signups nobody confirmed are deleted after `limits.unconfirmed_signup_days`; the clock finds
-- the oldest through this index, however many there are.
CREATE INDEX memberships_pending_since ON memberships (joined_at) WHERE state = 'pending';
