DROP TABLE consent_outcomes_carried;
ALTER TABLE consent_rounds DROP COLUMN outcome_held_until;
