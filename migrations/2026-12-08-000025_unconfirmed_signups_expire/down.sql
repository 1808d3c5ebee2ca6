DROP INDEX memberships_pending_since;
