DROP TABLE sibling_moves;
DROP TABLE sibling_proposals;
DROP INDEX circles_family;
ALTER TABLE circles DROP COLUMN grow_threshold, DROP COLUMN parent_id, DROP COLUMN family_id;
