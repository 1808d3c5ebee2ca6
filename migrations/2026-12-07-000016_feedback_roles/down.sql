ALTER TABLE circles DROP COLUMN feedback_roles;
