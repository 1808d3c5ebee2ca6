DROP FUNCTION rota_held(uuid, uuid, timestamptz);
DROP FUNCTION rota_planner_members(uuid, timestamptz);
DROP TRIGGER leadership_days_role_update ON session_roles;
DROP TRIGGER leadership_days_role_delete ON session_roles;
DROP TRIGGER leadership_days_role_insert ON session_roles;
CREATE TRIGGER leadership_days_role
AFTER INSERT OR DELETE OR UPDATE OF state, member_id, circle_id, role_key ON session_roles
FOR EACH ROW EXECUTE FUNCTION leadership_days_role_changed();
