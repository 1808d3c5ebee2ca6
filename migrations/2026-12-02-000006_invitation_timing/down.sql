ALTER TABLE circles DROP COLUMN invite_lead_days;
